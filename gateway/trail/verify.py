"""The offline verifier: checks an evidence bundle with no database and no network.

Given only the CA certificate(s) and the gateway's certificate, it checks — and reports by entry and
by check — the gateway's certificate chain, the tree head's signature, every entry's body hash, leaf
and inclusion proof, every message's own signature, and that the messages the decision refers to are
all present.

Agency messages are re-checked with the agencies' certificates the bundle carries (each must chain
to the CA and name its agency): a REST message kept whole (`wire.exchange` record) by its RFC 9421
signature and Content-Digest — an answer also against the request it answers —, a SOAP message by
its WS-Security signature (an answer with the SignatureConfirmation of the request). The time
judged is the time the gateway received the message. What cannot be checked — a body kept without
its signature fields, a missing certificate — is reported as not checked, never as ok.

The bundle comes from outside: `read_bundle` (gateway/trail/bundle.py) reads it strictly first and
refuses one of the wrong shape with `UnreadableBundle`, naming the member; an entry whose own
fields cannot be read is a failed check naming the entry. Nothing in a bundle ends in a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gateway.errors import GatewayError
from gateway.trail.attachment_checks import attachment_findings
from gateway.trail.bundle import Bundle, BundleEntry, read_bundle, read_time
from gateway.trail.format import TreeHead, read_entry, tree_head_signature_valid
from gateway.trail.merkle import MerkleProofError, leaf_hash, verify_consistency, verify_inclusion
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from wire import certificates, exchange, httpsig, wsse

APP = "{urn:kz:nsw:application:1}"
DEC = "{urn:kz:nsw:decision:1}"


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str  # "tree head", "entry 12 agency-answer agency:customs", ...
    check: str  # "signature", "body hash", "inclusion proof", ...
    detail: str = ""
    checked: bool = True  # False: the verifier could not check this; never reported as "ok"

    def line(self) -> str:
        mark = "FAIL" if not self.ok else "ok  " if self.checked else "n/c "
        check = self.check if self.checked else f"{self.check} NOT CHECKED"
        return f"{mark} {self.what}: {check}" + (f" — {self.detail}" if self.detail else "")


def not_checked(what: str, check: str, why: str) -> Check:
    return Check(True, what, check, why, checked=False)


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _trust_at(
    anchors: Sequence[x509.Certificate], chain: Sequence[x509.Certificate], when: dt.datetime
) -> TrustStore:
    # Offline there is no CRL to fetch: revocation was checked by the gateway at intake; here we
    # prove the chain and the validity at the time the message was received.
    return TrustStore(anchors, chain, [], lambda: when, require_crl=False)


def verify_bundle(
    document: Any,
    anchors: Sequence[x509.Certificate],
    gateway_cert: x509.Certificate,
) -> list[Check]:
    """Every check of the bundle `document` (parsed JSON); raises `UnreadableBundle` when it is
    not an evidence bundle at all."""
    # Step 0: the bundle's shape, read strictly (UnreadableBundle names the member at fault).
    bundle = read_bundle(document)
    checks: list[Check] = []
    try:  # the bundle comes from outside: its certificates go through the one reader
        chain = [
            certificates.certificate_from_pem(pem.encode("utf-8", "replace"))
            for pem in bundle.gateway_chain
        ]
    except certificates.UnreadableCertificate as exc:
        return [Check(False, "gateway certificate", "can be read", str(exc))]
    head, head_time = bundle.tree_head, bundle.head_time

    # Step 1: the gateway certificate is the one the auditor holds, and it chains to the CA.
    same = bool(chain) and _fingerprint(chain[0]) == _fingerprint(gateway_cert)
    checks.append(Check(same, "gateway certificate", "matches --gateway-cert"))
    try:
        _trust_at(anchors, chain[1:], head_time).verify(gateway_cert)
        checks.append(Check(True, "gateway certificate", "chains to the CA"))
    except GatewayError as exc:
        checks.append(Check(False, "gateway certificate", "chains to the CA", exc.detail))

    # Step 2: the tree head is signed by the gateway.
    checks.append(
        Check(
            tree_head_signature_valid(head, gateway_cert),
            f"tree head (size {head.size})",
            "gateway signature",
        )
    )

    # Step 3: every entry — body hash, leaf, inclusion in the signed tree, its own signature.
    sha_by_kind: dict[str, list[str]] = {}
    peers = _Peers(_agency_certificates(bundle, checks), gateway_cert, anchors, chain)
    for item in sorted(bundle.entries, key=lambda i: i.seq):
        checks.extend(
            _check_entry(
                item,
                head,
                anchors,
                chain,
                gateway_cert,
                bundle.application_id,
                sha_by_kind,
                peers,
            )
        )

    # Step 4: nothing the decision relies on is missing from the bundle.
    checks.extend(_check_complete(bundle, sha_by_kind))

    # Step 5: every supporting document, and every upload cited, is a signed entry's.
    checks.extend(Check(*finding) for finding in attachment_findings(bundle))
    return checks


def _check_entry(
    item: BundleEntry,
    head: TreeHead,
    anchors: Sequence[x509.Certificate],
    chain: Sequence[x509.Certificate],
    gateway_cert: x509.Certificate,
    application_id: str,
    sha_by_kind: dict[str, list[str]],
    peers: _Peers,
) -> list[Check]:
    seq, entry, body = item.seq, item.entry, item.body
    try:
        fields = read_entry(entry)
        kind = fields.get("kind")
        if not isinstance(kind, str):
            raise ValueError("the entry names no kind")
        when = read_time(fields.get("time"), "the entry's time")
    except ValueError as exc:
        return [Check(False, f"entry {seq}", "entry format", str(exc))]
    what = f"entry {seq} {kind} {fields.get('direction')} {fields.get('counterpart')}"
    checks = [
        Check(fields.get("seq") == seq, what, "sequence number", f"entry says {fields.get('seq')}"),
        Check(fields.get("application_id") == application_id, what, "belongs to the application"),
    ]
    digest = hashlib.sha256(body).hexdigest()
    checks.append(Check(digest == fields.get("sha256"), what, "body SHA-256 matches the entry"))
    sha_by_kind.setdefault(kind, []).append(digest)
    try:
        verify_inclusion(leaf_hash(entry), seq, head.size, list(item.inclusion_proof), head.root)
        checks.append(Check(True, what, f"inclusion proof in tree of size {head.size}"))
    except (MerkleProofError, ValueError) as exc:
        checks.append(Check(False, what, f"inclusion proof in tree of size {head.size}", str(exc)))
    if kind in AGENCY_KINDS:
        checks.append(peers.check(fields, body, what, when))
    else:
        checks.append(_check_signature(fields, body, what, when, anchors, chain, gateway_cert))
    return checks


def _check_signature(
    fields: dict[str, Any],
    body: bytes,
    what: str,
    when: dt.datetime,
    anchors: Sequence[x509.Certificate],
    chain: Sequence[x509.Certificate],
    gateway_cert: x509.Certificate,
) -> Check:
    kind = fields.get("kind")
    # An amendment (issue 19) is an application's new version, signed like the first.
    if kind not in ("application", "amendment", "decision"):
        return not_checked(
            what,
            "message signature",
            "the offline verifier re-checks the signatures of applications, their amendments "
            "and decisions only",
        )
    try:
        root = parse_xml(body)
        verified = verify_enveloped(root, _trust_at(anchors, chain, when), now=when)
    except GatewayError as exc:
        return Check(False, what, "XML signature", exc.detail)
    if kind == "decision":
        ok = _fingerprint(verified.signer.certificate) == _fingerprint(gateway_cert)
        return Check(ok, what, "XML signature by the gateway", verified.signer.subject)
    declarant = verified.signed.findtext(f"{APP}DeclarantBIN")
    ok = verified.signer.bin == declarant
    return Check(
        ok,
        what,
        "XML signature by the declarant",
        f"{verified.signer.subject}; declarant {declarant}",
    )


AGENCY_KINDS = frozenset({"agency-request", "agency-answer", "callback"})
SKEW = dt.timedelta(minutes=5)


def _agency_certificates(bundle: Bundle, checks: list[Check]) -> dict[str, x509.Certificate]:
    """The agencies' certificates the bundle carries (code -> certificate), each read by the one
    reader; an unreadable one is a failed check and is left out."""
    found: dict[str, x509.Certificate] = {}
    for code, pem in sorted(bundle.agency_certificates.items()):
        try:
            found[code] = certificates.certificate_from_pem(pem.encode("utf-8", "replace"))
        except certificates.UnreadableCertificate as exc:
            checks.append(Check(False, f"agency {code} certificate", "can be read", str(exc)))
    return found


@dataclass
class _Peers:
    """Re-checks the signatures of agency exchanges, pairing each answer with its request."""

    agencies: dict[str, x509.Certificate]
    gateway_cert: x509.Certificate
    anchors: Sequence[x509.Certificate]
    chain: Sequence[x509.Certificate]
    requests: dict[str, bytes] = field(default_factory=dict)  # case -> last request sent

    def check(self, fields: dict[str, Any], body: bytes, what: str, when: dt.datetime) -> Check:
        kind, case = fields.get("kind"), str(fields.get("case_id") or "")
        if kind == "agency-request":
            self.requests[case] = body
            return self._verify(body, self.gateway_cert, when, what, None, "the gateway")
        agency = str(fields.get("counterpart", "")).removeprefix("agency:")
        cert = self.agencies.get(agency)
        if cert is None:
            return not_checked(
                what, "agency signature", f"the bundle has no certificate of {agency}"
            )
        problem = self._judge(cert, agency, when)
        if problem:
            return Check(False, what, "agency signature", problem)
        request = self.requests.get(case) if kind == "agency-answer" else None
        return self._verify(body, cert, when, what, request, agency)

    def _judge(self, cert: x509.Certificate, agency: str, when: dt.datetime) -> str:
        try:
            _trust_at(self.anchors, self.chain, when).verify(cert, usage=lambda _c: None)
        except GatewayError as exc:
            return f"the certificate of {agency} is not trusted: {exc.detail}"
        units = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
        if agency not in [str(u.value) for u in units]:
            return f"the certificate given for {agency} names another party"
        return ""

    def _verify(
        self,
        body: bytes,
        cert: x509.Certificate,
        when: dt.datetime,
        what: str,
        request: bytes | None,
        signer: str,
    ) -> Check:
        check = f"RFC 9421 signature by {signer}" if exchange.is_record(body) else ""
        try:
            if exchange.is_record(body):
                _verify_http(body, cert, when, request)
            elif body.lstrip().startswith(b"<"):
                check = f"WS-Security signature by {signer}"
                confirms = wsse.signature_value(parse_xml(request)) if request else None
                wsse.verify_envelope(parse_xml(body), cert, now=when, skew=SKEW, confirms=confirms)
            else:
                return not_checked(
                    what,
                    "agency signature",
                    "kept without its signature fields (recorded before whole messages were kept)",
                )
        except (
            exchange.UnreadableRecord,
            httpsig.UntrustedHttpMessage,
            wsse.UntrustedMessage,
        ) as exc:
            return Check(False, what, check, str(exc))
        except GatewayError as exc:
            return Check(False, what, check or "signature", exc.detail)
        return Check(True, what, check)


def _verify_http(
    body: bytes, cert: x509.Certificate, when: dt.datetime, request: bytes | None
) -> None:
    message = exchange.read_record(body)
    if message.is_request:
        httpsig.verify(
            httpsig.HttpMessage(dict(message.fields), method=message.method, url=message.target).view(),
            message.body, cert, now=when, skew=SKEW, components=httpsig.REQUEST_COMPONENTS,
        )  # fmt: skip
        return
    if request is None or not exchange.is_record(request):
        raise exchange.UnreadableRecord("the request this answer is bound to is not in the bundle")
    sent = exchange.read_record(request)
    httpsig.verify(
        httpsig.HttpMessage(dict(message.fields), status_code=message.status).view(),
        message.body, cert, now=when, skew=SKEW, components=httpsig.RESPONSE_COMPONENTS,
        request=httpsig.HttpMessage(dict(sent.fields), method=sent.method, url=sent.target).view(),
    )  # fmt: skip


def _check_complete(bundle: Bundle, sha_by_kind: dict[str, list[str]]) -> list[Check]:
    decisions = [e.body for e in bundle.entries if e.kind == "decision"]
    checks = [
        Check(bool(sha_by_kind.get("application")), "bundle", "holds the application as received")
    ]
    for xml in decisions:
        try:
            decision = parse_xml(xml)
        except GatewayError as exc:
            checks.append(Check(False, "decision", "readable", exc.detail))
            continue
        app_sha = decision.findtext(f"{DEC}ApplicationSHA256")
        versions = sha_by_kind.get("application", []) + sha_by_kind.get("amendment", [])
        checks.append(
            Check(
                app_sha in versions,
                "decision",
                "refers to the application in the bundle",
            )
        )
        # A case is answered synchronously or by callback: either message may be the one cited.
        answers = sha_by_kind.get("agency-answer", []) + sha_by_kind.get("callback", [])
        for answer_sha in decision.iterfind(f"{DEC}Cases/{DEC}Case/{DEC}AnswerSHA256"):
            present = answer_sha.text in answers
            checks.append(
                Check(
                    present,
                    "decision",
                    f"agency answer {str(answer_sha.text)[:12]}… is in the bundle",
                )
            )
    return checks


def verify_tree_heads(
    old: TreeHead, new: TreeHead, proof: Sequence[bytes], gateway_cert: x509.Certificate
) -> list[Check]:
    """`nsw audit consistency`: both heads signed by the gateway, and the new one extends the old."""
    checks = [
        Check(
            tree_head_signature_valid(old, gateway_cert),
            f"tree head (size {old.size})",
            "gateway signature",
        ),
        Check(
            tree_head_signature_valid(new, gateway_cert),
            f"tree head (size {new.size})",
            "gateway signature",
        ),
    ]
    try:
        verify_consistency(old.size, new.size, old.root, new.root, list(proof))
        checks.append(Check(True, f"size {old.size} -> {new.size}", "consistency proof"))
    except (MerkleProofError, ValueError) as exc:
        checks.append(Check(False, f"size {old.size} -> {new.size}", "consistency proof", str(exc)))
    return checks
