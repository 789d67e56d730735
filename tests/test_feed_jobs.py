"""How often the settles try again an indexing that keeps failing."""

from __future__ import annotations

import pytest

from bot.feed_jobs import IndexRetry


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (1, 0.0),  # the next settle, within a minute, as /add's reply promises
        (2, 120.0),
        (3, 240.0),
        (6, 1920.0),
        (7, 3600.0),  # an hour at most
        (20, 3600.0),  # however long it keeps failing
    ],
)
def test_a_failing_indexing_waits_twice_as_long_after_each_failure_up_to_an_hour(
    failures: int, wait: float
) -> None:
    retry = IndexRetry()
    waits = [retry.failed(now=1000.0) for _ in range(failures)]
    assert (waits[-1], retry.due) == (wait, 1000.0 + wait)


def test_a_success_ends_the_wait_and_the_next_failure_counts_from_one() -> None:
    retry = IndexRetry()
    for _ in range(5):
        retry.failed(now=1000.0)
    retry.succeeded()
    assert retry.due == 0.0
    assert retry.failed(now=2000.0) == 0.0
