"""The questions behind page buttons (`bot.state.QueryStore`), kept in the state file, and
the headlines a timeline's events are shown under (`bot.state.titled`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sqlite3
from pathlib import Path

import pytest

from bot.state import QueryStore, titled
from bot.statedb import Asked, open_state
from retrieval import Article, Event, Library, LibraryOptions

pytestmark = pytest.mark.usefixtures("state_files_closed")


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


class CountedReads(list[str]):
    """A list that counts the items read from it one at a time."""

    reads = 0

    def __getitem__(self, number):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().__getitem__(number)


def test_an_event_of_a_blank_headline_finds_its_article_among_a_few_ids_not_all_of_them() -> None:
    # its article was found by reading the ids from the newest one on: all 2,000 of them for
    # the oldest, for each timeline it was in
    others = [
        Article(f"{n:04}-ferry", f"Ferry {n} sails", dt.date(2024, 2, 1), (f"Ferry {n} sailed.",))
        for n in range(1, 2000)
    ]
    random.Random(7).shuffle(others)  # ids in no order
    blank = Article("0000-cranes", "\u202e", dt.date(2024, 1, 1), ("Harbour cranes loaded ten barges.",))
    library = Library.from_articles([blank, *others], options=LibraryOptions(lexical_only=True))
    library.articles.id_order()  # made once a library, by every timeline
    ids = library.articles.ids = CountedReads(library.articles.ids)
    event = Event(dt.date(2024, 1, 1), "day", "Cranes loaded.", "0000-cranes", "\u202e", dt.date(2024, 1, 1))
    unknown = dataclasses.replace(event, article_id="9999-gone")  # cannot be, but is shown as it is
    assert titled(library, [event, unknown]) == [
        dataclasses.replace(event, headline="Harbour cranes loaded ten barges."),
        unknown,
    ]
    assert ids.reads < 50  # two searches among 2,000 ids in order: about 11 reads each
