import datetime as dt

import pytest
from telegram import Chat, Message, User

from bot.handlers import GROUP_ANONYMOUS_BOT, sender

GROUP = Chat(-100, Chat.SUPERGROUP)
CHANNEL = Chat(-200, Chat.CHANNEL)
PERSON = User(7, "Ann", is_bot=False)
CHANNEL_BOT = User(136817688, "Channel", is_bot=True)  # speaks for users posting as a channel


@pytest.mark.parametrize(
    ("from_user", "sender_chat", "counted"),
    [
        (PERSON, None, 7),  # a person: their own bucket, in every chat
        (User(GROUP_ANONYMOUS_BOT, "Group", is_bot=True), GROUP, -100),  # an anonymous admin: the group's
        (User(GROUP_ANONYMOUS_BOT, "Group", is_bot=True), None, -100),  # ... even without sender_chat
        (CHANNEL_BOT, CHANNEL, -100),  # posting as a channel: the group where it was posted
        (None, None, -100),  # no sender at all
    ],
)
def test_anonymous_senders_are_counted_per_chat(
    from_user: User | None, sender_chat: Chat | None, counted: int
) -> None:
    message = Message(1, dt.datetime.now(dt.UTC), GROUP, from_user=from_user, sender_chat=sender_chat)
    assert sender(message) == counted
