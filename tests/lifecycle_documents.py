"""Documents of an application's life after lodging (issue 19), for tests: a withdrawal, and the
edit that turns a sample into an amendment of a lodged version."""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped


def withdrawal(
    identity: SigningIdentity, application_id: str, reason: str, note: str | None = None
) -> bytes:
    """A withdrawal of `application_id` signed with `identity`."""
    note_xml = f"<Note>{note}</Note>" if note else ""
    raw = (
        '<Withdrawal xmlns="urn:kz:nsw:withdrawal:1">'
        f"<ApplicationId>{application_id}</ApplicationId><Reason>{reason}</Reason>{note_xml}"
        "</Withdrawal>"
    ).encode()
    return sign_enveloped(parse_xml(raw), identity)


def amends(
    application_id: str, sha256: str, version: int, *, quantity: str | None = None,
    procedure: str | None = None,
) -> Callable[[bytes], bytes]:  # fmt: skip
    """An edit for `signed_sample(edit=...)`: the first goods item's quantity (and procedure)
    changed, and `<Amends>` naming the version replaced, after Documents."""

    def edit(raw: bytes) -> bytes:
        text = raw.decode()
        if quantity is not None:
            text = re.sub(
                r"(<Quantity unit=\"[a-z0-9]+\">)[^<]*", rf"\g<1>{quantity}", text, count=1
            )
        if procedure is not None:
            text = re.sub(r"<Procedure>[^<]*", f"<Procedure>{procedure}", text, count=1)
        mark = f'<Amends id="{application_id}" sha256="{sha256}" version="{version}"/>'
        return text.replace("</Application>", f"  {mark}\n</Application>").encode()

    return edit
