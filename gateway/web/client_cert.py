"""A client certificate passed on by a TLS proxy, judged by the gateway: shared by the OMC's and
the portal's certificate sign-in.

The proxy does the TLS handshake, which is what proves that the browser holds the certificate's
private key, and passes the certificate on in a header (PEM, URL-encoded: nginx's
`$ssl_client_escaped_cert`). A certificate is public, so that header proves nothing by itself:
anyone can send one. It is believed only from the configured proxies, and then judged, as
numbered steps:

1. the header came from a trusted proxy (the TCP peer, never a forwarded-for header);
2. it holds one readable PEM certificate;
3. the trust store: chains to the PKI's anchors, valid now, extended key usage clientAuth, not
   revoked per a current CRL (`TrustStore.verify(usage=check_client_auth_use)`).

What the holder may then do (an OMC account, a trader's BIN) is the caller's fourth step. Any
failed step raises the caller's error class with a sentence the person can act on.
"""

from __future__ import annotations

import ipaddress
import logging
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.errors import ConfigurationError, GatewayError
from gateway.i18n import Text
from gateway.trust.certificates import TrustedSigner, TrustStore
from gateway.trust.checks import check_client_auth_use
from wire import certificates

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies(
    header_setting: str, proxies_setting: str, values: Sequence[str]
) -> tuple[Network, ...]:
    """The proxies as networks; a header without proxies, or a value that is not an address or
    network, is a `ConfigurationError` naming the settings."""
    if not values:
        raise ConfigurationError(
            Text(
                "%(header_setting)s is set but %(proxies_setting)s is not: name the TLS proxies "
                "(addresses or networks) whose certificate header may be believed.",
                header_setting=header_setting,
                proxies_setting=proxies_setting,
            )
        )
    try:
        return tuple(ipaddress.ip_network(p.strip()) for p in values)
    except ValueError as exc:
        raise ConfigurationError(f"{proxies_setting}: {exc}") from exc


@dataclass(frozen=True)
class ProxiedCertificate:
    """Where the certificate arrives (`header`), from whom it is believed (`proxies`, configured
    as `proxies_setting`), what error a refusal raises and what the person may do instead
    (`otherwise`, a sentence appended to the refusal of an untrusted proxy)."""

    header: str
    proxies: tuple[Network, ...]
    proxies_setting: str
    refused: type[GatewayError]
    otherwise: str = ""
    audience: str = "client"  # for the log lines: "OMC", "portal"

    def judge(self, passed: str, peer: str | None, trust: TrustStore) -> TrustedSigner | None:
        """The trusted holder of the certificate in the header value `passed`, sent by the TCP
        peer `peer`; None if no certificate came."""
        if not passed:
            return None

        # Step 1: only a trusted proxy may pass a certificate on.
        if not self.from_trusted_proxy(peer):
            log.warning("%s: client certificate header from %s, not a trusted proxy",
                        self.audience, peer)  # fmt: skip
            facts = {"header": self.header, "peer": peer, "setting": self.proxies_setting}
            raise self.refused(
                Text(
                    "A client certificate came in the %(header)s header from %(peer)s, which is "
                    "not a TLS proxy this gateway trusts (%(setting)s): it was ignored. "
                    "%(otherwise)s",
                    otherwise=self.otherwise,
                    **facts,
                )
                if self.otherwise
                else Text(
                    "A client certificate came in the %(header)s header from %(peer)s, which is "
                    "not a TLS proxy this gateway trusts (%(setting)s): it was ignored.",
                    **facts,
                )
            )

        # Step 2: one PEM certificate, read whole by the one reader (`wire.certificates`): the
        # header is outside input, and a lazily parsed part must not fail later as a 500.
        try:
            cert = certificates.certificate_from_pem(urllib.parse.unquote(passed).encode())
        except certificates.UnreadableCertificate as exc:
            raise self.refused(
                Text(
                    "The client certificate passed on by the TLS proxy cannot be read as PEM; "
                    "check the proxy's configuration (nginx: $ssl_client_escaped_cert)."
                )
            ) from exc

        # Step 3: it chains to the PKI, is valid, is for client authentication, is not revoked.
        try:
            return trust.verify(cert, usage=check_client_auth_use)
        except GatewayError as exc:
            log.warning("%s: client certificate refused: %s", self.audience, exc.detail)
            raise self.refused(
                Text("Your certificate was not accepted. %(why)s", why=exc.detail)
            ) from exc

    def from_trusted_proxy(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
        return any(address in network for network in self.proxies)
