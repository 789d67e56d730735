"""The interface in the sender's language, by Telegram's `language_code`, over the fake Bot API."""

from __future__ import annotations

import html
import shutil

import pytest

from fakes.bot_api import Fault
from tests.conftest import article
from tests.e2e.conftest import ADMIN, GRAIN, GRAIN_NEWS, StartBot

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    ("language_code", "start"),
    [
        ("uk", "Я відповідаю на запитання про 1 новинну статтю, що в мене є"),
        ("uk-UA", "Я відповідаю на запитання про 1 новинну статтю, що в мене є"),
        ("ru", "Я отвечаю на вопросы о 1 новостной статье, которая у меня есть"),
        ("de", "I answer questions about the 1 news article I hold"),  # no German catalog: English
        (None, "I answer questions about the 1 news article I hold"),
    ],
)
async def test_help_is_in_the_senders_language(
    start_bot: StartBot, language_code: str | None, start: str
) -> None:
    bot = await start_bot()
    text = (await bot.ask("/help", language_code=language_code)).params["text"]
    assert text.startswith(start)
    assert "/timeline – " in text
    if language_code in ("uk", "uk-UA"):
        assert "/timeline – датовані події, найновіші спершу: /timeline [N] [тема]" in text
        assert (
            "Наприклад: <i>Who revealed the results of these negotiations?</i>" in text
        )  # the corpus's words


async def test_plurals_in_help_follow_the_language(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN)  # thirteen articles
    uk = (await bot.ask("/help", language_code="uk")).params["text"]
    ru = (await bot.ask("/help", language_code="ru")).params["text"]
    en = (await bot.ask("/help")).params["text"]
    assert uk.startswith("Я відповідаю на запитання про 13 новинних статей")
    assert ru.startswith("Я отвечаю на вопросы о 13 новостных статьях")
    assert en.startswith("I answer questions about the 13 news articles")


@pytest.mark.parametrize(
    ("command", "uk", "ru"),
    [
        ("zyzzyva quux", "Нічого не знайшов за запитом <i>zyzzyva quux</i>", "Ничего не нашёл по запросу"),
        ("the of and", "у запитанні немає слів для пошуку", "в вопросе нет слов для поиска"),
        (
            "/latest 99",
            "Використання: /latest [N], де N від 1 до 20",
            "Использование: /latest [N], где N от 1 до 20",
        ),
        ("/latest 2", "<b>1 найновіша стаття</b>", "<b>1 самая новая статья</b>"),
        ("/timeline", "<b>Хронологія</b>", "<b>Хронология</b>"),
        ("/frobnicate", "Я не знаю такої команди", "Я не знаю такой команды"),
        ("/reload", "Вибачте, перезавантажувати корпус можуть лише адміністратори бота.", "Извините"),
        ("/following", "Ви не стежите за жодною темою.", "Вы не следите ни за одной темой."),
        ("/ask", "Використання: /ask <запитання>", "Использование: /ask <вопрос>"),
    ],
)
async def test_replies_are_in_the_senders_language(
    start_bot: StartBot, command: str, uk: str, ru: str
) -> None:
    bot = await start_bot()
    assert uk in (await bot.ask(command, user_id=8, language_code="uk")).params["text"]
    assert ru in (await bot.ask(command, user_id=9, language_code="ru")).params["text"]


async def test_a_slow_down_is_in_the_senders_language(start_bot: StartBot) -> None:
    bot = await start_bot(questions_per_minute=1)
    await bot.ask("Istanbul", language_code="ru")
    text = (await bot.ask("Istanbul", language_code="ru")).params["text"]
    assert text == "Вы спрашиваете быстрее, чем я успеваю хорошо отвечать. Подождите минуту и спросите снова."


async def test_an_expired_button_says_so_in_the_pressers_language(start_bot: StartBot) -> None:
    bot = await start_bot()
    message = {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}, "text": "x"}
    bot.api.push_callback("page:AAAAAAAA:2", message, user_id=7, language_code="uk")
    (answer,) = await bot.api.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Ця кнопка застаріла. Поставте запитання ще раз."


async def test_command_menus_are_registered_per_language(start_bot: StartBot) -> None:
    bot = await start_bot()
    menus = {
        (call.params["scope"]["type"], call.params.get("language_code")): {
            entry["command"]: entry["description"] for entry in call.params["commands"]
        }
        for call in bot.api.sent("setMyCommands")
    }
    assert set(menus) == {(scope, code) for scope in ("default", "chat") for code in (None, "uk", "ru")}
    assert menus["default", None]["latest"] == "the newest articles: /latest [N]"
    assert menus["default", "uk"]["latest"] == "найновіші статті: /latest [N]"
    assert menus["default", "ru"]["latest"] == "самые новые статьи: /latest [N]"
    assert menus["default", "uk"]["search"] == "те саме, що /ask"
    for code in (None, "uk", "ru"):
        assert "reload" not in menus["default", code]
        assert "reload" in menus["chat", code]  # the admins' own chats, in every language
    assert menus["chat", "ru"]["reload"] == "перечитать корпус (админы)"
    admin_scopes = {call.params["scope"].get("chat_id") for call in bot.api.sent("setMyCommands")}
    assert admin_scopes == {None, ADMIN}


async def test_an_admin_who_never_wrote_to_the_bot_costs_no_other_menu(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    newcomer = 5  # listed in ADMIN_IDS before writing to the bot: Telegram knows no chat with them
    bot = await start_bot(admin_ids=frozenset({newcomer, ADMIN}))
    bot.api.unknown_chats.add(newcomer)
    bot.api.calls.clear()
    await bot.application.post_init(bot.application)  # the menus registered as at a start
    registered = {
        (call.params["scope"].get("chat_id"), call.params.get("language_code"))
        for call in bot.api.sent("setMyCommands")
    }
    assert registered == {(chat, code) for chat in (None, ADMIN) for code in (None, "uk", "ru")}
    assert f"could not register the command menu for chat {newcomer}" in caplog.text


async def test_pages_keep_the_askers_language_whoever_presses(start_bot: StartBot) -> None:
    told_twice = {}  # three stories, each told by two outlets: every page names the other one
    for number, (headline, body) in enumerate(GRAIN_NEWS[:3]):
        told_twice[f"story-{number}.txt"] = article(f"2024-09-1{number}", headline, body)
        told_twice[f"wire-{number}.txt"] = article(f"2024-09-0{number + 1}", f"{headline} (wire)", body)
    bot = await start_bot(articles=told_twice, top_k=1)
    group = {"chat_id": -300, "chat_type": "supergroup"}
    reply = await bot.ask("/ask grain exports", user_id=8, language_code="uk", **group)
    assert "<i>Також повідомили:" in reply.params["text"]
    data = reply.params["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
    bot.api.push_callback(data, reply.result, user_id=9, language_code="ru")  # another reader turns the page
    (edit,) = await bot.api.wait_for("editMessageText")
    assert edit.params["text"].startswith("<b>2. ")
    assert "<i>Також повідомили:" in edit.params["text"]  # the message stays in one language


async def test_hints_and_the_apology_for_a_failure_are_in_the_senders_language(start_bot: StartBot) -> None:
    bot = await start_bot()
    sticker = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1, "height": 1}
    sticker |= {"is_animated": False, "is_video": False}
    hint = await bot.ask(None, language_code="uk", sticker=sticker)  # type: ignore[arg-type]
    assert hint.params["text"] == "Я читаю лише текст. Надішліть запитання словами або спробуйте /latest."
    group = {"chat_id": -100, "chat_type": "supergroup"}
    empty = await bot.ask("@news_test_bot", language_code="ru", **group)
    assert empty.params["text"].startswith("Пришлите, пожалуйста, вопрос словами")
    topic = await bot.ask("/timeline the of", language_code="uk")
    assert topic.params["text"].startswith("У цій темі немає слів для пошуку")
    bot.api.fail("sendMessage", Fault(400, "Bad Request: can't parse entities"))
    bot.api.push_message("Abramovich", user_id=7, language_code="uk")
    sorry = (await bot.api.wait_for("sendMessage", chat_id=7, count=3))[2]
    assert sorry.params["text"] == "Вибачте, у мене щось пішло не так. Спробуйте ще раз."


async def test_a_reload_tells_an_admin_the_files_it_skipped_in_their_language(start_bot: StartBot) -> None:
    # Each problem is saved in the index as its kind and facts: the second reload, which reads
    # no file again, tells the same problems in the second admin's language.
    bot = await start_bot()
    (bot.corpus / "broken.txt").write_bytes(b" date 2024-01-01 Talks\n\nGen\xe8ve talks.\n")
    (bot.corpus / "notes.pdf").write_text("not an article")
    (bot.corpus / "feed.jsonl").write_text('{"id": "a", "date": "2024-01-01", "text": "Body."}\n[1]\n')
    uk = html.unescape((await bot.ask("/reload", user_id=ADMIN, language_code="uk")).params["text"])
    assert uk.startswith("<b>Корпус перезавантажено.</b>\nСтатей: 1 → 1")
    assert "Не вдалося завантажити 4 файли або рядки:" in uk
    assert "• broken.txt: не є текстом UTF-8 (байт 27)" in uk
    assert "• feed.jsonl:1: не має поля 'title'" in uk
    assert "• feed.jsonl:2: не є об'єктом JSON" in uk
    assert "• notes.pdf: невідоме розширення '.pdf'; статті — це .txt, .md, .jsonl" in uk
    ru = html.unescape((await bot.ask("/reload", user_id=ADMIN, language_code="ru")).params["text"])
    assert ru.startswith("<b>Корпус перезагружен.</b>")
    assert "• broken.txt: не является текстом UTF-8 (байт 27)" in ru
    assert "• feed.jsonl:1: нет поля 'title'" in ru
    assert "• notes.pdf: неизвестное расширение '.pdf'; статьи — это .txt, .md, .jsonl" in ru
    en = html.unescape((await bot.ask("/reload", user_id=ADMIN)).params["text"])
    assert "• broken.txt: is not UTF-8 text (byte 27)" in en  # as `newsbot stats` says it


async def test_a_failed_reload_tells_an_admin_why_in_their_language(start_bot: StartBot) -> None:
    bot = await start_bot()
    for served in bot.corpus.iterdir():
        served.write_bytes(b"\x00 binary, not an article")
    uk = html.unescape((await bot.ask("/reload", user_id=ADMIN, language_code="uk")).params["text"])
    assert uk.startswith("<b>Перезавантаження не вдалося</b>")
    assert f"Причина: у теці корпусу '{bot.corpus}' немає жодної статті, яку можна прочитати: " in uk
    assert "000_eba0014b280aac67.txt: двійковий файл, не текст (містить байти NUL)" in uk
    shutil.rmtree(bot.corpus)
    ru = html.unescape((await bot.ask("/reload", user_id=ADMIN, language_code="ru")).params["text"])
    assert f"Причина: папки корпуса '{bot.corpus}' не существует или это не папка" in ru
