"""The one line `newsbot run` prints when the Bot API refuses `getMe`."""

from __future__ import annotations

import pytest

from bot.preflight import describe_refusal
from bot.settings import TELEGRAM_API

SELF_HOSTED = "http://127.0.0.1:8081/bot"


@pytest.mark.parametrize(
    ("status", "base_url", "starts"),
    [
        (401, TELEGRAM_API, "TELEGRAM_BOT_TOKEN: rejected by the Bot API at https://api.telegram.org/bot"),
        (401, SELF_HOSTED, "TELEGRAM_BOT_TOKEN: rejected by the Bot API at http://127.0.0.1:8081/bot"),
        # Telegram itself answers 404 only to a token that is not even well-formed
        (404, TELEGRAM_API, "TELEGRAM_BOT_TOKEN: malformed"),
        # anywhere else a 404 means no Bot API is there
        (404, SELF_HOSTED, "TELEGRAM_BASE_URL: http://127.0.0.1:8081/bot has no Bot API"),
    ],
)
def test_a_refusal_names_the_setting_to_fix(status: int, base_url: str, starts: str) -> None:
    line = describe_refusal(status, base_url)
    assert line is not None and line.startswith(starts)
    assert "\n" not in line


@pytest.mark.parametrize("status", [200, 429, 500, 502])  # answered, or an outage start-up waits out
def test_other_answers_are_not_refusals(status: int) -> None:
    assert describe_refusal(status, TELEGRAM_API) is None
