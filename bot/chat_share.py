"""The gate in front of every handler: an update over its chat's share is dropped, politely.

`PerChatUpdateProcessor` decides which updates are over their chat's share of the updates
in flight (see `bot.ordering`); this handler, registered before all the others, stops them.
Dropped is answered, not lost: the first one in a minute that asks the bot something gets
`BUSY`, in the sender's language (a question or command for the bot; a page press gets it
as its button answer);
the chat's chatter and the rest of that minute's updates get nothing, since every message
to a busy group waits for the same 20 a minute that its answers wait for. Telegram's word
that a group became a supergroup is never dropped: it is run at once, outside the chat's turn.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Bot, Message, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from .delivery import answering_query
from .handlers import Context, addressed_to_bot, bot_state, refused_by
from .i18n import N_, for_user
from .ordering import PerChatUpdateProcessor

__all__ = ["BUSY", "asks_the_bot", "busy_gate", "chat_moved", "worth_taking"]

logger = logging.getLogger(__name__)

BUSY = N_(
    "I am still answering earlier questions in this chat and could not take yours. "
    "Please ask again in a minute."
)


async def busy_gate(update: object, context: Context) -> None:
    """Let an update through, unless it is over its chat's share: then drop it, with a note at most
    once a minute per chat."""
    processor = context.application.update_processor
    if not isinstance(processor, PerChatUpdateProcessor) or not processor.over_share(update):
        return
    if chat_moved(update):  # dropped, the move is not kept, and the next answer is refused first
        return
    assert isinstance(update, Update) and update.effective_chat is not None
    chat = update.effective_chat.id
    if asks_the_bot(update, context.bot) and bot_state(context).busy_notes.due(chat, time.monotonic()):
        logger.info("chat %s has %d updates in flight, its share: told it is busy", chat, processor.per_chat)
        try:
            busy = for_user(update.effective_user).gettext(BUSY)
            if update.callback_query is not None:
                with answering_query(asyncio.get_running_loop().time()):
                    await update.callback_query.answer(busy)
            elif update.effective_message is not None:  # a message, or an edited one
                await update.effective_message.reply_text(busy)
        except Forbidden as error:  # a reader who blocked the bot: forgotten, as at an answer
            await refused_by(context, update.effective_chat, update.effective_user, error)
        except TelegramError as error:  # never an apology on top: the chat is busy enough
            logger.warning("could not tell chat %s it is busy: %s", chat, error)
    raise ApplicationHandlerStop


def chat_moved(update: object) -> bool:
    """Whether `update` is Telegram's word that a group became a supergroup (said in either):
    never dropped as busy, since it comes once and is what moves the group's state there."""
    message = update.message if isinstance(update, Update) else None
    return message is not None and (
        message.migrate_to_chat_id is not None or message.migrate_from_chat_id is not None
    )


def asks_the_bot(update: Update, bot: Bot) -> bool:
    """Whether the bot would answer `update`: a button press, anything in a private chat, and
    in a group a command for this bot or a message addressed to it (a mention, a reply); of
    an edited message, only its words (a live location moving asks nothing)."""
    if update.callback_query is not None:
        return True
    message = update.message or update.edited_message
    if message is None:
        return False
    if message is update.edited_message and message.text is None and message.caption is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    if message.is_automatic_forward:  # a channel's post, its `/cmd@bot` too: no command (`addressed_to_bot`)
        return False
    return command_for_bot(message, bot.username) or addressed_to_bot(message, bot)


def worth_taking(update: object, bot: Bot) -> bool:
    """Whether an update is to be taken in at all: any but an edit that asks the bot nothing,
    and a message posted via the bot.

    Telegram sends a bot every edit in a group it is an admin of, and every move of a live
    location; taken in, each would wait in its chat's line behind the answers Telegram
    paces there and take a place of the chat's share, so that a question was dropped as
    busy. Such an edit is confirmed to Telegram with its batch, and never handled.
    A message posted via the bot is an inline answer a reader chose: the bot's answer, in
    its own chat too, never a question, nor a command when its headline starts with one
    (`/latest …`, a feed's `/feeds remove 1`), which the bot ran for whoever chose it.
    """
    if not isinstance(update, Update):
        return True
    message = update.message or update.edited_message
    if message is not None and message.via_bot is not None and message.via_bot.id == bot.id:
        return False
    return update.edited_message is None or asks_the_bot(update, bot)


def command_for_bot(message: Message, username: str | None) -> bool:
    """A message that starts with a command meant for this bot (`/cmd`, or `/cmd@this_bot`)."""
    entities = message.parse_entities([MessageEntityType.BOT_COMMAND])
    for entity, text in entities.items():
        if entity.offset == 0:
            _, _, addressee = text.partition("@")
            return not addressee or addressee.lower() == (username or "").lower()
    return False
