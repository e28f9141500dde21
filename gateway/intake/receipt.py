"""The receipt: the gateway's signed statement "we received exactly these bytes at this time".

Returned with every 202 (and again with the 200 of a replay), and on request. It names the
application id, the declarant and trader reference, the SHA-256 of the exact bytes received and
the time they were received, and is an enveloped XML-DSig signed by the gateway like a decision
(see wsdl/application/receipt.xsd), so a trader can keep it as proof of lodging and check it with
any XML-DSig tool. Its content is rebuilt from the stored application, so a receipt issued again
says the same thing.
"""

from __future__ import annotations

from lxml import etree

from gateway.domain.views import ApplicationStatus
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

NS = "urn:kz:nsw:receipt:1"
FIELDS = (
    ("ApplicationId", "id"),
    ("DeclarantBIN", "declarant_bin"),
    ("TraderReference", "trader_reference"),
    ("ApplicationSHA256", "application_sha256"),
    ("ReceivedAt", "received_at"),
)


def render_receipt(application: ApplicationStatus) -> etree._Element:
    """The unsigned receipt for an application as `Store.application` returns it."""
    root = etree.Element(f"{{{NS}}}Receipt", nsmap={None: NS})
    for tag, key in FIELDS:
        etree.SubElement(root, f"{{{NS}}}{tag}").text = str(getattr(application, key))
    return root


def signed_receipt(identity: SigningIdentity, application: ApplicationStatus) -> bytes:
    return sign_enveloped(render_receipt(application), identity)
