"""Flask-Babel on the gateway's app: the locale of each request, the shipped catalogs, the
`Content-Language` of each answer people read, and locale-aware dates for the templates.

`init_i18n(app, default_locale=...)` is called by the app factory before any blueprint renders.
"""

from __future__ import annotations

import datetime as dt

import flask_babel
from babel.support import NullTranslations
from flask import Flask, Response, current_app, g, request
from flask_babel import Babel, Domain, format_datetime, get_locale
from markupsafe import Markup, escape
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.errors import ConfigurationError
from gateway.i18n.catalogs import translations
from gateway.i18n.locales import COOKIE, DEFAULT, NAMES, SUPPORTED, negotiate, supported
from gateway.i18n.stored import say_stored
from gateway.i18n.text import Text

# Kazakhstan keeps one time zone, UTC+5, since 1 March 2024; Asia/Almaty says so in the tz database.
DISPLAY_TIMEZONE = "Asia/Almaty"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
# What people read: these answers carry Content-Language (and vary by the reader's language).
_READ_BY_PEOPLE = frozenset({"text/html", "application/problem+json"})
_DEFAULT_KEY = "nsw-i18n-default"


class ShippedCatalogs(Domain):  # type: ignore[misc]
    """Flask-Babel's domain, reading the package's `.po` catalogs (compiled in memory) instead of
    `.mo` files on disk."""

    def get_translations(self) -> NullTranslations:
        locale = get_locale()
        if locale is None or str(locale) not in SUPPORTED:
            return NullTranslations()
        return translations(str(locale))


def init_i18n(app: Flask, *, default_locale: str = DEFAULT) -> None:
    """Install Flask-Babel with the gateway's locale selection on `app`."""
    if supported(default_locale) != default_locale:
        raise ConfigurationError(
            Text(
                "NSW_DEFAULT_LOCALE is %(default_locale)r: it must be one of %(list)s.",
                default_locale=default_locale,
                list=", ".join(SUPPORTED),
            )
        )
    app.config["BABEL_DEFAULT_LOCALE"] = default_locale
    app.config["BABEL_DEFAULT_TIMEZONE"] = DISPLAY_TIMEZONE
    app.extensions[_DEFAULT_KEY] = default_locale
    babel = Babel(app, locale_selector=select_locale)
    babel.domain_instance = ShippedCatalogs()  # werkzeug's cached_property takes a value
    # {% trans %} blocks are read with their whitespace collapsed, as the extractor reads them.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters["when"] = when
    # A Text, or a sentence read back from the database (gateway.i18n.stored), in the reader's language.
    app.jinja_env.filters["say"] = lambda value: say_stored(value, gettext)
    app.jinja_env.globals.update(
        LANGUAGES=SUPPORTED, LANGUAGE_NAMES=NAMES, current_locale=current_locale
    )
    app.after_request(_content_language)


def gettext(msgid: str, **params: object) -> str:
    """`msgid` in this request's language, `%(name)s` filled from `params` (typed flask_babel)."""
    return str(flask_babel.gettext(msgid, **params))


def select_locale() -> str:
    """The reader's language for this request (see `gateway.i18n.locales.negotiate`)."""
    who = g.get("officer")
    return negotiate(
        stored=getattr(who, "locale", None),
        cookie=request.cookies.get(COOKIE),
        accept_language=request.headers.get("Accept-Language"),
        default=current_app.extensions.get(_DEFAULT_KEY, DEFAULT),
    )


def current_locale() -> str:
    """The language this request is answered in."""
    return str(get_locale() or current_app.extensions.get(_DEFAULT_KEY, DEFAULT))


def remember(response: WerkzeugResponse, locale: str, *, secure: bool) -> None:
    """Keep the reader's choice in the language cookie (path /: every page and problem)."""
    response.set_cookie(
        COOKIE, locale, max_age=COOKIE_MAX_AGE_S, path="/", secure=secure, httponly=True,
        samesite="Lax",
    )  # fmt: skip


def _content_language(response: Response) -> Response:
    if response.mimetype in _READ_BY_PEOPLE:
        response.headers["Content-Language"] = current_locale()
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def when(value: str | dt.datetime | None, fmt: str = "medium") -> Markup | str:
    """A time as the reader writes it, in Kazakhstan's time, inside `<time datetime=ISO>`; "" for
    None, and a string that is not a time as it is."""
    if value is None or value == "":
        return ""
    moment = value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    assert isinstance(moment, dt.datetime)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    iso = moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return Markup('<time datetime="{}">{}</time>').format(escape(iso), format_datetime(moment, fmt))
