"""The questions behind page buttons (`bot.state.QueryStore`)."""

from __future__ import annotations

import datetime as dt

from bot.state import Asked, QueryStore


def asked(chat_id: int, question: str) -> Asked:
    return Asked(chat_id, question, dt.date(2024, 10, 23), "en", bytes(16))


def test_a_key_works_in_its_own_chat_for_the_latest_ten_thousand_answers() -> None:
    store = QueryStore()
    first = store.add(asked(7, "grain exports"))
    assert store.get(first, 7) == asked(7, "grain exports")
    assert store.get(first, 8) is None  # replayed in another chat
    keys = [store.add(asked(7, f"question {number}")) for number in range(10_000)]
    assert store.get(first, 7) is None  # 10,000 newer answers: forgotten, its buttons expired
    assert store.get(keys[0], 7) == asked(7, "question 0")
