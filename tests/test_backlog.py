"""The update queue that bounds how far the bot runs ahead of its answers."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Update

from bot.backlog import UpdateBacklog


async def test_an_update_waits_while_the_limit_is_unanswered_and_goes_in_when_one_is_answered() -> None:
    backlog = UpdateBacklog(2)
    await backlog.put(Update(1))
    await backlog.put(Update(2))
    third = asyncio.create_task(backlog.put(Update(3)))
    for _ in range(3):
        await asyncio.sleep(0)
    assert not third.done() and backlog.qsize() == 2
    backlog.get_nowait()  # taken is not answered: still waiting
    await asyncio.sleep(0)
    assert not third.done()
    backlog.task_done()  # answered
    await asyncio.wait_for(third, 1)
    assert backlog.unanswered == 2 and backlog.last_update_id == 3


async def test_the_stop_signal_is_never_held_back() -> None:
    backlog = UpdateBacklog(1)
    await backlog.put(Update(7))
    await asyncio.wait_for(backlog.put(object()), 1)  # the application's stop signal
    assert backlog.qsize() == 2 and backlog.last_update_id == 7


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        UpdateBacklog(0)
