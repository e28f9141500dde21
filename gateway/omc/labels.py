"""What the OMC shows for the codes it stores (`label`, shared with the portal: gateway.i18n.labels)
and the agencies' names and officers in the reader's language, from the agency register."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from flask import current_app

from gateway.i18n.labels import LABELS, label
from gateway.i18n.web import current_locale

__all__ = ["LABELS", "agency_name", "agency_officer", "label"]


@functools.cache
def _agency_words(register: Path) -> dict[str, dict[str, str]]:
    """code -> {"name_kk": ..., "officer_ru": ...}: the register's words for readers of other
    languages (read once per file)."""
    raw = tomllib.loads(register.read_text(encoding="utf-8")).get("agencies", {})
    return {
        code: {k: v for k, v in entry.items() if k.startswith(("name_", "officer_"))}
        for code, entry in raw.items()
        if isinstance(entry, dict)
    }


def _agency_word(code: str, field: str, english: str) -> str:
    services = current_app.extensions["nsw"]
    words = _agency_words(services.config.mappings_dir / "agencies.toml").get(code, {})
    return str(words.get(f"{field}_{current_locale()}", english))


def agency_name(code: str, english: str) -> str:
    """The agency's name in the reader's language (mappings/agencies.toml), else `english`."""
    return _agency_word(code, "name", english)


def agency_officer(code: str, english: str) -> str:
    """What the agency's officers are called, in the reader's language, else `english`."""
    return _agency_word(code, "officer", english)
