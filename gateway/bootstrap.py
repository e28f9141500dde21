"""The composition root: reads mappings/, wsdl/ and certs/ and wires the services together.

Everything the web app, the worker and the CLI use is built here and only here; tests pass their own
config (and real servers) through the same door.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from adapters.base import AgencyAdapter, AgencySpec
from adapters.registry import build_adapter
from gateway.checkpoint.wiring import CheckpointParts, build_checkpoint
from gateway.clock import Clock, system_clock
from gateway.config import Config, check_lease_outlasts_timeouts
from gateway.decision.document import make_decider
from gateway.errors import ConfigurationError
from gateway.fanout.agencies import load_agency_specs
from gateway.fanout.breakers import BreakerRule, Breakers, CachedBreakerStore
from gateway.fanout.callbacks import CallbackService, agency_credentials
from gateway.fanout.dispatch import Dispatcher, RetryPolicy, worker_name
from gateway.fanout.loops import DispatcherThreads, Runner
from gateway.fanout.routing import load_rules
from gateway.fanout.slots import SLOTS_PER_DISPATCHER
from gateway.fanout.wakeup import OUTBOX, TRAIL
from gateway.i18n.text import Text
from gateway.intake.service import Intake
from gateway.lifecycle.ports import Attachments
from gateway.lifecycle.service import Lifecycle
from gateway.lifecycle.wiring import build_lifecycle
from gateway.notify.delivery import Notifier, UrlPolicy
from gateway.observability.timings import AgencyTimings, timed
from gateway.omc.ports import OmcPorts
from gateway.resources import contracts_root
from gateway.storage.attachments import AttachmentStore
from gateway.storage.breakers import DatabaseBreakerStore
from gateway.storage.db import is_postgres, make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.notifications import NotificationStore
from gateway.storage.omc import build_omc_ports
from gateway.storage.outbox import OutboxStore
from gateway.storage.permits import PermitStore
from gateway.storage.repository import FencedWrites
from gateway.storage.representatives import StoredRepresentatives
from gateway.storage.trader_keys import StoredNonceLedger, StoredTraderCertificates
from gateway.storage.trader_reads import TraderReads
from gateway.storage.trail import StoredTrail
from gateway.storage.wake import PgListener, wakeups_for
from gateway.trail.audit import Auditor
from gateway.trail.integrator import GATHER_S, IntegratorThread
from gateway.trail.keys import load_log_signer
from gateway.trail.signer import LogSigner
from gateway.trail.witness import Witnesses, parse_witnesses
from gateway.trust.certificates import TrustStore
from gateway.trust.representatives import Representatives
from gateway.trust.schemas import load_schema
from gateway.trust.trader_keys import NonceLedger, TraderCertificates
from gateway.trust.xmlsig import SigningIdentity

BREAKER_FRESH_S = 1.0  # how long a process answers breaker questions from what it last read


@dataclass
class Services:
    config: Config
    clock: Clock
    store: OutboxStore
    trust: TrustStore
    identity: SigningIdentity
    intake: Intake
    specs: dict[str, AgencySpec]
    adapters: dict[str, AgencyAdapter]
    auditor: Auditor
    representatives: Representatives
    trader_certs: TraderCertificates
    nonces: NonceLedger
    checkpoint: CheckpointParts
    notifications: NotificationStore
    callbacks: CallbackService  # agencies' later answers, for the SOAP and REST callback endpoints
    threads: DispatcherThreads = field(default_factory=DispatcherThreads)
    integrator: IntegratorThread | None = None  # sequences the trail, signs its checkpoints
    listener: PgListener | None = None  # PostgreSQL only: LISTEN for other processes' commits
    breakers: Breakers = field(init=False)
    timings: AgencyTimings = field(default_factory=AgencyTimings)  # per-agency call latency
    omc: OmcPorts = field(init=False)  # what the OMC reads and writes
    lifecycle: Lifecycle = field(init=False)  # amendment and withdrawal (issue 19)
    attachments: Attachments = field(init=False)  # supporting documents' bytes, once by digest
    trader_reads: TraderReads = field(init=False)  # a trader's signed reads (issue 17)

    def __post_init__(self) -> None:
        self.adapters = timed(self.adapters, self.timings)
        self.trader_reads = TraderReads(self.store.engine, self.clock, self.store.fenced)
        self.lifecycle = build_lifecycle(
            self.config, self.store.engine, self.clock, trust=self.trust,
            identity=self.identity, representatives=self.representatives, agencies=self.specs,
        )  # fmt: skip
        self.omc = build_omc_ports(self.store)
        self.attachments = AttachmentStore(self.store.engine, self.clock, self.store.fenced)
        self.auditor.attachments = self.attachments  # the evidence bundle carries the documents
        # Shared through the database: every web and worker process moves the same breakers. A
        # probe is held as long as a claimed delivery (a killed prober's claim comes back then too).
        rule = BreakerRule(
            failure_threshold=self.config.breaker_failures,
            reset_after_s=self.config.breaker_reset_s,
            probe_lease_s=self.config.lease_s,
        )
        # Read at most once a BREAKER_FRESH_S per process (`CachedBreakerStore`), written at once.
        store = CachedBreakerStore(
            DatabaseBreakerStore(self.store.engine, self.clock), BREAKER_FRESH_S
        )
        self.breakers = Breakers(store, rule, self.clock)

    def dispatcher(self, index: int = 0, slots: int = SLOTS_PER_DISPATCHER) -> Dispatcher:
        return Dispatcher(
            self.store,
            self.adapters,
            make_decider(self.identity, self.clock),
            self.clock,
            retry=RetryPolicy(
                max_attempts=self.config.max_attempts, base_s=self.config.retry_base_s
            ),
            lease_s=self.config.lease_s,
            breakers=self.breakers,
            deadline_s=self.config.case_deadline_s,
            public_url=self.config.public_url,
            name=worker_name(index),
            documents=self.attachments,
            slots=slots,
            wakeup=wakeups_for(self.store.engine)[OUTBOX],  # what the store signals at commit
        )

    def url_policy(self) -> UrlPolicy:
        return UrlPolicy(self.config.notify_allow_http, self.config.notify_allow_private)

    def notifier(self, index: int = 0) -> Notifier:
        return Notifier(
            self.notifications,
            self.identity,
            self.clock,
            policy=self.url_policy(),
            retry=RetryPolicy(
                max_attempts=self.config.notify_max_attempts, base_s=self.config.retry_base_s
            ),
            lease_s=self.config.lease_s,
            timeout_s=self.config.notify_timeout_s,
            name=f"{worker_name(index)}:notify",
        )

    def start_dispatchers(self, count: int) -> None:
        """Dispatching worth `count` dispatcher threads: one claiming loop with `count` x
        SLOTS_PER_DISPATCHER delivery slots (so at most that many agency calls in flight), one
        notifier thread for every two (at least one, so a slow trader endpoint holds up only its
        own thread's deliveries), and the trail's integrator, which sequences queued messages
        and signs checkpoints.

        One claimer per process, not one per thread: a commit of new work wakes one loop, which
        claims an application's cases in one statement and sends them all at once, instead of
        waking `count` loops that race to claim them (each woken loop cost a read and often an
        empty claim, and on PostgreSQL the NOTIFY echo woke them all a second time)."""
        runners: list[Runner] = []
        if count:
            runners.append(self.dispatcher(0, slots=count * SLOTS_PER_DISPATCHER))
            runners += [self.notifier(i) for i in range(max(1, count // 2))]
            # Guarantees customs should release (issue 20). Imported here: the payment wiring
            # imports this module.
            from gateway.billing.wiring import release_loop

            if (releases := release_loop(self)) is not None:
                runners.append(releases)
        wakeups = wakeups_for(self.store.engine)  # signalled by the stores after each commit
        if self.listener is None and is_postgres(self.store.engine):
            # NOTIFY from other processes (web workers, `nsw worker`) wakes this one's loops too.
            self.listener = PgListener(self.store.engine, wakeups)
            self.listener.start()
        self.threads.start(runners, self.config.poll_interval_s, wakeups)
        if self.integrator is None:
            self.integrator = IntegratorThread(
                self.auditor,
                self.config.tree_head_interval_s,
                wakeups[TRAIL],
                self.config.poll_interval_s,
                gather_s=GATHER_S,
            )
            self.integrator.start()

    def close(self) -> None:
        self.threads.stop()
        if self.integrator is not None:
            self.integrator.stop()
        if self.listener is not None:
            self.listener.stop()
        for adapter in self.adapters.values():  # their kept-alive connections to the agencies
            close = getattr(adapter, "close", None)
            if callable(close):
                close()
        self.store.engine.dispose()


def _gateway_identity(config: Config) -> SigningIdentity:
    for path in (config.gateway_key, config.gateway_cert):
        if not path.is_file():
            raise ConfigurationError(
                Text(
                    "The gateway's signing key or certificate is missing: %(path)s. For "
                    "development run `nsw pki init`; in production set NSW_GATEWAY_KEY and "
                    "NSW_GATEWAY_CERT.",
                    path=path,
                )
            )
    chain = [p for p in (config.pki_dir / "issuing-ca.pem",) if p.is_file()]
    return SigningIdentity.from_files(config.gateway_key, config.gateway_cert, *chain)


def _witnesses(config: Config) -> Witnesses | None:
    configs = parse_witnesses(config.witnesses)
    if config.witness_quorum > len(configs):
        raise ConfigurationError(
            Text(
                "NSW_WITNESS_QUORUM is %(witness_quorum)s but only %(count)s witnesses are "
                "configured in NSW_WITNESSES.",
                witness_quorum=config.witness_quorum,
                count=len(configs),
            )
        )
    return Witnesses(configs, config.witness_quorum) if configs else None


def pool_connections(config: Config) -> int:
    """How many database connections this process's threads can hold at once, which is what its
    pool keeps: one per web thread (a request's transaction); one per delivery slot
    (`dispatcher_threads` x SLOTS_PER_DISPATCHER: each delivery settles in a transaction of its own
    while the others call their agencies); one each for the claiming loop, the guarantee release
    loop, the notifier loops (one per two dispatcher threads) and the trail's integrator and
    checkpoint loops. The
    wake-up listener holds a connection of its own, outside the pool. Too small a pool made
    deliveries queue for a connection (PostgreSQL kept 10 whatever the slots), too large a one
    only costs idle connections: size PostgreSQL's max_connections for every process's pool."""
    threads = config.dispatcher_threads
    loops = 2 + max(1, threads // 2) if threads else 0
    return max(1, config.web_threads + threads * SLOTS_PER_DISPATCHER + loops + 2)


def build_services(
    config: Config, clock: Clock = system_clock, *, migrate: bool = True
) -> Services:
    identity = _gateway_identity(config)
    trust = TrustStore.from_directory(config.pki_dir, clock, require_crl=config.require_crl)
    engine = make_engine(config.database_url, pool_connections(config))
    if migrate:
        upgrade(engine)
    fenced = FencedWrites()  # one count of fenced late writes for /metrics, outbox and notifiers
    store = OutboxStore(engine, clock, fenced)
    specs = load_agency_specs(config.mappings_dir, contracts_root(), config.agency_urls)
    if config.agency_timeout_s is not None:
        specs = {
            code: replace(spec, timeout_s=config.agency_timeout_s) for code, spec in specs.items()
        }
    check_lease_outlasts_timeouts(config, {code: spec.timeout_s for code, spec in specs.items()})
    credentials = {code: agency_credentials(config, spec, clock) for code, spec in specs.items()}
    adapters = {code: build_adapter(spec, credentials[code]) for code, spec in specs.items()}
    representatives = StoredRepresentatives(engine, clock)
    trader_certs = StoredTraderCertificates(engine, clock)
    intake = Intake(
        schema=load_schema(config.wsdl_dir / "application" / "application.xsd"),
        trust=trust,
        rules=load_rules(config.mappings_dir / "routing.toml"),
        store=store,
        clock=clock,
        max_bytes=config.max_body_bytes,
        representatives=representatives,
        trader_certs=trader_certs,
        max_attachment_bytes=config.max_attachment_bytes,
        permits=PermitStore(engine, clock, fenced),
    )
    log_signer = LogSigner(
        load_log_signer(config.log_key_path, config.log_origin), config.log_state_path, clock
    )
    auditor = Auditor(
        StoredTrail(store), identity, clock, log_signer, _witnesses(config),
        _agency_pems(config, specs),
    )  # fmt: skip
    return Services(
        config,
        clock,
        store,
        trust,
        identity,
        intake,
        specs,
        adapters,
        auditor,
        representatives,
        trader_certs,
        StoredNonceLedger(engine, clock),
        checkpoint=build_checkpoint(
            config,
            engine,
            clock,
            trust=trust,
            identity=identity,
            representatives=representatives,
        ),
        notifications=NotificationStore(engine, clock, fenced),
        # A callback is believed only when signed with the certificate pinned for its agency:
        # the same one the agency's adapter verifies synchronous answers with.
        callbacks=CallbackService(
            store,
            adapters,
            {code: c.peer for code, c in credentials.items()},
            make_decider(identity, clock),
            clock,
            dt.timedelta(seconds=config.clock_skew_s),
        ),
    )


def _agency_pems(config: Config, specs: Mapping[str, AgencySpec]) -> dict[str, str]:
    """Each agency's pinned certificate as PEM, where the PKI directory has it."""
    found = {}
    for code in specs:
        path = config.pki_dir / f"agency-{code}.pem"
        if path.is_file():
            found[code] = path.read_text(encoding="ascii")
    return found
