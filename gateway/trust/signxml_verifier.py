"""signxml's `XMLVerifier`, the verifier of record, less two costs that check nothing (issue 17):

- `get_root`: signxml copies the document it is given by serializing and parsing it again (for
  an element inside a larger tree, so that inherited namespaces come along). The gateway gives it
  the root of a tree the hardened parser built (no DTD, no entities), which signxml never changes:
  it is used as it is. `_verify_reference` still works on a copy of its own, as before.
- `_check_cert_validity`: signxml formats the certificate's subject (RFC 4514) for an error
  message before it compares the dates, on every verification. Here the dates are compared first
  and signxml's own check, message and all, runs only when the certificate is outside them.

Every check signxml makes is still made by signxml's code; a test fails without each (see
tests/unit/trust/test_signxml_verifier.py). Written against signxml 5.2.0 (locked): those tests
also fail if the two methods' names or roles change. Like `XMLVerifier`, an instance keeps
per-call state: one per verification, never shared between threads.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from lxml import etree
from signxml.verifier import XMLVerifier


class Verifier(XMLVerifier):
    def get_root(self, data: Any) -> Any:
        if isinstance(data, etree._Element) and data.getparent() is None:
            return data
        return super().get_root(data)  # type: ignore[no-untyped-call]

    def _check_cert_validity(self, cert: x509.Certificate, cert_source: str) -> None:
        at = self._get_cert_verification_time()  # type: ignore[no-untyped-call]
        if cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            return
        super()._check_cert_validity(cert, cert_source)  # type: ignore[no-untyped-call]
