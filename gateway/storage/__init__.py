"""Persistence: SQLAlchemy models, the engine, and the repository the services use."""
