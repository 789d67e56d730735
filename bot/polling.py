"""Long polling that survives an update python-telegram-bot cannot read.

python-telegram-bot parses a whole `getUpdates` answer at once, and one update it cannot
parse (a field of a type it does not expect, from a Bot API newer than it) raises out of
the polling loop: polling stops and no one is answered again until a restart, which then
fetches the same update and stops again. Here each update is tried on its own first, and
one that does not parse is kept only by its `update_id`: the offset moves past it, every
handler ignores it (it holds no message), and the rest are answered.

A 429 for `getUpdates` is waited out here too, inside the fetch, which a stop ends: the
updater's own loop waited it out in a sleep that a stop does not end, so that Telegram asking
the bot to wait a day before fetching again held Ctrl-C or `systemctl stop` for the day (the
answers to the questions fetched already go out meanwhile: no rate limiter sees `getUpdates`).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest

logger = logging.getLogger(__name__)


class UpdatesRequest(HTTPXRequest):
    """The connection `getUpdates` uses (and nothing else does), whose answers reach the parser
    one readable update at a time."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """Fetch, and fetch again once a 429's wait is over, for as long as Telegram asks."""
        while True:
            status, payload = await super().do_request(*args, **kwargs)
            wait = retry_after(status, payload)
            if wait is None:
                return status, payload
            logger.info("Telegram asks the bot to wait %d s before fetching updates (429)", wait)
            await asyncio.sleep(wait + 0.1)

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        answer = HTTPXRequest.parse_json_payload(payload)
        if isinstance(answer.get("result"), list):
            answer["result"] = [readable(update) for update in answer["result"]]
        return answer


def readable(update: Any) -> Any:
    """`update` itself if python-telegram-bot can parse it, else an update that holds only its id."""
    try:
        Update.de_json(copy.deepcopy(update), None)
        return update
    except Exception as error:  # whatever the parser raises, the update is unreadable to it
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(update_id, int):
            raise  # no id to move past: this is no update at all, and polling's own error handling applies
        kinds = sorted(key for key in update if key != "update_id")
        logger.warning("update %s (%s) could not be read, skipped: %r", update_id, ", ".join(kinds), error)
        return {"update_id": update_id}


def retry_after(status: int, payload: bytes) -> int | None:
    """The seconds a 429 answer asks the bot to wait (`parameters.retry_after`); None for any other."""
    if status != 429:
        return None
    try:
        wait = json.loads(payload)["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):  # a 429 that names no wait: python-telegram-bot's to report
        return None
    return wait if isinstance(wait, int) and wait >= 0 else None
