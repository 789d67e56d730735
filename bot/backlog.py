"""How far the bot may run ahead of its answers.

Telegram forgets an update once a `getUpdates` call confirms it (its `offset` is past the
update's id), and python-telegram-bot's updater confirms a fetched batch as soon as the
batch is in the application's queue, long before it is answered. A bot killed hard
(SIGKILL after a stop's grace period, the OOM killer, a lost machine) would lose every
update it had confirmed and not answered: all of a burst.

`UpdateBacklog` is that queue with a bound. Putting an update waits while `limit` updates
are taken and not yet answered, so the updater stops fetching, and confirming, until the
answers catch up; what it fetched and could not put yet stays unconfirmed, and Telegram
hands it out again after a restart. A hard kill loses at most `limit` updates; a stop
(SIGTERM) answers them all first, so it loses none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

__all__ = ["UpdateBacklog", "confirm_answered"]

logger = logging.getLogger(__name__)


class UpdateBacklog(asyncio.Queue[object]):
    """The application's update queue, which never holds more than `limit` unanswered updates.

    `asyncio.Queue` counts an item as unfinished from `put` until `task_done`, which the
    application calls once it has processed the update (its handlers, answer included,
    have returned); that count is what is bounded. Items other than updates (the
    application's stop signal) are never held back. An update `takes` refuses (one no
    handler acts on) is not queued at all: it is confirmed with its batch, and holds no place.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit {limit}: at least 1 update must be allowed in flight")
        super().__init__()
        self.limit = limit
        self.takes: Callable[[object], bool] = lambda update: True
        self.unanswered = 0
        self.last_update_id: int | None = None
        self._room = asyncio.Event()
        self._room.set()

    async def put(self, item: object) -> None:
        """Queue `item`; an update waits until fewer than `limit` are unanswered."""
        if isinstance(item, Update) and not self.takes(item):
            self.last_update_id = max(self.last_update_id or 0, item.update_id)
            return
        while isinstance(item, Update) and self.unanswered >= self.limit:
            self._room.clear()
            await self._room.wait()
        await super().put(item)

    def put_nowait(self, item: object) -> None:
        """Queue `item` at once (`put` calls this once there is room)."""
        super().put_nowait(item)
        self.unanswered += 1
        if isinstance(item, Update):
            self.last_update_id = max(self.last_update_id or 0, item.update_id)

    def task_done(self) -> None:
        """One item processed: its room goes to the next update."""
        super().task_done()
        self.unanswered -= 1
        if self.unanswered < self.limit:
            self._room.set()


async def confirm_answered(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """After a stop, confirm to Telegram every update the bot took (and so answered).

    The updater confirms whole batches only. A stop while it waited for room leaves the
    start of a batch answered but unconfirmed, and Telegram would send those updates
    again after a restart. Polling only: with a webhook, Telegram counts an update as
    delivered once the bot has accepted it.
    """
    backlog = application.update_queue
    if not isinstance(backlog, UpdateBacklog) or backlog.last_update_id is None:
        return
    try:
        await application.bot.get_updates(offset=backlog.last_update_id + 1, timeout=0, limit=1)
    except TelegramError as error:
        logger.warning("could not confirm the answered updates (%s); Telegram may send some again", error)
