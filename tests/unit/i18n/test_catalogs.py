"""Every message has its Kazakh and Russian translation, and no template shows text outside
gettext (issue 21, item 2). A new `_()`, `Text()`, problem title or template string without a
translation fails here: run `python -m gateway.i18n.maintain`, then translate (docs/i18n.md)."""

from __future__ import annotations

import functools
import io
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from gateway.errors import GatewayError
from gateway.i18n import maintain
from gateway.i18n.catalogs import catalog, translations
from gateway.i18n.checks import missing_translations, placeholder_errors, visible_text

TRANSLATED = ("kk", "ru")  # en is the message ids themselves


@functools.cache
def extracted() -> Catalog:
    return maintain.extract()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_of_the_code_and_templates_is_translated(locale: str) -> None:
    missing = missing_translations(extracted(), catalog(locale))
    assert not missing, f"{locale} lacks {len(missing)} translations, e.g. {missing[:5]}"


@pytest.mark.parametrize("locale", (*TRANSLATED, "en"))
def test_placeholders_of_every_translation_fit_their_message(locale: str) -> None:
    assert placeholder_errors(catalog(locale)) == []


def _all_subclasses(cls: type[GatewayError]) -> set[type[GatewayError]]:
    found = set(cls.__subclasses__())
    return found.union(*(_all_subclasses(c) for c in found))


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_problem_title_is_translated(locale: str) -> None:
    import gateway.app
    import gateway.cli  # noqa: F401

    gettext = translations(locale).gettext
    untranslated = sorted(
        f"{c.__module__}.{c.__name__}: {c.title}"
        for c in _all_subclasses(GatewayError)
        if gettext(c.title) == c.title
    )
    assert untranslated == []


def test_the_check_names_a_message_a_catalog_lacks() -> None:
    template = Catalog()
    template.add("Agencies")
    template.add("Cases")
    template.add(("%(n)s case", "%(n)s cases"))
    partial = Catalog(locale="ru")
    partial.add("Agencies", "Органы")
    partial.add("Cases", "Дела", flags=["fuzzy"])
    partial.add(("%(n)s case", "%(n)s cases"), ("%(n)s дело", "", "%(n)s дел"))
    assert missing_translations(template, partial) == ["Cases", "%(n)s case"]


def test_the_check_names_a_translation_with_other_placeholders() -> None:
    po = read_po(io.BytesIO(
        b'msgid ""\nmsgstr "Content-Type: text/plain; charset=utf-8\\n"\n\n'
        b'#, python-format\nmsgid "Case %(case)s"\nmsgstr "\xd0\x94\xd0\xb5\xd0\xbb\xd0\xbe %(id)s"\n'
    ), locale="ru")  # fmt: skip
    assert placeholder_errors(po) and "Case %(case)s" in placeholder_errors(po)[0]


def _templates() -> list[tuple[str, str]]:
    """Every Jinja template of the gateway (the OMC's, and any other edge's: a new one is scanned
    the day it arrives)."""
    root = Path(str(resources.files("gateway")))
    return sorted(
        (path.relative_to(root).as_posix(), path.read_text(encoding="utf-8"))
        for path in root.glob("**/templates/**/*.html")
    )


@pytest.mark.parametrize(("name", "source"), _templates(), ids=[n for n, _ in _templates()])
def test_no_template_shows_text_outside_gettext(name: str, source: str) -> None:
    assert visible_text(source) == []


def test_the_scan_finds_text_and_attributes_people_read() -> None:
    source = (
        '<h1>{{ _("Agencies") }}</h1><p>No case.</p>'
        '<input placeholder="reason" name="r"><span title="{{ _(\'live\') }}">●</span>'
        "{% trans n=3 %}{{ n }} cases{% endtrans %}<code>nsw audit verify</code>"
        "<td>{{ a.code }} s</td>"
    )
    assert visible_text(source) == ["text: No case.", "<input placeholder>: reason", "text: s"]
