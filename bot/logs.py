"""Logging set-up that keeps the bot token out of every log line.

Telegram puts the token in every request URL, so an HTTP error or a traceback would
print it. The redaction happens when a record is created, before any handler (a file,
the console, a test's capture) can see it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

REDACTED = "[token redacted]"
_formatter = logging.Formatter()
_secrets: set[str] = set()


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    """Log to stderr at `level`, redacting `secrets`; keep `httpx`, which logs URLs, at WARNING."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    logging.getLogger().setLevel(level)
    install_redaction(secrets)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def install_redaction(secrets: Iterable[str]) -> None:
    """Make every new log record carry `secrets` replaced by a marker, message and traceback alike.

    Calling it again adds secrets; the record factory is wrapped only once.
    """
    _secrets.update(secret for secret in secrets if secret)
    if getattr(logging.getLogRecordFactory(), "redacts_secrets", False):
        return
    base = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        return redact_record(record, tuple(_secrets)) if _secrets else record

    redacting_factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


def redact_record(record: logging.LogRecord, secrets: tuple[str, ...]) -> logging.LogRecord:
    """Render the message and the traceback now, with the secrets replaced."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the record
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = redact(message, secrets), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(_formatter.formatException(record.exc_info), secrets)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, secrets)
    return record


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """Replace each secret in `text`."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text
