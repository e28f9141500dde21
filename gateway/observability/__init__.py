"""Request ids, structured logs and metrics for the whole app."""
