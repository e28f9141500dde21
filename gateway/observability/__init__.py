"""Observability for the whole app, installed by the app factory for every blueprint (with or
without the OMC): a request id on every request and log line (`request_context`, `web`), JSON log
lines (`logs`), Prometheus metrics and `/metrics`, `/healthz`, `/readyz` (`metrics`, `health`,
`web`), and the per-agency call timings taken at the adapter port (`timings`).

The OMC and the operations API only read what is recorded here. Nothing is imported here: the
composition root uses `timings` without loading Flask.
"""
