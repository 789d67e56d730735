"""Settings: each bounded one is taken at its bound and refused one past it, by its name.

Read from the environment, as a deployment sets them: a value past a bound stops every
command at start with one line naming the variable, never a default put in its place.
"""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings

BOUNDS = [
    # (variable, lowest taken, highest taken, refused below or above)
    ("TOP_K", "1", "10", ["0", "11"]),  # .env.example's "1 to 10"
    ("WEBHOOK_PORT", "1", "65535", ["0", "65536"]),
    ("QUESTIONS_PER_MINUTE", "1", "10000", ["0", "10001"]),
    ("MAX_UNANSWERED_UPDATES", "1", "10000", ["0", "10001"]),
    ("MAX_UNANSWERED_PER_CHAT", "1", "10000", ["0", "10001"]),
    ("FEED_INTERVAL", "0", "10080", ["-1", "10081"]),  # 0 turns polling off; a week at most
    ("FEED_ROUND_SECONDS", "0.001", "604800", ["0", "604801", "nan", "inf"]),  # a week at most
    ("FEED_TIMEOUT", "0.001", "600", ["0", "600.5", "nan", "inf"]),  # nan passes a bare `> 0`
    ("FEED_MAX_BYTES", "10000", "1000000000", ["9999", "1000000001"]),
    ("FEED_MAX_ITEMS", "1", "100000", ["0", "100001"]),
    ("FEED_HOST_DELAY", "0", "600", ["-0.5", "600.5", "nan", "inf"]),
    ("FEED_USER_AGENT", "n", "n" * 300, ["n" * 301, "   "]),  # spaces alone are no name
    ("ALERTS_PER_HOUR", "1", "100", ["0", "101"]),
]


@pytest.mark.parametrize(("name", "lowest", "highest", "refused"), BOUNDS)
def test_a_bounded_setting_is_taken_at_its_bounds_and_refused_past_them_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, lowest: str, highest: str, refused: list[str]
) -> None:
    for value in (lowest, highest):
        monkeypatch.setenv(name, value)
        taken = getattr(load_settings(_env_file=None), name.lower())
        assert str(taken) == value or float(taken) == float(value), name
    for value in refused:
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError) as refusal:
            load_settings(_env_file=None)
        assert str(refusal.value).startswith(f"{name}: "), value
        assert "\n" not in str(refusal.value)
