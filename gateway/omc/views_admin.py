"""Administration: accounts (add, disable, unlock, set password, change role), agencies and routing rules (read
from mappings/: rules are data under change control, so the page shows them, it does not edit them)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.i18n import Text, localize
from gateway.i18n.web import gettext
from gateway.limits import PASSWORD, USERNAME
from gateway.omc.auth import accounts, officer, requires, services
from gateway.omc.blueprint import bp
from gateway.omc.errors import BadAccount
from gateway.omc.labels import label
from gateway.omc.roles import Perm, Role
from gateway.web.params import form_text, path_text


@bp.get("/admin")
@requires(Perm.ADMINISTER)
def admin() -> str:
    svc = services()
    rules = (svc.config.mappings_dir / "routing.toml").read_text(encoding="utf-8")
    return render_template(
        "omc/admin.html",
        accounts=accounts().list(),
        roles=[r.value for r in Role],
        specs=sorted(svc.specs.values(), key=lambda s: s.code),
        rules=rules,
    )


@bp.post("/admin/accounts")
@requires(Perm.ADMINISTER)
def admin_add_account() -> WerkzeugResponse:
    form = request.form
    form_text("password", PASSWORD)
    try:
        accounts().add(
            form.get("username", "").strip(),
            form.get("role", ""),
            form.get("password", ""),
            form.get("agency", "").strip() or None,
            by=officer().username,
        )
    except BadAccount as exc:
        flash(localize(exc.detail, gettext), "error")
    else:
        flash(gettext("Account %(name)s added.", name=form.get("username")))
    return redirect(url_for("omc.admin"))


@bp.post("/admin/accounts/<username>")
@requires(Perm.ADMINISTER)
def admin_change_account(username: str) -> WerkzeugResponse:
    path_text(username, USERNAME, "account")
    form_text("password", PASSWORD)
    change = request.form.get("change", "")
    try:
        if change in ("disable", "role") and username == officer().username:
            raise BadAccount(Text("You cannot disable your own account, nor change its role."))
        accounts().change(
            username,
            by=officer().username,
            disabled={"disable": True, "enable": False}.get(change),
            unlock=change == "unlock",
            password=request.form.get("password") if change == "password" else None,
            role=request.form.get("role", "") if change == "role" else None,
            agency=request.form.get("agency", "").strip() or None,
        )
    except BadAccount as exc:
        flash(localize(exc.detail, gettext), "error")
    else:
        flash(gettext("Account %(name)s: %(change)s done.", name=username, change=label(change)))
    return redirect(url_for("omc.admin"))
