"""The reader's words for the codes the gateway stores and shows: case and notification states,
verdicts, breaker states, roles, checkpoint stages, exit kinds, message directions, representatives'
roles. The code stays in the page's markup (CSS classes, data attributes) and in every API; only the
words people read are translated. In English each label is the code as it always read, so nothing
changes for English readers. The OMC and the portal both show them (`label` in their templates)."""

from __future__ import annotations

from gateway.i18n.text import N_
from gateway.i18n.web import gettext

LABELS: dict[str, str] = {
    # cases (gateway.decision.CaseState) and verdicts
    "queued": N_("queued"), "pending": N_("pending"), "granted": N_("granted"),
    "refused": N_("refused"), "inspection": N_("inspection"), "escalated": N_("escalated"),
    "released": N_("released"), "in_progress": N_("in progress"),
    # issue 19: a withdrawn application, and its cases closed at the agencies
    "withdrawn": N_("withdrawn"), "cancelling": N_("cancelling"), "cancelled": N_("cancelled"),
    "superseded": N_("superseded"),
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
    # the portal: an application's state, and whose company it is (gateway.trust.representatives)
    "decided": N_("decided"), "own-company": N_("own company"),
    "customs-representative": N_("customs representative"), "carrier": N_("carrier"),
    # payment orders and permits (issue 20: gateway.payments.permits.PermitState)
    "paid": N_("paid"), "valid": N_("valid"), "suspended": N_("suspended"),
    "revoked": N_("revoked"), "exhausted": N_("exhausted"), "expired": N_("expired"),
    # charge kinds (gateway.payments.charges.ChargeKind) and a payment held (settlement.Outcome)
    "customs-duty": N_("customs duty"), "vat": N_("VAT"), "excise": N_("excise"),
    "agency-fee": N_("agency fee"), "held": N_("held"), "active": N_("active"),
    # a guarantee offered as security for payment (gateway.billing.guarantee_ports)
    "accepted": N_("accepted"), "discharged": N_("discharged"),
    # a guarantee customs released: its state is "released", which for an application reads
    # otherwise in kk and ru, so the payment pages show this label for it
    "guarantee-released": N_("released by customs"),
}  # fmt: skip


def label(code: object) -> str:
    """The reader's word for `code`; an unknown code is shown as it is."""
    text = str(code) if code is not None else ""
    found = LABELS.get(text)
    return gettext(found) if found else text
