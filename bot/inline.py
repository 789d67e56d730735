"""Inline mode: `@botname question` in any chat lists answers; choosing one posts it there.

Each result is one passage: its headline as the title, its date and best sentence as the
description, and, once chosen, the passage with its headline, date and link as the
message. An empty query lists the newest articles. An inline query carries no date, so it
is answered as of its arrival, the way a message is answered as of its date.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging

from telegram import (
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from retrieval import Hit, latest_today

from . import render
from .delivery import FloodWait, answering_query
from .fairness import Verdict
from .handlers import NO_PREVIEW, Context, bot_state, clean, judge, too_old
from .i18n import ENGLISH, N_, Translations, for_user
from .pages import INLINE_RESULTS, hits_needed

logger = logging.getLogger(__name__)

SHARED_SECONDS = 60
"""How long Telegram may serve the same results for the same query, to anyone.

Results hold nothing personal (the corpus's words, no interface text, the same "as of"
day for everyone), so Telegram may share them (`is_personal=False`): a query retyped, or
the same question in a busy group, costs no search. A minute bounds how long a reload or
a feed's new article takes to show.
"""
PERSONAL_SECONDS = 10
"""How long "nothing found" or "slow down" (in the reader's language, so personal) is kept."""
NO_MATCH = N_("Nothing found — tap to ask me directly")
NO_ARTICLES = N_("No articles yet — tap to open the bot")
TOO_FAST = N_("Too many questions — wait a minute")
ASK_HERE = "inline"
"""The /start parameter of the button that opens a private chat with the bot."""


async def inline_query(update: Update, context: Context) -> None:
    """List up to ten passages for the query typed after the bot's name; the newest articles for
    none, or for one that shows nothing (zero-width characters: the reader sees an empty box)."""
    query = update.inline_query
    if query is None:
        return
    arrived = asyncio.get_running_loop().time()
    state, tr = bot_state(context), for_user(query.from_user)
    verdict = judge(state, query.from_user.id)  # counted like a question, by its user
    if verdict is Verdict.IGNORE:
        return
    if verdict is Verdict.WARN:
        await _answer(query, arrived, [], _button(tr, TOO_FAST))
        return
    question = clean(query.query).strip()
    as_of = latest_today()  # no date on an inline query: its arrival
    if render.shows(question):  # searched as a message is (see `hits_needed`), the best ten listed
        result = await state.search(question, k=hits_needed(state.top_k), now=as_of)
        hits = list(result.hits)
    else:
        hits = [render.lead(article) for article in await state.latest(INLINE_RESULTS, as_of)]
    results = await asyncio.to_thread(article_results, hits[:INLINE_RESULTS])
    button = None if results else _button(tr, NO_ARTICLES if state.empty else NO_MATCH)
    await _answer(query, arrived, results, button)


def article_results(hits: list[Hit]) -> list[InlineQueryResultArticle]:
    """The results of `hits`, rendered in a worker thread as answers are (`handlers.answer`):
    ten take some 7 ms, up to 14 with quotes or emoji, which every chat's updates waited for
    on the event loop."""
    return [article_result(hit) for hit in hits]


def article_result(hit: Hit) -> InlineQueryResultArticle:
    """One result: headline, date and best sentence in the list; the passage with its heading once chosen.

    The other outlets of its story are left out, so that the message holds no interface
    words and may be shared with readers of any language (see `SHARED_SECONDS`).
    """
    alone = dataclasses.replace(hit, also_reported_by=())
    return InlineQueryResultArticle(
        id=result_id(hit),
        title=render.inline_title(hit.article),
        description=render.inline_description(hit),
        input_message_content=InputTextMessageContent(
            render.render_answer(ENGLISH, [alone], first_rank=None),
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
        ),
    )


def result_id(hit: Hit) -> str:
    """A result's id (at most 64 bytes, unique in a list): a hash of its article and passage."""
    key = f"{hit.article.id}\0{hit.passage.position}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def _button(tr: Translations, text: str) -> InlineQueryResultsButton:
    return InlineQueryResultsButton(text=tr.gettext(text), start_parameter=ASK_HERE)


async def _answer(
    query: InlineQuery,
    arrived: float,
    results: list[InlineQueryResultArticle],
    button: InlineQueryResultsButton | None,
) -> None:
    """Answer, shared when there are results, personal when only a button in the reader's language.

    Telegram drops an answer that comes more than about ten seconds after the query (a
    queue of searches can take that long): that is logged, not reported as a failure. An
    answer Telegram asks to wait past that (a 429) is not sent at all (`answering_query`):
    queued, it went out stale, and the later queries' answers waited behind it.
    """
    shared = bool(results)
    try:
        with answering_query(arrived):
            await query.answer(
                results,
                cache_time=SHARED_SECONDS if shared else PERSONAL_SECONDS,
                is_personal=not shared,
                button=button,
            )
    except BadRequest as error:
        if not too_old(error):
            raise
        logger.info("inline query %s answered too late: %s", query.id, error)
    except FloodWait as error:
        logger.info("inline query %s not answered: %s", query.id, error)
