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

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


@dataclass(frozen=True)
class Config:
    database_url: str
    pki_dir: Path  # dev PKI layout: trust anchors, intermediates, CRLs, gateway key and cert
    gateway_key: Path
    gateway_cert: Path
    mappings_dir: Path = PROJECT_ROOT / "mappings"
    wsdl_dir: Path = PROJECT_ROOT / "wsdl"
    max_body_bytes: int = 5 * MIB
    dispatcher_threads: int = 2  # 0: no dispatcher in the web process (run `nsw worker`)
    poll_interval_s: float = 0.2
    lease_s: float = 60.0
    max_attempts: int = 5
    require_crl: bool = True
    tree_head_interval_s: float = 2.0
    audit_tokens: tuple[str, ...] = ()
    agency_urls: Mapping[str, str] = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)


def default_database_url() -> str:
    var = PROJECT_ROOT / "var"
    return f"sqlite:///{var / 'nsw.db'}"


def load_config(env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Build the configuration from `env` (default: the process environment) and `overrides`."""
    env = os.environ if env is None else env
    pki_dir = Path(env.get("NSW_PKI_DIR", str(PROJECT_ROOT / "certs" / "dev")))
    agency_urls = {
        key[len("NSW_AGENCY_") : -len("_URL")].lower(): value
        for key, value in env.items()
        if key.startswith("NSW_AGENCY_") and key.endswith("_URL")
    }
    config = Config(
        database_url=env.get("NSW_DATABASE_URL", default_database_url()),
        pki_dir=pki_dir,
        gateway_key=Path(env.get("NSW_GATEWAY_KEY", str(pki_dir / "gateway.key"))),
        gateway_cert=Path(env.get("NSW_GATEWAY_CERT", str(pki_dir / "gateway.pem"))),
        max_body_bytes=int(env.get("NSW_MAX_BODY_BYTES", 5 * MIB)),
        dispatcher_threads=int(env.get("NSW_DISPATCHER_THREADS", 2)),
        require_crl=env.get("NSW_REQUIRE_CRL", "1") not in ("0", "false", "no"),
        agency_urls=agency_urls,
        audit_tokens=tuple(t for t in env.get("NSW_AUDIT_TOKENS", "").split(",") if t),
    )
    return replace(config, **overrides) if overrides else config
