"""Keeping the catalogs in step with the code (a developer's tool; docs/i18n.md).

`python -m gateway.i18n.maintain` extracts every message of the gateway (babel.cfg, with the
keywords below) and updates the kk, ru and en `.po` files: new messages arrive untranslated, gone
ones become obsolete. `tests/unit/i18n/test_catalogs.py` runs the same extraction and fails while
a catalog lacks a translation.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from gateway.i18n.locales import SUPPORTED

HERE = Path(__file__).parent
PACKAGE = HERE.parent  # gateway/
DEVTOOLS = PACKAGE.parent / "devtools"
TRANSLATIONS = HERE / "translations"
# Text(...) (imported as Sentence where a module has a Text of its own: gateway.limits) is a
# sentence translated where shown (gateway.i18n.text); _l the lazy gettext.
KEYWORDS = {**DEFAULT_KEYWORDS, "Text": None, "Sentence": None, "lazy_gettext": None, "_l": None}
HEADER = "Messages of the NSW gateway: Kazakh, Russian and English (docs/i18n.md)."


def extract() -> Catalog:
    """Every message of the gateway's code and templates, as a template catalog."""
    with (HERE / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    template = Catalog(project="nsw-gateway", header_comment=f"# {HEADER}", fuzzy=False)
    found = extract_from_dir(
        str(PACKAGE), method_map, options_map, keywords=KEYWORDS,
        comment_tags=("NOTE:",), strip_comment_tags=True,
    )  # fmt: skip
    for filename, lineno, message, comments, context in found:
        where = f"gateway/{Path(filename).as_posix()}"
        template.add(message, None, [(where, lineno)], auto_comments=comments, context=context)
    # The developer tools' commands (`nsw demo`, `nsw standins`, screenshots) hang on `nsw` too:
    # their help is the command's help (gateway.cli.help), read with the same extractor.
    python = [(pattern, method) for pattern, method in method_map if pattern.endswith(".py")]
    if DEVTOOLS.is_dir():  # a source checkout, devtools/ beside gateway/
        tools = extract_from_dir(
            str(DEVTOOLS), python, options_map, keywords=KEYWORDS,
            comment_tags=("NOTE:",), strip_comment_tags=True,
        )  # fmt: skip
        for filename, lineno, message, comments, context in tools:
            where = f"devtools/{Path(filename).as_posix()}"
            template.add(message, None, [(where, lineno)], auto_comments=comments, context=context)
    return template


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def update(template: Catalog) -> None:
    """Bring each locale's `.po` in step with `template` (new catalogs are created)."""
    for locale in SUPPORTED:
        path = po_path(locale)
        if path.exists():
            catalog = read_po(io.BytesIO(path.read_bytes()), locale=locale)
        else:
            catalog = Catalog(locale=locale, project="nsw-gateway", header_comment=f"# {HEADER}")
        catalog.update(template, update_header_comment=False, no_fuzzy_matching=True)
        catalog.fuzzy = False
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, sort_output=False, include_previous=False,
                 ignore_obsolete=True, omit_header=False)  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())


def main() -> None:
    template = extract()
    update(template)
    print(f"{len(template)} messages; catalogs updated in {TRANSLATIONS}")


if __name__ == "__main__":
    main()
