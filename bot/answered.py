"""Which message answered which question, so that an edited question gets its answer edited.

A reader who fixes a typo in a question edits it; Telegram then sends the message again
as an `edited_message`. The bot answers the new words by editing its answer in place, so
the chat does not fill with answers, and an edit that leaves the words as they were
(formatting, a photo swapped under its caption) gets nothing. For that it keeps, in
memory only, for the latest `ANSWERS_KEPT` questions it answered: the chat and message
ids of the question, the id of its answer, the key of the answer's page buttons, and a
keyed hash of the question's words, never the words. A restart forgets them all, as does
a question pushed out by newer ones: the edit of such a question is answered anew.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass

ANSWERS_KEPT = 10_000
"""Questions whose answer an edit can find, in about 4 MB; the least recently used is forgotten first."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The bot's answer to one question: its message, and what was asked."""

    message_id: int
    words: bytes
    """The question's fingerprint (`AnsweredQuestions.fingerprint`), to tell an edit that changed it."""
    key: str = ""
    """The key of the answer's page buttons (`QueryStore`), or "" for an answer of one page."""


class AnsweredQuestions:
    """The latest answers, by (chat id, question's message id), least recently used forgotten first."""

    def __init__(self, capacity: int = ANSWERS_KEPT) -> None:
        self.capacity = capacity
        self._secret = secrets.token_bytes(16)
        self._answers: OrderedDict[tuple[int, int], Answer] = OrderedDict()

    def __len__(self) -> int:
        """How many answers are remembered."""
        return len(self._answers)

    def fingerprint(self, question: str) -> bytes:
        """16 bytes that tell whether two questions have the same words, spaces aside.

        Keyed with a secret made at each start and never written anywhere, so the hash of
        a short question cannot be matched against guesses."""
        words = " ".join(question.split()).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(words, digest_size=16, key=self._secret).digest()

    def get(self, chat_id: int, message_id: int) -> Answer | None:
        """The answer to the question `message_id` of `chat_id`, if it is remembered."""
        answer = self._answers.get((chat_id, message_id))
        if answer is not None:
            self._answers.move_to_end((chat_id, message_id))
        return answer

    def remember(self, chat_id: int, message_id: int, answer: Answer) -> None:
        """Remember `answer` as the one to the question `message_id` of `chat_id`."""
        self._answers[(chat_id, message_id)] = answer
        self._answers.move_to_end((chat_id, message_id))
        while len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
