"""Configuration: defaults, then `NSW_*` environment variables, then an explicit mapping (tests).

There is no insecure fallback: the gateway's signing key and the trust anchors must exist where the
configuration says, or the app refuses to start with a sentence naming the missing file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gateway import resources
from gateway.errors import ConfigurationError
from gateway.i18n.text import Text

MIB = 1024 * 1024
ONE_YEAR_S = 365 * 24 * 3600


@dataclass(frozen=True)
class Config:
    database_url: str
    pki_dir: Path  # dev PKI layout: trust anchors, intermediates, CRLs, gateway key and cert
    gateway_key: Path
    gateway_cert: Path
    # Shipped with the package (gateway.resources); found when the configuration is built, not
    # when this module is imported.
    mappings_dir: Path = field(default_factory=lambda: resources.shipped("mappings"))
    wsdl_dir: Path = field(default_factory=lambda: resources.shipped("wsdl"))
    max_body_bytes: int = 5 * MIB
    # The most one supporting document may be (issue 19): below each media type's own cap
    # (gateway.lifecycle.attachments.MAX_BYTES), never above it.
    max_attachment_bytes: int = 20 * MIB
    dispatcher_threads: int = 2  # 0: no dispatcher in the web process (run `nsw worker`)
    # Requests one process serves at once (NSW_WEB_THREADS, gunicorn's threads; 0 in `nsw
    # worker`): the database pool keeps a connection for each (`bootstrap.pool_connections`).
    web_threads: int = 8
    # The loops wake on commit (gateway.fanout.wakeup); this is only their safety net: work written by
    # another process on SQLite, breakers closing, the deadline sweep.
    poll_interval_s: float = 2.0
    lease_s: float = 60.0
    max_attempts: int = 5
    require_crl: bool = True
    # How often a growing log gets a signed checkpoint; under 1 s, so that with the time signing
    # takes (and a busy machine) a checkpoint still follows the last within a second.
    tree_head_interval_s: float = 0.8
    case_deadline_s: float = 3600.0  # a case still open this long after receipt is escalated
    retry_base_s: float = 0.5  # first retry after up to this long, doubling each time
    agency_timeout_s: float | None = None  # overrides every agency's timeout_s when set
    breaker_failures: int = 5  # consecutive failures that open an agency's circuit breaker
    breaker_reset_s: float = 30.0  # how long it stays open before one probe is let through
    operator_tokens: tuple[str, ...] = ()
    public_url: str = ""  # where agencies reach us; empty: no callback URL in requests
    clock_skew_s: float = 120.0  # allowed clock difference when judging signature freshness
    audit_tokens: tuple[str, ...] = ()
    agency_urls: Mapping[str, str] = field(default_factory=dict)
    # The OMC web application (issue 10): sessions are signed with `secret_key`; without one the OMC
    # is not served unless `omc_insecure_dev_key` (a random per-process key) is set on purpose.
    secret_key: str = ""
    omc_insecure_dev_key: bool = False
    session_cookie_secure: bool = True  # off only for plain http://127.0.0.1 tests and demos
    login_max_failures: int = 5  # consecutive failed logins that lock an account
    login_lockout_s: float = 900.0
    # argon2id at its lowest cost for the OMC's password hashes: only for test suites, whose accounts
    # and passwords are thrown away (gateway.omc.accounts.password_hasher). Never read from the
    # environment, so no deployment can turn it on by a stray variable.
    cheap_password_hashes_for_tests: bool = False
    omc_client_cert_header: str = ""  # set by a TLS proxy that verified the client certificate
    # Addresses or networks of the TLS proxies whose client-certificate header is believed.
    omc_trusted_proxies: tuple[str, ...] = ()
    # Payments (issue 20): the treasury account orders are paid into (a KZ IBAN; no default, so no
    # order names an account nobody chose), the treasury's API and its pinned certificate
    # (default: agency-treasury.pem of the PKI directory).
    payee_account: str = ""
    treasury_url: str = ""
    treasury_cert: Path | None = None
    # The traders' portal (issue 21): sign-in only by a client certificate, from these proxies.
    portal_client_cert_header: str = ""
    portal_trusted_proxies: tuple[str, ...] = ()
    metrics_tokens: tuple[str, ...] = ()  # bearer tokens of the Prometheus scraper for /metrics
    # Decisions sent to the URL a trader registered (issue 6). Plain http:// and addresses that are
    # not public (loopback, private, link-local) are refused unless allowed: a trader must not make
    # the gateway call into the ministry's own network. Both are allowed only for dev and tests.
    notify_allow_http: bool = False
    notify_allow_private: bool = False
    notify_max_attempts: int = 8
    notify_timeout_s: float = 10.0
    # The trail as a C2SP transparency log: its own Ed25519 key (default: log-ed25519.key in the PKI
    # directory), the checkpoint origin, and the signer's state file (default: log-state beside the
    # key) holding the last checkpoint it signed, so it never signs one inconsistent with it.
    log_key: Path | None = None
    log_origin: str = "kz.nsw.gateway/trail"
    log_state: Path | None = None
    # Witnesses (c2sp.org/tlog-witness) as "name url vkey" entries, separated by ';', and how many
    # cosignatures a checkpoint needs before it counts as witnessed.
    witnesses: tuple[str, ...] = ()
    witness_quorum: int = 0
    # Strict-Transport-Security max-age (issue 15, item 11); None: decided by `hsts_max_age()`.
    hsts_max_age_s: int | None = None
    # The language of a reader who asks for none we speak (kk, ru, en; issue 21, item 2).
    default_locale: str = "en"

    @property
    def log_key_path(self) -> Path:
        return self.log_key or self.pki_dir / "log-ed25519.key"

    @property
    def log_state_path(self) -> Path:
        return self.log_state or self.log_key_path.parent / "log-state"

    def hsts_max_age(self) -> int:
        """Seconds of HSTS to send, 0 for none. Unless set, one year when the gateway is told it
        is served over TLS (an https public URL, or Secure session cookies, the default), else 0."""
        if self.hsts_max_age_s is not None:
            return max(self.hsts_max_age_s, 0)
        behind_tls = self.public_url.startswith("https://") or self.session_cookie_secure
        return ONE_YEAR_S if behind_tls else 0

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)


def load_config(env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Build the configuration from `env` (default: the process environment) and `overrides`."""
    env = os.environ if env is None else env
    pki_dir = Path(env.get("NSW_PKI_DIR") or resources.default_pki_dir(env))
    agency_urls = {
        key[len("NSW_AGENCY_") : -len("_URL")].lower(): value
        for key, value in env.items()
        if key.startswith("NSW_AGENCY_") and key.endswith("_URL")
    }
    config = Config(
        database_url=env.get("NSW_DATABASE_URL") or resources.default_database_url(env),
        pki_dir=pki_dir,
        gateway_key=Path(env.get("NSW_GATEWAY_KEY", str(pki_dir / "gateway.key"))),
        gateway_cert=Path(env.get("NSW_GATEWAY_CERT", str(pki_dir / "gateway.pem"))),
        max_body_bytes=int(env.get("NSW_MAX_BODY_BYTES", 5 * MIB)),
        max_attachment_bytes=int(env.get("NSW_MAX_ATTACHMENT_BYTES", 20 * MIB)),
        dispatcher_threads=int(env.get("NSW_DISPATCHER_THREADS", 2)),
        web_threads=int(env.get("NSW_WEB_THREADS", 8)),
        require_crl=env.get("NSW_REQUIRE_CRL", "1") not in ("0", "false", "no"),
        agency_urls=agency_urls,
        audit_tokens=_tokens(env, "NSW_AUDIT_TOKENS"),
        operator_tokens=_tokens(env, "NSW_OPERATOR_TOKENS"),
        lease_s=float(env.get("NSW_LEASE_S", 60)),
        poll_interval_s=float(env.get("NSW_POLL_INTERVAL_S", 2)),
        case_deadline_s=float(env.get("NSW_CASE_DEADLINE_S", 3600)),
        breaker_failures=int(env.get("NSW_BREAKER_FAILURES", 5)),
        retry_base_s=float(env.get("NSW_RETRY_BASE_S", 0.5)),
        max_attempts=int(env.get("NSW_MAX_ATTEMPTS", 5)),
        breaker_reset_s=float(env.get("NSW_BREAKER_RESET_S", 30)),
        public_url=env.get("NSW_PUBLIC_URL", ""),
        clock_skew_s=float(env.get("NSW_CLOCK_SKEW_S", 120)),
        secret_key=env.get("NSW_SECRET_KEY", ""),
        omc_insecure_dev_key=env.get("NSW_OMC_INSECURE_DEV_KEY", "") in ("1", "true", "yes"),
        session_cookie_secure=env.get("NSW_SESSION_COOKIE_SECURE", "1") not in ("0", "false", "no"),
        login_max_failures=int(env.get("NSW_LOGIN_MAX_FAILURES", 5)),
        login_lockout_s=float(env.get("NSW_LOGIN_LOCKOUT_S", 900)),
        omc_client_cert_header=env.get("NSW_OMC_CLIENT_CERT_HEADER", ""),
        omc_trusted_proxies=_tokens(env, "NSW_OMC_TRUSTED_PROXIES"),
        portal_client_cert_header=env.get("NSW_PORTAL_CLIENT_CERT_HEADER", ""),
        portal_trusted_proxies=_tokens(env, "NSW_PORTAL_TRUSTED_PROXIES"),
        metrics_tokens=_tokens(env, "NSW_METRICS_TOKENS"),
        default_locale=env.get("NSW_DEFAULT_LOCALE", "en"),
        notify_allow_http=_flag(env, "NSW_NOTIFY_ALLOW_HTTP"),
        notify_allow_private=_flag(env, "NSW_NOTIFY_ALLOW_PRIVATE"),
        notify_max_attempts=int(env.get("NSW_NOTIFY_MAX_ATTEMPTS", 8)),
        notify_timeout_s=float(env.get("NSW_NOTIFY_TIMEOUT_S", 10)),
        agency_timeout_s=float(t) if (t := env.get("NSW_AGENCY_TIMEOUT_S")) else None,
        hsts_max_age_s=int(hsts) if (hsts := env.get("NSW_HSTS_MAX_AGE_S")) else None,
        log_key=Path(env["NSW_LOG_KEY"]) if env.get("NSW_LOG_KEY") else None,
        log_origin=env.get("NSW_LOG_ORIGIN") or "kz.nsw.gateway/trail",
        log_state=Path(env["NSW_LOG_STATE"]) if env.get("NSW_LOG_STATE") else None,
        witnesses=tuple(w.strip() for w in env.get("NSW_WITNESSES", "").split(";") if w.strip()),
        witness_quorum=int(env.get("NSW_WITNESS_QUORUM", 0)),
        payee_account=env.get("NSW_PAYEE_ACCOUNT", ""),
        treasury_url=env.get("NSW_TREASURY_URL", ""),
        treasury_cert=Path(env["NSW_TREASURY_CERT"]) if env.get("NSW_TREASURY_CERT") else None,
    )
    return replace(config, **overrides) if overrides else config


# A claim's lease must outlast the call it covers, with room for connecting, signing and recording
# the answer: otherwise another worker takes the row while the first is still waiting on the agency,
# and the agency gets the request twice.
LEASE_MARGIN = 1.5


def check_lease_outlasts_timeouts(config: Config, agency_timeouts: Mapping[str, float]) -> None:
    """Refuse (`ConfigurationError`) a lease shorter than `LEASE_MARGIN` times the longest call
    a claim covers: each agency's timeout (`agency_timeouts`, after NSW_AGENCY_TIMEOUT_S) and a
    trader notification's (NSW_NOTIFY_TIMEOUT_S)."""
    calls = {f"agency {code}": timeout for code, timeout in agency_timeouts.items()}
    calls["trader notifications (NSW_NOTIFY_TIMEOUT_S)"] = config.notify_timeout_s
    for what, timeout in sorted(calls.items(), key=lambda item: -item[1]):
        needed = LEASE_MARGIN * timeout
        if config.lease_s < needed:
            raise ConfigurationError(
                Text(
                    "NSW_LEASE_S is %(lease_s)s s but a call to %(what)s may take up to "
                    "%(timeout)s s: a lease that runs out during a call lets a second worker send "
                    "the same request again. Set NSW_LEASE_S to at least %(needed)s s or lower "
                    "that timeout.",
                    lease_s=format(config.lease_s, "g"),
                    what=what,
                    timeout=format(timeout, "g"),
                    needed=format(needed, "g"),
                )
            )


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "") in ("1", "true", "yes")


def _tokens(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(t for t in env.get(name, "").split(",") if t)
