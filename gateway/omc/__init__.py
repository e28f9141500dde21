"""The Operative Management Centre (issue 10): a live web view of applications, agencies,
checkpoints and movements, officers' actions recorded in the trail, and accounts with roles.

Wired into the app by `gateway.omc.wiring.init_omc`; nothing is imported here. The OMC only reads
what `gateway.observability` records (request ids, logs, metrics, agency timings).
"""
