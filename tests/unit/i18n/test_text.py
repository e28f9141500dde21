# ruff: noqa: RUF001 - Kazakh and Russian words, in Cyrillic on purpose
"""gateway.i18n: choosing the language, and sentences said again in it."""

from __future__ import annotations

import pickle

import pytest

from gateway.cli.errors import explain
from gateway.errors import BadSignature
from gateway.i18n import Text, localize, negotiate
from gateway.i18n.catalogs import translations
from gateway.i18n.cli import cli_locale

NOT_SIGNED = "The document is not signed. Sign it with your certificate (nsw sign)."


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"accept_language": "ru-RU,ru;q=0.9"}, "ru"),
        ({"accept_language": "KK_kz"}, "kk"),
        ({"accept_language": "fr, kk;q=0.2"}, "kk"),
        ({"accept_language": "kk;q=0, ru;q=0.1"}, "ru"),
        ({"accept_language": "fr, de"}, "en"),
        ({"accept_language": "*"}, "en"),
        ({"accept_language": "\x00;;=q"}, "en"),
        ({"cookie": "ru", "accept_language": "kk"}, "ru"),
        ({"stored": "kk", "cookie": "ru", "accept_language": "en"}, "kk"),
        ({"stored": "xx", "cookie": "yy", "accept_language": "zz"}, "en"),
        ({"accept_language": "fr", "default": "kk"}, "kk"),
    ],
)
def test_the_language_is_the_stored_choice_then_cookie_then_header_then_default(
    kwargs: dict[str, str], expected: str
) -> None:
    assert negotiate(**kwargs) == expected


def test_a_text_is_the_english_sentence_and_remembers_its_message() -> None:
    text = Text("Case %(case)s is queued for %(agency)s again.", case="C-1", agency="customs")
    assert text == "Case C-1 is queued for customs again." and isinstance(text, str)
    assert text.msgid == "Case %(case)s is queued for %(agency)s again."
    again = pickle.loads(pickle.dumps(text))
    assert again == text and again.params == text.params


def test_localize_translates_a_text_with_its_parameters_and_leaves_plain_strings() -> None:
    ru = translations("ru").gettext
    text = Text("There is no case %(case)s.", case="C-1")
    assert localize(text, ru) == "Дела C-1 нет."
    assert localize("There is no case C-1.", ru) == "There is no case C-1."  # not marked: as it is


def test_a_translation_that_breaks_its_placeholders_falls_back_to_english() -> None:
    text = Text("There is no case %(case)s.", case="C-1")
    assert localize(text, lambda _msgid: "Нет дела %(id)s.") == "There is no case C-1."


def test_parameters_that_are_texts_are_translated_too() -> None:
    kk = translations("kk").gettext
    inner = Text("a case id")
    outer = Text("%(name)s must be %(what)s: %(min)s to %(max)s characters of %(chars)s.",
                 name="'id'", what=inner, min=1, max=48, chars="[a-z]")  # fmt: skip
    assert "іс нөмірі" in localize(outer, kk)


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "en"), ({"NSW_LANG": "ru"}, "ru"), ({"NSW_LANG": "kk_KZ.UTF-8"}, "kk"),
     ({"NSW_LANG": "fr"}, "en"), ({"LANG": "ru_RU.UTF-8"}, "en")],
)  # fmt: skip
def test_the_command_speaks_nsw_lang_only(env: dict[str, str], expected: str) -> None:
    assert cli_locale(env) == expected


def test_the_commands_sentence_for_a_gateway_error_is_in_nsw_lang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = BadSignature(Text(NOT_SIGNED))
    monkeypatch.delenv("NSW_LANG", raising=False)
    assert explain(error) == NOT_SIGNED
    monkeypatch.setenv("NSW_LANG", "ru")
    assert explain(error) == "Документ не подписан. Подпишите его своим сертификатом (nsw sign)."
    monkeypatch.setenv("NSW_LANG", "kk")
    assert (
        explain(error) == "Құжатқа қол қойылмаған. Оған сертификатыңызбен қол қойыңыз (nsw sign)."
    )
