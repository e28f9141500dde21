"""Builds the payment service from the configuration and mounts its edges (called by the app
factory, like the OMC's `init_omc`)."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from adapters.base import GuaranteeReleaser
from gateway.billing import guarantee_web, permit_web, web
from gateway.billing.guarantees import Guarantees
from gateway.billing.permit_ports import step_messages
from gateway.billing.permits import PermitBook
from gateway.billing.releases import ReleaseLoop
from gateway.billing.service import Payments, released_decision_signer
from gateway.billing.treasury import TreasuryClient
from gateway.bootstrap import Services
from gateway.config import Config
from gateway.fanout.dispatch import worker_name
from gateway.fanout.wakeup import GUARANTEES
from gateway.storage.guarantee_releases import ReleaseStore
from gateway.storage.guarantees import GuaranteeStore
from gateway.storage.omc_money import StoredMoneyViews
from gateway.storage.payments import PaymentStore
from gateway.storage.permits import PermitStore
from gateway.storage.wake import wakeups_for
from gateway.trust.schemas import load_schema
from wire.keys import load_certificate


def treasury_cert_path(config: Config):  # type: ignore[no-untyped-def]
    return config.treasury_cert or config.pki_dir / "agency-treasury.pem"


def build_payments(config: Config, services: Services) -> Payments:
    store = PaymentStore(services.store.engine, services.clock, services.store.fenced)
    store.release_decision = released_decision_signer(services.identity)
    store.permit_steps = step_messages
    treasury = None
    cert_path = treasury_cert_path(config)
    if config.treasury_url and cert_path.is_file():
        key = services.identity.private_key
        assert isinstance(key, rsa.RSAPrivateKey)
        treasury = TreasuryClient(
            config.treasury_url,
            key,
            services.identity.certificate,
            load_certificate(cert_path),
            services.clock,
            skew=dt.timedelta(seconds=config.clock_skew_s),
        )
    return Payments(
        store,
        services.identity,
        services.clock,
        payee_account=config.payee_account,
        treasury=treasury,
    )


def init_payments(app: Flask, config: Config, services: Services) -> Payments:
    payments = build_payments(config, services)
    app.extensions["nsw-payments"] = payments
    cert_path = treasury_cert_path(config)
    app.extensions["nsw-treasury-cert"] = (
        load_certificate(cert_path) if cert_path.is_file() else None
    )
    app.register_blueprint(web.bp)
    app.extensions["nsw-permits"] = build_permits(services)
    app.extensions["nsw-omc-money"] = StoredMoneyViews(
        services.store.engine, services.clock, services.store.fenced
    )
    app.register_blueprint(permit_web.bp)
    app.extensions["nsw-guarantees"] = build_guarantees(config, services, payments)
    app.register_blueprint(guarantee_web.bp)
    return payments


def build_guarantees(config: Config, services: Services, payments: Payments) -> Guarantees:
    """Issue 20 item 3: customs checks the guarantee through its adapter (CheckGuarantee)."""
    store = GuaranteeStore(services.store.engine, services.clock, services.store.fenced)
    store.release_decision = released_decision_signer(services.identity)
    store.permit_steps = step_messages
    customs = services.adapters.get("customs")
    unwrap = getattr(customs, "guarantee_checker", None)  # the timed wrapper's inner adapter
    return Guarantees(
        book=store,
        payments=payments,
        checker=unwrap() if unwrap is not None else None,
        schema=load_schema(config.wsdl_dir / "application" / "guarantee.xsd"),
        trust=services.trust,
        representatives=services.representatives,
        clock=services.clock,
        max_bytes=config.max_body_bytes,
    )


def release_loop(services: Services) -> ReleaseLoop | None:
    """The loop that asks customs to release the guarantees queued for release (issue 20), for
    a process that runs dispatchers; None when customs' adapter releases no guarantees."""
    customs = services.adapters.get("customs")
    unwrap = getattr(customs, "guarantee_checker", None)  # the timed wrapper's inner adapter
    releaser = unwrap() if unwrap is not None else customs
    if not isinstance(releaser, GuaranteeReleaser):
        return None
    engine, config = services.store.engine, services.config
    return ReleaseLoop(
        ReleaseStore(engine, services.clock, services.store.fenced),
        releaser,
        services.clock,
        wakeup=wakeups_for(engine)[GUARANTEES],
        lease_s=config.lease_s,
        retry_base_s=config.retry_base_s,
        name=f"{worker_name()}:release",
    )


def build_permits(services: Services) -> PermitBook:
    store = PermitStore(services.store.engine, services.clock, services.store.fenced)
    store.release_decision = released_decision_signer(services.identity)
    return PermitBook(store, services.clock)
