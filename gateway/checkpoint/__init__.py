"""The electronic checkpoint (issue 9): advance notices, the six stages as signed device events,
rules at the gate, the automated exit permit, transit monitoring and time at the border.

Built by `gateway.checkpoint.wiring.build_checkpoint` (called by the composition root). Nothing is
imported here: importing one module of the package must not pull in the wiring, whose service
imports its siblings back through this package (the import cycle of issue 16).
"""
