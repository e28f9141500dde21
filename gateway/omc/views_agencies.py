"""Agencies: the health of each, its officers, and the escalated cases an officer may send
again."""

from __future__ import annotations

from flask import render_template

from gateway.omc.accounts import AccountView
from gateway.omc.auth import accounts, officer, requires, services
from gateway.omc.blueprint import bp
from gateway.omc.health import agency_health, escalated_cases
from gateway.omc.roles import Perm
from gateway.web.live_refresh import live_refresh


def _context() -> dict[str, object]:
    who = officer()
    health = [a for a in agency_health(services()) if who.sees_agency(a["code"])]
    escalated = escalated_cases(services(), who.agency) if who.may(Perm.VIEW_OPS) else []
    # Each service's officers: the accounts of role agency-officer bound to it (OMC seed: the
    # OMC's six services each work through their own officers).
    officers: dict[str, list[AccountView]] = {}
    for account in accounts().list():
        if account.agency and not account.disabled:
            officers.setdefault(account.agency, []).append(account)
    return {"agencies": health, "escalated": escalated, "officers": officers}


@bp.get("/agencies")
@requires(Perm.VIEW_AGENCIES)
def agencies() -> str:
    return render_template("omc/agencies.html", **_context())


@bp.get("/agencies/body")
@live_refresh
@requires(Perm.VIEW_AGENCIES)
def agencies_body() -> str:
    return render_template("omc/_agencies_body.html", **_context())
