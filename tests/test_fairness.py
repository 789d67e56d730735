import pytest

from bot.fairness import BusyNotes, QuestionRateLimit, Verdict

A, W, N = Verdict.ANSWER, Verdict.WARN, Verdict.IGNORE


@pytest.mark.parametrize(
    ("times", "verdicts"),
    [
        ([0, 1, 2], [A, A, A]),  # within the limit
        ([0, 1, 2, 3, 4, 5], [A, A, A, W, N, N]),  # over it: one warning, then silence
        ([0, 1, 2, 3, 60.5], [A, A, A, W, A]),  # the window slides: answered again
        ([0, 1, 2, 3, 60.5, 61.5, 62.5], [A, A, A, W, A, A, A]),  # a fresh window
        ([0, 1, 2, 3, 60.5, 60.6, 60.7, 60.8], [A, A, A, W, A, W, N, N]),  # full again: a fresh warning
        ([0, 1, 2, 3, 200, 201, 202, 203], [A, A, A, W, A, A, A, W]),  # forgotten while idle: a fresh start
    ],
)
def test_sliding_window(times: list[float], verdicts: list[Verdict]) -> None:
    limit = QuestionRateLimit(limit=3, window=60)
    assert [limit.check(1, t) for t in times] == verdicts


def test_senders_are_counted_apart() -> None:
    limit = QuestionRateLimit(limit=1, window=60)
    assert [limit.check(1, 0), limit.check(1, 1), limit.check(2, 1)] == [A, W, A]


def test_idle_senders_are_forgotten_after_a_window() -> None:
    limit = QuestionRateLimit(limit=5, window=60)
    for sender in range(10_000):
        limit.check(sender, sender / 1000)  # 10,000 senders within ten seconds
    assert len(limit) == 10_000  # all still inside the window
    assert limit.check(99_999, 70.5) is A  # one request after the window: the others are idle
    assert len(limit) == 1


def test_memory_follows_active_senders_not_everyone_ever_seen() -> None:
    limit = QuestionRateLimit(limit=3, window=60)
    rate = 10  # new senders a second, each asking three times in a row then leaving
    most = 0
    for number in range(300_000 // 3):
        now = number / rate
        for _ in range(3):
            assert limit.check(number, now) is A
        most = max(most, len(limit))
    # Forgotten once a window, so at most two windows' worth of senders are ever held.
    assert most <= 2 * 60 * rate + 1
    assert len(limit) <= 2 * 60 * rate + 1


def test_a_warned_sender_forgotten_while_idle_is_warned_again_when_over() -> None:
    limit = QuestionRateLimit(limit=1, window=60)
    assert [limit.check(1, 0), limit.check(1, 1), limit.check(1, 2)] == [A, W, N]
    limit.check(2, 100)  # another sender's request sweeps the idle ones out
    assert [limit.check(1, 101), limit.check(1, 102), limit.check(1, 103)] == [A, W, N]


@pytest.mark.parametrize(
    ("times", "told"),
    [
        ([0], [True]),  # the first drop in a chat is told
        ([0, 1, 59.9], [True, False, False]),  # then silence for a minute
        ([0, 30, 60], [True, False, True]),  # a minute after the note: told again
        ([0, 60, 61, 120], [True, True, False, True]),  # a minute after each note, not after each drop
    ],
)
def test_a_busy_chat_is_told_at_most_once_a_minute(times: list[float], told: list[bool]) -> None:
    notes = BusyNotes(every=60)
    assert [notes.due(-100, t) for t in times] == told


def test_busy_notes_count_chats_apart_and_forget_those_told_over_a_minute_ago() -> None:
    notes = BusyNotes(every=60)
    assert [notes.due(-1, 0), notes.due(-2, 1), notes.due(-1, 2)] == [True, True, False]
    for chat in range(1000):
        notes.due(chat, 10)
    assert len(notes) == 1002
    assert notes.due(5000, 70.5) and len(notes) == 1  # told at 0-10: forgotten
