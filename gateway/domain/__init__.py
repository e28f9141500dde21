"""The application as typed domain values, and the Kazakh and EAEU identifiers it carries. Pure."""
