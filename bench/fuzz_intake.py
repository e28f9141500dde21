"""Mutation fuzz of intake: genuinely signed applications, mutated, through the real app.

    .venv/bin/python bench/fuzz_intake.py --count 100000 --seed 1 --out var/fuzz

The three samples are signed by their declarants with a fresh dev PKI; each body is one of them
mutated — byte-wise (flip, delete, insert, duplicate, digit), structurally (an element removed,
copied to the root, wrapped, retexted, given an Id), in KeyInfo (one or a few base64 characters of
an ds:X509Certificate, or one byte of its DER, changed; certificates dropped, duplicated,
reordered), or one base64 character of SignatureValue or DigestValue — and POSTed to
/api/v1/applications through the Flask test client (in-process, SQLite in a temporary directory, no
dispatcher, nothing on the network). Issue 15's figures.

It counts answers by status and problem type and checks the two things that must never happen:

- a 5xx: the body is saved as `<out>/5xx-<n>.xml` for replay (with the answer beside it);
- a body that passed verification (202 new, 200 same bytes, 409 reference-conflict: intake checks
  the reference only after the signature) whose signed content — the document less its signature,
  exclusive C14N without comments — differs from the unmutated sample's. For a 202 the bytes the
  gateway *stored* are compared. Saved as `<out>/altered-<n>.xml`.

Exit status 1 if either count is not 0. A progress line goes to stderr every `--every` bodies;
SIGINT or SIGTERM stops the run and prints the report of the bodies done so far.
"""

from __future__ import annotations

import argparse
import base64
import collections
import logging
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from gateway.app import create_app
from gateway.bootstrap import build_services
from gateway.config import PROJECT_ROOT, load_config
from gateway.errors import GatewayError
from gateway.pki.dev import init_dev_pki
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

DS = "{http://www.w3.org/2000/09/xmldsig#}"
SAMPLES = {
    "fresh-apples-import": "trader-steppe",
    "live-cattle-import": "trader-altyn",
    "overweight-machinery-transit": "trader-kaztrans",
}
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
NAMES = ["Application", "a", "ds:Signature", "DeclarantBIN", "Item", "x_y"]


def signed_content(body: bytes) -> bytes | None:
    """What a signature over the whole document commits to; None if the gateway would not parse
    it."""
    try:
        root = parse_xml(body)
    except GatewayError:
        return None
    for signature in root.findall(f"{DS}Signature"):
        root.remove(signature)
    return bytes(etree.tostring(root, method="c14n", exclusive=True, with_comments=False))


# --- mutations -----------------------------------------------------------------------------------


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _change_chars(rng: random.Random, text: str, count: int) -> str:
    chars = list(text)
    positions = [i for i, c in enumerate(chars) if c in B64]
    for at in rng.sample(positions, min(count, len(positions))):
        chars[at] = rng.choice(B64.replace(chars[at], ""))
    return "".join(chars)


def mutate_bytes(rng: random.Random, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(rng.randint(1, 3)):
        if not data:
            break
        at = rng.randrange(len(data))
        op = rng.choice(["flip", "delete", "insert", "duplicate", "digit"])
        if op == "flip":
            data[at] ^= 1 << rng.randrange(8)
        elif op == "delete":
            del data[at : at + rng.randint(1, 40)]
        elif op == "insert":
            data[at:at] = rng.choice([b"<!---->", b" ", b"<a/>", b"&x;", b"\x00", b"]]>", b"="])
        elif op == "duplicate":
            data[at:at] = data[at : at + rng.randint(1, 200)]
        elif chr(data[at]).isdigit():
            data[at] = ord(str(rng.randrange(10)))
    return bytes(data)


def mutate_structure(rng: random.Random, original: bytes) -> bytes:
    root = etree.fromstring(original)
    victim = rng.choice(list(root.iter())[1:])
    op = rng.choice(["remove", "copy-to-root", "wrap", "retext", "attribute"])
    if op == "remove":
        victim.getparent().remove(victim)  # type: ignore[union-attr]
    elif op == "copy-to-root":
        root.insert(rng.randint(0, len(root)), etree.fromstring(etree.tostring(victim)))
    elif op == "wrap":
        parent = victim.getparent()
        assert parent is not None
        wrapper = etree.Element(rng.choice(NAMES).replace(":", "_"))
        parent.replace(victim, wrapper)
        wrapper.append(victim)
    elif op == "retext":
        victim.text = rng.choice(["", "x", "210540012341", "0", " ", "&", "\u0416"])
    else:
        victim.set("Id", rng.choice(["app", "", "x"]))
    return _serialize(root)


def mutate_keyinfo(rng: random.Random, original: bytes) -> bytes:
    root = etree.fromstring(original)
    data = root.find(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data")
    assert data is not None
    certs = data.findall(f"{DS}X509Certificate")
    node = rng.choice(certs)
    text = "".join((node.text or "").split())
    op = rng.choices(
        ["char", "chars", "der-byte", "truncate", "append", "drop", "duplicate", "reorder"],
        weights=[50, 10, 25, 3, 3, 3, 3, 3],
    )[0]
    if op == "char":
        node.text = _change_chars(rng, text, 1)
    elif op == "chars":
        node.text = _change_chars(rng, text, rng.randint(2, 4))
    elif op == "der-byte":  # what a changed character does inside the DER, one byte at a time
        der = bytearray(base64.b64decode(text))
        der[rng.randrange(len(der))] = rng.randrange(256)
        node.text = base64.b64encode(bytes(der)).decode()
    elif op == "truncate":
        node.text = text[: rng.randrange(len(text))]
    elif op == "append":
        node.text = text + rng.choice(["A", "AA==", "====", "QUJD"])
    elif op == "drop":
        data.remove(node)
    elif op == "duplicate":
        data.append(etree.fromstring(etree.tostring(node)))
    else:
        data.remove(node)
        data.insert(0, node)
    return _serialize(root)


def mutate_value(rng: random.Random, original: bytes, tag: str) -> bytes:
    root = etree.fromstring(original)
    node = root.find(f".//{DS}{tag}")
    assert node is not None
    node.text = _change_chars(rng, "".join((node.text or "").split()), 1)
    return _serialize(root)


MUTATIONS = {
    "bytes": (20, mutate_bytes),
    "structure": (10, mutate_structure),
    "keyinfo": (45, mutate_keyinfo),
    "signature-value": (12, lambda rng, o: mutate_value(rng, o, "SignatureValue")),
    "digest-value": (13, lambda rng, o: mutate_value(rng, o, "DigestValue")),
}


# --- the run -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "fuzz")
    parser.add_argument("--every", type=int, default=5_000, help="progress line interval")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="nsw-fuzz-") as tmp:
        pki = init_dev_pki(Path(tmp) / "pki")
        env = {"NSW_PKI_DIR": str(pki.directory), "NSW_DATABASE_URL": f"sqlite:///{tmp}/nsw.db"}
        config = load_config(env, dispatcher_threads=0)
        services = build_services(config)
        try:
            app = create_app(config, services)
            # The gateway's JSON log lines (one per accepted application) would drown the report;
            # warnings and the 500s' tracebacks still go to <out>/gateway.log.
            gateway_log = logging.getLogger("gateway")
            for handler in gateway_log.handlers:
                gateway_log.removeHandler(handler)
            gateway_log.addHandler(logging.FileHandler(args.out / "gateway.log"))
            gateway_log.setLevel(logging.WARNING)
            client = app.test_client()
            originals = {}
            for name, signer in SAMPLES.items():
                identity = SigningIdentity.from_files(
                    pki.key_path(signer), pki.cert_path(signer), pki.directory / "issuing-ca.pem"
                )
                raw = (PROJECT_ROOT / "samples" / f"{name}.xml").read_bytes()
                signed = sign_enveloped(parse_xml(raw), identity)
                originals[name] = (signed, signed_content(signed))
            return _run(args, rng, client, services, originals)
        finally:
            services.close()


@dataclass
class Tally:
    """What the run has seen so far; printed at the end, or when the run is interrupted."""

    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    by_mutation: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    done: int = 0
    server_errors: int = 0
    altered: int = 0


def _run(args, rng, client, services, originals) -> int:  # type: ignore[no-untyped-def]
    tally = Tally()
    names = list(originals)
    kinds = list(MUTATIONS)
    weights = [MUTATIONS[k][0] for k in kinds]
    started = time.monotonic()
    try:
        for n in range(1, args.count + 1):
            name = rng.choice(names)
            kind = rng.choices(kinds, weights)[0]
            original, genuine = originals[name]
            _judge(args, client, services, tally, kind, MUTATIONS[kind][1](rng, original), genuine)
            tally.done = n
            if n % args.every == 0 or n == args.count:
                rate = n / (time.monotonic() - started)
                print(
                    f"{n} bodies, {rate:.0f}/s, 5xx {tally.server_errors}, "
                    f"accepted-altered {tally.altered}",
                    file=sys.stderr,
                    flush=True,
                )
    except KeyboardInterrupt:  # SIGINT or SIGTERM: report what was done so far
        print(f"fuzz_intake: interrupted after {tally.done} of {args.count} bodies")
    return _report(args, tally, kinds, time.monotonic() - started)


def _judge(args, client, services, tally: Tally, kind: str, body: bytes, genuine: bytes) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/applications", data=body, headers={"Content-Type": "application/xml"}
    )
    status = response.status_code
    problem = ""
    if response.mimetype == "application/problem+json":
        problem = str(response.json.get("type", "")).rsplit(":", 1)[-1]
    tally.statuses[f"{status} {problem}".strip()] += 1
    tally.by_mutation[kind][status] += 1
    if status >= 500:
        tally.server_errors += 1
        (args.out / f"5xx-{tally.server_errors}.xml").write_bytes(body)
        (args.out / f"5xx-{tally.server_errors}.answer").write_bytes(response.data)
    if status in (200, 202) or problem == "reference-conflict":
        if status == 202:
            content = signed_content(_stored(services, response.json["id"]))
        else:
            content = signed_content(body)
        if content != genuine:
            tally.altered += 1
            (args.out / f"altered-{tally.altered}.xml").write_bytes(body)


def _report(args, tally: Tally, kinds: list[str], elapsed: float) -> int:  # type: ignore[no-untyped-def]
    print(f"fuzz_intake: {tally.done} bodies, seed {args.seed}, {elapsed:.0f} s")
    print("answers (status problem-type): count")
    for key, count in sorted(tally.statuses.items()):
        print(f"  {key}: {count}")
    print("by mutation (status: count)")
    for kind in kinds:
        counts = ", ".join(f"{s}: {c}" for s, c in sorted(tally.by_mutation[kind].items()))
        print(f"  {kind}: {counts}")
    print(f"5xx: {tally.server_errors}")
    print(f"accepted (or verified) with altered signed content: {tally.altered}")
    if tally.server_errors or tally.altered:
        print(f"bodies saved for replay in {args.out}")
    return 1 if tally.server_errors or tally.altered else 0


def _stored(services, application_id: str) -> bytes:  # type: ignore[no-untyped-def]
    """The application bytes the gateway stored (its trail message), not what we sent."""
    for message in services.store.messages(application_id):
        if message.kind == "application":
            return bytes(message.body)
    raise AssertionError(f"no stored application for {application_id}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(main())
