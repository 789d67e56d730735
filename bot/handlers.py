"""One small async function per command or kind of message.

Each parses what came in, asks the library once, renders and replies. User-facing
words live here and in `render`; the library only raises and returns values.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from retrieval import CorpusError, Library, analyze

from . import render
from .delivery import MaybeDelivered
from .fairness import Verdict
from .state import BotState

logger = logging.getLogger(__name__)

COMMANDS: tuple[tuple[str, str], ...] = (
    ("ask", "ask a question: /ask who negotiated with Abramovich?"),
    ("latest", "the newest articles: /latest [N]"),
    ("timeline", "dated events, newest first: /timeline [N] [topic]"),
    ("follow", "get new articles on a topic: /follow grain exports"),
    ("following", "the topics you follow"),
    ("unfollow", "stop following a topic: /unfollow N"),
    ("help", "how to use this bot"),
    ("start", "start here"),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("reload", "re-read the corpus (admins)"),
    ("feeds", "list, add or remove news feeds (admins)"),
    ("add", "add the article at a link: /add URL (admins)"),
)
LATEST_DEFAULT, LATEST_MAX = 5, 20
TIMELINE_DEFAULT, TIMELINE_MAX = 10, 30
NUMBER = re.compile(r"[-+]?\d+")
MORE_PREFIX = "more"
_CALLBACK = re.compile(rf"{MORE_PREFIX}:([A-Za-z0-9_-]{{8}}):(\d{{1,3}})")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Telegram's id for the account that speaks for anonymous group admins.
GROUP_ANONYMOUS_BOT = 1087968824

Context = ContextTypes.DEFAULT_TYPE
SLOW_DOWN = "You are asking faster than I can answer well. Please wait a minute, then ask again."
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def bot_state(context: Context) -> BotState:
    """The shared state the application was built with."""
    state: BotState = context.bot_data["state"]
    return state


async def start_command(update: Update, context: Context) -> None:
    """Greet the user with what the bot does and how to ask."""
    await help_command(update, context)


async def help_command(update: Update, context: Context) -> None:
    """Explain the bot, its commands and an example question from the current corpus."""
    if update.effective_message is None:
        return
    state = bot_state(context)
    commands = COMMANDS + (ADMIN_COMMANDS if is_admin(update, state.admin_ids) else ())
    text = render.render_help(example_question(state.library), commands)
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


async def ask_command(update: Update, context: Context) -> None:
    """Answer the question written after /ask."""
    message = update.effective_message
    if message is None:
        return
    question = clean(" ".join(context.args or []))
    if not question.strip():
        await message.reply_text("Usage: /ask <question>, for example /ask who negotiated with Abramovich?")
        return
    await answer(message, question, context)


async def question_message(update: Update, context: Context) -> None:
    """Answer a plain text message; in groups only when addressed to the bot."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if message.chat.type != ChatType.PRIVATE and not addressed_to_bot(message, context):
        return
    question = strip_mention(clean(message.text), context.bot.username)
    if not question.strip():
        await message.reply_text("Please send a question in words, e.g. who negotiated with Abramovich?")
        return
    await answer(message, question, context)


async def answer(message: Message, question: str, context: Context) -> None:
    """Search, then reply with the first page of hits and a "More" button if there are more."""
    state = bot_state(context)
    if not await within_limit(message, state):
        return
    await show_typing(message, context)
    result = await state.search(question, k=state.top_k + 1, now=local_today(message.date))
    if not result.hits:
        await message.reply_text(render.render_no_match(question, result.reason), parse_mode=ParseMode.HTML)
        return
    page, more = result.hits[: state.top_k], len(result.hits) > state.top_k
    markup = more_button(state.queries.add(question, message.chat.id), state.top_k) if more else None
    await message.reply_text(
        render.render_answer(page),
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=NO_PREVIEW,
    )


async def more_callback(update: Update, context: Context) -> None:
    """Show the next passages for the question behind a "More" button."""
    query = update.callback_query
    if query is None:
        return
    state = bot_state(context)
    verdict = judge(state, query.from_user.id)
    if verdict is not Verdict.ANSWER:
        if verdict is Verdict.WARN:
            await query.answer(SLOW_DOWN)
        return
    match, message = _CALLBACK.fullmatch(query.data or ""), query.message
    question = state.queries.get(match.group(1), message.chat.id) if match and message else None
    if match is None or message is None or question is None:  # unknown, forgotten or another chat's
        await query.answer("This button has expired. Please ask your question again.")
        return
    offset = int(match.group(2))
    result = await state.search(question, k=offset + state.top_k + 1, now=local_today(message.date))
    page = result.hits[offset : offset + state.top_k]
    await query.answer()
    if not page:
        await context.bot.send_message(message.chat.id, "No more passages for that question.")
        return
    more = len(result.hits) > offset + state.top_k
    markup = more_button(match.group(1), offset + state.top_k) if more else None
    await context.bot.edit_message_text(
        render.render_answer(page, first_rank=offset + 1),
        chat_id=message.chat.id,
        message_id=message.message_id,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=NO_PREVIEW,
    )


async def within_limit(message: Message, state: BotState) -> bool:
    """Count a search against its sender's limit; over it, say so once, then stay silent."""
    verdict = judge(state, sender(message))
    if verdict is Verdict.WARN:
        await message.reply_text(SLOW_DOWN)
    return verdict is Verdict.ANSWER


def judge(state: BotState, sender_id: int) -> Verdict:
    """Count one question or "More" press against its sender's limit; log the first refusal."""
    verdict = state.fairness.check(sender_id, time.monotonic())
    if verdict is Verdict.WARN:
        logger.info("sender %s is over %d requests a minute", sender_id, state.fairness.limit)
    return verdict


def sender(message: Message) -> int:
    """Whom a message counts against: its user, or its chat when the sender is anonymous.

    Anonymous group admins all appear as one account (`GROUP_ANONYMOUS_BOT`), and a
    message sent on behalf of a chat (`sender_chat`) names no real user: counted by the
    same account, all such senders everywhere would share one limit, so each chat gets its own.
    """
    user = message.from_user
    if user is None or user.id == GROUP_ANONYMOUS_BOT or message.sender_chat is not None:
        return message.chat.id
    return user.id


def local_today(moment: dt.datetime) -> dt.date:
    """The latest calendar date anywhere on Earth at `moment` (UTC+14).

    Articles carry local dates; asking "as of" this date never hides an article that is
    already published somewhere, and still hides every one dated later.
    """
    return (moment.astimezone(dt.UTC) + dt.timedelta(hours=14)).date()


def more_button(key: str, offset: int) -> InlineKeyboardMarkup:
    """A "More" button whose data (under Telegram's 64 bytes) names the question and the offset."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("More", callback_data=f"{MORE_PREFIX}:{key}:{offset}")]]
    )


async def latest_command(update: Update, context: Context) -> None:
    """List the newest articles: /latest [N]."""
    message = update.effective_message
    if message is None:
        return
    args = context.args or []
    count = parse_count(args, LATEST_DEFAULT, LATEST_MAX)
    if count is None:
        await message.reply_text(f"Usage: /latest [N], N from 1 to {LATEST_MAX} (default {LATEST_DEFAULT}).")
        return
    articles = bot_state(context).library.latest(count)
    await message.reply_text(render.render_latest(articles), parse_mode=ParseMode.HTML)


async def timeline_command(update: Update, context: Context) -> None:
    """List dated events, newest first: /timeline [N] [topic words]."""
    message = update.effective_message
    if message is None:
        return
    args = [clean(arg) for arg in context.args or []]
    count = TIMELINE_DEFAULT
    if args and NUMBER.fullmatch(args[0]):
        parsed = parse_count(args[:1], TIMELINE_DEFAULT, TIMELINE_MAX)
        if parsed is None:
            await message.reply_text(
                f"Usage: /timeline [N] [topic], N from 1 to {TIMELINE_MAX} (default {TIMELINE_DEFAULT})."
            )
            return
        count, args = parsed, args[1:]
    topic = " ".join(args) or None
    state = bot_state(context)
    if topic is not None and not await within_limit(message, state):  # a topic is a search
        return
    events = await state.timeline(count, topic)
    await message.reply_text(render.render_timeline(events, topic), parse_mode=ParseMode.HTML)


def parse_count(args: list[str], default: int, maximum: int) -> int | None:
    """`[]` -> default; one whole number 1..maximum -> it; anything else -> None (usage)."""
    if not args:
        return default
    if len(args) == 1 and args[0].isdecimal() and len(args[0]) <= 6 and 1 <= int(args[0]) <= maximum:
        return int(args[0])
    return None


async def reload_command(update: Update, context: Context) -> None:
    """Re-read the corpus off the event loop and swap it in whole (admins only)."""
    message = update.effective_message
    if message is None:
        return
    state = bot_state(context)
    user = update.effective_user
    if not is_admin(update, state.admin_ids):
        logger.warning("refused /reload from user %s in chat %s", user.id if user else None, message.chat.id)
        await message.reply_text("Sorry, only the bot's admins can reload the corpus.")
        return
    if state.reloads.running:  # another admin's, or the update for new articles from the feeds
        await message.reply_text("A reload is already running; yours starts when it ends, and I will report.")
    before = state.sizes
    logger.info("reload of %s requested by user %s", state.corpus_dir, user.id if user else None)
    try:
        library = await state.reloads.run(state.corpus_dir, state.index_dir, state.options)
    except CorpusError as error:
        logger.warning("reload failed, keeping the old corpus: %s", error)
        await message.reply_text(render.render_reload_failed(str(error), before), parse_mode=ParseMode.HTML)
        return
    if library is None:
        logger.warning("reload abandoned: the bot is stopping; the next start reads the corpus again")
        return
    state.library = library
    logger.info("reloaded: %s -> %s articles and passages", before, state.sizes)
    await message.reply_text(
        render.render_reload(before, state.sizes, library.report), parse_mode=ParseMode.HTML
    )


def is_admin(update: Update, admin_ids: frozenset[int]) -> bool:
    """Whether the sender (never the chat, a forward's author or an anonymous admin) is an admin."""
    message, user = update.effective_message, update.effective_user
    if user is None or user.id == GROUP_ANONYMOUS_BOT:
        return False
    if message is not None and (message.forward_origin is not None or message.sender_chat is not None):
        return False
    return user.id in admin_ids


async def unknown_command(update: Update, context: Context) -> None:
    """Point to /help for a command the bot does not know (private chats only)."""
    message = update.effective_message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return
    await message.reply_text("I don't know that command. /help lists what I can do.")


async def non_text_message(update: Update, context: Context) -> None:
    """Answer a sticker, photo or other non-text message with a hint (private chats only)."""
    message = update.effective_message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return
    await message.reply_text("I can only read text. Send me a question in words, or try /latest.")


async def error_handler(update: object, context: Context) -> None:
    """Log the failure with its update id, then tell the user, unless the reply may have arrived."""
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, MaybeDelivered):  # the reply may have arrived: no second message
        logger.warning("update %s: %s", update_id, context.error)
        return
    logger.error("update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id, "Sorry, something went wrong on my side. Please try again."
            )
        except TelegramError:
            logger.warning("could not tell chat %s about the failure", update.effective_chat.id)


async def show_typing(message: Message, context: Context) -> None:
    """Show "typing…"; a failure here must not cost the answer."""
    try:
        await context.bot.send_chat_action(message.chat.id, ChatAction.TYPING)
    except TelegramError as error:
        logger.info("typing indicator failed in chat %s: %s", message.chat.id, error)


def addressed_to_bot(message: Message, context: Context) -> bool:
    """In a group: a reply to the bot, or a message that mentions it."""
    bot = context.bot
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        return True
    for entity, text in message.parse_entities(
        [MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]
    ).items():
        if entity.type == MessageEntityType.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            return True
        if entity.type == MessageEntityType.MENTION and text.lower() == f"@{bot.username}".lower():
            return True
    return False


def clean(text: str) -> str:
    """Replace lone surrogates (valid in JSON, not in UTF-8) so that echoing text cannot fail."""
    return _SURROGATE.sub("\ufffd", text)


def strip_mention(text: str, username: str | None) -> str:
    """Remove `@botname` from a question."""
    if not username:
        return text
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


def example_question(library: Library) -> str | None:
    """A question the current corpus can answer: words of the newest headline."""
    newest = library.latest(1)
    if not newest:
        return None
    words = [w.strip(".,:;!?\"'“”‘’()") for w in newest[0].headline.split()]
    words = [w.removesuffix("'s").removesuffix("’s") for w in words if len(w) > 3 and analyze(w)]
    return " ".join(dict.fromkeys(words[:4])) or None
