"""The electronic checkpoint (issue 9): advance notices, the six stages as signed device events,
rules at the gate, the automated exit permit, transit monitoring and time at the border."""

from gateway.checkpoint.wiring import CheckpointParts, build_checkpoint

__all__ = ["CheckpointParts", "build_checkpoint"]
