"""Logging set-up that keeps the bot token out of every log line and traceback.

Telegram puts the token in every request URL, so an HTTP error or a traceback would
print it. The redaction happens when a record is created, before any handler (a file,
the console, a test's capture) can see it. It ignores case, because python-telegram-bot
capitalises error messages (`BadRequest("Wrong url .../bot123:abc...")` arrives with the
token lower-cased), and it also hides a token's secret half on its own, as a URL-encoded
colon (`123%3Aabc`) or a clipped echo would show it. An uncaught exception's traceback,
printed outside logging, is redacted the same way.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

REDACTED = "[token redacted]"
TOKEN_SHAPE = re.compile(r"(?:\d+:)?[A-Za-z0-9_-]{30,}")
"""What a bot token, or its secret half, looks like: for text written before the bot's own
token is known, such as the value of a setting it was pasted into by mistake."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_formatter = logging.Formatter()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    """Log to stderr at `level`, redacting `secrets`; keep `httpx`, which logs URLs, at WARNING."""
    logging.basicConfig(format=LOG_FORMAT, level=level)
    logging.getLogger().setLevel(level)
    install_redaction(secrets)
    sys.excepthook = _print_redacted  # a traceback that escapes everything is redacted too
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def install_redaction(secrets: Iterable[str]) -> None:
    """Make every new log record carry `secrets` replaced by a marker, message and traceback alike.

    Calling it again adds secrets; the record factory is wrapped only once.
    """
    global _pattern
    _secrets.update(form for secret in secrets for form in secret_forms(secret))
    _pattern = secrets_pattern(_secrets)
    if getattr(logging.getLogRecordFactory(), "redacts_secrets", False):
        return
    base = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        return redact_record(record, _pattern) if _pattern else record

    redacting_factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


def secret_forms(secret: str) -> list[str]:
    """The strings to hide for `secret`: itself and, for a bot token `123:ABC`, its half `ABC`.

    The half before the colon is the bot's public user id, not hidden on its own.
    """
    if not secret:
        return []
    _, colon, half = secret.partition(":")
    return [secret, half] if colon and half else [secret]


def secrets_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for all `secrets`, the longest first; None when there are none."""
    ordered = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(re.escape(secret) for secret in ordered), re.IGNORECASE)


def redact_record(record: logging.LogRecord, pattern: re.Pattern[str]) -> logging.LogRecord:
    """Render the message and the traceback now, with the secrets replaced."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the record
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = redact(message, pattern), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(_formatter.formatException(record.exc_info), pattern)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, pattern)
    return record


def redact(text: str, pattern: re.Pattern[str] | None) -> str:
    """`text` with every match of `pattern`, in any case, replaced by the marker."""
    return pattern.sub(REDACTED, text) if pattern else text


def redact_secrets(text: str) -> str:
    """`text` with every installed secret replaced, for messages printed outside logging."""
    return redact(text, _pattern)


def _print_redacted(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    sys.stderr.write(redact_secrets("".join(traceback.format_exception(kind, error, trace))))
