"""Signing in to the OMC with a client certificate from the PKI, passed on by a TLS proxy.

The proxy passes the certificate on in the header NSW_OMC_CLIENT_CERT_HEADER; it is believed only
from the proxies listed in NSW_OMC_TRUSTED_PROXIES. Steps 1-3 (trusted proxy, one readable PEM
certificate, the trust store with clientAuth) are the shared judge's (`gateway.web.client_cert`);
the OMC adds

4. an enabled OMC account is bound to the certificate's SHA-256 fingerprint (the sign-in, or
   the refusal of a disabled account, is recorded in the trail by `Accounts`).

Any failed step raises `CertificateRefused` with a sentence the officer can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import Config
from gateway.omc.accounts import Accounts
from gateway.omc.errors import CertificateRefused
from gateway.omc.roles import Officer
from gateway.trust.certificates import TrustStore
from gateway.web.client_cert import Network, ProxiedCertificate, trusted_proxies


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
        proxies = trusted_proxies(
            "NSW_OMC_CLIENT_CERT_HEADER", "NSW_OMC_TRUSTED_PROXIES", config.omc_trusted_proxies
        )
        return cls(config.omc_client_cert_header, proxies)

    @property
    def judge(self) -> ProxiedCertificate:
        return ProxiedCertificate(
            self.header,
            self.proxies,
            "NSW_OMC_TRUSTED_PROXIES",
            CertificateRefused,
            otherwise="Sign in with your name and password.",
            audience="OMC",
        )

    def officer(
        self, passed: str, peer: str | None, trust: TrustStore, accounts: Accounts
    ) -> Officer | None:
        """The officer whose certificate came in the header (`passed`, its value) from the TCP
        peer `peer`; None if no certificate came."""
        # Steps 1-3: a trusted proxy passed on one readable certificate the trust store accepts.
        trusted = self.judge.judge(passed, peer, trust)
        if trusted is None:
            return None

        # Step 4: an enabled account is bound to it (the attempt goes to the trail).
        found = accounts.sign_in_by_certificate(trusted.fingerprint_sha256, address=peer)
        if found is None:
            raise CertificateRefused(
                f"The certificate '{trusted.subject}' is valid, but no enabled OMC account is "
                f"bound to it (SHA-256 {trusted.fingerprint_sha256}). Ask an administrator to "
                "bind it to your account, or sign in with your name and password."
            )
        return found
