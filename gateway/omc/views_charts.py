"""Charts: the page, and its figures as JSON for the live refresh."""

from __future__ import annotations

from flask import Response, jsonify, render_template

from gateway.omc.auth import officer, requires, services
from gateway.omc.blueprint import bp
from gateway.omc.charts import chart_data
from gateway.omc.roles import Perm
from gateway.web.live_refresh import live_refresh


@bp.get("/charts")
@requires(Perm.VIEW_OPS)
def charts() -> str:
    return render_template("omc/charts.html", data=chart_data(services(), officer().agency))


@bp.get("/charts/data.json")
@live_refresh
@requires(Perm.VIEW_OPS)
def charts_data() -> Response:
    return jsonify(chart_data(services(), officer().agency))
