"""Commands for getting news in (admins) and following topics (everyone).

Like the other handlers: parse, one call, reply; the words a user reads live here and
in `feed_render`.
"""

from __future__ import annotations

import logging
import sqlite3

from telegram import Message, Update
from telegram.constants import ChatType, ParseMode

from . import feed_render
from .alerts import MAX_TOPIC_CHARS, MAX_TOPICS, topic_terms
from .feed_jobs import feed_service, poll_now, settle
from .feeds import FeedParseError
from .fetching import FetchError
from .handlers import NO_PREVIEW, Context, bot_state, clean, is_admin, question_message
from .ingest import NotAnArticle, add_feed, add_link, check_feed
from .links import LinkError

logger = logging.getLogger(__name__)

FEEDS_USAGE = "Usage: /feeds, /feeds add URL [name], /feeds remove N"
ADMINS_ONLY = "Sorry, only the bot's admins can {}."


async def feeds_command(update: Update, context: Context) -> None:
    """List, add or remove feeds: /feeds, /feeds add URL [name], /feeds remove N (admins only)."""
    message = update.effective_message
    if message is None or not await _admin(update, message, context, "manage feeds"):
        return
    service = feed_service(context)
    args = [clean(arg) for arg in context.args or []]
    if not args:
        text = feed_render.render_feeds(service.db.feeds(), service.interval)
        await message.reply_text(text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
    elif args[0] == "add" and len(args) >= 2:
        await _add_feed(message, context, args[1], " ".join(args[2:]) or None)
    elif args[0] == "remove" and len(args) == 2:
        await _remove_feed(message, context, args[1])
    else:
        await message.reply_text(FEEDS_USAGE)


async def _add_feed(message: Message, context: Context, url: str, name: str | None) -> None:
    service = feed_service(context)
    try:
        check = await check_feed(service.options.fetch, url)
    except (LinkError, FetchError, FeedParseError) as error:
        await message.reply_text(f"I could not add that feed: {error}.")
        return
    if service.db.feed_by_url(check.url) is not None:
        await message.reply_text("That feed is in the list already: /feeds shows it.")
        return
    try:
        feed = add_feed(service.db, check, name)
    except sqlite3.IntegrityError:
        await message.reply_text("That feed is in the list already: /feeds shows it.")
        return
    logger.info("feed %s (%s) added by an admin", feed.name, feed.url)
    when = "Its articles are on their way." if service.interval else "Run `newsbot fetch` to read it."
    await message.reply_text(
        f"Added feed {len(service.db.feeds())}: {feed.title or feed.name} ({check.entries} items), "
        f"saved under feeds/{feed.name}/. {when}",
        link_preview_options=NO_PREVIEW,
    )
    if service.interval:
        context.application.create_task(poll_now(context.application), name="poll after /feeds add")


async def _remove_feed(message: Message, context: Context, number: str) -> None:
    service = feed_service(context)
    feeds = service.db.feeds()
    if not (number.isdecimal() and len(number) <= 6 and 1 <= int(number) <= len(feeds)):
        await message.reply_text(f"Usage: /feeds remove N, N from 1 to {len(feeds)} (see /feeds).")
        return
    feed = feeds[int(number) - 1]
    service.db.remove_feed(feed.id)
    logger.info("feed %s (%s) removed by an admin", feed.name, feed.url)
    await message.reply_text(
        f"Removed feed {number}: {feed.title or feed.name}. Its {feed.articles} articles stay in "
        f"feeds/{feed.name}/; delete that folder and /reload to drop them.",
        link_preview_options=NO_PREVIEW,
    )


async def add_command(update: Update, context: Context) -> None:
    """Fetch, save and index the article at a link: /add URL (admins only)."""
    message = update.effective_message
    if message is None or not await _admin(update, message, context, "add articles"):
        return
    args = context.args or []
    if len(args) != 1:
        await message.reply_text("Usage: /add URL, e.g. /add https://example.com/news/story.html")
        return
    await _add_link(message, context, clean(args[0]))


async def link_message(update: Update, context: Context) -> None:
    """A bare link from an admin in a private chat is an /add; from anyone else, a question."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if not is_admin(update, bot_state(context).admin_ids):
        await question_message(update, context)
        return
    await _add_link(message, context, clean(message.text))


async def _add_link(message: Message, context: Context, url: str) -> None:
    service = feed_service(context)
    try:
        added = await add_link(service.db, service.options, url)
    except LinkError as error:
        await message.reply_text(f"I can't add that: {error}.")
        return
    except FetchError as error:
        await message.reply_text(fetch_failure(error, service.options.fetch.timeout))
        return
    except NotAnArticle as error:
        await message.reply_text(f"I can't add that: {error}. I read HTML news pages.")
        return
    logger.info("link %s added by an admin: %s", added.article.url, added.outcome)
    if added.outcome == "saved":
        await settle(context.application)  # indexed before the reply, so it can be asked at once
    await message.reply_text(
        feed_render.render_added(added.article, added.outcome),
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
    )


def fetch_failure(error: FetchError, timeout: float) -> str:
    """A failed download in an admin's words."""
    if error.status == 404 or error.status == 410:
        return f"That page does not exist ({error}). Check the link."
    if error.kind == "timeout":
        return f"The site did not answer within {timeout:g} seconds. Try again later."
    if error.kind == "too_large":
        return f"That page is too large to read ({error})."
    return f"I could not fetch that page: {error}."


async def follow_command(update: Update, context: Context) -> None:
    """Follow a topic: /follow WORDS; new articles that match it are sent to you."""
    message = update.effective_message
    if message is None or message.from_user is None:
        return
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text("Follow topics in a private chat with me, so that alerts reach you there.")
        return
    words = " ".join(clean(" ".join(context.args or [])).split())
    if not words:
        await message.reply_text("Usage: /follow WORDS, e.g. /follow grain exports Ukraine")
        return
    if len(words) > MAX_TOPIC_CHARS:
        await message.reply_text(f"That topic is too long: at most {MAX_TOPIC_CHARS} characters, please.")
        return
    terms = topic_terms(bot_state(context).library, words)
    if not terms:
        await message.reply_text(
            "That topic has no searchable words, only stop words or symbols. Try names, places or events."
        )
        return
    service = feed_service(context)
    outcome = service.db.follow(message.from_user.id, message.chat.id, words, terms, MAX_TOPICS)
    if outcome == "known":
        await message.reply_text("You follow that topic already. /following lists your topics.")
    elif outcome == "full":
        await message.reply_text(f"You follow {MAX_TOPICS} topics, the most I keep. /unfollow one first.")
    else:
        await message.reply_text(
            f"Following “{words}”. When a new article matches, I send you its headline, date, "
            f"best passage and link (at most {service.alerts_per_hour} an hour; more arrive as one digest). "
            "/following lists your topics."
        )


async def following_command(update: Update, context: Context) -> None:
    """List the topics you follow, numbered for /unfollow."""
    message = update.effective_message
    if message is None or message.from_user is None:
        return
    topics = feed_service(context).db.topics(message.from_user.id)
    await message.reply_text(feed_render.render_topics(topics, MAX_TOPICS), parse_mode=ParseMode.HTML)


async def unfollow_command(update: Update, context: Context) -> None:
    """Stop following topic N of /following."""
    message = update.effective_message
    if message is None or message.from_user is None:
        return
    service = feed_service(context)
    topics = service.db.topics(message.from_user.id)
    args = context.args or []
    if not topics:
        await message.reply_text("You follow no topic.")
        return
    if len(args) != 1 or not (args[0].isdecimal() and len(args[0]) <= 6 and 1 <= int(args[0]) <= len(topics)):
        await message.reply_text(f"Usage: /unfollow N, N from 1 to {len(topics)} (see /following).")
        return
    topic = topics[int(args[0]) - 1]
    service.db.unfollow(topic.id)
    await message.reply_text(f"Stopped following “{topic.words}”.")


async def _admin(update: Update, message: Message, context: Context, what: str) -> bool:
    """Whether the sender is an admin; if not, say so and log the refusal."""
    if is_admin(update, bot_state(context).admin_ids):
        return True
    user = update.effective_user
    logger.warning("refused %s from user %s", (message.text or "")[:40], user.id if user else None)
    await message.reply_text(ADMINS_ONLY.format(what))
    return False
