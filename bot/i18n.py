"""The interface in its reader's language: English, Ukrainian or Russian.

The language comes from the `language_code` Telegram sends with each user (`uk`,
`uk-UA`, `ru`, ...); anything else gets English. Texts are gettext messages whose id is
the English text, so English needs no catalog. The Ukrainian and Russian catalogs live in
`bot/locale/<language>/LC_MESSAGES/newsbot.po`, and their compiled `.mo` files are
committed beside them (`tests/test_i18n.py` checks that each matches its `.po`): every
way of installing, editable or from a wheel, then has them, with no build step and no
Babel at run time. Babel is needed only to change a text (see docs/development.md).
"""

from __future__ import annotations

import functools
import gettext
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the feed rounds' child process raises `Told` reasons without loading Telegram's library
    from telegram import User

logger = logging.getLogger(__name__)

DOMAIN = "newsbot"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE = "en"
LANGUAGES = (DEFAULT_LANGUAGE, "uk", "ru")
"""Interface languages, the default first."""

Translations = gettext.NullTranslations
"""What renderers are given: `gettext` and `ngettext` in one reader's language."""
ENGLISH = gettext.NullTranslations()


def language_of(code: str | None) -> str:
    """The interface language for a Telegram `language_code`: `uk-UA` -> `uk`; unknown -> `en`."""
    primary = (code or "").replace("_", "-").split("-")[0].strip().lower()
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


@functools.cache
def translations(language: str) -> Translations:
    """The catalog of `language` (one of `LANGUAGES`), read once.

    A missing compiled catalog is a packaging fault, not a reason to stop answering: it is
    logged, and that language's readers get English.
    """
    if language == DEFAULT_LANGUAGE:
        return ENGLISH
    try:
        return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])
    except OSError:
        logger.error("no compiled %r catalog under %s: answering in English", language, LOCALE_DIR)
        return ENGLISH


def user_language(user: User | None) -> str:
    """The interface language of a Telegram user (English for none)."""
    return language_of(user.language_code if user is not None else None)


def for_user(user: User | None) -> Translations:
    """The texts in the language of `user`."""
    return translations(user_language(user))


def N_(message: str) -> str:
    """Mark a text for the catalogs where it is defined; it is translated where it is shown."""
    return message


class Told(Exception):
    """An error whose reason its reader gets in their language: an interface text (marked
    with `N_` where it is raised) and the values it names. `str()` is the English, for the
    log, the state file and the command line; `told` is what a reader is shown: an admin
    who reads Ukrainian got "Не можу це додати: 'news..example.com' is not a valid host name".
    Values such as an address or a server's own words are shown as they are."""

    def __init__(self, text: str, /, **values: object) -> None:
        super().__init__(text.format(**values) if values else text)
        self.text = text
        self.values = values

    def told(self, tr: Translations) -> str:
        """The reason in the language of `tr`."""
        shown = tr.gettext(self.text)
        return shown.format(**self.values) if self.values else shown


def told(error: BaseException, tr: Translations) -> str:
    """Why `error` happened, in the language of `tr` where it is `Told`, else as it says."""
    return error.told(tr) if isinstance(error, Told) else str(error)


def reason_record(error: BaseException) -> str | None:
    """Why `error` happened as JSON that `told_record` tells later in any reader's language (a
    feed's last error, shown to each admin who asks); None if it is not `Told`."""
    if not isinstance(error, Told):
        return None
    values = {
        name: value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
        for name, value in error.values.items()
    }
    return json.dumps({"text": error.text, "values": values}, ensure_ascii=False)


def told_record(record: str, tr: Translations) -> str | None:
    """A `reason_record` in the language of `tr`; None if it cannot be read (a damaged state file)."""
    try:
        reason = json.loads(record)
        text, values = reason["text"], reason["values"]
        if not isinstance(text, str) or not isinstance(values, dict):
            return None
        shown = tr.gettext(text)
        return str(shown.format(**values) if values else shown)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None
