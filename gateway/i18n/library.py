"""A library's words inside one of our sentences (issue 21, item 2): an XML Schema message of
lxml (libxml2), a parser's or a verifier's reason.

`library_words(words)` gives them back as a `Text` whose English is exactly the library's words, so
logs, the CLI in English and every test that reads them see no change:

- the common XML Schema messages are recognised (the templates below mirror libxml2's wording,
  each `%(name)s` standing for the element, value or facet it names) and said as a translated
  sentence in Kazakh and Russian, with the names and values as the library wrote them;
- any other words stay as they came, marked in Kazakh and Russian as a quoted technical part
  (техническое сообщение: «...»), so a reader sees which words are ours and which are not.

`tests/unit/i18n/test_library.py` validates documents with real lxml and fails when libxml2's
wording no longer matches a template.
"""

from __future__ import annotations

from gateway.i18n.stored import Recalled, pattern
from gateway.i18n.text import N_, Text

# NOTE: libxml2's XML Schema messages. Keep each placeholder as it is; translate the sentence.
SCHEMA_MESSAGES = (
    N_("Element '%(element)s': [facet 'pattern'] The value '%(value)s' is not accepted by the "
       "pattern '%(pattern)s'."),
    N_("Element '%(element)s': '%(value)s' is not a valid value of the atomic type '%(type)s'."),
    N_("Element '%(element)s': [facet 'enumeration'] The value '%(value)s' is not an element of "
       "the set {%(allowed)s}."),
    N_("Element '%(element)s': [facet 'maxLength'] The value has a length of '%(length)s'; this "
       "exceeds the allowed maximum length of '%(limit)s'."),
    N_("Element '%(element)s': [facet 'minLength'] The value has a length of '%(length)s'; this "
       "underruns the allowed minimum length of '%(limit)s'."),
    N_("Element '%(element)s': [facet 'minInclusive'] The value '%(value)s' is less than the "
       "minimum value allowed ('%(limit)s')."),
    N_("Element '%(element)s': [facet 'maxInclusive'] The value '%(value)s' is greater than the "
       "maximum value allowed ('%(limit)s')."),
    N_("Element '%(element)s': This element is not expected. Expected is ( %(expected)s )."),
    N_("Element '%(element)s': This element is not expected. Expected is one of ( %(expected)s "
       ")."),
    N_("Element '%(element)s': This element is not expected."),
    N_("Element '%(element)s': Missing child element(s). Expected is ( %(expected)s )."),
    N_("Element '%(element)s': Missing child element(s). Expected is one of ( %(expected)s )."),
    N_("Element '%(element)s': The attribute '%(attribute)s' is required but missing."),
    N_("Element '%(element)s', attribute '%(attribute)s': The attribute '%(attribute)s' is not "
       "allowed."),
    N_("Element '%(element)s': No matching global declaration available for the validation root."),
)  # fmt: skip


def technical(words: str) -> Text:
    """`words` from a library, as they are, marked as technical where they are translated."""
    # NOTE: a library's words, kept as they are: mark them as a quoted technical part.
    return Text("%(words)s", words=words)


def library_words(words: str) -> Text:
    """`words` as a sentence of ours when they are one of the common library messages above,
    else as a marked technical part; either way its English is `words` unchanged."""
    for msgid in SCHEMA_MESSAGES:
        match = pattern(msgid).regex.fullmatch(words)
        if match is not None:
            return Recalled(msgid, words, **match.groupdict())
    return technical(words)
