"""The development PKI: made with `cryptography` only, never by hand.

`init_dev_pki(dir)` writes a root CA, an issuing CA that issues every leaf (so chains always have an
intermediate), a CRL per CA, the gateway, the four agencies, five sample traders (one expired,
one revoked), the checkpoint devices (again one expired, one revoked), an OMC officer, and
`manifest.json` describing them. Who is in it and how their certificates look is
in `gateway.pki.profiles`. Files are PEM; private keys are unencrypted PKCS#8 with mode 0600,
certificates and CRLs 0644. Beside them it keeps the trail log's own Ed25519 key
(`log-ed25519.key`, and its C2SP verifier key in `log-ed25519.vkey`), which signs the trail's
checkpoints; the RSA gateway certificate stays for XML documents. This is a development convenience: production keys come from the NCA
and the agencies, and nothing here is used unless a deployment points `NSW_PKI_DIR` at it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.errors import ConfigurationError
from gateway.i18n.text import Text
from gateway.pki.crl import refresh_stale_crls, reissue_crl
from gateway.pki.profiles import (
    ISSUING_CA,
    PARTIES,
    ROOT_CA,
    PartySpec,
    PrivateKey,
    issue_certificate,
    make_crl,
    new_key,
)
from gateway.trail.format import TREE_HEAD_ORIGIN
from gateway.trail.keys import load_log_signer
from gateway.trust.checks import describe_name

MANIFEST = "manifest.json"
CRL_FILE = "crl.pem"  # issued by the issuing CA: revocation of leaves
ROOT_CRL_FILE = "root-crl.pem"  # issued by the root: revocation of the issuing CA
MANIFEST_VERSION = 1
LOG_KEY_FILE = "log-ed25519.key"  # PKCS#8 PEM; signs the trail's C2SP checkpoints
LOG_VKEY_FILE = "log-ed25519.vkey"  # its signed-note verifier key, for witnesses and auditors
_KEY_MODE, _PUBLIC_MODE = 0o600, 0o644


@dataclass(frozen=True)
class PartyRecord:
    """One manifest entry. File names are relative to the PKI directory."""

    slug: str
    role: str  # root-ca | issuing-ca | gateway | agency | trader | device | officer
    cert: str
    key: str
    subject: str  # RFC 4514 string
    sha256: str  # lowercase hex fingerprint of the DER certificate
    serial: str  # hex
    not_after: str  # RFC 3339
    bin: str | None = None
    iin: str | None = None
    agency: str | None = None


@dataclass(frozen=True)
class DevPki:
    """A dev PKI on disk, as described by its manifest."""

    directory: Path
    parties: tuple[PartyRecord, ...]
    created: str

    def party(self, slug: str) -> PartyRecord:
        """The party with this slug; `KeyError` naming the known slugs if there is none."""
        for party in self.parties:
            if party.slug == slug:
                return party
        raise KeyError(f"no party {slug!r} in the dev PKI; known: {[p.slug for p in self.parties]}")

    def cert_path(self, slug: str) -> Path:
        return self.directory / self.party(slug).cert

    def key_path(self, slug: str) -> Path:
        return self.directory / self.party(slug).key

    def certificate(self, slug: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_path(slug).read_bytes())

    def slugs(self, role: str | None = None) -> list[str]:
        """Slugs in manifest order, optionally only those with `role`."""
        return [p.slug for p in self.parties if role is None or p.role == role]

    @property
    def bins(self) -> dict[str, str]:
        """Trader slug -> BIN, for every party whose certificate carries a BIN."""
        return {p.slug: p.bin for p in self.parties if p.bin}

    @property
    def crl_path(self) -> Path:
        return self.directory / CRL_FILE

    @property
    def root_crl_path(self) -> Path:
        return self.directory / ROOT_CRL_FILE

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST


def init_dev_pki(
    directory: Path,
    *,
    now: dt.datetime | None = None,
    force: bool = False,
    log_origin: str = TREE_HEAD_ORIGIN,
) -> DevPki:
    """Return the dev PKI in `directory`, creating it first if there is none (or if `force`).

    An existing PKI (a manifest whose files are all present) keeps every key and certificate, so
    fingerprints stay stable across runs; only a CRL past or within a day of its next update is
    issued afresh (same entries, next CRL number), so a PKI made weeks ago still works. A manifest that is unreadable or names missing files
    raises `ConfigurationError` rather than being overwritten; pass `force=True` to replace it.
    `now` (aware) is the issuing time; it defaults to the current UTC time. The trail log's
    Ed25519 key is made if missing (its vkey named `log_origin`), also in an existing PKI.
    """
    directory = Path(directory)
    if not force and (directory / MANIFEST).exists():
        pki = _add_missing_leaves(load_dev_pki(directory), now)
        ensure_log_key(directory, log_origin)
        refresh_stale_crls(
            pki.directory,
            {
                name: (pki.party(ca).cert, pki.party(ca).key)
                for name, ca in ((CRL_FILE, ISSUING_CA), (ROOT_CRL_FILE, ROOT_CA))
            },
            (now or dt.datetime.now(dt.UTC)).replace(microsecond=0),
        )
        return pki
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    if moment.tzinfo is None:
        raise ValueError("init_dev_pki needs an aware datetime for `now`")
    directory.mkdir(parents=True, exist_ok=True)
    # The manifest marks a complete PKI, so it goes first on replace and last on create: a run cut
    # short leaves no manifest, and the next run starts again instead of loading half a PKI.
    (directory / MANIFEST).unlink(missing_ok=True)

    issued: dict[str, tuple[x509.Certificate, PrivateKey]] = {}
    records: list[PartyRecord] = []
    for spec in PARTIES:
        key = new_key(spec.key_type)
        # The root signs itself, the root signs the issuing CA, the issuing CA signs every leaf.
        issuer = (
            None
            if spec.slug == ROOT_CA
            else issued[ROOT_CA if spec.slug == ISSUING_CA else ISSUING_CA]
        )
        cert = issue_certificate(spec, key, issuer, moment)
        issued[spec.slug] = (cert, key)
        cert_file, key_file = f"{spec.slug}.pem", f"{spec.slug}.key"
        _write(directory / cert_file, cert.public_bytes(serialization.Encoding.PEM), _PUBLIC_MODE)
        _write(directory / key_file, _key_pem(key), _KEY_MODE)
        records.append(_record(spec, cert, cert_file, key_file))

    revoked = [(issued[s.slug][0].serial_number, moment) for s in PARTIES if s.revoked]
    for file, ca, listed in ((CRL_FILE, ISSUING_CA, revoked), (ROOT_CRL_FILE, ROOT_CA, [])):
        crl = make_crl(*issued[ca], listed, now=moment)
        _write(directory / file, crl.public_bytes(serialization.Encoding.PEM), _PUBLIC_MODE)

    created = _iso(moment)
    manifest = {
        "version": MANIFEST_VERSION,
        "created": created,
        "crls": {CRL_FILE: ISSUING_CA, ROOT_CRL_FILE: ROOT_CA},
        "parties": [asdict(r) for r in records],
    }
    if force:
        (directory / LOG_KEY_FILE).unlink(missing_ok=True)
    ensure_log_key(directory, log_origin)
    _write(directory / MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n", _PUBLIC_MODE)
    return DevPki(directory, tuple(records), created)


def ensure_log_key(directory: Path, origin: str) -> Path:
    """Make the trail log's Ed25519 key in `directory` unless it exists; (re)write its vkey named
    `origin` (the key name must be the checkpoint origin, and the key ID depends on it)."""
    key_path = Path(directory) / LOG_KEY_FILE
    if not key_path.is_file():
        _write(key_path, _key_pem(Ed25519PrivateKey.generate()), _KEY_MODE)
    vkey = load_log_signer(key_path, origin).verifier.vkey
    vkey_path = Path(directory) / LOG_VKEY_FILE
    if not vkey_path.is_file() or vkey_path.read_text(encoding="ascii").strip() != vkey:
        _write(vkey_path, vkey.encode("ascii") + b"\n", _PUBLIC_MODE)
    return key_path


def _add_missing_leaves(pki: DevPki, now: dt.datetime | None) -> DevPki:
    """Issue the leaves `PARTIES` names that an older PKI lacks (e.g. the checkpoint devices added
    after it was made), with its own issuing CA; every existing key and certificate stays as it
    was. A missing revoked leaf is added to a new issuing-CA CRL that keeps every earlier entry
    (CRL number + 1, RFC 5280 §5.2.3). A missing CA cannot be added this way: that needs `--force`."""
    known = {p.slug for p in pki.parties}
    missing = [s for s in PARTIES if s.slug not in known]
    if not missing:
        return pki
    if any(s.slug in (ROOT_CA, ISSUING_CA) for s in missing):
        raise ConfigurationError(
            Text(
                "The dev PKI in %(directory)s lacks %(list)s, which cannot be added to it; run "
                "`nsw pki init --force` to make a new one.",
                directory=pki.directory,
                list=", ".join(s.slug for s in missing),
            )
        )
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    issuing = pki.directory / pki.party(ISSUING_CA).cert
    issuing_key = serialization.load_pem_private_key(
        (pki.directory / pki.party(ISSUING_CA).key).read_bytes(), password=None
    )
    if not isinstance(issuing_key, PrivateKey):
        raise ConfigurationError(
            Text(
                "The issuing CA key in %(directory)s is not RSA or ECDSA.", directory=pki.directory
            )
        )
    issuer = (x509.load_pem_x509_certificate(issuing.read_bytes()), issuing_key)
    records = list(pki.parties)
    revoked: list[tuple[int, dt.datetime]] = []
    for spec in missing:
        key = new_key(spec.key_type)
        cert = issue_certificate(spec, key, issuer, moment)
        cert_file, key_file = f"{spec.slug}.pem", f"{spec.slug}.key"
        _write(
            pki.directory / cert_file, cert.public_bytes(serialization.Encoding.PEM), _PUBLIC_MODE
        )
        _write(pki.directory / key_file, _key_pem(key), _KEY_MODE)
        records.append(_record(spec, cert, cert_file, key_file))
        if spec.revoked:
            revoked.append((cert.serial_number, moment))
    if revoked:
        reissue_crl(pki.crl_path, issuer, revoked, moment)
    raw = json.loads(pki.manifest_path.read_text(encoding="utf-8"))
    raw["parties"] = [asdict(r) for r in records]
    # Replace the manifest atomically: a run cut short leaves the old, still complete, manifest.
    staged = pki.directory / (MANIFEST + ".new")
    _write(staged, json.dumps(raw, indent=2).encode() + b"\n", _PUBLIC_MODE)
    os.replace(staged, pki.manifest_path)
    return DevPki(pki.directory, tuple(records), pki.created)


def load_dev_pki(directory: Path) -> DevPki:
    """The dev PKI described by `directory/manifest.json`; `ConfigurationError` if incomplete."""
    path = Path(directory) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        parties = tuple(PartyRecord(**entry) for entry in raw["parties"])
        created = str(raw["created"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            Text(
                "The dev PKI manifest %(path)s cannot be read (%(exc)s); run `nsw pki init "
                "--force`.",
                path=path,
                exc=exc,
            )
        ) from exc
    files = [n for p in parties for n in (p.cert, p.key)] + list(raw.get("crls", {}))
    missing = [name for name in files if not (path.parent / name).is_file()]
    if missing:
        raise ConfigurationError(
            Text(
                "The dev PKI in %(parent)s is incomplete (missing %(list)s); run `nsw pki init "
                "--force` to make a new one.",
                parent=path.parent,
                list=", ".join(missing),
            )
        )
    return DevPki(Path(directory), parties, created)


def describe(pki: DevPki) -> list[str]:
    """Human-readable lines for `nsw pki init`: one line per party, its subject, then the CRLs."""
    lines = [f"Dev PKI in {pki.directory} (created {pki.created})"]
    for p in pki.parties:
        ident = (
            f"BIN {p.bin}" if p.bin else f"agency {p.agency}" if p.agency
            else f"IIN {p.iin}" if p.iin else ""
        )  # fmt: skip
        lines.append(f"  {p.slug:<20} {p.role:<10} {ident:<18} until {p.not_after}  {p.cert}")
        lines.append(f"      {p.subject}")
        lines.append(f"      sha256 {p.sha256}")
    for path, issuer in ((pki.crl_path, "issuing CA"), (pki.root_crl_path, "root CA")):
        crl = x509.load_pem_x509_crl(path.read_bytes())
        serials = {format(r.serial_number, "x") for r in crl}
        listed = [p.slug for p in pki.parties if p.serial in serials]
        next_update = _iso(crl.next_update_utc) if crl.next_update_utc else "never"
        lines.append(
            f"  {path.name:<20} CRL by {issuer}, next update {next_update}, "
            f"revoked: {', '.join(listed) or 'none'}"
        )
    return lines


def _record(spec: PartySpec, cert: x509.Certificate, cert_file: str, key_file: str) -> PartyRecord:
    return PartyRecord(
        slug=spec.slug,
        role=spec.role,
        cert=cert_file,
        key=key_file,
        subject=describe_name(cert.subject),
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        serial=format(cert.serial_number, "x"),
        not_after=_iso(cert.not_valid_after_utc),
        bin=spec.bin,
        iin=spec.iin,
        agency=spec.agency,
    )


def _key_pem(key: PrivateKey | Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write `data` with exactly `mode`, set before any byte lands (the umask cannot widen it,
    and a key file that already existed with looser permissions is tightened first)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(data)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
