"""Builds the checkpoint's parts from mappings/, wsdl/ and the PKI directory (called by
gateway.bootstrap, the composition root)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from gateway.checkpoint.gate_rules import GateRule, load_gate_rules
from gateway.checkpoint.notices import NoticeIntake, load_notice_schema
from gateway.checkpoint.registry import CheckpointRegistry, load_registry
from gateway.checkpoint.service import CheckpointService
from gateway.checkpoint.transit import load_corridors
from gateway.checkpoint.transit_service import TransitMonitor
from gateway.clock import Clock
from gateway.config import Config
from gateway.decision.document import make_decider
from gateway.storage.checkpoint import CheckpointStore
from gateway.trust.certificates import TrustStore
from gateway.trust.representatives import Representatives
from gateway.trust.xmlsig import SigningIdentity


@dataclass(frozen=True)
class CheckpointParts:
    registry: CheckpointRegistry
    rules: tuple[GateRule, ...]
    store: CheckpointStore
    notices: NoticeIntake
    service: CheckpointService
    transits: TransitMonitor


def build_checkpoint(
    config: Config,
    engine: Engine,
    clock: Clock,
    *,
    trust: TrustStore,
    identity: SigningIdentity,
    representatives: Representatives,
) -> CheckpointParts:
    registry = load_registry(config.mappings_dir / "checkpoints.toml", config.pki_dir)
    rules = load_gate_rules(config.mappings_dir / "gate_rules.toml")
    corridors = load_corridors(config.mappings_dir / "corridors", registry.checkpoints)
    # The one object that implements the checkpoint's ports (gateway.checkpoint.ports) on the
    # database; it composes and signs decisions again when a gate finding changes a case.
    store = CheckpointStore(engine, clock, decide=make_decider(identity, clock))
    transits = TransitMonitor(store, clock, corridors)
    notices = NoticeIntake(
        schema=load_notice_schema(config.wsdl_dir / "checkpoint" / "notice.xsd"),
        trust=trust,
        store=store,
        registry=registry,
        representatives=representatives,
        corridors=frozenset(corridors),
        clock=clock,
        max_bytes=config.max_body_bytes,
    )
    service = CheckpointService(
        units=store,
        clock=clock,
        registry=registry,
        rules=rules,
        identity=identity,
        transits=transits,
    )
    return CheckpointParts(registry, rules, store, notices, service, transits)
