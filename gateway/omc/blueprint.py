"""The OMC blueprint: every page lives under /omc and is rendered on the server."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

HERE = Path(__file__).parent
bp = Blueprint(
    "omc",
    __name__,
    url_prefix="/omc",
    template_folder=str(HERE / "templates"),
    static_folder=str(HERE / "static"),
)
