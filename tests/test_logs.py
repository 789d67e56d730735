"""Redaction of the token from log records and from uncaught tracebacks."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from bot.logs import REDACTED, redact, redact_record, secret_forms, secrets_pattern
from bot.settings import SettingsError, load_settings

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET_HALF = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PATTERN = secrets_pattern(secret_forms(TOKEN))


@pytest.mark.parametrize(
    "text",
    [
        f"https://api.telegram.org/bot{TOKEN}/getMe",
        f"Wrong url https://api.telegram.org/bot{TOKEN.lower()}/sendmessage",  # the library capitalises
        f"URL /BOT{TOKEN.upper()}/SENDMESSAGE",
        "https://api.telegram.org/bot123456%3A" + SECRET_HALF + "/getMe",  # a URL-encoded colon
        f"secret alone: {SECRET_HALF}",
        f"secret alone, lower-cased: {SECRET_HALF.lower()}",
        f"twice: {TOKEN} and {TOKEN}",
    ],
)
def test_every_form_of_the_token_is_redacted(text: str) -> None:
    redacted = redact(text, PATTERN)
    assert SECRET_HALF.lower() not in redacted.lower()
    assert REDACTED in redacted


def test_the_whole_token_becomes_one_marker() -> None:
    assert redact(f"bot{TOKEN}/getMe", PATTERN) == f"bot{REDACTED}/getMe"


@pytest.mark.parametrize(
    ("secret", "forms"),
    [
        (TOKEN, [TOKEN, SECRET_HALF]),
        ("webhook-secret", ["webhook-secret"]),  # no colon: hidden whole
        ("trailing:", ["trailing:"]),  # nothing after the colon to hide on its own
        ("", []),
    ],
)
def test_secret_forms(secret: str, forms: list[str]) -> None:
    assert secret_forms(secret) == forms


def test_a_record_with_the_token_in_its_arguments_and_traceback_is_redacted() -> None:
    try:
        raise ValueError(f"The token `{TOKEN.lower()}` was rejected")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "url %s", (TOKEN,), sys.exc_info())
    assert PATTERN is not None
    redact_record(record, PATTERN)
    shown = logging.Formatter().format(record)
    assert SECRET_HALF.lower() not in shown.lower()
    assert shown.count(REDACTED) == 2


def test_an_uncaught_exception_is_printed_redacted() -> None:
    program = (
        "from bot.logs import configure_logging\n"
        f"configure_logging('INFO', [{TOKEN!r}])\n"
        f"raise RuntimeError('bot' + {TOKEN.lower()!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"RuntimeError: bot{REDACTED}" in done.stderr
    assert SECRET_HALF.lower() not in done.stderr.lower()


@pytest.mark.parametrize(
    "value", ["123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"]
)
def test_a_token_pasted_into_another_setting_is_not_repeated_in_its_error(value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None, telegram_bot_token="1:x", telegram_base_url=value)
    assert str(raised.value).startswith("TELEGRAM_BASE_URL: must be an http")
    assert "AAHdqTcv" not in str(raised.value) and REDACTED in str(raised.value)


@pytest.mark.parametrize("variable", ["admin_ids", "feed_private_networks"])
@pytest.mark.parametrize("value", [TOKEN, SECRET_HALF])
def test_a_token_pasted_into_a_list_setting_is_not_repeated_in_the_entry_it_names(
    variable: str, value: str
) -> None:
    # these two name the entry they refuse: the whole token stood in the message, redacted
    # only in the value shown after it
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None, telegram_bot_token="1:x", **{variable: value})
    assert str(raised.value).startswith(f"{variable.upper()}: '{REDACTED}' is no")
    assert SECRET_HALF.lower() not in str(raised.value).lower()
