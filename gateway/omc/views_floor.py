"""Checkpoints (lanes, stages, waiting vehicles) and movements (transits on a schematic map)."""

from __future__ import annotations

from flask import render_template

from gateway.omc.auth import officer, requires, services
from gateway.omc.blueprint import bp
from gateway.omc.floor import checkpoint_floor, movements
from gateway.omc.roles import Perm
from gateway.web.live_refresh import live_refresh


@bp.get("/checkpoints")
@requires(Perm.VIEW_OPS)
def checkpoints() -> str:
    return render_template("omc/checkpoints.html", floor=checkpoint_floor(services(), officer()))


@bp.get("/checkpoints/body")
@live_refresh
@requires(Perm.VIEW_OPS)
def checkpoints_body() -> str:
    return render_template(
        "omc/_checkpoints_body.html", floor=checkpoint_floor(services(), officer())
    )


@bp.get("/movements")
@requires(Perm.VIEW_OPS)
def movements_page() -> str:
    return render_template("omc/movements.html", m=movements(services()))


@bp.get("/movements/body")
@live_refresh
@requires(Perm.VIEW_OPS)
def movements_body() -> str:
    return render_template("omc/_movements_body.html", m=movements(services()))
