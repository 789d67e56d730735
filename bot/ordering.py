"""Concurrent updates, but one chat's messages answered in the order they were sent.

Many people ask at once, so updates are processed concurrently; a person who sends two
questions must still get the two answers in order. Updates of one chat wait on that
chat's lock; other chats do not wait for them. An update takes one of the limited
processing slots only once its chat's turn has come, so a flood in one chat (answered
one by one) cannot fill the slots every other chat needs.

Each chat also has a share of the updates in flight (`per_chat`). Telegram lets a bot post
about 20 messages a minute in a group, so a busy group's queued questions could otherwise
hold every one of the `MAX_UNANSWERED_UPDATES` the bot may take before answering, and it
would stop fetching updates for everyone. An update that comes while its chat already has
its share in flight is "over its share": it is run at once, outside the chat's turn, and
`bot.chat_share.busy_gate` drops it with at most one "busy" note a minute per chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

UNBOUNDED = 2**31 - 1


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Process updates concurrently, serialised per chat, each chat within its share."""

    def __init__(self, max_concurrent_updates: int = 256, per_chat: int = UNBOUNDED) -> None:
        # The base class takes its slot before an update waits for its chat, so a flood in
        # one chat would hold them all; its bound is left open and ours taken after the wait.
        super().__init__(UNBOUNDED)
        if per_chat < 1:
            raise ValueError(f"per_chat {per_chat}: each chat must be allowed at least 1 update in flight")
        self.per_chat = per_chat
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._over_share: set[int] = set()

    def over_share(self, update: object) -> bool:
        """Whether `update` is being processed over its chat's share (see the module's docstring)."""
        return isinstance(update, Update) and update.update_id in self._over_share

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await `coroutine` in its chat's turn, then in a free slot (updates without a chat: a slot only)."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._slots:
                await coroutine
            return
        assert isinstance(update, Update)
        if self._waiting.get(chat.id, 0) >= self.per_chat:  # not in the chat's turn: it is dropped
            self._over_share.add(update.update_id)
            try:
                async with self._slots:
                    await coroutine
            finally:
                self._over_share.discard(update.update_id)
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._waiting[chat.id] -= 1
            if not self._waiting[chat.id]:  # forget idle chats, so memory stays bounded
                del self._waiting[chat.id]
                del self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
