import pytest

from bot.fairness import QuestionRateLimit, Verdict

A, W, N = Verdict.ANSWER, Verdict.WARN, Verdict.IGNORE


@pytest.mark.parametrize(
    ("times", "verdicts"),
    [
        ([0, 1, 2], [A, A, A]),  # within the limit
        ([0, 1, 2, 3, 4, 5], [A, A, A, W, N, N]),  # over it: one warning, then silence
        ([0, 1, 2, 3, 60.5], [A, A, A, W, A]),  # the window slides: answered again
        ([0, 1, 2, 3, 60.5, 61.5, 62.5], [A, A, A, W, A, A, A]),  # a fresh window
        ([0, 1, 2, 3, 60.5, 60.6, 60.7, 60.8], [A, A, A, W, A, W, N, N]),  # full again: a fresh warning
    ],
)
def test_sliding_window(times: list[float], verdicts: list[Verdict]) -> None:
    limit = QuestionRateLimit(limit=3, window=60)
    assert [limit.check(1, t) for t in times] == verdicts


def test_users_are_counted_apart() -> None:
    limit = QuestionRateLimit(limit=1, window=60)
    assert [limit.check(1, 0), limit.check(1, 1), limit.check(2, 1)] == [A, W, A]


def test_idle_users_are_forgotten_past_the_cap() -> None:
    limit = QuestionRateLimit(limit=1, window=60, max_users=10)
    for user in range(20):
        limit.check(user, 0)
    limit.check(99, 100)
    limit.check(99, 101)  # a warning triggers the clean-up
    assert len(limit._asked) == 1
