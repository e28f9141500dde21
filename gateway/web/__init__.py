"""HTTP interfaces: the trader API (and later the audit API and the OMC screens)."""
