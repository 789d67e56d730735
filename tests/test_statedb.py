"""The state file: schema and migrations, claims that two processes may race for, topics."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType

import pytest

from bot.ingest import FeedCheck, add_feed
from bot.statedb import (
    COMMANDS_KEPT,
    DB_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    UNLISTED_KEPT,
    CommandDone,
    Dropped,
    FeedRow,
    StateDB,
    StateError,
    open_state,
)
from tests.conftest import damage_state

pytestmark = pytest.mark.usefixtures("state_files_closed")

DATE = dt.date(2024, 5, 3)


def claim(db, url: str, text: str, path: str | None = None, backlog: bool = False):  # type: ignore[no-untyped-def]
    return db.claim_article(
        url=url,
        text_hash=text,
        path=path or f"feeds/x/{text}.md",
        title=text,
        date=DATE,
        feed_id=None,
        backlog=backlog,
    )


def test_a_new_file_gets_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    db = open_state(tmp_path / "state")
    assert db.version == SCHEMA_VERSION == len(MIGRATIONS)
    mode = sqlite3.connect(tmp_path / "state" / DB_NAME).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_removed_feeds_id_is_never_given_to_a_feed_added_after(tmp_path: Path) -> None:
    # an admin shown feeds 1 and 2, feed 2 removed by another and a feed added: SQLite gave the
    # new feed id 2, and the first admin's `/feeds remove 2` removed it, not "gone already"
    db = open_state(tmp_path / "state")
    first, second = db.add_feed("http://a/rss", "a", None), db.add_feed("http://b/rss", "b", None)
    db.remember_listing(5, 5, [first.id, second.id])
    db.remove_feed(second.id)
    third = db.add_feed("http://c/rss", "c", None)
    assert third.id not in (first.id, second.id)
    assert db.listing(5, 5) == (first.id, second.id)  # its 2 names no feed now
    with pytest.raises(sqlite3.IntegrityError):  # a URL listed already takes no id either
        db.add_feed("http://c/rss", "c2", None)
    assert db.add_feed("http://d/rss", "d", None).id == third.id + 1
    # and across a reopening, as after a restart
    db.remove_feed(third.id + 1)
    assert open_state(tmp_path / "state").add_feed("http://e/rss", "e", None).id == third.id + 2


def test_a_file_of_version_22_gives_feed_ids_after_its_newest(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    old = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    old.executescript(";".join(MIGRATIONS[:22]) + "; PRAGMA user_version = 22;")
    old.execute("INSERT INTO feeds (id, url, name, added_at) VALUES (7, 'http://n/rss', 'n', 0)")
    old.close()
    db = open_state(folder)
    assert [feed.id for feed in db.feeds()] == [7]
    db.remove_feed(7)
    assert db.add_feed("http://m/rss", "m", None).id == 8


def test_an_older_file_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    old = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    old.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")  # as the first schema left it
    old.execute("INSERT INTO feeds (url, name, added_at) VALUES ('http://n/rss', 'n', 0)")
    old.close()
    db = open_state(folder)
    assert db.version == SCHEMA_VERSION
    assert [feed.url for feed in db.feeds()] == ["http://n/rss"]
    assert db.follow(1, 1, "grain", ("grain",), limit=10) == "added"  # the second step's table


def test_an_older_file_gets_the_index_that_counts_a_feeds_articles(tmp_path: Path) -> None:
    # /feeds counts each feed's articles: with no index on their feed, each count read every
    # article the state file holds
    folder = tmp_path / "state"
    folder.mkdir()
    old = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    old.executescript(";".join(MIGRATIONS[:12]) + "; PRAGMA user_version = 12;")  # before the index
    old.close()
    open_state(folder).close()
    state = sqlite3.connect(folder / DB_NAME)
    assert "articles_feed" in [row[1] for row in state.execute("PRAGMA index_list(articles)")]
    count = "EXPLAIN QUERY PLAN SELECT count(*) FROM articles WHERE feed_id = 1"
    assert "USING COVERING INDEX articles_feed" in state.execute(count).fetchone()[-1]


def test_articles_saved_before_the_backlog_column_are_not_backlog(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    old = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    old.executescript(MIGRATIONS[0] + ";" + MIGRATIONS[1] + "; PRAGMA user_version = 2;")
    old.execute(
        "INSERT INTO articles (url, text_hash, path, title, date, saved_at)"
        " VALUES ('http://n/1', 'h', 'feeds/n/1.md', 'T', '2024-05-03', 1.5)"
    )
    old.close()
    (article,) = open_state(folder).unmatched_articles()
    assert article.backlog is False  # it may still alert
    db = open_state(folder)
    assert claim(db, "http://n/2", "bbb", backlog=True)[1].backlog is True


def test_a_topic_remembers_when_it_was_followed(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    before = time.time()
    db.follow(7, 7, "grain", ("grain",), limit=10)
    (topic,) = db.topics(7)
    assert before <= topic.followed_at <= time.time()


def test_reopening_does_not_migrate_again(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    db.add_feed("http://n/rss", "n", None)
    db.close()
    assert [feed.name for feed in open_state(tmp_path).feeds()] == ["n"]


def test_a_file_from_a_newer_newsbot_is_refused_with_what_to_do(tmp_path: Path) -> None:
    open_state(tmp_path).close()
    sqlite3.connect(tmp_path / DB_NAME).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match=r"newer than this newsbot's.*upgrade newsbot"):
        open_state(tmp_path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"not a database at all" * 100)
    with pytest.raises(StateError, match="cannot be used"):
        open_state(tmp_path)


@pytest.mark.parametrize("how", ["bad page", "backup beside a newer WAL"])
def test_a_damaged_file_is_refused_at_open_with_what_to_do(tmp_path: Path, how: str) -> None:
    """It opened, and each call that met the damage failed while the bot ran on."""
    damage_state(tmp_path, how)
    damaged = r"cannot be used: it is damaged \(.+\); restore it from a backup"
    with pytest.raises(StateError, match=damaged) as why:
        open_state(tmp_path)
    assert "\n" not in str(why.value)  # one line, as `newsbot` prints it


def held_open(path: Path) -> list[str]:
    """This process's descriptors open on `path` or its -wal and -shm files (Linux)."""
    names = {str(path), f"{path}-wal", f"{path}-shm"}
    held = []
    for descriptor in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):  # closed since it was listed (the listing's own)
            if os.readlink(descriptor) in names:
                held.append(descriptor.name)
    return held


@pytest.mark.parametrize("how", ["not a database", "newer schema", "damaged", "migration fails"])
def test_a_file_refused_at_open_is_left_closed(tmp_path: Path, how: str) -> None:
    # The connection stayed open behind the error, held by its traceback: a start that
    # handled the refusal kept the file, its WAL and shared memory open.
    path = tmp_path / DB_NAME
    if how == "not a database":
        path.write_bytes(b"not a database at all" * 100)
    elif how == "newer schema":
        open_state(tmp_path).close()
        with contextlib.closing(sqlite3.connect(path)) as newer:
            newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    elif how == "damaged":
        damage_state(tmp_path, "bad page")
    else:  # a table of step 4 made by hand in a file of step 3: the step cannot make it
        old = sqlite3.connect(path, isolation_level=None)
        old.executescript(";".join(MIGRATIONS[:3]) + "; CREATE TABLE alert_topics (x)")
        old.execute("PRAGMA user_version = 3")
        old.close()
    with pytest.raises(StateError) as why:
        open_state(tmp_path)
    assert held_open(path) == [], why.value
    assert why.value is not None  # the error, and its traceback, are still held here


def test_a_state_dir_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StateError, match="STATE_DIR"):
        open_state(tmp_path / "file" / "state")


def test_claims_decide_saved_seen_and_duplicate(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    outcome, first = claim(db, "http://n/1", "aaa")
    assert outcome == "saved"
    assert claim(db, "http://n/1", "aaa")[0] == "seen"  # the same URL again
    outcome, earlier = claim(db, "http://m/other", "aaa")  # the same text under another URL
    assert (outcome, earlier.id) == ("duplicate", first.id)
    assert db.article_for_link("http://m/other") == first  # the duplicate URL is remembered
    assert db.articles_count() == 1


def test_a_text_whose_file_is_gone_is_saved_under_a_new_link_as_the_article_it_was(tmp_path: Path) -> None:
    # recorded as a duplicate of an article whose file was deleted, the text never came back
    db = open_state(tmp_path)
    _, first = claim(db, "http://n/1", "aaa")
    db.follow(7, 7, "grain", ("grain",), limit=10)
    db.queue_alerts([(7, 7, first.id, "grain", 0.9, "t", "grain")], [first.id])
    gone = {first.path}
    outcome, again = db.claim_article(
        url="http://m/moved",
        text_hash="aaa",
        path="feeds/y/moved.md",
        title="Moved",
        date=DATE,
        feed_id=None,
        in_corpus=lambda path: path not in gone,
    )
    assert (outcome, again.id, again.url, again.path) == (
        "saved",
        first.id,
        "http://m/moved",
        "feeds/y/moved.md",
    )
    assert db.unmatched_articles() == [again]  # indexed and matched anew
    db.queue_alerts([(7, 7, again.id, "grain", 0.9, "t", "grain")], [again.id])
    assert len(db.pending_alerts()) == 1  # the reader it alerted is not alerted again
    assert db.article_for_link("http://n/1") == again  # its old link stays out: seen
    assert claim(db, "http://n/1", "aaa")[0] == "seen"
    assert db.articles_count() == 1


def test_two_connections_racing_for_one_article_store_it_once(tmp_path: Path) -> None:
    one, two = open_state(tmp_path), open_state(tmp_path)
    outcomes = [claim(one, "http://n/1", "same")[0], claim(two, "http://n/1", "same")[0]]
    assert sorted(outcomes) == ["saved", "seen"]
    assert one.articles_count() == two.articles_count() == 1


def test_a_writer_waits_for_another_processes_transaction(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock for a moment
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    assert claim(db, "http://n/1", "aaa")[0] == "saved"  # waited its turn instead of failing "locked"


def test_failed_links_count_attempts(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    assert [db.link_failed("http://n/1", "404 Not Found") for _ in range(3)] == [1, 2, 3]
    assert db.link_outcome("http://n/1") == ("failed", 3)
    assert claim(db, "http://n/1", "aaa")[0] == "saved"  # a later success replaces the failure
    assert db.link_outcome("http://n/1") == ("saved", 1)


def test_follow_refuses_the_same_topic_and_more_than_the_limit(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    assert db.follow(7, 7, "Grain exports", ("grain", "export"), limit=2) == "added"
    assert db.follow(7, 7, "exported grain", ("export", "grain"), limit=2) == "known"  # the analyzer's order
    assert db.follow(7, 7, "ferry", ("ferri",), limit=2) == "added"
    assert db.follow(7, 7, "storm", ("storm",), limit=2) == "full"
    assert db.follow(8, 8, "storm", ("storm",), limit=2) == "added"  # another user's own limit
    assert [t.words for t in db.topics(7)] == ["Grain exports", "ferry"]


def test_follows_racing_over_two_connections_keep_to_the_limit(tmp_path: Path) -> None:
    # two bots started on one STATE_DIR by mistake: counting a reader's topics and adding one is one step
    connections = [open_state(tmp_path), open_state(tmp_path)]
    together = threading.Barrier(20)
    outcomes: list[str] = []

    def follow(number: int) -> None:
        together.wait()
        db = connections[number % 2]
        outcomes.append(db.follow(7, 7, f"topic {number}", (f"topic{number}",), limit=10))

    threads = [threading.Thread(target=follow, args=(number,)) for number in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added"] * 10 + ["full"] * 10
    assert len(connections[0].topics(7)) == 10


def test_feeds_of_one_name_added_at_once_over_two_connections_each_get_a_folder(tmp_path: Path) -> None:
    # a bot's /feeds add and `newsbot feeds add` on one state file: the bot's add comes to
    # store its feed just as the other stores one of the same name; a folder chosen before
    # that made the bot's add refused as "already listed", though its address was new
    bot, command = open_state(tmp_path), open_state(tmp_path)
    storing, stored = threading.Event(), threading.Event()

    def pause_when_storing(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code is StateDB.add_feed.__code__:
            storing.set()
            stored.wait()

    def add_from_the_bot() -> FeedRow:
        sys.settrace(pause_when_storing)
        try:
            return add_feed(bot, FeedCheck("http://a/rss", "Harbour", 1), None)
        finally:
            sys.settrace(None)

    with ThreadPoolExecutor(1) as pool:
        from_the_bot = pool.submit(add_from_the_bot)
        assert storing.wait(60)
        from_the_command = add_feed(command, FeedCheck("http://b/rss", "Harbour", 1), None)
        stored.set()
        assert (from_the_command.name, from_the_bot.result().name) == ("harbour", "harbour-2")
    with pytest.raises(sqlite3.IntegrityError):  # the same address twice is refused, truly listed
        add_feed(bot, FeedCheck("http://b/rss", "Another", 1), None)
    assert [feed.url for feed in command.feeds()] == ["http://b/rss", "http://a/rss"]


def test_forget_user_drops_topics_and_unsent_alerts_only_of_that_user(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    _, article = claim(db, "http://n/1", "aaa")
    for user in (7, 8):
        db.follow(user, user, "grain", ("grain",), limit=10)
    db.queue_alerts(
        [(user, user, article.id, "grain", 0.9, "text", "grain") for user in (7, 8)], [article.id]
    )
    assert db.forget_user(7) == 1
    assert [t.user_id for t in db.topics()] == [8]
    assert [a.user_id for a in db.pending_alerts()] == [8]
    assert db.unmatched_articles() == []


def test_a_readers_alerts_take_the_language_of_their_last_topic_command(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    _, article = claim(db, "http://n/1", "aaa")
    for user in (7, 8, 9):
        db.follow(user, user, "grain", ("grain",), limit=10)
    db.queue_alerts(
        [(user, user, article.id, "grain", 0.9, "t", "grain") for user in (7, 8, 9)], [article.id]
    )
    db.remember_language(7, "uk")
    db.remember_language(8, "uk")
    db.remember_language(8, "ru")  # their app's language changed since
    languages = {r.user_id: r.language for r in db.alert_recipients(since=0, until=time.time() + 60)}
    assert languages == {7: "uk", 8: "ru", 9: None}  # 9 followed before languages were kept
    db.forget_user(8)  # blocked the bot: nothing of theirs stays
    assert sqlite3.connect(tmp_path / DB_NAME).execute("SELECT user_id FROM readers").fetchall() == [(7,)]


def test_a_language_kept_already_is_not_written_again(tmp_path: Path) -> None:
    # /following remembers its reader's language: while another process holds the state
    # file's write lock (a `sqlite3` shell in a transaction), an unchanged one must not wait for it.
    db = open_state(tmp_path)
    db.remember_language(7, "uk")
    other = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        db.remember_language(7, "uk")  # a write would wait for the lock, then fail
    finally:
        other.execute("ROLLBACK")
        other.close()
    db.remember_language(7, "ru")
    assert sqlite3.connect(tmp_path / DB_NAME).execute("SELECT * FROM readers").fetchall() == [(7, "ru")]


def test_one_alert_per_user_and_article_whatever_topics_matched(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    _, article = claim(db, "http://n/1", "aaa")
    db.follow(7, 7, "grain", ("grain",), limit=10)
    db.follow(7, 7, "ports", ("port",), limit=10)
    db.queue_alerts(
        [(7, 7, article.id, "grain", 0.9, "t", "grain"), (7, 7, article.id, "ports", 0.6, "t", "port")],
        [article.id],
    )
    assert [a.topic for a in db.pending_alerts()] == ["grain"]  # the first (the best) is kept


def test_an_alert_waits_on_under_another_topic_it_matched_when_its_own_is_unfollowed(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    _, article = claim(db, "http://n/1", "aaa")
    for words in ("grain", "ports", "storm"):
        db.follow(7, 7, words, (words,), limit=10)
    db.queue_alerts(
        [
            (7, 7, article.id, "grain", 0.9, "Grain passage.", "grain"),
            (7, 7, article.id, "storm", 0.6, "Storm passage.", "storm"),
            (7, 7, article.id, "ports", 0.7, "Ports passage.", "port"),
        ],
        [article.id],
    )
    topic_id = {t.words: t.id for t in db.topics(7)}
    db.unfollow(topic_id["grain"])
    (alert,) = db.pending_alerts(7)  # under the best topic still followed, with its own passage
    assert (alert.topic, alert.relevance, alert.passage, alert.terms) == (
        "ports",
        0.7,
        "Ports passage.",
        frozenset({"port"}),
    )
    db.unfollow(topic_id["ports"])
    assert [a.topic for a in db.pending_alerts(7)] == ["storm"]
    db.follow(7, 7, "grain", ("grain",), limit=10)  # followed again: a match again
    db.unfollow(topic_id["storm"])
    assert [a.topic for a in db.pending_alerts(7)] == ["grain"]
    db.unfollow(next(t.id for t in db.topics(7)))
    assert db.pending_alerts(7) == []  # no topic of the reader's left that matched it


def test_an_alert_is_not_kept_for_another_readers_topic(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    _, article = claim(db, "http://n/1", "aaa")
    db.follow(7, 7, "grain", ("grain",), limit=10)
    db.follow(8, 8, "ports", ("port",), limit=10)
    db.queue_alerts(
        [(7, 7, article.id, "grain", 0.9, "t", "grain"), (8, 8, article.id, "ports", 0.7, "t", "port")],
        [article.id],
    )
    db.follow(7, 7, "ports", ("port",), limit=10)  # reader 7 follows it after the match
    db.unfollow(next(t.id for t in db.topics(7) if t.words == "grain"))
    assert [a.user_id for a in db.pending_alerts()] == [8]


def test_a_command_is_remembered_with_its_reply_for_a_week(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    db.follow(7, 7, "grain", ("grain",), limit=10)
    db.follow(7, 7, "ports", ("port",), limit=10)
    (grain, ports) = db.topics(7)
    db.unfollow(grain.id, CommandDone(7, 1, "Stopped following “grain”."))
    assert db.reply_given(7, 1) == "Stopped following “grain”."
    assert db.reply_given(7, 2) is None and db.reply_given(8, 1) is None  # another message, another chat
    with sqlite3.connect(db.path) as other:  # recorded more than a week ago
        other.execute("UPDATE commands_done SET done_at = done_at - ?", (COMMANDS_KEPT + 60,))
    db.unfollow(ports.id, CommandDone(7, 2, "Stopped following “ports”."))
    assert db.reply_given(7, 1) is None and db.reply_given(7, 2) is not None


def test_the_topics_following_listed_are_kept_per_reader_until_their_last_topic_goes(tmp_path: Path) -> None:
    # what a reader's /unfollow N means (`topics_listed`); a topic's id is never given again, so
    # that one followed after the list is not read as a topic the list showed and was stopped
    db = open_state(tmp_path)
    for words in ("grain", "ports", "ferry"):
        db.follow(7, 7, words, (words,), limit=10)
    db.follow(8, 8, "volcano", ("volcano",), limit=10)
    grain, ports, ferry = db.topics(7)
    assert db.topics_listed(7) is None  # no list shown: the topics as they are
    db.remember_topics_listed(7, [grain.id, ports.id, ferry.id])
    db.remember_topics_listed(8, [db.topics(8)[0].id])
    db.close()
    db = open_state(tmp_path)  # kept across a restart
    assert db.topics_listed(7) == (grain.id, ports.id, ferry.id)
    db.unfollow(ferry.id)
    (volcano,) = db.topics(8)
    db.unfollow(volcano.id)  # the newest topic of all, and the reader's last
    db.follow(7, 7, "harbour", ("harbour",), limit=10)
    harbour = db.topics(7)[-1]
    assert harbour.id not in (grain.id, ports.id, ferry.id, volcano.id)
    assert db.topics_listed(7) == (grain.id, ports.id, ferry.id)
    assert db.topics_listed(8) is None  # their last topic took it
    db.remember_topics_listed(8, [])  # nothing to number: none kept
    assert db.topics_listed(8) is None
    db.forget_user(7)  # blocked the bot
    assert db.topics_listed(7) is None
    assert sqlite3.connect(db.path).execute("SELECT count(*) FROM topic_listings").fetchone() == (0,)


def test_a_file_of_the_previous_version_keeps_its_topics_and_gives_no_id_twice(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    old = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    old.executescript(";".join(MIGRATIONS[:21]) + "; PRAGMA user_version = 21;")
    old.executemany(
        "INSERT INTO topics (id, user_id, chat_id, words, terms, created_at) VALUES (?, ?, ?, ?, ?, 1.5)",
        [
            (1, 7, 7, "grain exports", "grain export"),
            (4, 7, 7, "volcano", "volcano"),
            (6, 8, 8, "ports", "port"),
        ],
    )
    old.close()
    db = open_state(folder)
    assert db.version == SCHEMA_VERSION == 23
    assert [(t.id, t.user_id, t.words, t.terms, t.followed_at) for t in db.topics()] == [
        (1, 7, "grain exports", ("grain", "export"), 1.5),
        (4, 7, "volcano", ("volcano",), 1.5),
        (6, 8, "ports", ("port",), 1.5),
    ]
    assert db.topics_listed(7) is None  # no list kept before: numbered as the topics are
    assert db.follow(7, 7, "grain exports", ("grain", "export"), limit=10) == "known"
    db.unfollow(6)  # the newest id
    db.follow(8, 8, "harbour", ("harbour",), limit=10)
    assert [t.id for t in db.topics(8)] == [7]  # not 6 again
    with pytest.raises(sqlite3.IntegrityError):  # still one topic per reader and terms
        sqlite3.connect(db.path).execute(
            "INSERT INTO topics (user_id, chat_id, words, terms, created_at) VALUES (8, 8, 'x', 'harbour', 1)"
        )


def test_a_group_become_supergroup_takes_its_feed_lists_there_once_by_either_message(tmp_path: Path) -> None:
    # Telegram says so in the group and in the supergroup, and refuses a message to the group:
    # each moves what is the group's, the second finds nothing left, a restart between changes
    # nothing, and a list /feeds gave in the supergroup already is newer than the group's
    db = open_state(tmp_path)
    db.remember_listing(-100, 1, [1, 2, 3])
    db.remember_listing(-100, 2, [1, 2])
    db.remember_listing(-1001234, 2, [2, 3])  # admin 2 listed the feeds in the supergroup already
    db.remember_listing(1, 1, [3])  # admin 1's private chat
    feed = db.add_feed("http://a/rss", "a", None)
    db.remove_feed(feed.id, CommandDone(-100, 5, "Removed feed 1: a."))
    assert db.move_chat(-100, -1001234) == 1
    assert db.move_chat(-100, -1001234) == 0
    db.close()
    db = open_state(tmp_path)
    assert db.move_chat(-100, -1001234) == 0
    assert db.listing(-1001234, 1) == (1, 2, 3) and db.listing(-1001234, 2) == (2, 3)
    assert db.listing(-100, 1) == (1, 2, 3)  # a late message of the group: the supergroup's list
    assert db.listing(1, 1) == (3,)
    # a command is known by its chat's message number, which the supergroup gives anew: its
    # message 5 is another command, and the group's command handed out again is the group's
    assert db.reply_given(-1001234, 5) is None and db.reply_given(-100, 5) == "Removed feed 1: a."


def test_a_list_feeds_gives_in_a_group_once_it_became_a_supergroup_is_the_supergroups(tmp_path: Path) -> None:
    # a /feeds of the group handled after the move (sent as it was upgraded) was kept under the
    # group's id, where nothing moved it any more; its answer went to the supergroup, and so
    # did the admin's /feeds remove N, which found the older list moved there
    db = open_state(tmp_path)
    db.remember_listing(-100, 1, [1, 2, 3])
    assert db.move_chat(-100, -1001234) == 1
    db.remember_listing(-100, 1, [2, 3])  # the group's late /feeds: the newer list
    assert db.listing(-1001234, 1) == (2, 3) and db.listing(-100, 1) == (2, 3)
    assert db.move_chat(-100, -1001234) == 0  # Telegram's word of it, after: nothing left to move
    db.close()
    db = open_state(tmp_path)
    assert db.chat_moves() == {-100: -1001234}  # known across a restart, for answers to go there at once
    db.remember_listing(-100, 1, [3])
    assert db.listing(-1001234, 1) == (3,)


def test_a_topic_unfollowed_while_matched_is_kept_as_no_match_of_the_alert(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    _, article = claim(db, "http://n/1", "aaa")
    db.follow(7, 7, "grain", ("grain",), limit=10)
    db.queue_alerts(  # "ports" was unfollowed while the article was matched
        [(7, 7, article.id, "grain", 0.9, "t", "grain"), (7, 7, article.id, "ports", 0.7, "t", "port")],
        [article.id],
    )
    db.follow(7, 7, "ports", ("port",), limit=10)  # followed again later
    db.unfollow(next(t.id for t in db.topics(7) if t.words == "grain"))
    assert db.pending_alerts(7) == []


def test_a_feeds_number_is_its_place_whatever_was_added_after_it(tmp_path: Path) -> None:
    # "Added feed N" is what /feeds remove N takes: an add that lands between another's add and
    # its reply must not give that reply its own number (the count of feeds by then)
    db = open_state(tmp_path)
    first = db.add_feed("http://a/rss", "a", None)
    second = db.add_feed("http://b/rss", "b", None)
    assert (db.feed_number(first.id), db.feed_number(second.id)) == (1, 2)
    db.remove_feed(first.id)
    assert db.feed_number(second.id) == 1 and [feed.name for feed in db.feeds()] == ["b"]


GRAIN = "Silos at the harbour held the grain for export. " * 100
PORTS = "The ports reopened to ships after the storm. " * 100
"""Passages as long as a real one (kept past a page of the file, in pages of their own)."""


def grain_and_ports_alert(db: StateDB) -> int:
    """Reader 7 follows "grain" and "ports", and one article matched both: its alert's id."""
    _, article = claim(db, "http://n/1", "aaa")
    db.follow(7, 7, "grain", ("grain",), limit=10)
    db.follow(7, 7, "ports", ("port",), limit=10)
    db.queue_alerts(
        [(7, 7, article.id, "grain", 0.9, GRAIN, "grain"), (7, 7, article.id, "ports", 0.7, PORTS, "port")],
        [article.id],
    )
    (alert,) = db.pending_alerts(7)
    return alert.id


def alert_done(db: StateDB, alert_id: int, how: str) -> None:
    if how in ("alert", "digest"):
        assert db.take_for_sending([alert_id], "alert" if how == "alert" else "digest")
    elif how == "refused":  # Telegram refused the message (400): given up
        assert db.take_for_sending([alert_id], "alert")
        db.mark_sent([alert_id], "dropped")
    elif how == "unfollowed":
        for topic in db.topics(7):
            db.unfollow(topic.id)
    else:  # the reader blocked the bot
        db.forget_user(7)


@pytest.mark.parametrize(
    ("how", "kind"),
    [
        ("alert", "alert"),
        ("digest", "digest"),
        ("refused", "dropped"),
        ("unfollowed", "dropped"),
        ("blocked", "dropped"),
    ],
)
def test_an_alert_done_keeps_only_its_reader_article_time_and_kind(
    tmp_path: Path, how: str, kind: str
) -> None:
    # Every alert row kept the passage it matched, and its other topics' passages, for good: the
    # file grew with readers times matches, and a reader's matched passages stayed once sent.
    db = open_state(tmp_path)
    alert_id = grain_and_ports_alert(db)
    alert_done(db, alert_id, how)
    with contextlib.closing(sqlite3.connect(db.path)) as other:
        kept = other.execute(
            "SELECT user_id, article_id, sent_at IS NOT NULL, kind, topic, passage, terms FROM alerts"
        ).fetchall()
        assert kept == [(7, 1, 1, kind, "", "", "")]
        assert other.execute("SELECT count(*) FROM alert_topics").fetchone() == (0,)
    db.close()
    for file in tmp_path.iterdir():  # not even in the file's free space
        assert b"Silos at the harbour" not in file.read_bytes() and b"ports reopened" not in file.read_bytes()
    db = open_state(tmp_path)
    db.follow(7, 7, "grain", ("grain",), limit=10)
    db.queue_alerts([(7, 7, 1, "grain", 0.9, GRAIN, "grain")], [1])
    assert db.pending_alerts() == []  # what is kept is enough: the article is never alerted twice


def test_an_alert_put_back_waits_with_what_its_message_shows(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    alert_id = grain_and_ports_alert(db)
    waiting = db.pending_alerts(7)
    assert db.take_for_sending([alert_id], "alert")
    db.put_back(waiting)  # the message surely did not reach Telegram
    assert db.pending_alerts(7) == waiting


def test_an_alert_put_back_under_a_topic_unfollowed_on_its_way_is_given_up(tmp_path: Path) -> None:
    # Unfollowing finds an alert on its way taken, not waiting, and leaves it; put back, it was
    # sent at the next round, after "Stopped following".
    db = open_state(tmp_path)
    alert_id = grain_and_ports_alert(db)
    waiting = db.pending_alerts(7)
    assert db.take_for_sending([alert_id], "alert")
    (grain,) = [topic for topic in db.topics(7) if topic.words == "grain"]
    db.unfollow(grain.id)
    db.put_back(waiting)
    assert db.pending_alerts(7) == []
    with contextlib.closing(sqlite3.connect(db.path)) as other:
        assert other.execute("SELECT sent_at IS NOT NULL, kind, passage FROM alerts").fetchall() == [
            (1, "dropped", "")
        ]


def test_an_alert_put_back_waits_while_its_own_topic_is_followed(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    alert_id = grain_and_ports_alert(db)
    waiting = db.pending_alerts(7)
    assert db.take_for_sending([alert_id], "alert")
    (ports,) = [topic for topic in db.topics(7) if topic.words == "ports"]
    db.unfollow(ports.id)
    db.put_back(waiting)
    assert db.pending_alerts(7) == waiting


def test_sent_alerts_of_an_older_file_keep_only_their_reader_article_time_and_kind(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    old = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    old.executescript(";".join(MIGRATIONS[:8]) + "; PRAGMA user_version = 8;")
    old.execute(
        "INSERT INTO articles (url, text_hash, path, title, date, saved_at)"
        " VALUES ('http://n/1', 'h', 'feeds/n/1.md', 'T', '2024-05-03', 1.5)"
    )
    old.executemany(
        "INSERT INTO alerts (user_id, chat_id, article_id, topic, relevance, passage, terms, created_at,"
        " sent_at, kind) VALUES (?, ?, 1, 'grain', 0.9, ?, 'grain', 1.0, ?, ?)",
        [(7, 7, GRAIN, 2.0, "alert"), (8, 8, GRAIN, None, None)],
    )
    old.executemany(
        "INSERT INTO alert_topics (alert_id, topic, relevance, passage, terms)"
        " VALUES (?, 'ports', 0.7, ?, 'port')",
        [(1, PORTS), (2, PORTS)],
    )
    old.close()
    db = open_state(folder)
    with contextlib.closing(sqlite3.connect(db.path)) as other:
        assert other.execute("SELECT user_id, kind, topic, passage FROM alerts ORDER BY id").fetchall() == [
            (7, "alert", "", ""),
            (8, None, "grain", GRAIN),  # still waiting: sent as it was
        ]
        assert other.execute("SELECT alert_id FROM alert_topics").fetchall() == [(2,)]


def file_of_sent_alerts(folder: Path, count: int) -> Path:
    """A state file of schema 8 (before sent alerts were cleared) holding `count` sent alerts,
    each with its passage and another topic's, as a year of alerts leaves one."""
    folder.mkdir(exist_ok=True)
    path = folder / DB_NAME
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as old:
        old.executescript(";".join(MIGRATIONS[:8]) + "; PRAGMA user_version = 8;")
        old.execute("PRAGMA journal_mode = WAL")
        old.execute("BEGIN")
        old.execute(
            "INSERT INTO articles (url, text_hash, path, title, date, saved_at)"
            " VALUES ('http://n/1', 'h', 'feeds/n/1.md', 'T', '2024-05-03', 1.5)"
        )
        for number in range(count):
            old.execute(
                "INSERT INTO alerts (id, user_id, chat_id, article_id, topic, relevance, passage, terms,"
                " created_at, sent_at, kind) VALUES (?, ?, ?, 1, 'grain', 0.9, ?, 'grain', 1, 2, 'alert')",
                (number, number, number, GRAIN),
            )
            old.execute("INSERT INTO alert_topics VALUES (?, 'ports', 0.7, ?, 'port')", (number, PORTS))
        old.execute("COMMIT")
    return path


def pages(path: Path) -> tuple[int, int]:
    """The state file's pages, and how many of them are free."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        return other.execute("PRAGMA page_count").fetchone()[0], other.execute(
            "PRAGMA freelist_count"
        ).fetchone()[0]


def test_the_room_sent_alerts_of_an_older_file_took_is_given_back_to_the_disk(tmp_path: Path) -> None:
    # Clearing them (step 9) left the file its size, 95% of it free pages: 72 MB for 50,000 alerts.
    path = file_of_sent_alerts(tmp_path, 2000)
    before, _ = pages(path)
    open_state(tmp_path).close()
    after, free = pages(path)
    assert free == 0 and after < before / 10
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size < before * 4096 / 10
    with contextlib.closing(sqlite3.connect(path)) as other:
        assert other.execute("SELECT count(*), max(passage) FROM alerts").fetchone() == (2000, "")


KILLED_IN_VACUUM = """
import os, sqlite3, sys, time
from pathlib import Path

connect = sqlite3.connect

def paused_in_vacuum(*args, **kwargs):
    db = connect(*args, **kwargs)
    def traced(statement):
        if statement.strip().upper() == "VACUUM":
            steps = []
            def progress():
                steps.append(1)
                if len(steps) == 50:  # well into the copy: tell the test, and wait for the kill
                    print("vacuuming", flush=True)
                    time.sleep(600)
                return 0
            db.set_progress_handler(progress, 100)
    db.set_trace_callback(traced)
    return db

sqlite3.connect = paused_in_vacuum
from bot.statedb import open_state
open_state(Path(sys.argv[1]))
print("done", flush=True)
"""


def test_a_hard_kill_while_the_room_is_given_back_leaves_a_usable_file_shrunk_at_the_next_open(
    tmp_path: Path,
) -> None:
    # the step that cleared the alerts committed before the shrink: a kill in it left the
    # file at the latest schema, and the shrink, owed to a schema before 9, was never tried again
    path = file_of_sent_alerts(tmp_path, 2000)
    before, _ = pages(path)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_IN_VACUUM, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "vacuuming\n"
        child.kill()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    db = open_state(tmp_path)  # checked at open: not damaged
    assert db.version == SCHEMA_VERSION
    db.close()
    after, free = pages(path)
    assert free == 0 and after < before / 10
    with contextlib.closing(sqlite3.connect(path)) as other:
        assert other.execute("SELECT count(*), max(passage) FROM alerts").fetchone() == (2000, "")
        assert other.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    open_state(tmp_path).close()  # shrunk once: not owed any more
    assert pages(path) == (after, 0)


def test_alerts_sent_take_no_room_for_the_passages_they_showed(tmp_path: Path) -> None:
    # cleared in place, a sent alert's row left its page as empty as that: a page per two alerts
    db = open_state(tmp_path)
    passage = "Silos at the harbour held the grain for export. " * 60  # 2,880 bytes, as a real one
    readers = range(100)
    for user in readers:
        db.follow(user, user, "grain", ("grain",), limit=10)

    def sent_round(number: int) -> int:
        """A round of 100 alerts, one a reader, sent: the state file's size after it."""
        _, article = claim(db, f"http://n/{number}", f"h{number}")
        db.queue_alerts([(u, u, article.id, "grain", 0.9, passage, "grain") for u in readers], [article.id])
        for alert in db.pending_alerts():
            assert db.take_for_sending([alert.id], "alert")
        with contextlib.closing(sqlite3.connect(db.path)) as other:
            pages = other.execute("PRAGMA page_count").fetchone()[0]
            return int(pages * other.execute("PRAGMA page_size").fetchone()[0])

    first = sent_round(0)
    last = [sent_round(number) for number in range(1, 11)][-1]
    assert last - first < len(passage) * len(readers)  # 1,000 alerts sent since, in less than 100 passages


def test_a_feed_notice_is_taken_once_and_not_once_the_feed_changed(tmp_path: Path) -> None:
    db, other = open_state(tmp_path), open_state(tmp_path)  # two bots on one state file
    feed = db.add_feed("http://n/rss", "harbour", None)
    for _ in range(3):
        db.feed_failed(feed.id, "404 Not Found")
    assert db.feed_notices(4) == []
    db.feed_failed(feed.id, "404 Not Found")
    (failing,) = db.feed_notices(4)
    assert failing.failures == 4 and failing.error == "404 Not Found"
    assert db.take_feed_notice(failing)
    assert not other.take_feed_notice(failing)  # the other bot read it too: told once
    assert db.feed_notices(4) == []
    db.feed_checked(feed.id, etag=None, last_modified=None, title=None)
    (reading,) = db.feed_notices(4)
    assert reading.error is None
    db.feed_failed(feed.id, "500 Internal Server Error")  # failing again before the notice went
    assert not db.take_feed_notice(reading)  # "reads again" would be untrue: not sent
    db.feed_checked(feed.id, etag=None, last_modified=None, title=None)
    assert db.take_feed_notice(db.feed_notices(4)[0])
    assert db.feed_notices(4) == []


def test_a_feed_notice_owed_to_an_admin_is_taken_once_while_it_is_true(tmp_path: Path) -> None:
    db, other = open_state(tmp_path), open_state(tmp_path)  # two bots on one state file
    harbour = db.add_feed("http://n/rss", "harbour", None)
    ferries = db.add_feed("http://f/rss", "ferries", None)
    for feed in (harbour, ferries):
        db.feed_failed(feed.id, "404 Not Found")
    failing = db.feed_notices(1)
    assert all(db.take_feed_notice(feed) for feed in failing)
    db.owe_feed_notices(42, failing)  # Telegram could not take admin 42's notice
    assert db.take_owed_notices(7) == []  # another admin's is not theirs
    db.feed_failed(harbour.id, "404 Not Found")  # a round since: told as it is now
    assert [(feed.name, feed.failures) for feed in other.take_owed_notices(42)] == [
        ("harbour", 2),
        ("ferries", 1),
    ]
    assert db.take_owed_notices(42) == []  # the other bot took it: sent once
    db.owe_feed_notices(42, db.feeds())
    db.feed_checked(ferries.id, etag=None, last_modified=None, title=None)  # reads again before it went
    assert [feed.name for feed in db.take_owed_notices(42)] == ["harbour"]  # "failing" is untrue now
    db.owe_feed_notices(42, db.feeds())
    db.remove_feed(harbour.id)
    assert [feed.name for feed in db.take_owed_notices(42)] == ["ferries"]  # "reads again", and still true


def dropped(name: str, text: str, url: str = "", date: dt.date = DATE) -> Dropped:
    """The article of a file `name` dropped into the corpus folder, of text `text`."""
    return Dropped(name, f"{name}.md", name.title(), date, url, "Harbour Times", text)


def test_a_file_dropped_in_is_recorded_once_by_its_text_whatever_its_name(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    assert db.note_dropped([dropped("desk/ferry", "aaa")]) == 1
    (article,) = db.unmatched_articles()
    assert (article.corpus_id, article.source, article.url) == ("desk/ferry", "Harbour Times", "")
    # renamed before it was matched: matched under its new name
    assert db.note_dropped([dropped("desk/ferry-2", "aaa")], [dropped("desk/ferry", "aaa")]) == 0
    assert [a.corpus_id for a in db.unmatched_articles()] == ["desk/ferry-2"]
    db.queue_alerts([], [article.id])
    assert db.note_dropped([dropped("copy", "aaa")]) == 0  # copied again, or back: known
    assert db.unmatched_articles() == []


def test_a_file_removed_that_was_there_at_start_is_known_when_copied_back(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    assert db.note_dropped([], [dropped("ferry", "aaa")]) == 0
    assert db.unmatched_articles() == []  # recorded as matched: it alerts no one
    assert db.note_dropped([dropped("ferry", "aaa")]) == 0


def test_a_dropped_file_is_known_by_a_feeds_text_or_link_and_its_link_by_feeds(tmp_path: Path) -> None:
    db = open_state(tmp_path)
    claim(db, "http://n/1", "aaa")
    assert db.note_dropped([dropped("copy", "aaa")]) == 0  # the copy of a feed's article
    assert db.note_dropped([dropped("other", "bbb", url="http://n/1")]) == 0  # naming its link
    assert db.note_dropped([dropped("own", "ccc", url="http://n/2")]) == 1
    assert claim(db, "http://n/2", "ddd")[0] == "seen"  # a feed bringing its link later


def test_two_connections_recording_one_dropped_file_record_it_once(tmp_path: Path) -> None:
    one, two = open_state(tmp_path), open_state(tmp_path)
    assert one.note_dropped([dropped("ferry", "aaa")]) + two.note_dropped([dropped("ferry", "aaa")]) == 1


def test_a_dropped_file_dated_ahead_is_matched_from_its_day(tmp_path: Path) -> None:
    # an embargo: answers show it from its date, and so do alerts
    db = open_state(tmp_path)
    db.note_dropped([dropped("ferry", "aaa", date=DATE + dt.timedelta(days=2))])
    assert db.unmatched_articles(published_by=DATE + dt.timedelta(days=1)) == []
    assert len(db.unmatched_articles(published_by=DATE + dt.timedelta(days=2))) == 1
    claim(db, "http://n/1", "bbb")  # a feed's article is matched at once, whatever its date, as before
    assert len(db.unmatched_articles(published_by=DATE - dt.timedelta(days=1))) == 1


def test_a_file_of_the_previous_version_keeps_its_articles_and_alerts(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    old = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    old.executescript(";".join(MIGRATIONS[:11]) + "; PRAGMA user_version = 11;")
    old.execute(
        "INSERT INTO articles (url, text_hash, path, title, date, saved_at)"
        " VALUES ('http://n/1', 'h', 'feeds/n/1.md', 'T', '2024-05-03', 1.5)"
    )
    old.execute(
        "INSERT INTO topics (user_id, chat_id, words, terms, created_at) VALUES (7, 7, 'grain', 'grain', 1)"
    )
    old.execute(
        "INSERT INTO alerts (user_id, chat_id, article_id, topic, relevance, passage, terms, created_at)"
        " VALUES (7, 7, 1, 'grain', 0.9, 'Grain.', 'grain', 1.0)"
    )
    old.close()
    db = open_state(folder)
    assert db.version == SCHEMA_VERSION == 23
    (article,) = db.unmatched_articles()
    assert (article.corpus_id, article.source) == ("feeds/n/1", None)  # a feed's, by its path
    (alert,) = db.pending_alerts()
    assert (alert.url, alert.source) == ("http://n/1", None)
    assert db.note_dropped([dropped("ferry", "aaa")]) == 1


def test_links_met_before_feeds_listed_them_are_forgotten_once_unlisted_as_long(tmp_path: Path) -> None:
    # rows from before step 17 had no feed and no time listed: the forgetting, by feed and time,
    # never reached them, and a feed of rotating links left its rows of those days for good
    folder = tmp_path / "state"
    folder.mkdir()
    old = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    old.executescript(";".join(MIGRATIONS[:16]) + "; PRAGMA user_version = 16;")
    old.execute("INSERT INTO feeds (url, name, added_at) VALUES ('http://n/rss', 'n', 0)")
    old.execute(
        "INSERT INTO articles (url, text_hash, path, title, date, feed_id, saved_at)"
        " VALUES ('http://n/1', 'one', 'feeds/n/one.md', 'T', '2024-05-03', 1, 1.5)"
    )
    old.executemany(
        "INSERT INTO links (url, outcome, article_id, seen_at) VALUES (?, ?, ?, 1.5)",
        [
            ("http://n/1", "saved", 1),
            ("http://n/1?sid=2", "duplicate", 1),  # unlisted since
            ("http://n/1?sid=3", "duplicate", 1),  # still listed
            ("http://n/2", "failed", None),
        ],
    )
    old.close()
    migrated = time.time()
    db = open_state(folder)
    (harbour,) = db.feeds()
    assert db.links_listed(harbour.id, ["http://n/1?sid=3"], now=migrated + 60) == 0  # within the time kept
    assert db.links_listed(harbour.id, ["http://n/1?sid=3"], now=migrated + UNLISTED_KEPT + 60) == 2
    assert db.link_outcome("http://n/1?sid=2") is None and db.link_outcome("http://n/2") is None
    assert db.link_outcome("http://n/1") == ("saved", 1)  # never forgotten
    assert db.link_outcome("http://n/1?sid=3") == ("duplicate", 1)


def test_a_feeds_unlisted_duplicates_and_failures_are_forgotten_its_saved_and_listed_links_never(
    tmp_path: Path,
) -> None:
    db = open_state(tmp_path / "state")
    harbour, other = db.add_feed("http://n/rss", "n", None), db.add_feed("http://m/rss", "m", None)
    claim(db, "http://n/1", "one")  # saved
    claim(db, "http://n/1?sid=2", "one")  # the same words under a rotated link: a duplicate
    claim(db, "http://n/1?sid=3", "one")
    db.link_failed("http://n/2", "503 Service Unavailable")
    claim(db, "http://m/1?sid=2", "one")  # the other feed's
    now = time.time()
    db.links_listed(other.id, ["http://m/1?sid=2"], now=now - UNLISTED_KEPT - 60)
    listed = ["http://n/1", "http://n/1?sid=2", "http://n/1?sid=3", "http://n/2"]
    assert db.links_listed(harbour.id, listed, now=now - UNLISTED_KEPT - 60) == 0
    assert db.links_listed(harbour.id, ["http://n/1?sid=3"], now=now - 60) == 0  # listed since
    assert db.links_listed(harbour.id, [], now=now) == 2  # sid=2 and the failure, unlisted too long
    assert db.link_outcome("http://n/1") == ("saved", 1)  # never forgotten: its file deleted, it stays out
    assert db.link_outcome("http://n/1?sid=2") is None and db.link_outcome("http://n/2") is None
    assert db.link_outcome("http://n/1?sid=3") == ("duplicate", 1)
    assert db.link_outcome("http://m/1?sid=2") == ("duplicate", 1)  # the other feed's, forgotten at its reads
