"""Long polling that survives an update python-telegram-bot cannot read.

python-telegram-bot parses a whole `getUpdates` answer at once, and one update it cannot
parse (a field of a type it does not expect, from a Bot API newer than it) raises out of
the polling loop: polling stops and no one is answered again until a restart, which then
fetches the same update and stops again. Here each update is tried on its own first, and
one that does not parse is kept only by its `update_id`: the offset moves past it, every
handler ignores it (it holds no message), and the rest are answered.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest

logger = logging.getLogger(__name__)


class UpdatesRequest(HTTPXRequest):
    """The connection `getUpdates` uses (and nothing else does), whose answers reach the parser
    one readable update at a time."""

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
