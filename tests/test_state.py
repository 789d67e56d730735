"""The questions behind page buttons (`bot.state.QueryStore`), kept in the state file."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from bot.state import QueryStore
from bot.statedb import Asked, open_state


def asked(chat_id: int, question: str) -> Asked:
    return Asked(chat_id, question, dt.date(2024, 10, 23), "en", bytes(range(16)))


async def test_a_key_works_in_its_own_chat_for_the_latest_ten_thousand_answers(tmp_path: Path) -> None:
    store = QueryStore(open_state(tmp_path))
    first = store.add(asked(7, "grain exports"))
    assert await store.get(first, 7) == asked(7, "grain exports")
    assert await store.get(first, 8) is None  # replayed in another chat
    keys = [store.add(asked(7, f"question {number}")) for number in range(10_000)]
    await store.saved()
    assert await store.get(first, 7) is None  # 10,000 newer answers: forgotten, its buttons expired
    assert await store.get(keys[0], 7) == asked(7, "question 0")
    assert await store.get("not-a-key", 7) is None
    reopened = QueryStore(open_state(tmp_path))  # after a restart, the same
    assert await reopened.get(first, 7) is None
    assert await reopened.get(keys[0], 7) == asked(7, "question 0")
    assert await reopened.get(keys[0], 8) is None


async def test_the_questions_behind_the_buttons_outlive_a_restart(tmp_path: Path) -> None:
    before = QueryStore(open_state(tmp_path))
    key = before.add(asked(7, "Чи вели переговори в Стамбулі?"))
    await before.saved()
    before.db.close()
    assert await QueryStore(open_state(tmp_path)).get(key, 7) == asked(7, "Чи вели переговори в Стамбулі?")


async def test_a_state_file_locked_by_another_process_keeps_the_buttons_working_and_saves_later(
    tmp_path: Path,
) -> None:
    store = QueryStore(open_state(tmp_path))
    other = sqlite3.connect(store.db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a `sqlite3` shell left in a transaction
    try:
        key = store.add(asked(7, "grain exports"))  # returns at once, whatever the lock
        assert await store.get(key, 7) == asked(7, "grain exports")
    finally:
        other.execute("ROLLBACK")
        other.close()
    await store.saved()
    assert await QueryStore(open_state(tmp_path)).get(key, 7) == asked(7, "grain exports")
