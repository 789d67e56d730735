"""One small async function per command or kind of message.

Each parses what came in, asks the library once, renders and replies. User-facing
words live here and in `render`, in the sender's language (`i18n`); the library only
raises and returns values.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from typing import TypeGuard

from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    MaybeInaccessibleMessage,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.ext import ContextTypes

from retrieval import CorpusError, latest_today, readings

from . import render
from .answered import Answer
from .delivery import FloodWait, MaybeDelivered, answering_query
from .fairness import Verdict
from .feed_jobs import forget_blocked
from .i18n import N_, Translations, for_user, translations, user_language
from .pages import COUNTER, MAX_PAGES, PAGE_PREFIX, hits_needed, layout, page_keyboard, paginate
from .reasons import error_told
from .reloading import Waiting
from .state import BotState
from .statedb import Asked

logger = logging.getLogger(__name__)

COMMANDS: tuple[tuple[str, str], ...] = (
    ("ask", N_("ask a question: /ask who negotiated with Abramovich?")),
    ("search", N_("the same as /ask")),
    ("latest", N_("the newest articles: /latest [N]")),
    ("timeline", N_("dated events, newest first: /timeline [N] [topic]")),
    ("follow", N_("get new articles on a topic: /follow grain exports")),
    ("following", N_("the topics you follow")),
    ("unfollow", N_("stop following a topic: /unfollow N")),
    ("help", N_("how to use this bot")),
    ("start", N_("start here")),
)
"""The command menu, each with its description's English text (its catalog id)."""
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("reload", N_("re-read the corpus (admins)")),
    ("feeds", N_("list, add or remove news feeds (admins)")),
    ("add", N_("add the article at a link: /add URL (admins)")),
)
LATEST_DEFAULT, LATEST_MAX = 5, 20
TIMELINE_DEFAULT, TIMELINE_MAX = 10, 30
NUMBER = re.compile(r"[-+]?[0-9]+")
"""What a command reads as a count, in ASCII digits alone: `\\d` takes `٢` and `２` too, and
`/timeline ٢٠٢٢` was refused as a count out of range where it names a topic."""
YEAR = re.compile(r"[1-9][0-9]{3}")
"""A year opens a timeline's topic (`/timeline 2022 talks`): never a count, at most 30. Four
digits with a zero first (`/timeline 0010`) are a count written with zeros, not the year 10."""
_PAGE_DATA = re.compile(rf"{PAGE_PREFIX}:([A-Za-z0-9_-]{{8}}):([1-9])")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Telegram's id for the account that speaks for anonymous group admins.
GROUP_ANONYMOUS_BOT = 1087968824

Context = ContextTypes.DEFAULT_TYPE
SLOW_DOWN = N_("You are asking faster than I can answer well. Please wait a minute, then ask again.")
EXPIRED = N_("This button has expired. Please ask your question again.")
NO_SEARCHABLE_TOPIC = N_(
    "That topic has no searchable words, only stop words or symbols. Try names, places or events."
)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
CHAT_REFUSES = ("not enough rights to send", "have no rights to send", "chat_write_forbidden", "topic_closed")
"""How Telegram words a 400 for a chat that lets the bot write nothing there (a group that muted
it, a forum topic closed meanwhile): the chat's setting, not the bot's failure, and an apology
there is refused the same way."""


def bot_state(context: Context) -> BotState:
    """The shared state the application was built with."""
    state: BotState = context.bot_data["state"]
    return state


async def start_command(update: Update, context: Context) -> None:
    """Greet the user with what the bot does and how to ask."""
    await help_command(update, context)


async def help_command(update: Update, context: Context) -> None:
    """Explain the bot, its commands and an example question the current corpus answers."""
    if update.effective_message is None or not await allowed(update.effective_message, context):
        return
    state, tr = bot_state(context), for_user(update.effective_user)
    admin = is_admin(update, state.admin_ids)
    commands = COMMANDS + (ADMIN_COMMANDS if admin else ())
    inline = context.bot.username if context.bot.supports_inline_queries else None
    example = await state.example_question(latest_today(update.effective_message.date))
    text = render.render_help(tr, example, commands, len(state.library.articles), inline, admin)
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


async def ask_command(update: Update, context: Context) -> None:
    """Answer the question written after /ask (or /search); with none, give the usage line.

    The usage line is its answer (`respond`): an /ask edited down to nothing gets it in
    place of its earlier answer, and one edited to ask something gets its answer in place
    of the usage line.
    """
    message = update.effective_message
    if message is None:
        return
    question = clean(" ".join(context.args or []))
    if not question.strip():
        if unchanged(message, question, bot_state(context)):
            return
        if not await within_limit(message, context, question):  # a usage line is a message too
            return
        command = (message.text or "/ask").split()[0].split("@")[0]
        tr = for_user(message.from_user)
        usage = tr.gettext("Usage: {command} <question>, e.g. {command} who negotiated with Abramovich?")
        await respond(message, question, context, usage.format(command=command))
        return
    await answer(message, question, context)


async def question_message(update: Update, context: Context) -> None:
    """Answer a plain text message, or the caption of a photo or file; in groups only when
    addressed to the bot.

    A caption is the reader's words: a question written on a photo is asked all the same,
    not answered "I can only read text". A message sent via the bot (an inline answer a reader
    chose) never comes here (`chat_share.worth_taking`). An edited message is asked again by
    the same rules (see `answer`).
    """
    message = update.effective_message
    text = (message.text or message.caption) if message is not None else None
    if message is None or text is None:
        return
    if message.text is None and captioned_command(message):  # not the words "/latest" searched
        if update.message is not None:  # an edit to one is told nothing again
            await non_text_message(update, context)
        return
    if message.chat.type != ChatType.PRIVATE and not addressed_to_bot(message, context.bot):
        return
    if message.media_group_id is not None:  # a caption on an album's photo: answered for the album
        bot_state(context).replied_albums.append(message.media_group_id)
    entities = message.entities if message.text is not None else message.caption_entities
    question = strip_mention(clean(text), context.bot.username, context.bot.id, entities)
    if not question.strip():
        if unchanged(message, question, bot_state(context)):
            return
        if not await within_limit(message, context, question):  # a usage line is a message too
            return
        tr = for_user(message.from_user)
        words = tr.gettext("Please send a question in words, e.g. who negotiated with Abramovich?")
        await respond(message, question, context, words)
        return
    await answer(message, question, context)


async def answer(message: Message, question: str, context: Context) -> None:
    """Search, then reply with the first page of the answer and ◀ / ▶ buttons if there are more.

    An edited question is asked as of its edit, and its answer replaces the earlier one
    (see `respond`); an edit that leaves its words as they were is not asked again. The page
    is rendered in a worker thread, as the search is: one of #tags takes some 18 ms, which
    every chat's updates waited for on the event loop.
    """
    state, tr = bot_state(context), for_user(message.from_user)
    if unchanged(message, question, state):
        return
    if not await within_limit(message, context, question):
        return
    if state.empty:  # started on a corpus folder with no readable article: not "try other words"
        text = render.render_no_articles(tr, from_admin(message, state.admin_ids))
        await respond(message, question, context, text, parse_mode=ParseMode.HTML)
        return
    await show_typing(message, context)
    as_of = latest_today(message.edit_date or message.date)
    result = await state.search(question, k=hits_needed(state.top_k), now=as_of)
    if not result.hits:
        text = render.render_no_match(tr, question, searchable=bool(result.terms))
        await respond(message, question, context, text, parse_mode=ParseMode.HTML)
        return
    pages = paginate(result.hits, state.top_k)
    key = ""
    if len(pages) > 1:
        language = user_language(message.from_user)
        key = state.queries.add(Asked(message.chat.id, question, as_of, language, layout(pages)))
    text = await asyncio.to_thread(render.render_answer, tr, pages[0].hits, pages[0].first_rank)
    await respond(
        message,
        question,
        context,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=page_keyboard(key, 1, len(pages)),
        preview=NO_PREVIEW,
        key=key,
    )


def unchanged(message: Message, question: str, state: BotState) -> bool:
    """Whether `message` is an edit whose question has the words its remembered answer answers
    (its formatting changed, a photo swapped under its caption)."""
    if message.edit_date is None:
        return False
    earlier = state.answered.get(message.chat.id, message.message_id)
    return earlier is not None and earlier.words == state.answered.fingerprint(question)


async def respond(
    message: Message,
    question: str,
    context: Context,
    text: str,
    *,
    parse_mode: str | None = None,
    reply_markup: InlineKeyboardMarkup | None = None,
    preview: LinkPreviewOptions | None = None,
    key: str = "",
    answers: bool = True,
) -> None:
    """Send the answer to `message`, and remember it as that question's answer.

    The answer to an edited question replaces the earlier answer in place, buttons and all,
    so the chat does not fill with answers; the questions behind the earlier buttons are
    forgotten. When the bot does not know the earlier answer (a restart, an old question,
    one never answered) or it was deleted, the edit is answered as a new question, quoting it.
    `answers` is False for a text that does not answer the words (over the sender's limit):
    a later edit that keeps them is then asked, not taken for one already answered.
    """
    state, chat = bot_state(context), message.chat.id
    earlier = state.answered.get(chat, message.message_id) if message.edit_date is not None else None
    answered = None
    if earlier is not None:
        try:
            await context.bot.edit_message_text(
                text,
                chat_id=chat,
                message_id=earlier.message_id,
                parse_mode=parse_mode,
                reply_markup=reply_markup,
                link_preview_options=preview,
            )
            answered = earlier.message_id
        except BadRequest as error:  # the same answer as before; one deleted meanwhile
            reason = str(error).lower()
            if "not modified" in reason:
                answered = earlier.message_id
            elif "message to edit not found" not in reason:
                raise
            else:
                logger.info(
                    "answer %d in chat %s is gone: its edited question is answered anew",
                    earlier.message_id,
                    chat,
                )
        if earlier.key:
            await state.queries.forget(earlier.key)
    if answered is None:
        sent = await message.reply_text(
            text,
            parse_mode=parse_mode,
            reply_markup=reply_markup,
            link_preview_options=preview,
            do_quote=True if message.edit_date is not None else None,  # an edit may be far up the chat
        )
        answered = sent.message_id
    words = state.answered.fingerprint(question) if answers else b""
    state.answered.remember(chat, message.message_id, Answer(answered, words, key))


async def page_callback(update: Update, context: Context) -> None:
    """Show the page of an answer that a ◀ or ▶ button names."""
    query = update.callback_query
    if query is None:
        return
    arrived = asyncio.get_running_loop().time()
    state, tr = bot_state(context), for_user(query.from_user)
    verdict = judge(state, query.from_user.id)  # the "2/5" label too: each press is a call to Telegram
    if verdict is not Verdict.ANSWER:
        if verdict is Verdict.WARN:
            await answer_press(query, arrived, tr.gettext(SLOW_DOWN))
        return
    if query.data == COUNTER:  # the label: nothing to do
        await answer_press(query, arrived)
        return
    match, message = _PAGE_DATA.fullmatch(query.data or ""), query.message
    key, number = (match.group(1), int(match.group(2))) if match else ("", 0)
    if not holds_pages_of(message, key):  # a press forged onto another answer, or too old to tell
        await answer_press(query, arrived, tr.gettext(EXPIRED))
        return
    asked = await state.queries.get(key, message.chat.id)
    if asked is None or number > MAX_PAGES:  # unknown, forgotten, another chat's
        await answer_press(query, arrived, tr.gettext(EXPIRED))
        return
    result = await state.search(asked.question, k=hits_needed(state.top_k), now=asked.as_of)
    pages = paginate(result.hits, state.top_k)
    if number > len(pages) or layout(pages) != asked.layout:  # the corpus changed, and this answer with it
        await answer_press(query, arrived, tr.gettext(EXPIRED))
        return
    page, shown = pages[number - 1], translations(asked.language)  # every page in the asker's language
    await answer_press(query, arrived)
    text = await asyncio.to_thread(render.render_answer, shown, page.hits, page.first_rank)
    try:
        await context.bot.edit_message_text(
            text,
            chat_id=message.chat.id,
            message_id=message.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=page_keyboard(key, number, len(pages)),
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as error:  # a second press before the first edit showed; an answer deleted meanwhile
        if not any(reason in str(error).lower() for reason in ("not modified", "message to edit not found")):
            raise
        logger.info("page %d of chat %s not shown: %s", number, message.chat.id, error)


def holds_pages_of(message: MaybeInaccessibleMessage | None, key: str) -> TypeGuard[Message]:
    """Whether `message`, as Telegram attaches it to a press, shows the page buttons of the
    answer `key` names. A client may send any data with a press on any message: another
    reader's page sent as a press on someone's answer in a group rewrote that answer into it,
    under their question. A page of its own answer that it no longer shows (a double tap) is
    still that answer's."""
    markup = message.reply_markup if isinstance(message, Message) else None  # inaccessible: too old
    rows = markup.inline_keyboard if markup is not None and key else ()
    mine = f"{PAGE_PREFIX}:{key}:"
    return any(str(button.callback_data).startswith(mine) for row in rows for button in row)


async def answer_press(query: CallbackQuery, arrived: float, text: str | None = None) -> None:
    """Answer a button press that `arrived` at this loop time. Telegram forgets a press after
    some seconds, and one that waited that long (behind a busy chat's answers) is logged, not
    reported as a failure: the page it asked for is shown all the same. So is one whose answer
    got no reply (it may well have arrived, and is not sent twice), and one Telegram asks to
    wait past that (a 429, `answering_query`): held for it, the page's edit waited behind it."""
    try:
        with answering_query(arrived):
            await query.answer(text)
    except BadRequest as error:
        if not too_old(error):
            raise
        logger.info("button press %s answered too late: %s", query.id, error)
    except MaybeDelivered as error:
        logger.warning("button press %s: %s", query.id, error)
    except FloodWait as error:
        logger.info("button press %s not answered: %s", query.id, error)


def too_old(error: BadRequest) -> bool:
    """Whether Telegram refused an answer because its query (a press, an inline query) is too old."""
    reason = str(error).lower()
    return "query is too old" in reason or "query id is invalid" in reason


async def within_limit(message: Message, context: Context, question: str) -> bool:
    """Count a search against its sender's limit; over it, say so once, then stay silent.

    Said as an answer is (`respond`): an edited question's answer is replaced by it in
    place, as it no longer answers the words, and a later edit finds it to replace in turn.
    """
    verdict = judge(bot_state(context), sender(message))
    if verdict is Verdict.WARN:
        text = for_user(message.from_user).gettext(SLOW_DOWN)
        await respond(message, question, context, text, answers=False)
    return verdict is Verdict.ANSWER


async def allowed(message: Message, context: Context) -> bool:
    """Count a message the bot replies to with no answer to a question (/help, a usage line, a
    hint) against its sender's limit; over it, say so once (a plain reply), then stay silent.

    Each such reply is a message Telegram limits for every reader of the bot alike: uncounted,
    a flood of stickers or /help was answered message by message."""
    verdict = judge(bot_state(context), sender(message))
    if verdict is Verdict.WARN:
        await message.reply_text(for_user(message.from_user).gettext(SLOW_DOWN))
    return verdict is Verdict.ANSWER


def judge(state: BotState, sender_id: int) -> Verdict:
    """Count one request (a message, inline query or press) against its sender's limit; log the
    first refusal."""
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


async def latest_command(update: Update, context: Context) -> None:
    """List the newest articles: /latest [N]."""
    message = update.effective_message
    if message is None:
        return
    if not await within_limit(message, context, message.text or ""):  # a library call, and a message
        return
    tr = for_user(message.from_user)
    count = parse_count(context.args or [], LATEST_DEFAULT, LATEST_MAX)
    if count is None:  # a message all the same: counted
        await message.reply_text(
            tr.gettext("Usage: /latest [N], N from 1 to {most} (default {default}).").format(
                most=LATEST_MAX, default=LATEST_DEFAULT
            )
        )
        return
    state = bot_state(context)
    if state.empty:
        await message.reply_text(render.render_no_articles(tr, from_admin(message, state.admin_ids)))
        return
    articles = await state.latest(count, latest_today(message.date))
    await message.reply_text(render.render_latest(tr, articles), parse_mode=ParseMode.HTML)


async def timeline_command(update: Update, context: Context) -> None:
    """List dated events, newest first: /timeline [N] [topic words]."""
    message = update.effective_message
    if message is None:
        return
    if not await within_limit(message, context, message.text or ""):  # a search for a topic, and a message
        return
    tr = for_user(message.from_user)
    args = [clean(arg) for arg in context.args or []]
    count = TIMELINE_DEFAULT
    if args and NUMBER.fullmatch(args[0]) and not YEAR.fullmatch(args[0]):
        parsed = parse_count(args[:1], TIMELINE_DEFAULT, TIMELINE_MAX)
        if parsed is None:
            await message.reply_text(
                tr.gettext("Usage: /timeline [N] [topic], N from 1 to {most} (default {default}).").format(
                    most=TIMELINE_MAX, default=TIMELINE_DEFAULT
                )
            )
            return
        count, args = parsed, args[1:]
    topic = " ".join(args) or None
    state = bot_state(context)
    if state.empty:  # not "no dated events about" a topic, as if other words might find some
        await message.reply_text(render.render_no_articles(tr, from_admin(message, state.admin_ids)))
        return
    events = await state.timeline(count, topic, latest_today(message.date))
    if topic is not None and not events and not any(readings(topic)):  # read as that search read it
        await message.reply_text(tr.gettext(NO_SEARCHABLE_TOPIC))  # not "No dated events about the"
        return
    text = await asyncio.to_thread(render.render_timeline, tr, events, topic)
    await message.reply_text(text, parse_mode=ParseMode.HTML)


def parse_count(args: list[str], default: int, maximum: int) -> int | None:
    """`[]` -> default; one whole number 1..maximum -> it; anything else -> None (usage)."""
    if not args:
        return default
    return whole_number(args[0], maximum) if len(args) == 1 else None


def whole_number(text: str, maximum: int) -> int | None:
    """`text` as a number from 1 to `maximum`, written in ASCII digits; else None (usage).

    `isdecimal` takes `٣` and `３`, which `int` reads as 3; `isdigit` takes `²`, which it refuses."""
    if text.isascii() and text.isdecimal() and len(text) <= 6 and 1 <= int(text) <= maximum:
        return int(text)
    return None


async def reload_command(update: Update, context: Context) -> None:
    """Re-read the corpus off the event loop and swap it in whole (admins only)."""
    message = update.effective_message
    if message is None:
        return
    state, user = bot_state(context), update.effective_user
    tr = for_user(user)
    if not is_admin(update, state.admin_ids):
        if not await allowed(message, context):  # a flood of refusals, and of lines in the log
            return
        logger.warning("refused /reload from %s in chat %s", refused_sender(update), message.chat.id)
        await message.reply_text(tr.gettext("Sorry, only the bot's admins can reload the corpus."))
        return
    if state.reloads.running:  # another admin's, or the update for new articles from the feeds
        await tell_it_waits(
            context,
            message,
            tr.gettext("A reload is already running; yours starts when it ends, and I will report."),
        )
    before = state.sizes

    def turn_taken() -> None:  # the reload it waited for is served: this one changes what that served
        nonlocal before
        before = state.sizes

    logger.info("reload of %s requested by user %s", state.corpus_dir, user.id if user else None)
    try:
        held = tell_if_held(context, message, tr)
        library = await state.reload(held, turn_taken)
    except CorpusError as error:
        logger.warning("reload failed, keeping the old corpus: %s", error)
        await message.reply_text(
            render.render_reload_failed(tr, error_told(error, tr), before), parse_mode=ParseMode.HTML
        )
        return
    if library is None:
        logger.warning("reload abandoned: the bot is stopping; the next start reads the corpus again")
        return
    await state.serve(library)
    logger.info("reloaded: %s -> %s articles and passages", before, state.sizes)
    await message.reply_text(
        render.render_reload(tr, before, state.sizes, library.report), parse_mode=ParseMode.HTML
    )


def tell_if_held(context: Context, message: Message, tr: Translations) -> Waiting:
    """What tells an admin at once that their reload or `/add` waits for another process
    working on the saved index (`newsbot ask` suspended with Ctrl-Z may hold it for days)."""

    def held_by(pid: str) -> None:
        text = (
            tr.gettext(
                "Another process (pid {pid}) is working on the saved index, perhaps suspended with "
                "Ctrl-Z; I wait for it to end, and will report."
            ).format(pid=pid)
            if pid
            else tr.gettext(
                "Another process is working on the saved index, perhaps suspended with Ctrl-Z; "
                "I wait for it to end, and will report."
            )
        )
        context.application.create_task(tell_it_waits(context, message, text), name="tell why it waits")

    return held_by


async def tell_it_waits(context: Context, message: Message, text: str) -> None:
    """Tell an admin why their command waits; what it promises runs whatever became of the notice.
    One who blocked the bot meanwhile is forgotten now (`refused_by`), not at the report, which
    may wait for days."""
    try:
        await message.reply_text(text)
    except Forbidden as error:
        await refused_by(context, message.chat, message.from_user, error)
    except TelegramError as error:
        logger.warning("could not tell chat %s that its command waits: %s", message.chat.id, error)


def refused_sender(update: Update) -> str:
    """Whom a refused admin command is logged against: `user <id>`, the id the README tells a
    new admin to look for. An anonymous group admin, or a message sent on behalf of a chat,
    shows Telegram's shared account instead, an id that would never make anyone an admin."""
    message, user = update.effective_message, update.effective_user
    if user is None or message is None or sender(message) != user.id:  # counted by its chat: anonymous
        return "an anonymous sender (Telegram hides their user id: send the command in a private chat)"
    return f"user {user.id}"


def is_admin(update: Update, admin_ids: frozenset[int]) -> bool:
    """Whether the sender (never the chat, a forward's author or an anonymous admin) is an admin."""
    return _admin(update.effective_user, update.effective_message, admin_ids)


def from_admin(message: Message, admin_ids: frozenset[int]) -> bool:
    """Whether `message` was sent by an admin, by the rules of `is_admin`."""
    return _admin(message.from_user, message, admin_ids)


def _admin(user: User | None, message: Message | None, admin_ids: frozenset[int]) -> bool:
    if user is None or user.id == GROUP_ANONYMOUS_BOT:
        return False
    if message is not None and (message.forward_origin is not None or message.sender_chat is not None):
        return False
    return user.id in admin_ids


async def unknown_command(update: Update, context: Context) -> None:
    """Point to /help for a command the bot does not know: in a private chat, or in a group
    when named for this bot (`/latets@this_bot`); a bare `/frobnicate` there may be another bot's."""
    message = update.effective_message
    if message is None:
        return
    if message.chat.type != ChatType.PRIVATE and not named_for(message, context.bot.username):
        return
    if not await allowed(message, context):
        return
    tr = for_user(message.from_user)
    await message.reply_text(tr.gettext("I don't know that command. /help lists what I can do."))


def named_for(message: Message, username: str | None) -> bool:
    """Whether `message` starts with a command addressed to `username` by name (`/cmd@username`)."""
    words = (message.text or "").split(maxsplit=1)
    _, at, addressee = (words[0] if words else "").partition("@")
    return bool(at and username) and addressee.lower() == (username or "").lower()


def captioned_command(message: Message) -> bool:
    """A caption that starts with a command (`/latest` on a photo): as in Telegram's clients
    and `CommandHandler`, no command, and no question either: its words name no news."""
    return any(
        entity.type == MessageEntityType.BOT_COMMAND and entity.offset == 0
        for entity in message.caption_entities
    )


async def non_text_message(update: Update, context: Context) -> None:
    """Answer a sticker, photo or other non-text message with a hint (private chats only), once
    an album."""
    message = update.effective_message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return
    album, replied = message.media_group_id, bot_state(context).replied_albums
    if album is not None:
        if album in replied:  # another photo of an album replied to: ten photos got ten hints
            return
        replied.append(album)
    if not await allowed(message, context):
        return
    tr = for_user(message.from_user)
    await message.reply_text(tr.gettext("I can only read text. Send me a question in words, or try /latest."))


async def error_handler(update: object, context: Context) -> None:
    """Log the failure with its update id, then tell the user, unless the reply may have arrived,
    the chat refuses the bot (`writing_refused`, `chat_refuses`), Telegram asks it to wait
    (`FloodWait`) or the group became a supergroup, which numbers its messages anew (`ChatMigrated`)."""
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, Forbidden):  # no failure: the chat will take nothing, "sorry" neither
        await writing_refused(update, context, context.error)
        return
    if isinstance(context.error, BadRequest) and chat_refuses(context.error):  # no apology it refuses too
        chat = update.effective_chat if isinstance(update, Update) else None
        logger.info("chat %s refused the bot's message: %s", chat.id if chat else None, context.error)
        return
    if isinstance(context.error, ChatMigrated):  # an edit of a group's message, once a supergroup
        logger.info("update %s not done: %s", update_id, context.error)  # (a message goes on: `delivery`)
        return
    if isinstance(context.error, MaybeDelivered | FloodWait):  # the reply may have arrived, or the
        logger.warning("update %s: %s", update_id, context.error)  # chat takes nothing now: no apology
        return
    logger.error("update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            tr = for_user(update.effective_user)
            sorry = tr.gettext("Sorry, something went wrong on my side. Please try again.")
            thread = topic_of(update.effective_message)
            await context.bot.send_message(update.effective_chat.id, sorry, message_thread_id=thread)
        except TelegramError:
            logger.warning("could not tell chat %s about the failure", update.effective_chat.id)


def chat_refuses(error: BadRequest) -> bool:
    """Whether Telegram refused a message because its chat lets the bot write nothing (`CHAT_REFUSES`)."""
    reason = str(error).lower()
    return any(words in reason for words in CHAT_REFUSES)


async def writing_refused(update: object, context: Context, error: Forbidden) -> None:
    """Take a 403 for what it says: a reader who blocked the bot is forgotten at once, as an
    alert refused so forgets them; a group that put the bot out is logged, its asker kept."""
    chat = update.effective_chat if isinstance(update, Update) else None
    user = update.effective_user if isinstance(update, Update) else None
    await refused_by(context, chat, user, error)


async def refused_by(context: Context, chat: Chat | None, user: User | None, error: Forbidden) -> None:
    """Take a 403 from `chat` for what it says, whatever message met it (an answer, a note that
    the chat is busy or that a command waits): in a private chat its reader blocked the bot."""
    if chat is not None and user is not None and chat.type == ChatType.PRIVATE:
        await forget_blocked(context.bot_data["feeds"].db, user.id, error, bot_state(context).queries)
    else:
        logger.info("chat %s refused the bot's message: %s", chat.id if chat else None, error)


def topic_of(message: Message | None) -> int | None:
    """The forum topic `message` is in, as `reply_text` finds it; None for General or a plain chat.

    What the bot sends to a forum group without it lands in the General topic, away from
    the asker's thread.
    """
    return message.message_thread_id if message is not None and message.is_topic_message else None


async def show_typing(message: Message, context: Context) -> None:
    """Show "typing…"; a failure here must not cost the answer."""
    try:
        await context.bot.send_chat_action(
            message.chat.id, ChatAction.TYPING, message_thread_id=topic_of(message)
        )
    except Forbidden as error:  # blocked, or put out of the group: the answer meets it, and says so
        logger.debug("typing indicator refused in chat %s: %s", message.chat.id, error)
    except TelegramError as error:
        logger.info("typing indicator failed in chat %s: %s", message.chat.id, error)


def addressed_to_bot(message: Message, bot: Bot) -> bool:
    """In a group: a reply to the bot, or a message (or a photo's caption) that mentions it; never
    a channel's post that Telegram forwards into the group linked for its comments: a post that
    recommends the bot (`Ask @news_bot`) asks it nothing, and each one got an answer."""
    if message.is_automatic_forward:
        return False
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        return True
    kinds: list[str | None] = [MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]
    mentions = message.parse_entities(kinds) if message.text else message.parse_caption_entities(kinds)
    for entity, text in mentions.items():
        if entity.type == MessageEntityType.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            return True
        if entity.type == MessageEntityType.MENTION and text.lower() == f"@{bot.username}".lower():
            return True
    return False


def clean(text: str) -> str:
    """Replace lone surrogates (valid in JSON, not in UTF-8) so that echoing text cannot fail."""
    return _SURROGATE.sub("\ufffd", text)


def strip_mention(
    text: str, username: str | None, bot_id: int | None = None, entities: Sequence[MessageEntity] = ()
) -> str:
    """Remove `@botname` from a question, and the bot's name where a `text_mention` of `entities`
    shows it (a link to the bot, offsets in UTF-16 units): neither is a word of the question."""
    mentioned = [
        e for e in entities if e.type == MessageEntityType.TEXT_MENTION and e.user and e.user.id == bot_id
    ]
    if mentioned:
        units = text.encode("utf-16-le", "surrogatepass")
        for entity in sorted(mentioned, key=lambda entity: entity.offset, reverse=True):
            units = (
                units[: 2 * entity.offset]
                + " ".encode("utf-16-le")
                + units[2 * (entity.offset + entity.length) :]
            )
        text = units.decode("utf-16-le", "surrogatepass")
    if not username:
        return text.strip()
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()
