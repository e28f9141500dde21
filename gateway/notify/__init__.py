"""Notifying traders: signed POSTs to the URL a trader registered, and the judge of such URLs."""
