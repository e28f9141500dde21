# ruff: noqa: RUF001 - Kazakh and Russian words, in Cyrillic on purpose
"""`nsw --help` and every subcommand's help in NSW_LANG (issue 21, item 2)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gateway.cli.help import help_texts
from gateway.cli.main import main
from gateway.i18n.catalogs import catalog
from gateway.i18n.checks import missing_translations


def _help(args: list[str], language: str | None) -> str:
    env = {"NSW_LANG": language} if language else {}
    result = CliRunner().invoke(main, [*args, "--help"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("ru", ["Шлюз национального «единого окна».", "Подать подписанное заявление"]),
        ("kk", ["Ұлттық «бір терезе» шлюзі.", "Қол қойылған өтінішті беру"]),
    ],
)
def test_nsw_help_is_in_nsw_lang(language: str, words: list[str]) -> None:
    output = _help([], language)
    assert all(w in output for w in words), output
    assert "National Single Window gateway." not in output


def test_clicks_headings_are_in_nsw_lang() -> None:
    output = _help(["audit"], "ru")
    assert output.startswith("Использование: ") and "audit [OPTIONS] COMMAND" in output
    assert "\nПараметры:\n" in output and "\nКоманды:\n" in output
    assert "Usage:" not in output and "Options:" not in output


def test_a_subcommands_help_and_its_options_are_in_nsw_lang() -> None:
    output = _help(["submit"], "ru")
    assert "Подать подписанное заявление и сохранить подписанную квитанцию шлюза." in output
    assert "Куда сохранить подписанную квитанцию шлюза" in output  # an option's help
    assert "--receipt" in output  # option names stay as they are
    assert "Показать это сообщение и выйти." in output  # --help's own line
    assert "Lodge a signed application" not in output


def test_english_comes_back_after_another_language() -> None:
    _help(["status"], "ru")
    output = _help(["status"], None)
    assert "Show an application's status and cases." in output
    assert output.startswith("Usage: ") and "\nOptions:\n" in output


def test_every_help_text_of_the_command_is_a_translated_message() -> None:
    """A help text the extractor does not see (built at run time, or a new kind of decorator)
    would stay English: every one on the tree must be in the catalogs, translated."""
    texts = set(help_texts(main))
    assert len(texts) > 90
    for locale in ("kk", "ru"):
        translated = catalog(locale)
        absent = sorted(t for t in texts if translated.get(t) is None)
        assert absent == [], f"{locale}: run python -m gateway.i18n.maintain"
        template = catalog("en")
        assert not [t for t in missing_translations(template, translated) if t in texts]
