"""What the OMC shows for the codes it stores: case and notification states, verdicts, breaker
states, roles, checkpoint stages, exit kinds, message directions. The code stays in the page's
markup (CSS classes, data attributes) and in every API; only the words people read are translated.
In English each label is the code as it always read, so nothing changes for English readers."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from flask import current_app

from gateway.i18n import N_
from gateway.i18n.web import current_locale, gettext

LABELS: dict[str, str] = {
    # cases (gateway.decision.CaseState) and verdicts
    "queued": N_("queued"), "pending": N_("pending"), "granted": N_("granted"),
    "refused": N_("refused"), "inspection": N_("inspection"), "escalated": N_("escalated"),
    "released": N_("released"), "in_progress": N_("in progress"),
    # breakers, transits, notifications, alerts
    "closed": N_("closed"), "open": N_("open"), "half-open": N_("half-open"),
    "delivered": N_("delivered"), "failed": N_("failed"), "cleared": N_("cleared"),
    # roles (gateway.omc.roles.Role)
    "operator": N_("operator"), "agency-officer": N_("agency officer"),
    "auditor": N_("auditor"), "admin": N_("admin"),
    # checkpoint stages (gateway.checkpoint.registry.STAGES) and exits
    "entry": N_("entry"), "radiation": N_("radiation"), "parameters": N_("parameters"),
    "scan": N_("scan"), "documents": N_("documents"), "exit": N_("exit"),
    "manual": N_("manual"), "automatic": N_("automatic"),
    # trail messages
    "in": N_("in"), "out": N_("out"),
    # risk channels
    "green": N_("green"), "yellow": N_("yellow"), "red": N_("red"),
    # customs procedures of an application
    "import": N_("import"), "export": N_("export"), "transit": N_("transit"),
    # periods of the applications filter (gateway.omc.queries.SINCE_HOURS)
    "1h": N_("last hour"), "24h": N_("last 24 hours"), "7d": N_("last 7 days"),
    # sign-ins on the audit page
    "password": N_("password"), "certificate": N_("certificate"), "signed-in": N_("signed in"),
    "signed-out": N_("signed out"), "disabled": N_("disabled"), "locked": N_("locked"),
    "wrong-password": N_("wrong password"), "locked-now": N_("locked now"),
    # account changes on the administration page
    "enable": N_("enable"), "disable": N_("disable"), "unlock": N_("unlock"),
}  # fmt: skip


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


def label(code: object) -> str:
    """The reader's word for `code`; an unknown code is shown as it is."""
    text = str(code) if code is not None else ""
    found = LABELS.get(text)
    return gettext(found) if found else text
