"""Agencies: the health of each, and the escalated cases an officer may send again."""

from __future__ import annotations

from flask import render_template

from gateway.omc.auth import officer, requires, services
from gateway.omc.blueprint import bp
from gateway.omc.health import agency_health, escalated_cases
from gateway.omc.roles import Perm


def _context() -> dict[str, object]:
    who = officer()
    health = [a for a in agency_health(services()) if who.sees_agency(a["code"])]
    escalated = escalated_cases(services(), who.agency) if who.may(Perm.VIEW_OPS) else []
    return {"agencies": health, "escalated": escalated}


@bp.get("/agencies")
@requires(Perm.VIEW_AGENCIES)
def agencies() -> str:
    return render_template("omc/agencies.html", **_context())


@bp.get("/agencies/body")
@requires(Perm.VIEW_AGENCIES)
def agencies_body() -> str:
    return render_template("omc/_agencies_body.html", **_context())
