"""`newsbot feeds add|list|remove` and `newsbot fetch`: feeds from the command line and cron.

Each command sits beside its parser. Exit codes as for the rest of `newsbot`: 0 done,
1 nothing to do (no such feed), 2 bad usage or an address that is no feed.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from pathlib import Path
from typing import Any

from .extracting import PageNotRead
from .feed_render import feed_health
from .feeds import FeedParseError
from .fetching import FetchError
from .ingest import RoundReport, add_feed, check_feed, fetch_round, options_from
from .links import LinkError, shown_url
from .progress import counted, meter
from .settings import Settings, SettingsError, state_dir_problem
from .statedb import open_state
from .terminal import shown

__all__ = ["add_corpus_option", "add_feed_commands"]

EXIT_DONE, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2


def add_feed_commands(commands: Any) -> None:
    """Add `feeds` and `fetch` to the `newsbot` sub-commands."""
    feeds = commands.add_parser("feeds", help="add, list or remove news feeds", description=_FEEDS_HELP)
    actions = feeds.add_subparsers(required=True, metavar="ACTION")

    add = actions.add_parser("add", help="check a feed (RSS or Atom) and add it")
    add.add_argument("url", help="the feed's address, or a page that announces one")
    add.add_argument("--name", help="its name; its articles go to CORPUS_DIR/feeds/<name>/")
    add.set_defaults(command=feeds_add_command)

    listing = actions.add_parser("list", help="list the feeds, numbered, with their health")
    listing.set_defaults(command=feeds_list_command)

    remove = actions.add_parser("remove", help="stop reading a feed (its articles stay)")
    remove.add_argument("feed", help="its number in `newsbot feeds list`, or its address")
    remove.set_defaults(command=feeds_remove_command)

    fetch = commands.add_parser(
        "fetch", help="read every feed once and save the new articles (for cron)", description=_FETCH_HELP
    )
    add_corpus_option(fetch)
    fetch.set_defaults(command=fetch_command)


def add_corpus_option(parser: argparse.ArgumentParser) -> None:
    """`--corpus DIR`, for every command that reads or writes the articles."""
    parser.add_argument(
        "--corpus", type=_folder, metavar="DIR", help="corpus folder (default: $CORPUS_DIR or corpus)"
    )


def _folder(value: str) -> Path:
    """A folder's path; an empty one (`--corpus "$UNSET"`) was the working folder, read whole."""
    if not value:
        raise argparse.ArgumentTypeError("empty; name a folder, or . for the current one")
    return Path(value)


_FEEDS_HELP = "Feeds are read every FEED_INTERVAL minutes by the running bot, or by `newsbot fetch`."
_FETCH_HELP = (
    "One round over every feed: new articles become .md files under CORPUS_DIR/feeds/; "
    "the running bot indexes them and sends topic alerts within a minute."
)


def feeds_add_command(args: argparse.Namespace, settings: Settings) -> int:
    """Check the address is a readable feed, then store it."""
    _state_dir_usable(settings)
    try:
        check = asyncio.run(check_feed(options_from(settings).fetch, args.url))
    except (LinkError, FetchError, FeedParseError) as error:
        print(f"newsbot: {shown_url(args.url)}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except PageNotRead as error:  # a feed of many megabytes, or one made to be slow to parse
        why = f"took too long to read ({error})" if error.slow else f"could not be read: {error}"
        print(f"newsbot: {shown_url(args.url)}: {why}", file=sys.stderr)
        return EXIT_USAGE
    db = open_state(settings.state_dir)
    try:
        if db.feed_by_url(check.url) is not None:
            print(f"newsbot: {shown_url(check.url)} is in the list already", file=sys.stderr)
            return EXIT_USAGE
        feed = add_feed(db, check, args.name)
        number = db.feed_number(feed.id)
    except sqlite3.IntegrityError:
        print(f"newsbot: {shown_url(check.url)} is in the list already", file=sys.stderr)
        return EXIT_USAGE
    finally:
        db.close()
    title = shown(feed.title or feed.name)
    print(f"added feed {number}: {title} ({counted(check.entries, 'item')}) -> feeds/{feed.name}/")
    return EXIT_DONE


def feeds_list_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the feeds, numbered as `feeds remove` takes them."""
    _state_dir_usable(settings)
    db = open_state(settings.state_dir)
    try:
        feeds = db.feeds(settings.corpus_dir)
    finally:
        db.close()
    if not feeds:
        print("No feeds. Add one: newsbot feeds add URL [--name NAME]", file=sys.stderr)
        return EXIT_NOTHING
    for number, feed in enumerate(feeds, start=1):
        print(shown(f"{number}. {feed.title or feed.name}  {shown_url(feed.url)}"))
        print(shown(f"   feeds/{feed.name}/  {counted(feed.articles, 'article')}  {feed_health(feed)}"))
    return EXIT_DONE


def feeds_remove_command(args: argparse.Namespace, settings: Settings) -> int:
    """Forget a feed by number or address; its article files stay."""
    _state_dir_usable(settings)
    db = open_state(settings.state_dir)
    try:
        feeds = db.feeds(settings.corpus_dir)
        # a number as the bot reads one in /feeds remove N: ASCII digits, leading zeros allowed
        typed = args.feed
        number = int(typed) if typed.isascii() and typed.isdecimal() and len(typed) <= 6 else None
        chosen = [feed for place, feed in enumerate(feeds, start=1) if number == place or typed == feed.url]
        if not chosen:
            print(f"newsbot: no feed {args.feed!r}; `newsbot feeds list` shows them", file=sys.stderr)
            return EXIT_NOTHING
        db.remove_feed(chosen[0].id)
    finally:
        db.close()
    feed = chosen[0]
    title = shown(feed.title or feed.name)
    stay = "stays" if feed.articles == 1 else "stay"
    print(f"removed {title}; {counted(feed.articles, 'article')} {stay} in feeds/{feed.name}/")
    return EXIT_DONE


def fetch_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run one round and print what it saved; problems are logged to stderr, one a line, as
    they happen, and how many feeds are done shows as a bar on a terminal (log lines otherwise)."""
    _state_dir_usable(settings, args.corpus)
    with meter("fetch", "feed") as shown:

        def feeds_done(done: int, total: int, report: RoundReport) -> None:
            shown.update(done, total, counted(len(report.saved), "new article"), finished=done == total)

        report = asyncio.run(fetch_round(options_from(settings, args.corpus), feeds_done))
    for path in report.saved:
        print(f"saved {path}")
    print(report.summary())
    return EXIT_DONE


def _state_dir_usable(settings: Settings, corpus: Path | None = None) -> None:
    """Refuse (`SettingsError`, exit code 2) a `STATE_DIR` inside the corpus folder before the
    state file is opened: opening it there made it, and the bot read it as articles."""
    if problem := state_dir_problem(settings, corpus):
        raise SettingsError(problem)
