"""Signing in to the OMC with a client certificate from the PKI, passed on by a TLS proxy.

The proxy does the TLS handshake, which is what proves that the browser holds the certificate's
private key, and passes the certificate on in the header NSW_OMC_CLIENT_CERT_HEADER (PEM,
URL-encoded: nginx's `$ssl_client_escaped_cert`). A certificate is public, so that header proves
nothing by itself: anyone can send one. It is believed only from the proxies listed in
NSW_OMC_TRUSTED_PROXIES, and the gateway then judges the certificate itself, as numbered steps:

1. the header came from a trusted proxy (the TCP peer, never a forwarded-for header);
2. it holds one readable PEM certificate;
3. the trust store: chains to the PKI's anchors, valid now, extended key usage clientAuth, not
   revoked per a current CRL (`TrustStore.verify(usage=check_client_auth_use)`);
4. an enabled OMC account is bound to the certificate's SHA-256 fingerprint (the sign-in, or
   the refusal of a disabled account, is recorded in the trail by `Accounts`).

Any failed step raises `CertificateRefused` with a sentence the officer can act on.
"""

from __future__ import annotations

import ipaddress
import logging
import urllib.parse
from dataclasses import dataclass

from gateway.config import Config
from gateway.errors import ConfigurationError, GatewayError
from gateway.omc.accounts import Accounts
from gateway.omc.errors import CertificateRefused
from gateway.omc.roles import Officer
from gateway.trust.certificates import TrustStore
from gateway.trust.checks import check_client_auth_use
from wire import certificates

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class CertificateSignIn:
    """Where the certificate arrives (`header`) and from whom it is believed (`proxies`)."""

    header: str
    proxies: tuple[Network, ...]

    @classmethod
    def from_config(cls, config: Config) -> CertificateSignIn | None:
        """None when certificate sign-in is off (no header configured). A header without trusted
        proxies, or a proxy that is not an address or network, is a `ConfigurationError`."""
        if not config.omc_client_cert_header:
            return None
        if not config.omc_trusted_proxies:
            raise ConfigurationError(
                "NSW_OMC_CLIENT_CERT_HEADER is set but NSW_OMC_TRUSTED_PROXIES is not: name the "
                "TLS proxies (addresses or networks) whose certificate header may be believed."
            )
        try:
            proxies = tuple(ipaddress.ip_network(p.strip()) for p in config.omc_trusted_proxies)
        except ValueError as exc:
            raise ConfigurationError(f"NSW_OMC_TRUSTED_PROXIES: {exc}") from exc
        return cls(config.omc_client_cert_header, proxies)

    def officer(
        self, passed: str, peer: str | None, trust: TrustStore, accounts: Accounts
    ) -> Officer | None:
        """The officer whose certificate came in the header (`passed`, its value) from the TCP
        peer `peer`; None if no certificate came."""
        if not passed:
            return None

        # Step 1: only a trusted proxy may pass a certificate on.
        if not self._trusted(peer):
            log.warning("OMC: client certificate header from %s, not a trusted proxy", peer)
            raise CertificateRefused(
                f"A client certificate came in the {self.header} header from {peer}, which is "
                "not a TLS proxy this gateway trusts (NSW_OMC_TRUSTED_PROXIES): it was ignored. "
                "Sign in with your name and password."
            )

        # Step 2: one PEM certificate, read whole by the one reader (`wire.certificates`): the
        # header is outside input, and a lazily parsed part must not fail later as a 500.
        try:
            cert = certificates.certificate_from_pem(urllib.parse.unquote(passed).encode())
        except certificates.UnreadableCertificate as exc:
            raise CertificateRefused(
                "The client certificate passed on by the TLS proxy cannot be read as PEM; "
                "check the proxy's configuration (nginx: $ssl_client_escaped_cert)."
            ) from exc

        # Step 3: it chains to the PKI, is valid, is for client authentication, is not revoked.
        try:
            trusted = trust.verify(cert, usage=check_client_auth_use)
        except GatewayError as exc:
            log.warning("OMC: client certificate refused: %s", exc.detail)
            raise CertificateRefused(f"Your certificate was not accepted. {exc.detail}") from exc

        # Step 4: an enabled account is bound to it (the attempt goes to the trail).
        found = accounts.sign_in_by_certificate(trusted.fingerprint_sha256, address=peer)
        if found is None:
            raise CertificateRefused(
                f"The certificate '{trusted.subject}' is valid, but no enabled OMC account is "
                f"bound to it (SHA-256 {trusted.fingerprint_sha256}). Ask an administrator to "
                "bind it to your account, or sign in with your name and password."
            )
        return found

    def _trusted(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
        return any(address in network for network in self.proxies)
