"""All the wiring in one place: settings and a library in, a ready `Application` out.

A reader sees the bot's whole command surface here; the tests build the very same
application with `TELEGRAM_BASE_URL` pointed at a fake Bot API server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import secrets
import threading
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from tornado.httpserver import HTTPServer

from retrieval import Library, LibraryOptions
from retrieval.warmup import compile_search

from . import chat_share, feed_handlers, feed_jobs, handlers, inline
from .articles_out import remove_abandoned
from .backlog import UpdateBacklog, confirm_answered
from .delivery import RetryingRateLimiter
from .fairness import QuestionRateLimit
from .feed_jobs import FeedService
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, translations
from .ingest import options_from
from .links import URL_IN_TEXT
from .logs import install_redaction
from .ordering import PerChatUpdateProcessor
from .polling import UpdatesRequest
from .settings import Settings
from .state import BotState, QueryStore
from .statedb import StateDB, open_state

logger = logging.getLogger(__name__)

WEBHOOK_MAX_BODY_BYTES = 1 << 20
"""An update is a few kilobytes; a bigger request body is refused before it is read."""
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
"""The kinds of update a handler acts on; Telegram sends the bot no others. Every other
kind (reactions, members joining, ... in a group the bot is an admin of) waited in its
chat's line behind the answers Telegram paces there and took a place of the chat's share,
so that a question was then dropped as busy (`bot.ordering`); so would a group's edits,
but that only those that ask the bot something are taken in (`chat_share.worth_taking`)."""
REPLY_EVEN_IF_DELETED = Defaults(allow_sending_without_reply=True)
"""A reply in a group quotes its question; Telegram refuses one whose question was deleted
meanwhile (by the asker, or a moderation bot that clears commands at once) unless told to
send it all the same, and the answer would be lost for an apology."""


class NewsbotApplication(Application):  # type: ignore[type-arg]
    """python-telegram-bot's application, except that a stop waits for no reload or page read."""

    async def stop(self) -> None:
        """Abandon a reload and the pages of links being read (their children are killed), then
        stop: answer what was taken, and save the questions behind the page buttons those
        answers carry."""
        state: BotState = self.bot_data["state"]
        state.reloads.abandon()
        feed_jobs.feed_service(self).reader.abandon()
        await super().stop()
        await state.queries.saved()

    async def shutdown(self) -> None:
        """Shut down, then close the state file and let go of the library served.

        A stopped application stays in reference cycles (python-telegram-bot's own) until the
        garbage collector's rare full pass: without this, a process that runs bots one after
        another kept each stopped one's state file and saved index open until then."""
        await super().shutdown()
        if "feeds" in self.bot_data:  # a second shutdown finds them gone
            feed_jobs.feed_service(self).db.close()
        self.bot_data.clear()


def build_application(
    settings: Settings, library: Library, check_corpus: bool = False, db: StateDB | None = None
) -> Application:  # type: ignore[type-arg]
    """Build the bot: one handler per command or message kind, and the error handler.

    `check_corpus`: the library was opened on the cheap check of the corpus folders, so
    every file is checked in the background once the bot runs (`BotState.catch_up`).
    `db`: the state file, if opened already (else it is opened here).
    """
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is required to build the bot")
    token = settings.telegram_bot_token.get_secret_value()
    install_redaction([token])  # before the first request can log a URL with the token in it
    # python-telegram-bot 22 reads its own deprecated `RetryAfter.retry_after` whenever
    # Telegram asks the bot to slow down, and warns. Opting in to the `timedelta` it will
    # hold (which PTB's rate limiter already reads, and no code here reads) keeps that
    # warning out of the log.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    application = (
        ApplicationBuilder()
        .application_class(NewsbotApplication)
        .token(token)
        .base_url(settings.telegram_base_url)
        .get_updates_request(UpdatesRequest(connection_pool_size=1))  # as python-telegram-bot's own
        .defaults(REPLY_EVEN_IF_DELETED)
        .post_init(started)
        .update_queue(backlog := UpdateBacklog(settings.max_unanswered_updates))
        .concurrent_updates(PerChatUpdateProcessor(per_chat=settings.max_unanswered_per_chat))
        .rate_limiter(limiter := RetryingRateLimiter())
        .build()
    )
    service = application.bot_data["feeds"] = feed_service(settings, db)
    limiter.on_moved = functools.partial(feed_handlers.move_chat, service.db)  # a refusal: now a supergroup
    limiter.knows_moves(service.db.chat_moves())
    service.db.forget_former_readers(settings.admin_ids)  # an admin no longer listed is told nothing
    application.bot_data["state"] = BotState(
        library=library,
        corpus_dir=settings.corpus_dir,
        index_dir=settings.index_dir,
        admin_ids=settings.admin_ids,
        top_k=settings.top_k,
        fairness=QuestionRateLimit(settings.questions_per_minute),
        queries=QueryStore(service.db),
        options=LibraryOptions(lexical_only=settings.lexical_only),
        check_corpus=check_corpus,
    )
    backlog.takes = lambda update: chat_share.worth_taking(update, application.bot)
    # a channel's post Telegram forwards into the group linked for its comments is the channel's,
    # not a member's: a `/latest@bot` in it shows readers the bot, and runs no command
    ours = ~filters.IS_AUTOMATIC_FORWARD
    message, edited = filters.UpdateType.MESSAGE & ours, filters.UpdateType.EDITED_MESSAGE & ours
    admins_link = (
        filters.ChatType.PRIVATE
        & (filters.Regex(URL_IN_TEXT) | feed_handlers.MARKED_LINK)  # `bbc.com/news/x` too
        & filters.User(list(settings.admin_ids))
        & ~filters.FORWARDED  # forwarded, it is not the admin's own: no admin command (`is_admin`)
    )
    # an admin's link is an /add, run apart from the chat's line as /add is; anyone else's, or
    # one an admin forwards, is a question, answered in the chat's order (`question_message`)
    private_link = message & admins_link
    application.add_handler(TypeHandler(Update, chat_share.busy_gate), group=-1)  # before all others
    application.add_handler(CommandHandler("start", handlers.start_command, filters=message))
    application.add_handler(CommandHandler("help", handlers.help_command, filters=message))
    application.add_handler(CommandHandler(["ask", "search"], handlers.ask_command, filters=message))
    application.add_handler(CommandHandler("latest", handlers.latest_command, filters=message))
    application.add_handler(CommandHandler("timeline", handlers.timeline_command, filters=message))
    application.add_handler(CommandHandler("reload", handlers.reload_command, filters=message, block=False))
    application.add_handler(
        CommandHandler("feeds", feed_handlers.feeds_command, filters=message, block=False)
    )
    application.add_handler(CommandHandler("add", feed_handlers.add_command, filters=message, block=False))
    application.add_handler(CommandHandler("follow", feed_handlers.follow_command, filters=message))
    application.add_handler(CommandHandler("following", feed_handlers.following_command, filters=message))
    application.add_handler(CommandHandler("unfollow", feed_handlers.unfollow_command, filters=message))
    application.add_handler(CallbackQueryHandler(handlers.page_callback))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(MessageHandler(message & filters.COMMAND, handlers.unknown_command))
    application.add_handler(MessageHandler(private_link, feed_handlers.link_message, block=False))
    application.add_handler(
        MessageHandler(message & (filters.TEXT | filters.CAPTION), handlers.question_message)
    )
    # an edited question is answered again, in place of its answer; an edited command or
    # an admin's link (an /add) is not run again
    application.add_handler(CommandHandler(["ask", "search"], handlers.ask_command, filters=edited))
    edited_question = edited & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND & ~admins_link
    application.add_handler(MessageHandler(edited_question, handlers.question_message))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, feed_handlers.group_upgraded))
    sent_by_reader = ~filters.TEXT & ~filters.StatusUpdate.ALL  # not a pin or a chat setting changed
    application.add_handler(MessageHandler(message & sent_by_reader, handlers.non_text_message))
    application.add_error_handler(handlers.error_handler)
    jobs = application.job_queue
    assert jobs is not None, "python-telegram-bot[job-queue] is a dependency"
    if settings.feed_interval:
        jobs.run_repeating(feed_jobs.poll_feeds, settings.feed_interval * 60, first=10, name="poll feeds")
    jobs.run_repeating(feed_jobs.settle_job, feed_jobs.SETTLE_EVERY, first=5, name="new articles and alerts")
    return application


def feed_service(settings: Settings, db: StateDB | None = None) -> FeedService:
    """The state file (opened, unless given) and the options for feeds, links and alerts."""
    return FeedService(
        db=db or open_state(settings.state_dir),
        options=options_from(settings),
        interval=settings.feed_interval,
        alerts_per_hour=settings.alerts_per_hour,
        notify_after=settings.feed_notify_after,
        watch_corpus=settings.watch_corpus,
    )


async def started(application: Application) -> None:  # type: ignore[type-arg]
    """Remove what writers killed mid-write left in the feeds' folders (`remove_abandoned`),
    publish the command menu, start compiling the search code (see `retrieval.warmup`),
    and start checking every corpus file if the start did not."""
    state: BotState = application.bot_data["state"]
    await asyncio.to_thread(remove_abandoned, state.corpus_dir)  # where no feed round runs, /add's
    # a thread of its own, not the loop's pool: a stop during the first compile never waits for it
    threading.Thread(target=_compile_search, name="search compile", daemon=True).start()
    if state.check_corpus:  # a stop abandons it (`NewsbotApplication.stop`), as it does a reload
        task = asyncio.create_task(state.catch_up(), name="corpus check")
        state.background.add(task)
        task.add_done_callback(state.background.discard)
    await register_commands(application)


def _compile_search() -> None:
    try:
        compile_search()
    except Exception:  # the first search compiles then, as it would without this
        logger.exception("could not compile the search code ahead of the first question")
    else:
        logger.debug("search code compiled")


async def register_commands(application: Application) -> None:  # type: ignore[type-arg]
    """Publish the command menu in each interface language; the admin commands only in the
    admins' own chats. Failures are logged, each menu's on its own.

    Telegram shows a user the menu registered for their language, else the one without a
    language (English).
    """
    state: BotState = application.bot_data["state"]
    for language in LANGUAGES:
        code = None if language == DEFAULT_LANGUAGE else language
        public = menu(language, handlers.COMMANDS)
        admin = public + menu(language, handlers.ADMIN_COMMANDS)
        await set_menu(application, public, BotCommandScopeDefault(), code)
        for admin_id in sorted(state.admin_ids):
            await set_menu(application, admin, BotCommandScopeChat(admin_id), code)


async def set_menu(
    application: Application,  # type: ignore[type-arg]
    commands: list[BotCommand],
    scope: BotCommandScopeDefault | BotCommandScopeChat,
    code: str | None,
) -> None:
    """Publish one menu; a refusal is logged and costs no other menu. Telegram refuses an
    admin's menu until that admin has written to the bot ("chat not found"), and one such
    admin must not leave every later language and admin without theirs."""
    try:
        await application.bot.set_my_commands(commands, scope=scope, language_code=code)
    except TelegramError as error:
        where = f"chat {scope.chat_id}" if isinstance(scope, BotCommandScopeChat) else "everyone"
        logger.warning("could not register the command menu for %s in %s: %s", where, code or "en", error)


def menu(language: str, commands: tuple[tuple[str, str], ...]) -> list[BotCommand]:
    """Commands with their descriptions in `language`."""
    tr = translations(language)
    return [BotCommand(name, tr.gettext(description)) for name, description in commands]


def webhook_options(settings: Settings, secret_token: str) -> dict[str, Any]:
    """Arguments for `run_webhook` / `Updater.start_webhook`: the settings and a required secret."""
    url = settings.webhook_url or ""
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        # WEBHOOK_URL's own path, as Telegram posts to it (`/` for none): python-telegram-bot
        # serves it as a pattern, so a `+` or `(` in it stands for itself
        "url_path": re.escape(urlparse(url).path.rstrip("/")),
        "webhook_url": url,
        "secret_token": secret_token,
        "allowed_updates": ALLOWED_UPDATES,
    }


def webhook_secret(settings: Settings) -> str:
    """`WEBHOOK_SECRET_TOKEN`, or a random one: the bot registers the webhook with it itself.

    Telegram sends the secret back with every update; a request without it is refused, so
    nobody who merely finds the URL can post updates as an admin. The secret is redacted
    from the logs like the token.
    """
    configured = settings.webhook_secret_token
    secret = configured.get_secret_value() if configured else secrets.token_urlsafe(32)
    install_redaction([secret])
    return secret


def limit_webhook_bodies(max_bytes: int = WEBHOOK_MAX_BODY_BYTES) -> None:
    """Make the webhook server refuse a larger request body (400) before reading it.

    python-telegram-bot builds its tornado `HTTPServer` itself and checks the secret only
    once the whole body is in memory; tornado's process-wide defaults are the one way to
    pass it `max_body_size` (default 100 MB).
    """
    HTTPServer.configure(None, max_body_size=max_bytes)


def run(
    application: Application,  # type: ignore[type-arg]
    settings: Settings,
    webhook: bool,
    secret: str | None = None,
) -> None:
    """Serve until stopped: long polling, or webhooks for production (with `secret`, the one
    registered already, else `webhook_secret`'s)."""
    if webhook:
        logger.info("serving webhooks on %s:%s", settings.webhook_listen, settings.webhook_port)
        limit_webhook_bodies()
        options = webhook_options(settings, secret or webhook_secret(settings))
        application.run_webhook(**options, bootstrap_retries=-1)
    else:
        logger.info("polling Telegram for updates")
        application.post_stop = confirm_answered
        # bootstrap_retries=-1: a Telegram outage at start-up is waited out, not fatal
        application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1)
