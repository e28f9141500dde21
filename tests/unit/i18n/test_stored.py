"""Sentences kept in the database (hold reasons, payment details, transit alerts) are said in the
reader's language when read, from the English they were stored as — old rows too — and a sentence
that is no message of ours stays as it was."""

from __future__ import annotations

import ast
import inspect
import pickle
from types import ModuleType

import pytest

from gateway.checkpoint import exit_permit, transit
from gateway.i18n import Text
from gateway.i18n.catalogs import translations
from gateway.i18n.cli import say_read
from gateway.i18n.stored import Recalled, recall, say_stored
from gateway.payments import reconcile, settlement
from gateway.storage import payment_orders, payment_settlement, payment_withdrawal, permit_steps
from gateway.storage import permits as stored_permits
from tests.unit.i18n.test_details import _words


def _ru(msgid: str) -> str:
    return translations("ru").gettext(msgid)


HELD = Text(
    "Permit %(permit_id)s has %(balance)s left; %(quantity)s cannot be written off. The "
    "application is held until the quantity fits a permit.",
    permit_id="P-2026-0007", balance="3 t", quantity="5 t",
)  # fmt: skip


def test_a_stored_hold_reason_is_said_in_russian_with_its_values() -> None:
    stored = str(HELD)  # what the column holds: the English, nothing else
    said = say_stored(stored, translations("ru").gettext)
    assert said != stored and "P-2026-0007" in said and "3 t" in said and "5 t" in said
    assert said == _ru(HELD.msgid) % HELD.params


def test_recall_gives_back_the_message_and_the_values_as_written() -> None:
    recalled = recall("12.5 km from the centre line of KZ-CN-1 (half-width 2.5 km)")
    assert isinstance(recalled, Recalled)
    assert (
        recalled.msgid == "%(km)s km from the centre line of %(corridor)s (half-width %(half)s km)"
    )
    assert dict(recalled.params) == {"km": "12.5", "corridor": "KZ-CN-1", "half": "2.5"}
    assert pickle.loads(pickle.dumps(recalled)) == recalled
    assert say_stored(recalled, translations("en").gettext) == recalled  # English unchanged


def test_a_sentence_without_values_is_recalled_too() -> None:
    assert say_stored("the electronic seal reports open", translations("kk").gettext) == (
        "электрондық пломба ашық екенін хабарлайды"
    )


@pytest.mark.parametrize(
    "stored",
    [
        "The treasury says: account blocked",  # the treasury's or an agency's own words
        "Permit P-1 has 3 t left",  # a message cut short: no longer ours
        "",
    ],
)
def test_a_sentence_that_is_no_message_of_ours_is_said_as_it_is(stored: str) -> None:
    assert say_stored(stored, translations("ru").gettext) == stored


def test_none_reads_as_nothing() -> None:
    assert say_stored(None, translations("ru").gettext) == ""


def test_the_cli_reads_a_stored_sentence_in_nsw_lang() -> None:
    stored = "Order 12345 is paid in full (100.00 KZT)."
    assert (
        say_read(stored, {"NSW_LANG": "ru"}) == "Поручение 12345 оплачено полностью (100.00 KZT)."
    )
    assert say_read(stored, {}) == stored


# What is written to the database as a sentence: (module, function called, argument position).
WRITTEN = [
    (transit, "Alert", 1),
    (exit_permit, "ExitVerdict", 1),
    (settlement, "_refused", 4),
    (settlement, "_counted", 6),
    (reconcile, "_diff", 4),
]


@pytest.mark.parametrize(("module", "function", "position"), WRITTEN)
def test_sentences_written_to_the_database_are_texts(
    module: ModuleType, function: str, position: int
) -> None:
    """A literal or f-string sentence stored in these places could never be said again in
    another language: each must be a Text (gateway.i18n.stored reads them back)."""
    calls = [
        node
        for node in ast.walk(ast.parse(inspect.getsource(module)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == function
        and len(node.args) > position
    ]
    assert calls, f"{module.__name__} no longer calls {function}: update this table"
    english = [ast.unparse(c)[:80] for c in calls if _words(c.args[position])]
    assert english == []


def test_details_assigned_to_stored_rows_are_texts() -> None:
    assigned = [
        node
        for module in (payment_orders, payment_settlement, payment_withdrawal)
        for node in ast.walk(ast.parse(inspect.getsource(module)))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Attribute) and t.attr == "detail" for t in node.targets)
    ]
    assert assigned and not [ast.unparse(a)[:80] for a in assigned if _words(a.value)]


def test_a_gate_verdict_with_a_hold_inside_is_said_whole() -> None:
    """The exit gate's reason, stored with the visit, holds the hold's reason: both are said."""
    stored = f"NSW-20261207-0000000001 is held: {HELD}"
    said = say_stored(stored, translations("ru").gettext)
    assert said.startswith("Заявление NSW-20261207-0000000001 задержано: ")
    assert said.endswith(_ru(HELD.msgid) % HELD.params)


@pytest.mark.parametrize("module", [stored_permits, permit_steps])
def test_hold_details_written_to_the_database_are_texts(module: ModuleType) -> None:
    """`PermitHoldRow(detail=...)`: a hold's reason, shown on the OMC's permits page."""
    details = [
        k.value
        for node in ast.walk(ast.parse(inspect.getsource(module)))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PermitHoldRow"
        for k in node.keywords
        if k.arg == "detail"
    ]
    assert details and not [ast.unparse(d)[:80] for d in details if _words(d)]
