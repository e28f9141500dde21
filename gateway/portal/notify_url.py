"""Where a company's decisions are sent: the trader registers (or removes) its notification URL,
by the same rules as the API (`Services.url_policy`: https, a public address, the judge of
`gateway.notify.public_address`), for its own company or one it represents. The registration
joins the trail with who made it, in the same transaction (`Notifications.subscribe`)."""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.domain.identifiers import Bin
from gateway.errors import GatewayError, NotFound, NotYourApplication
from gateway.i18n import Text
from gateway.i18n.web import gettext
from gateway.notify.events import DEFAULT_EVENTS
from gateway.portal.auth import Trader, services, trader
from gateway.portal.blueprint import bp
from gateway.trail.messages import Message
from gateway.web.problems import localized_problem


def _company(who: Trader) -> str:
    bin_ = str(Bin(request.form.get("declarant", "")))
    if not who.may_act_for(bin_):
        raise NotYourApplication(
            Text(
                "The notification URL of another company is not yours to change; a trader "
                "manages only its own and those of companies it is registered to represent."
            )
        )
    return bin_


def _record(who: Trader, bin_: str, action: str, url: str | None) -> Message:
    """The request for the trail: who (by certificate) pointed whose decisions where."""
    record = {"via": "portal", "action": action, "bin": bin_, "url": url,
              "certificate": who.fingerprint, "target": request.url}  # fmt: skip
    return Message(
        "notification-url",
        "in",
        f"trader:{who.bin}",
        "application/json",
        json.dumps(record, sort_keys=True).encode(),
        signer=who.subject,
    )


def _page(status: int = 200, problem: dict[str, object] | None = None) -> tuple[str, int]:
    who = trader()
    companies = [
        (bin_, role, services().notifications.subscription(bin_)) for bin_, role in who.companies()
    ]
    return render_template(
        "portal/notifications.html", companies=companies, problem=problem
    ), status


@bp.get("/notifications")
def notifications() -> tuple[str, int]:
    return _page()


@bp.post("/notifications")
def register_notification_url() -> WerkzeugResponse | tuple[str, int]:
    who = trader()
    try:
        bin_ = _company(who)
        if request.form.get("action") == "remove":
            if not services().notifications.unsubscribe(
                bin_, message=_record(who, bin_, "remove", None)
            ):
                raise NotFound(Text("No notification URL is registered for %(bin)s.", bin=bin_))
            flash(gettext("The notification URL of %(bin)s was removed.", bin=bin_), "ok")
        else:
            url = services().url_policy().check(request.form.get("url", "").strip())
            # A new URL keeps the event types chosen through the API (the page has no choice).
            before = services().notifications.subscription(bin_)
            services().notifications.subscribe(
                bin_,
                url,
                fingerprint=who.fingerprint,
                message=_record(who, bin_, "register", url),
                events=before.events if before else DEFAULT_EVENTS,
            )
            flash(gettext("Decisions of %(bin)s are now sent to %(url)s.", bin=bin_, url=url), "ok")
    except GatewayError as exc:
        return _page(exc.status, localized_problem(exc, request.path))
    return redirect(url_for("portal.notifications"))
