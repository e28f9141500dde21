"""The Operative Management Centre (issue 10): a live web view of applications, agencies,
checkpoints and movements, officers' actions recorded in the trail, and accounts with roles.

Wired into the app by `gateway.omc.wiring.init_omc`; nothing is imported here so that the
composition root can use `gateway.omc.timings` without importing the web layer.
"""
