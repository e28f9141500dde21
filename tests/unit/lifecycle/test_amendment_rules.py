"""Amendment and withdrawal rules over real samples: what changed, who must look again, what a
stage allows — with the rules read from the shipped mappings/lifecycle.toml."""

from __future__ import annotations

import dataclasses
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.application import Application, SupportingDocument, read_application
from gateway.errors import ConfigurationError
from gateway.fanout.routing import load_rules, route
from gateway.i18n import localize
from gateway.i18n.catalogs import translations
from gateway.lifecycle.changes import diff
from gateway.lifecycle.rules import (
    LifecycleRules,
    Stage,
    check_amendable,
    check_withdrawable,
    load_lifecycle_rules,
    plan_amendment,
)
from gateway.resources import shipped
from gateway.trust.xmlparse import parse_xml

MAPPINGS = shipped("mappings")


def _sample(name: str) -> Application:
    return read_application(parse_xml((shipped("samples") / f"{name}.xml").read_bytes()))


@pytest.fixture(scope="module")
def rules() -> LifecycleRules:
    agencies = tomllib.loads((MAPPINGS / "agencies.toml").read_text())["agencies"].keys()
    return load_lifecycle_rules(MAPPINGS / "lifecycle.toml", agencies)


def _with_item(app: Application, **changes: Any) -> Application:
    first = dataclasses.replace(app.items[0], **changes)
    return dataclasses.replace(app, items=(first, *app.items[1:]))


def test_a_corrected_quantity_reopens_only_the_agencies_that_control_the_item(
    rules: LifecycleRules,
) -> None:
    old = _sample("fresh-apples-import")
    new = _with_item(old, quantity=old.items[0].quantity + Decimal(100))
    routing = load_rules(MAPPINGS / "routing.toml")
    old_routes, new_routes = route(old, routing), route(new, routing)
    changes = diff(old, new)
    assert [c.field for c in changes] == ["item.quantity"]
    assert check_amendable(changes, Stage.DECIDED, rules) is None
    plan = plan_amendment(changes, old_routes, new_routes, rules)
    routed = {r.agency for r in old_routes}
    assert "customs" in plan.reopened
    assert "transport" not in plan.reopened  # the vehicle and the masses did not change
    assert set(plan.reopened) | set(plan.untouched) == routed
    assert plan.added == plan.cancelled == ()
    assert plan.why["customs"] == changes


def test_a_new_vehicle_plate_reaches_transport_and_customs_but_not_item_controls(
    rules: LifecycleRules,
) -> None:
    old = _sample("fresh-apples-import")
    new = dataclasses.replace(old, transport=dataclasses.replace(old.transport, plate="999ZZZ02"))
    routing = load_rules(MAPPINGS / "routing.toml")
    plan = plan_amendment(diff(old, new), route(old, routing), route(new, routing), rules)
    assert {"customs", "transport", "police"} <= set(plan.reopened)
    assert "health" not in plan.reopened and "phytosanitary" not in plan.reopened


def test_goods_that_need_another_agency_add_a_case_and_goods_removed_cancel_one(
    rules: LifecycleRules,
) -> None:
    apples = _sample("fresh-apples-import")
    cattle = _sample("live-cattle-import")
    routing = load_rules(MAPPINGS / "routing.toml")
    old_routes = route(apples, routing)
    with_cattle = dataclasses.replace(
        apples,
        items=(*apples.items, dataclasses.replace(cattle.items[0], line=len(apples.items) + 1)),
    )
    new_routes = route(with_cattle, routing)
    plan = plan_amendment(diff(apples, with_cattle), old_routes, new_routes, rules)
    assert set(plan.added) == {r.agency for r in new_routes} - {r.agency for r in old_routes}
    back = plan_amendment(diff(with_cattle, apples), new_routes, old_routes, rules)
    assert back.cancelled == plan.added


@pytest.mark.parametrize(
    ("stage", "code"),
    [(Stage.EXITED, "not-amendable-now"), (Stage.WITHDRAWN, "not-amendable-now")],
)
def test_nothing_changes_after_exit_or_withdrawal(
    rules: LifecycleRules, stage: Stage, code: str
) -> None:
    old = _sample("fresh-apples-import")
    new = _with_item(old, quantity=Decimal(1))
    refusal = check_amendable(diff(old, new), stage, rules)
    assert refusal is not None and refusal.code == code
    assert stage.value in refusal.detail


def test_identity_and_sameness_are_refused_with_a_sentence(rules: LifecycleRules) -> None:
    old = _sample("fresh-apples-import")
    same = check_amendable(diff(old, old), Stage.IN_PROGRESS, rules)
    assert same is not None and same.code == "nothing-changed"
    other = dataclasses.replace(old, procedure="export")
    refusal = check_amendable(diff(old, other), Stage.IN_PROGRESS, rules)
    assert refusal is not None and refusal.code == "identity-changed"
    assert "withdraw this application and lodge a new one" in refusal.detail


def test_an_item_cannot_be_added_once_decided(rules: LifecycleRules) -> None:
    old = _sample("fresh-apples-import")
    new = dataclasses.replace(
        old, items=(*old.items, dataclasses.replace(old.items[0], line=len(old.items) + 1))
    )
    assert check_amendable(diff(old, new), Stage.IN_PROGRESS, rules) is None
    refusal = check_amendable(diff(old, new), Stage.DECIDED, rules)
    assert refusal is not None and refusal.code == "field-not-amendable"
    assert "added" in refusal.detail


def test_withdrawal_needs_a_known_reason_and_a_vehicle_still_here(rules: LifecycleRules) -> None:
    assert check_withdrawable(Stage.DECIDED, "no-longer-shipping", rules) is None
    unknown = check_withdrawable(Stage.DECIDED, "because", rules)
    assert unknown is not None and unknown.code == "unknown-reason"
    assert "no-longer-shipping" in unknown.detail
    exited = check_withdrawable(Stage.EXITED, "no-longer-shipping", rules)
    assert exited is not None and "already exited" in exited.detail


def test_a_refused_withdrawal_is_said_in_the_readers_language(rules: LifecycleRules) -> None:
    exited = check_withdrawable(Stage.EXITED, "no-longer-shipping", rules)
    assert exited is not None
    russian = localize(exited.detail, translations("ru").gettext)
    assert russian == (
        "Заявление нельзя отозвать: транспортное средство уже выехало через пункт пропуска."
    )


def test_rules_naming_an_unknown_agency_do_not_load(tmp_path: Path) -> None:
    text = (
        (MAPPINGS / "lifecycle.toml").read_text().replace("[recheck]", "[recheck]\nmystery = ['*']")
    )
    (tmp_path / "lifecycle.toml").write_text(text)
    with pytest.raises(ConfigurationError, match="mystery"):
        load_lifecycle_rules(tmp_path / "lifecycle.toml", ["customs"])


def test_a_changed_document_digest_asks_the_agencies_that_check_documents_again(
    rules: LifecycleRules,
) -> None:
    old = _sample("chilled-lamb-import")
    certificate = next(d for d in old.documents if d.type == "veterinary-certificate")
    attached = dataclasses.replace(
        certificate, media_type="application/pdf", size=100, sha256="a" * 64
    )

    def with_certificate(doc: SupportingDocument) -> Application:
        return dataclasses.replace(
            old, documents=tuple(doc if d is certificate else d for d in old.documents)
        )

    first, second = (
        with_certificate(attached),
        with_certificate(dataclasses.replace(attached, sha256="b" * 64)),
    )
    changes = diff(first, second)
    assert [c.field for c in changes] == ["documents"]
    assert "SHA-256 aaaaaaaaaaaa" in changes[0].sentence()
    assert "SHA-256 bbbbbbbbbbbb" in changes[0].sentence()
    assert check_amendable(changes, Stage.DECIDED, rules) is None
    routing = load_rules(MAPPINGS / "routing.toml")
    plan = plan_amendment(changes, route(first, routing), route(second, routing), rules)
    assert "veterinary" in plan.reopened  # it wants the certificate: asked again, with the new one
    assert "transport" in plan.untouched
    assert diff(first, first) == ()
