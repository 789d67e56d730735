"""Commands for getting news in (admins) and following topics (everyone).

Like the other handlers: parse, one call, reply; the words a user reads live here and
in `feed_render`, in the sender's language (`i18n`). Errors from fetching and reading are
quoted as the library words them.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

from telegram import Message, Update, User
from telegram.constants import ChatType, MessageEntityType, ParseMode
from telegram.ext import filters

from . import feed_render
from .alerts import MAX_TOPIC_CHARS, MAX_TOPICS, topic_terms
from .delivery import RetryingRateLimiter
from .extracting import PageNotRead, ReadAbandoned
from .feed_jobs import feed_service, index_new, poll_now, settle
from .feeds import FeedParseError
from .fetching import FetchError
from .handlers import (
    NO_PREVIEW,
    NO_SEARCHABLE_TOPIC,
    Context,
    allowed,
    bot_state,
    clean,
    is_admin,
    question_message,
    refused_sender,
    tell_if_held,
    tell_it_waits,
    whole_number,
)
from .i18n import N_, Told, Translations, for_user, told, user_language
from .ingest import NotAnArticle, add_feed, add_link, check_feed
from .links import URL_IN_TEXT, LinkError, shown_url
from .render import shorten
from .statedb import CommandDone, StateDB, off_loop
from .terminal import shown_in_line

logger = logging.getLogger(__name__)

FEEDS_USAGE = N_("Usage: /feeds, /feeds add URL [name], /feeds remove N")
MANAGE_FEEDS = N_("Sorry, only the bot's admins can manage feeds.")
ADD_ARTICLES = N_("Sorry, only the bot's admins can add articles.")
ALREADY_LISTED = N_("That feed is in the list already: /feeds shows it.")
REASON_CHARS = 300
"""How much of a reason a reply quotes: a site's status line may hold thousands of words
(`404` and 5,000 characters), and the reply quoting them whole was too long for Telegram,
which refused it: the admin got "something went wrong" and no reason."""
TOPICS_IN_PRIVATE = N_(
    "I show your topics, and stop one, in a private chat with me only: a group would see them."
)


async def feeds_command(update: Update, context: Context) -> None:
    """List, add or remove feeds: /feeds, /feeds add URL [name], /feeds remove N (admins only)."""
    message = update.effective_message
    if message is None or not await _admin(update, message, context, MANAGE_FEEDS):
        return
    service, tr = feed_service(context), for_user(message.from_user)
    await _remember_admin_language(context, message)
    args = [clean(arg) for arg in context.args or []]
    if not args:
        feeds = await asyncio.to_thread(service.db.feeds_apart, service.options.corpus_dir)
        if message.from_user is not None:  # the numbers their /feeds remove N gives, in this chat
            ids = [feed.id for feed in feeds]
            await off_loop(service.db.remember_listing, message.chat_id, message.from_user.id, ids)
        text = feed_render.render_feeds(tr, feeds, service.interval)
        await message.reply_text(text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
    elif args[0] == "add" and len(args) >= 2:
        await _add_feed(message, context, as_opened(message, args[1]), " ".join(args[2:]) or None)
    elif args[0] == "remove" and len(args) == 2:
        await _remove_feed(message, context, args[1])
    else:
        await message.reply_text(tr.gettext(FEEDS_USAGE))


async def _add_feed(message: Message, context: Context, url: str, name: str | None) -> None:
    service, tr = feed_service(context), for_user(message.from_user)

    def queued(ahead: int) -> None:
        text = tr.ngettext(
            "Your feed is in line behind {count} other document; I will report once it is read.",
            "Your feed is in line behind {count} other documents; I will report once it is read.",
            ahead,
        ).format(count=ahead)
        _tell_it_waits(context, message, text)

    try:
        check = await check_feed(service.options.fetch, url, service.reader, queued)
    except ReadAbandoned:  # the bot is stopping: the feed was not read, as a reload is not done
        logger.info("stopping: feed %s not read", shown_url(url))
        return
    except PageNotRead as error:
        if error.slow:
            text = tr.gettext("That feed took too long to read ({error}); I did not add it.")
        else:
            text = tr.gettext("I could not add that feed: {error}.")
        await message.reply_text(text.format(error=why(error, tr)))
        return
    except (LinkError, FetchError, FeedParseError) as error:
        await message.reply_text(
            tr.gettext("I could not add that feed: {error}.").format(error=why(error, tr))
        )
        return
    if await off_loop(service.db.feed_by_url, check.url) is not None:
        await message.reply_text(tr.gettext(ALREADY_LISTED))
        return
    try:
        feed = await off_loop(add_feed, service.db, check, name)
    except sqlite3.IntegrityError:
        await message.reply_text(tr.gettext(ALREADY_LISTED))
        return
    logger.info("feed %s (%s) added by an admin", feed.name, shown_url(feed.url))
    if message.from_user is not None:  # numbered as now, as the reply numbers the new feed
        await off_loop(service.db.renumber_listing, message.chat_id, message.from_user.id)
    when = (
        tr.gettext("Its articles are on their way.")
        if service.interval
        else tr.gettext("Run `newsbot fetch` to read it.")
    )
    added = tr.ngettext(
        "Added feed {number}: {title} ({count} item), saved under {folder}.",
        "Added feed {number}: {title} ({count} items), saved under {folder}.",
        check.entries,
    ).format(
        number=await off_loop(service.db.feed_number, feed.id),
        title=feed_render.feed_title(feed),
        count=check.entries,
        folder=f"feeds/{feed.name}/",
    )
    await message.reply_text(f"{added} {when}", link_preview_options=NO_PREVIEW)
    if service.interval:
        context.application.create_task(poll_now(context.application), name="poll after /feeds add")


def meaning(listed: tuple[int, ...] | None, ids: list[int]) -> list[int]:
    """The ids of feeds (or topics) as their user numbers them: those /feeds (/following)
    `listed` to them, then those added since (one is added last); `ids` as they are if they
    were listed none."""
    if listed is None:
        return ids
    shown = set(listed)
    return [*listed, *(feed_id for feed_id in ids if feed_id not in shown)]


async def _remove_feed(message: Message, context: Context, number: str) -> None:
    service, tr = feed_service(context), for_user(message.from_user)
    reply = await off_loop(_remove_numbered, service.db, message, number, tr, service.options.corpus_dir)
    await message.reply_text(reply, link_preview_options=NO_PREVIEW)


def _remove_numbered(db: StateDB, message: Message, number: str, tr: Translations, corpus_dir: Path) -> str:
    """Remove feed `number` of the /feeds list the admin was last shown in this chat (kept in
    the state file, so across a restart: `StateDB.listing`; none: the list as it is) and say
    so, in one call on the state file's thread.

    Numbered as the admin saw them, two admins who both remove the feed they were shown as
    1 remove it once: the second is told it is gone, where it removed the feed that had
    become 1. A copy of the command that Telegram hands out again after a hard kill finds it
    done and gets its reply (`StateDB.reply_given`), even when run beside it (/feeds runs
    apart from a chat's other updates): checked, chosen and removed at once, no other feed
    is removed.
    """
    if (before := db.reply_given(message.chat_id, message.message_id)) is not None:
        return before
    feeds = db.feeds()  # counted in its folder below: the one removed alone
    user = message.from_user
    listed = db.listing(message.chat_id, user.id) if user is not None else None
    if not feeds:  # "N from 1 to 0" would ask for a number no one can give
        return tr.gettext("No feeds yet, so none to remove. Add one with /feeds add URL.")
    meant = meaning(listed, [feed.id for feed in feeds])
    chosen = whole_number(number, len(meant))
    if chosen is None:
        return tr.gettext("Usage: /feeds remove N, N from 1 to {most} (see /feeds).").format(most=len(meant))
    feed = next((feed for feed in feeds if feed.id == meant[chosen - 1]), None)
    if feed is None:
        return tr.gettext(
            "Feed {number} of the list /feeds last showed you is gone already."
            " /feeds shows the list as it is now."
        ).format(number=chosen)
    feed = replace(feed, articles=db.in_folder(feed, corpus_dir))
    removed = tr.ngettext(
        "Removed feed {number}: {title}. Its {count} article stays in {folder}; "
        "delete that folder and /reload to drop it.",
        "Removed feed {number}: {title}. Its {count} articles stay in {folder}; "
        "delete that folder and /reload to drop them.",
        feed.articles,
    ).format(
        number=chosen, title=feed_render.feed_title(feed), count=feed.articles, folder=f"feeds/{feed.name}/"
    )
    db.remove_feed(feed.id, CommandDone(message.chat_id, message.message_id, removed))
    logger.info("feed %s (%s) removed by an admin", feed.name, shown_url(feed.url))
    return removed


async def group_upgraded(update: Update, context: Context) -> None:
    """Move what is kept of a group that became a supergroup to it: Telegram says so in both."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id is not None:  # said in the group
        group, supergroup = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:  # said in the supergroup
        group, supergroup = message.migrate_from_chat_id, message.chat_id
    else:
        return
    if isinstance(limiter := context.bot.rate_limiter, RetryingRateLimiter):
        limiter.knows_moves({group: supergroup})  # its answers go there, without a refusal first
    await move_chat(feed_service(context).db, group, supergroup)


async def move_chat(db: StateDB, group_id: int, supergroup_id: int) -> None:
    """Move the feeds /feeds listed in a group to the supergroup it became (`StateDB.move_chat`),
    so that an admin's /feeds remove N there means what it meant in the group. Called for
    Telegram's word of the change and for its refusal of a message to the group (`delivery`),
    whichever comes first; a state file that cannot be written is logged, and costs no answer."""
    try:
        moved = await off_loop(db.move_chat, group_id, supergroup_id)
    except sqlite3.Error as error:
        logger.warning(
            "group %s became supergroup %s; its feed lists not moved: %s", group_id, supergroup_id, error
        )
        return
    if moved:
        logger.info("group %s became supergroup %s: its feed lists moved there", group_id, supergroup_id)


async def add_command(update: Update, context: Context) -> None:
    """Fetch, save and index the article at a link: /add URL (admins only)."""
    message = update.effective_message
    if message is None or not await _admin(update, message, context, ADD_ARTICLES):
        return
    args = context.args or []
    if len(args) != 1:
        tr = for_user(message.from_user)
        await message.reply_text(tr.gettext("Usage: /add URL, e.g. /add https://example.com/news/story.html"))
        return
    await _add_link(message, context, as_opened(message, clean(args[0])))


def _tell_it_waits(context: Context, message: Message, text: str) -> None:
    """Tell an admin, beside the command, that its page or feed waits for a reader."""
    context.application.create_task(tell_it_waits(context, message, text), name="tell the command waits")


class _MarkedLink(filters.MessageFilter):
    """A message that is one address Telegram marks as a link (a `url` entity) and nothing else:
    `bbc.com/news/x`, which has no scheme for `URL_IN_TEXT` to see, is one to its reader."""

    def filter(self, message: Message) -> bool:
        found = list(message.parse_entities([MessageEntityType.URL]).values()) if message.text else []
        return len(found) == 1 and message.text is not None and found[0] == message.text.strip()


MARKED_LINK = _MarkedLink(name="MARKED_LINK")


def as_opened(message: Message, address: str) -> str:
    """`address`, a command's argument, as Telegram opens it: over https when it names no scheme
    but the message marks it as a link (`/add bbc.com/news/x`, as a bare link is read); else as
    typed, for `checked_url` to judge (`/add news` is no address)."""
    if URL_IN_TEXT.match(address) or message.text is None:
        return address
    marked = {clean(text) for text in message.parse_entities([MessageEntityType.URL]).values()}
    return f"https://{address}" if address in marked else address


async def link_message(update: Update, context: Context) -> None:
    """A bare link from an admin in a private chat is an /add (over https if it names no
    scheme, as Telegram opens it); from anyone else, a question."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if not is_admin(update, bot_state(context).admin_ids):
        await question_message(update, context)
        return
    await _add_link(message, context, as_opened(message, clean(message.text).strip()))


async def _add_link(message: Message, context: Context, url: str) -> None:
    service, tr = feed_service(context), for_user(message.from_user)
    await _remember_admin_language(context, message)

    def queued(ahead: int) -> None:
        text = tr.ngettext(
            "Your link is in line behind {count} other page; I will report once it is read.",
            "Your link is in line behind {count} other pages; I will report once it is read.",
            ahead,
        ).format(count=ahead)
        _tell_it_waits(context, message, text)

    try:
        added = await add_link(service.db, service.options, url, service.reader, queued)
    except ReadAbandoned:  # the bot is stopping: the link was not read, as a reload is not done
        logger.info("stopping: link %s not read", shown_url(url))
        return
    except PageNotRead as error:
        if error.slow:
            text = tr.gettext("That page took too long to read ({error}); I did not add it.")
        else:
            text = tr.gettext("I could not read that page: {error}.")
        await message.reply_text(text.format(error=why(error, tr)))
        return
    except LinkError as error:
        await message.reply_text(tr.gettext("I can't add that: {error}.").format(error=why(error, tr)))
        return
    except FetchError as error:
        await message.reply_text(fetch_failure(tr, error, service.options.fetch.timeout))
        return
    except NotAnArticle as error:
        text = tr.gettext("I can't add that: {error}. I read HTML news pages.")
        await message.reply_text(text.format(error=why(error, tr)))
        return
    except (OSError, sqlite3.Error) as error:  # a full disk, a folder or state file the bot may not write
        logger.warning("link could not be saved: %s", error)
        text = tr.gettext("I could not save that article: {error}.")
        await message.reply_text(text.format(error=saving_failure(error).told(tr)))
        return
    logger.info("link %s added by an admin: %s", added.article.url, added.outcome)
    outcome: str = added.outcome
    held = tell_if_held(context, message, tr)
    if outcome == "saved" and not await index_new(context.application, held):  # indexed before the reply
        outcome = "unindexed"  # saved all the same; the alerts' update below tries again
    await message.reply_text(
        feed_render.render_added(tr, added.article, outcome),
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
    )
    if added.outcome == "saved":  # its alerts follow, after any delivery under way
        context.application.create_task(settle(context.application), name="alerts after /add")


def fetch_failure(tr: Translations, error: FetchError, timeout: float) -> str:
    """A failed download in an admin's words."""
    if error.status == 404 or error.status == 410:
        return tr.gettext("That page does not exist ({error}). Check the link.").format(error=why(error, tr))
    if error.kind == "timeout":
        return tr.gettext("The site did not answer within {seconds:g} seconds. Try again later.").format(
            seconds=timeout
        )
    if error.kind == "too_large":
        return tr.gettext("That page is too large to read ({error}).").format(error=why(error, tr))
    return tr.gettext("I could not fetch that page: {error}.").format(error=why(error, tr))


def why(error: BaseException, tr: Translations) -> str:
    """Why `error` happened, in the language of `tr` (`told`), cut to `REASON_CHARS`."""
    return shorten(told(error, tr), REASON_CHARS)


_NOT_WRITTEN = {  # why the system wrote no file, by its errno
    errno.ENOSPC: N_("the disk is full"),
    errno.EDQUOT: N_("the disk is full"),  # the bot's user's share of it
    errno.EACCES: N_("the bot may not write to the corpus folder"),
    errno.EPERM: N_("the bot may not write to the corpus folder"),
    errno.EROFS: N_("the corpus folder is on a read-only disk"),
    errno.ENOTDIR: N_("a file stands where its folder goes"),
}
_NOT_RECORDED = {  # why SQLite did not record it, by its primary result code
    sqlite3.SQLITE_FULL: N_("the state file's disk is full"),
    sqlite3.SQLITE_BUSY: N_("another process holds the state file locked"),
    sqlite3.SQLITE_LOCKED: N_("another process holds the state file locked"),
    sqlite3.SQLITE_READONLY: N_("the bot may not write to the state file"),
    sqlite3.SQLITE_PERM: N_("the bot may not write to the state file"),
    sqlite3.SQLITE_CANTOPEN: N_("the bot may not write to the state file"),
}


def saving_failure(error: OSError | sqlite3.Error) -> Told:
    """Why an article could not be written or recorded, in words each language has; the
    system's own English (`[Errno 28] No space left on device`) is for the log. A cause not
    foreseen is named by its code (`EIO`, `SQLITE_IOERR_WRITE`)."""
    if isinstance(error, OSError):
        if error.errno in _NOT_WRITTEN:
            return Told(_NOT_WRITTEN[error.errno])
        code = errno.errorcode.get(error.errno or 0, type(error).__name__)
        return Told(N_("the system wrote no file ({code})"), code=code)
    primary = getattr(error, "sqlite_errorcode", None)
    if primary is not None and primary & 0xFF in _NOT_RECORDED:
        return Told(_NOT_RECORDED[primary & 0xFF])
    code = getattr(error, "sqlite_errorname", None) or type(error).__name__
    return Told(N_("the state file could not record it ({code})"), code=code)


async def follow_command(update: Update, context: Context) -> None:
    """Follow a topic: /follow WORDS; new articles that match it are sent to you."""
    message = update.effective_message
    if message is None or message.from_user is None or not await allowed(message, context):
        return
    tr = for_user(message.from_user)
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(
            tr.gettext("Follow topics in a private chat with me, so that alerts reach you there.")
        )
        return
    words = " ".join(clean(" ".join(context.args or [])).split())
    if not words:
        await message.reply_text(tr.gettext("Usage: /follow WORDS, e.g. /follow grain exports Ukraine"))
        return
    if len(words) > MAX_TOPIC_CHARS:
        text = tr.gettext("That topic is too long: at most {most} characters, please.")
        await message.reply_text(text.format(most=MAX_TOPIC_CHARS))
        return
    library = bot_state(context).library
    terms = topic_terms(library, words)
    if not terms:
        await message.reply_text(tr.gettext(NO_SEARCHABLE_TOPIC))
        return
    service, user = feed_service(context), message.from_user
    followed = await off_loop(service.db.topics, user.id)
    # each topic's words analyzed anew, as they are matched: stored terms may be an older analyzer's
    if any(set(topic_terms(library, topic.words)) == set(terms) for topic in followed):
        outcome = "known"
        await _remember_language(service.db, user)
    else:  # the language with the topic, in one write: never a language kept for no topic
        language = user_language(user)
        outcome = await off_loop(
            service.db.follow, user.id, message.chat.id, words, terms, MAX_TOPICS, language
        )
    if outcome == "known":
        await message.reply_text(tr.gettext("You follow that topic already. /following lists your topics."))
    elif outcome == "full":
        await message.reply_text(
            tr.ngettext(
                "You follow {count} topic, the most I keep. /unfollow it first.",
                "You follow {count} topics, the most I keep. /unfollow one first.",
                MAX_TOPICS,
            ).format(count=MAX_TOPICS)
        )
    else:
        await message.reply_text(
            tr.gettext(
                "Following “{topic}”. When a new article matches, I send you its headline, date, "
                "best passage and link (at most {count} an hour; more arrive as one digest). "
                "/following lists your topics."
            ).format(topic=shown_topic(words), count=service.alerts_per_hour)
        )


async def following_command(update: Update, context: Context) -> None:
    """List the topics you follow, numbered for /unfollow."""
    message = update.effective_message
    if message is None or message.from_user is None or not await allowed(message, context):
        return
    if not await _in_private(message):
        return
    db, user = feed_service(context).db, message.from_user
    topics = await off_loop(db.topics, user.id)
    if topics:
        await _remember_language(db, user)
    await off_loop(db.remember_topics_listed, user.id, [topic.id for topic in topics])  # their /unfollow N
    text = feed_render.render_topics(for_user(user), topics, MAX_TOPICS)
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def unfollow_command(update: Update, context: Context) -> None:
    """Stop following topic N of /following."""
    message = update.effective_message
    if message is None or message.from_user is None or not await allowed(message, context):
        return
    if not await _in_private(message):
        return
    service, tr = feed_service(context), for_user(message.from_user)
    admin = message.from_user.id in bot_state(context).admin_ids  # their feed notices keep their language
    reply = await off_loop(_unfollow_numbered, service.db, message, context.args or [], tr, admin)
    await message.reply_text(reply)


def _unfollow_numbered(db: StateDB, message: Message, args: list[str], tr: Translations, admin: bool) -> str:
    """Stop following topic N of the list /following last showed the reader (kept in the state
    file, `StateDB.topics_listed`, the topics followed since after it; none shown: the topics
    as they are) and say so, in one call on the state file's thread.

    Numbered as the reader saw them, `/unfollow 1` sent twice (a double tap, or sent again
    on a slow network) stops one topic: the second is told it is stopped already, where it
    stopped the topic that had become 1. A copy Telegram hands out again after a hard kill
    gets the reply it was given (`StateDB.reply_given`).
    """
    if (before := db.reply_given(message.chat_id, message.message_id)) is not None:
        return before
    user = message.from_user
    assert user is not None  # `unfollow_command` answers none other
    topics = db.topics(user.id)
    if not topics:
        return tr.gettext("You follow no topic.")
    db.remember_language(user.id, user_language(user))
    meant = meaning(db.topics_listed(user.id), [topic.id for topic in topics])
    chosen = whole_number(args[0], len(meant)) if len(args) == 1 else None
    if chosen is None:
        return tr.gettext("Usage: /unfollow N, N from 1 to {most} (see /following).").format(most=len(meant))
    topic = next((topic for topic in topics if topic.id == meant[chosen - 1]), None)
    if topic is None:
        return tr.gettext(
            "You no longer follow topic {number} of the list /following last showed you."
            " /following shows your topics as they are now."
        ).format(number=chosen)
    reply = tr.gettext("Stopped following “{topic}”.").format(topic=shown_topic(topic.words))
    db.unfollow(topic.id, CommandDone(message.chat_id, message.message_id, reply), keep_language=admin)
    return reply


def shown_topic(words: str) -> str:
    """A reader's topic as a plain-text reply quotes it: without bidi controls, as their topics
    and alerts show it (`render.shorten`); one left open turned the rest of the reply around."""
    return shorten(words, MAX_TOPIC_CHARS)


async def _in_private(message: Message) -> bool:
    """Whether `message` is in a private chat; if not, point to one: a reader's topics are
    theirs, and a group's members would read them in the list or in "Stopped following"."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    await message.reply_text(for_user(message.from_user).gettext(TOPICS_IN_PRIVATE))
    return False


async def _remember_language(db: StateDB, user: User) -> None:
    """Write `user`'s alerts in their app's language, as of this topic command of theirs."""
    await off_loop(db.remember_language, user.id, user_language(user))


async def _remember_admin_language(context: Context, message: Message) -> None:
    """Write an admin's feed notices (`feed_jobs.tell_admins`) in their app's language, as of
    this feed or link command of theirs (not an anonymous admin's: no one can be told)."""
    user = message.from_user
    if user is not None and user.id in bot_state(context).admin_ids:
        await _remember_language(feed_service(context).db, user)


async def _admin(update: Update, message: Message, context: Context, refusal: str) -> bool:
    """Whether the sender is an admin; if not, say so (`refusal`, a catalog id) and log the refusal."""
    if is_admin(update, bot_state(context).admin_ids):
        return True
    if not await allowed(message, context):  # a flood of refusals, and of lines in the log
        return False
    user = update.effective_user
    command = shown_in_line((message.text or "")[:40])  # a stranger's line break would forge a log line
    logger.warning("refused %s from %s", command, refused_sender(update))
    await message.reply_text(for_user(user).gettext(refusal))
    return False
