"""Builds the lifecycle service (issue 19) from the configuration: a composition root, so it may
name the storage implementation of its port."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from gateway.billing.service import released_decision_signer
from gateway.clock import Clock
from gateway.config import Config
from gateway.decision.document import make_decider, make_withdrawn_signer
from gateway.fanout.routing import load_rules
from gateway.lifecycle.rules import load_lifecycle_rules
from gateway.lifecycle.service import Lifecycle
from gateway.storage.versions import VersionStore
from gateway.trust.certificates import TrustStore
from gateway.trust.representatives import Representatives
from gateway.trust.schemas import load_schema
from gateway.trust.xmlsig import SigningIdentity


def build_lifecycle(
    config: Config,
    engine: Engine,
    clock: Clock,
    *,
    trust: TrustStore,
    identity: SigningIdentity,
    representatives: Representatives,
    agencies: Iterable[str],
) -> Lifecycle:
    store = VersionStore(engine, clock)
    store.release_decision = released_decision_signer(identity)
    return Lifecycle(
        withdrawal_schema=load_schema(config.wsdl_dir / "application" / "withdrawal.xsd"),
        application_schema=load_schema(config.wsdl_dir / "application" / "application.xsd"),
        trust=trust,
        routing=load_rules(config.mappings_dir / "routing.toml"),
        rules=load_lifecycle_rules(config.mappings_dir / "lifecycle.toml", agencies),
        store=store,
        clock=clock,
        max_bytes=config.max_body_bytes,
        representatives=representatives,
        sign_withdrawn=make_withdrawn_signer(identity, clock),
        decide=make_decider(identity, clock),
    )
