"""The portal blueprint: every page lives under /portal and is rendered on the server."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

HERE = Path(__file__).parent
PREFIX = "/portal"
bp = Blueprint(
    "portal",
    __name__,
    url_prefix=PREFIX,
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
)
