"""Shipped data for Alembic: the schema migrations. A package only so that the wheel carries them
and `gateway.storage.migrate` finds them with importlib.resources."""
