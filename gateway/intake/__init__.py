"""Intake: verifying a lodged application, storing it once, and the signed receipt."""
