"""Re-issuing the dev PKI's CRLs: more revocations, or the same ones again before they go stale.

A CRL is believed only until its next update (RFC 5280 §5.1.2.5); after that the trust store
refuses every certificate of its issuer as "cannot be checked now". A dev PKI made a week ago would
therefore stop the demo. Each re-issued CRL keeps every earlier entry with its revocation date,
carries the next CRL number (§5.2.3) and is written atomically; no key or certificate changes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.errors import ConfigurationError
from gateway.i18n.text import Text
from gateway.pki.profiles import PrivateKey, make_crl

# A CRL with less than this left before its next update is issued afresh by `nsw pki init`: a
# demo started just before the deadline would otherwise fail halfway through.
REFRESH_MARGIN = dt.timedelta(days=1)
_PUBLIC_MODE = 0o644


def reissue_crl(
    path: Path,
    issuer: tuple[x509.Certificate, PrivateKey],
    revoked: Sequence[tuple[int, dt.datetime]],
    now: dt.datetime,
) -> None:
    """Replace the CRL at `path` by one from `issuer` listing its entries and `revoked`."""
    earlier = x509.load_pem_x509_crl(path.read_bytes())
    try:
        number = earlier.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = 0
    listed = [(r.serial_number, r.revocation_date_utc) for r in earlier] + list(revoked)
    crl = make_crl(*issuer, listed, now=now, number=number + 1)
    staged = path.with_name(path.name + ".new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PUBLIC_MODE)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), _PUBLIC_MODE)
        handle.write(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(staged, path)


def refresh_stale_crls(
    directory: Path,
    issuers: Mapping[str, tuple[str, str]],
    now: dt.datetime,
    margin: dt.timedelta = REFRESH_MARGIN,
) -> list[str]:
    """Re-issue every CRL in `directory` that is past its next update or has less than `margin`
    left. `issuers` maps a CRL file name to its issuer's (certificate, key) file names. Returns
    the names of the files re-issued."""
    renewed = []
    for name, (cert_file, key_file) in issuers.items():
        path = directory / name
        crl = x509.load_pem_x509_crl(path.read_bytes())
        if crl.next_update_utc is not None and crl.next_update_utc - now >= margin:
            continue
        reissue_crl(path, load_issuer(directory / cert_file, directory / key_file), [], now)
        renewed.append(name)
    return renewed


def load_issuer(cert: Path, key: Path) -> tuple[x509.Certificate, PrivateKey]:
    """A CA's certificate and private key from PEM files."""
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    if not isinstance(private, PrivateKey):
        raise ConfigurationError(Text("The CA key %(key)s is not RSA or ECDSA.", key=key))
    return x509.load_pem_x509_certificate(cert.read_bytes()), private
