"""`newsbot feeds ...` and `newsbot fetch` as a user runs them, against a news site on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

import pytest

from fakes.newsroom import RSS, Item, Newsroom, article_page, paragraphs, rss
from tests.conftest import LOCAL_NETWORKS

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))
WHEN = dt.datetime(2024, 5, 3, 9, 0, tzinfo=dt.UTC)


async def newsbot(tmp_path: Path, *args: str, **settings: str) -> tuple[int, str, str]:
    """Run `newsbot ARGS` in `tmp_path` with its corpus and state there (and `settings` in its
    environment); exit code, stdout, stderr."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("CORPUS_", "STATE_", "FEED_"))
    }
    env.update(
        CORPUS_DIR=str(tmp_path / "corpus"),
        STATE_DIR=str(tmp_path / "state"),
        FEED_HOST_DELAY="0",
        FEED_PRIVATE_NETWORKS=",".join(LOCAL_NETWORKS),
    )
    env.update(settings)
    process = await asyncio.create_subprocess_exec(
        NEWSBOT, *args, cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def daily(site: Newsroom, count: int) -> str:
    items = [
        Item(f"Story {n}", site.put(f"{n}.html", article_page(f"Story {n}", paragraphs(f"s{n}"))), WHEN)
        for n in range(count)
    ]
    return site.put("feed.xml", rss("The Daily", items), RSS)


async def test_feeds_add_list_fetch_remove(site: Newsroom, tmp_path: Path) -> None:
    url = daily(site, 2)
    code, out, _ = await newsbot(tmp_path, "feeds", "add", url, "--name", "Daily Wire")
    assert (code, out) == (0, "added feed 1: Daily Wire (2 items) -> feeds/daily-wire/\n")
    code, out, err = await newsbot(tmp_path, "fetch")
    assert code == 0
    assert "1 feed (0 unchanged): 2 new articles, 0 duplicates skipped, 0 problems" in out
    assert out.count("saved feeds/daily-wire/2024-05-03-story-") == 2
    assert "fetch: started, 1 feed" in err and "fetch: done, 1 feed: 2 new articles in " in err  # no terminal
    assert len(list((tmp_path / "corpus" / "feeds" / "daily-wire").glob("*.md"))) == 2
    code, out, _ = await newsbot(tmp_path, "feeds", "list")
    assert code == 0
    assert out.startswith(f"1. Daily Wire  {url}\n   feeds/daily-wire/  2 articles  ok, read ")
    code, out, _ = await newsbot(tmp_path, "ask", "Story 1", "-k", "1")
    assert code == 0 and "Story 1" in out  # ordinary corpus files: the command line answers from them
    min(tmp_path.glob("corpus/feeds/daily-wire/*.md")).unlink()  # counted no more: it is not there
    code, out, _ = await newsbot(tmp_path, "feeds", "list")
    assert out.startswith(f"1. Daily Wire  {url}\n   feeds/daily-wire/  1 article  ok, read ")
    code, out, _ = await newsbot(tmp_path, "feeds", "remove", "1")
    assert (code, out) == (0, "removed Daily Wire; 1 article stays in feeds/daily-wire/\n")
    assert len(list((tmp_path / "corpus" / "feeds" / "daily-wire").glob("*.md"))) == 1
    code, _, err = await newsbot(tmp_path, "feeds", "list")
    assert code == 1 and "No feeds" in err


async def test_feeds_add_and_fetch_introduce_themselves_with_feed_user_agent(
    site: Newsroom, tmp_path: Path
) -> None:
    contact = "newsbot at the Harbour Times (desk@harbour-times.example)"
    await newsbot(tmp_path, "feeds", "add", daily(site, 2), FEED_USER_AGENT=contact)
    code, out, _ = await newsbot(tmp_path, "fetch", FEED_USER_AGENT=contact)
    assert code == 0 and "2 new articles" in out
    assert len(site.requests) == 4  # the feed read twice, and its two pages
    assert {request.headers["User-Agent"] for request in site.requests} == {contact}


async def test_escape_sequences_a_feed_sends_are_shown_never_obeyed(site: Newsroom, tmp_path: Path) -> None:
    """A feed's `&#27;` is read as the escape character: raw, it would set the operator's
    terminal title, clear the screen or write the clipboard (OSC 52)."""
    story = Item("Ferry ESC[2J sails", site.put("ferry.html", article_page("Ferry", paragraphs("f"))), WHEN)
    feed = rss("Desk ESC]0;owned", [story]).replace(b"ESC", b"&#27;").replace(b"owned", b"owned&#7;")
    url = site.put("feed.xml", feed, RSS)
    outputs = [await newsbot(tmp_path, "feeds", "add", url), await newsbot(tmp_path, "fetch")]
    outputs += [await newsbot(tmp_path, *args) for args in (["feeds", "list"], ["ask", "ferry sails"])]
    outputs.append(await newsbot(tmp_path, "timeline"))
    assert [code for code, _, _ in outputs] == [0, 0, 0, 0, 0]
    added, _, listing, answer, timeline = (out for _, out, _ in outputs)
    assert added.startswith("added feed 1: Desk \\x1b]0;owned\\x07 (1 item)")
    assert listing.startswith("1. Desk \\x1b]0;owned\\x07  ")
    assert answer.startswith("1. Ferry \\x1b[2J sails\n")
    assert "(Ferry \\x1b[2J sails, 2024-05-03)" in timeline
    assert not any(chr(code) in out for out in (added, listing, answer, timeline) for code in (0x1B, 0x07))


async def test_fetch_logs_each_problem_and_still_saves_the_rest(site: Newsroom, tmp_path: Path) -> None:
    await newsbot(tmp_path, "feeds", "add", daily(site, 1))
    broken = site.put("broken.xml", rss("Broken", [Item("x", site.url("nowhere.html"), WHEN)]), RSS)
    await newsbot(tmp_path, "feeds", "add", broken)
    site.remove("broken.xml")
    code, out, err = await newsbot(tmp_path, "fetch")
    assert code == 0 and "1 new article," in out and "1 problem," in out
    assert "WARNING" in err and "feed broken (" in err and "404 Not Found" in err
    _, listing, _ = await newsbot(tmp_path, "feeds", "list")
    assert "failing, 1 round in a row: 404 Not Found" in listing


async def test_feeds_remove_reads_a_number_as_the_bot_does(site: Newsroom, tmp_path: Path) -> None:
    # `/feeds remove 01` in the chat removes feed 1; the command line said there was no feed '01'
    await newsbot(tmp_path, "feeds", "add", daily(site, 1), "--name", "Daily Wire")
    code, _, err = await newsbot(tmp_path, "feeds", "remove", "\u0661")  # an Arabic-Indic 1 is no number
    assert code == 1 and "no feed '\u0661'" in err
    code, out, _ = await newsbot(tmp_path, "feeds", "remove", "01")
    assert (code, out) == (0, "removed Daily Wire; 0 articles stay in feeds/daily-wire/\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["feeds", "add", "file:///etc/passwd"], "only http:// and https://"),
        (["feeds", "add", "http://127.0.0.1:9/feed.xml"], "cannot connect"),
        (["feeds", "remove", "7"], "no feed '7'"),
    ],
)
async def test_feed_commands_explain_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = await newsbot(tmp_path, *args)
    assert code in (1, 2) and message in err


async def test_adding_a_feed_twice_is_refused(site: Newsroom, tmp_path: Path) -> None:
    url = daily(site, 1)
    await newsbot(tmp_path, "feeds", "add", url)
    code, _, err = await newsbot(tmp_path, "feeds", "add", url)
    assert code == 2 and "in the list already" in err


async def test_two_fetches_at_once_save_each_article_once(site: Newsroom, tmp_path: Path) -> None:
    await newsbot(tmp_path, "feeds", "add", daily(site, 8))
    results = await asyncio.gather(newsbot(tmp_path, "fetch"), newsbot(tmp_path, "fetch"))
    assert [code for code, _, _ in results] == [0, 0]
    saved = sum(out.count("\nsaved ") + out.startswith("saved ") for _, out, _ in results)
    assert saved == 8
    assert len(list((tmp_path / "corpus").rglob("*.md"))) == 8
    assert not list((tmp_path / "corpus").rglob(".*.tmp"))


async def test_a_state_file_from_a_newer_newsbot_is_refused_with_exit_2(tmp_path: Path) -> None:
    import sqlite3

    await newsbot(tmp_path, "feeds", "list")
    sqlite3.connect(tmp_path / "state" / "newsbot.sqlite3").execute("PRAGMA user_version = 99")
    code, _, err = await newsbot(tmp_path, "fetch")
    assert code == 2 and "schema version 99" in err


@pytest.mark.parametrize(
    "command",
    [
        ["fetch"],
        # the feeds commands made the state file inside the corpus, which the bot then read as articles
        ["feeds", "add", "http://127.0.0.1:9/feed.xml"],  # refused before any request
        ["feeds", "list"],
        ["feeds", "remove", "1"],
    ],
)
async def test_a_state_dir_inside_the_corpus_folder_is_refused_with_exit_2(
    tmp_path: Path, command: list[str]
) -> None:
    code, _, err = await newsbot(tmp_path, *command, STATE_DIR=str(tmp_path / "corpus" / "state"))
    assert code == 2 and "STATE_DIR" in err and "CORPUS_DIR" in err
    assert not (tmp_path / "corpus" / "state").exists()


async def test_the_command_line_never_prints_a_feeds_login(site: Newsroom, tmp_path: Path) -> None:
    # `feeds list` and `feeds add`'s complaints showed `editor:secret@` (a terminal's output
    # pasted into a bug report), while /feeds and the log leave it out
    url = daily(site, 1).replace("http://", "http://editor:secret@")
    code, out, _ = await newsbot(tmp_path, "feeds", "add", url)
    assert code == 0 and "added feed 1" in out
    code, _, err = await newsbot(tmp_path, "feeds", "add", url)
    assert code == 2 and "is in the list already" in err and "secret" not in err
    code, _, err = await newsbot(tmp_path, "feeds", "add", url.replace("feed.xml", "missing.xml"))
    assert code == 2 and "editor" not in err and "secret" not in err
    code, out, _ = await newsbot(tmp_path, "feeds", "list")
    assert code == 0 and out.startswith(f"1. The Daily  {url.replace('editor:secret@', '')}\n")
