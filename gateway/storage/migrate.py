"""Bring a database to the newest schema with Alembic (the shipped `migrations/` package)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine

from gateway.resources import shipped


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(shipped("migrations")))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every pending migration; safe to call at every start."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several web and worker processes may start at once: one migrates, the rest wait.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7270001)")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
