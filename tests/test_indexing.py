"""A build spread over worker processes: the very library a build in one process makes,
and workers that never outlive the process that started them."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

from retrieval import (
    BM25Params,
    BuildStep,
    CorpusError,
    Event,
    Library,
    LibraryOptions,
    analyze,
    article_is_russian,
    readings,
)
from retrieval.folder import RECENT_NS
from retrieval.indexing import HEADLINE_TERMS
from tests.conftest import ROOT, WriteCorpus, alive, article, children_of
from tests.test_library import kharkiv_news

ORACLES = {"okapi": BM25Okapi, "l": BM25L, "plus": BM25Plus}
TOPICS = ("grain exports", "port repairs", "chess olympiad", "ferry crossing", "power plant")
QUESTIONS = (
    "grain exports from the port",
    "Who won the chess olympiad?",
    "ferry crossing delayed yesterday",
    "Зерно экспорт",
    "power plant repairs",
)


def varied_corpus(write_corpus: WriteCorpus) -> Path:
    """Forty-odd files of every kind, in many chunks: words first used in different chunks,
    dated events told twice, bad files, and ids that clash within a chunk and across chunks."""
    rng = random.Random(5)
    words = [f"{a}{b}" for a in ("bal", "cor", "dun", "fel", "gor", "hin") for b in ("a", "en", "ist", "o")]
    files: dict[str, str | bytes] = {}
    for number in range(30):
        topic = TOPICS[number % len(TOPICS)]
        body = [
            " ".join(rng.choices(words, k=rng.randint(20, 90))) + f" {topic}.",
            f"On October {1 + number % 28}, officials spoke about {topic} again.",
            "Yesterday the ferry crossing was delayed by wind." if number % 7 == 0 else f"Report {number}.",
        ]
        day = f"2024-10-{1 + number % 28:02d}"  # news/00 and news/28 tell one event on one day
        files[f"news/{number:02d}.txt"] = article(day, f"{topic} {number}", *body)
    for number in range(1, 6):  # x#1.txt wants the id that x.jsonl's first record wants, chunks later
        files[f"x#{number}.txt"] = article("2024-09-01", f"Port note {number}", f"Port repairs {number}.")
    records = [(1, "Grain"), (7, "Ferry"), (7, "Ferry again")]
    files["x.jsonl"] = "\n".join(
        json.dumps({"id": key, "title": title, "date": "2024-09-02", "text": f"{title}: grain exports rose."})
        for key, title in records
    )
    files["a.md"] = "---\ntitle: Olympiad\ndate: 2024-09-23\n---\nIndia won the chess olympiad in Budapest.\n"
    files["a.txt"] = article("2024-09-24", "Olympiad again", "A second text that wants the id of a.md.")
    files["ru.txt"] = article("2024-08-01", "Зерно", "Экспорт зерна вырос на треть в октябре.")
    files["broken.txt"] = "no date line\n\nbody"
    return write_corpus(files)


def same_library(library: Library, alone: Library) -> None:
    index, expected = library.index, alone.index
    assert list(index.vocabulary) == list(expected.vocabulary)
    for name in ("offsets", "doc_ids", "term_freqs", "doc_lengths"):
        np.testing.assert_array_equal(getattr(index, name), getattr(expected, name))
    assert list(library.articles) == list(alone.articles)
    np.testing.assert_array_equal(library.article_vectors, alone.article_vectors)
    assert list(library.passages) == list(alone.passages)
    np.testing.assert_array_equal(library.passages.word_counts, alone.passages.word_counts)
    np.testing.assert_array_equal(library.passages.marks, alone.passages.marks)
    assert list(library.events) == list(alone.events)
    assert list(library.timeline.events) == list(alone.timeline.events)
    assert library.report == alone.report
    for question in QUESTIONS:
        assert library.search(question) == alone.search(question)


@pytest.mark.parametrize("variant", ["plus", "okapi", "l"])
def test_a_build_over_worker_processes_is_the_build_in_one_process(
    write_corpus: WriteCorpus, tmp_path: Path, caplog: pytest.LogCaptureFixture, variant: str
) -> None:
    caplog.set_level(logging.INFO, logger="retrieval")
    root = varied_corpus(write_corpus)
    options = LibraryOptions(bm25=BM25Params(variant=variant))  # type: ignore[arg-type]
    alone = Library.load(root, options)  # in memory, one process: `Library.from_articles`
    spread = Library.load(root, options, index_dir=tmp_path / "spread", workers=2)
    assert "in 8 chunks over 2 worker processes" in caplog.text
    here = Library.load(root, options, index_dir=tmp_path / "here", workers=1)
    assert "in 4 chunks here" in caplog.text
    # ids two files want are settled across chunks as within one: each file's article is served
    assert {"x#1", "x#1.txt", "a.md", "a.txt"} <= set(alone.articles.ids)
    assert "x.jsonl: duplicate article id 'x#7'" in map(str, alone.report.problems)  # within one file
    for library in (spread, here, Library.load(root, options, index_dir=tmp_path / "spread")):
        same_library(library, alone)

    # every score is rank-bm25's over the same passages' terms: headline, then the passage's,
    # each read in its article's language where it tells none
    owners = [spread.articles[int(owner)] for owner in spread.passage_article]
    documents = [analyze(p.text, article_is_russian(a)) for p, a in zip(spread.passages, owners, strict=True)]
    headlines = [analyze(a.headline, article_is_russian(a)) for a in owners]
    tokens = [headline + terms for headline, terms in zip(headlines, documents, strict=True)]
    params = options.bm25
    delta = {} if variant == "okapi" else {"delta": params.lower_bound}
    oracle = ORACLES[variant](tokens, k1=params.k1, b=params.b, **delta)
    for question in QUESTIONS:
        terms = analyze(question)
        ids, scores = spread.index.score(terms)
        np.testing.assert_allclose(scores, oracle.get_scores(terms)[ids], rtol=0, atol=1e-9)
        assert ids.tolist() == [i for i, passage in enumerate(tokens) if set(passage) & set(terms)]


def test_a_corpus_in_one_chunk_or_none_readable_builds_like_one_process(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    root = write_corpus({"only.txt": article("2024-01-01", "Alone", "One short article.")})
    same_library(Library.load(root, index_dir=tmp_path / "index", workers=2), Library.load(root))
    (root / "only.txt").write_text("no date line")
    with pytest.raises(CorpusError, match=r"has no readable article: only\.txt"):
        Library.load(root, index_dir=tmp_path / "fresh", workers=2)
    assert not list((tmp_path / "fresh").rglob("build-*"))  # nothing half-made left behind


def test_a_build_whose_workers_die_reads_the_remaining_files_itself(
    write_corpus: WriteCorpus, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker killed mid-build (out of memory, a stray `kill`) costs time, not the build."""
    caplog.set_level(logging.INFO, logger="retrieval")
    root = varied_corpus(write_corpus)
    killed: list[int] = []

    def kill_workers(step: BuildStep) -> None:
        if step.done and not killed:  # the first chunk is merged; the others are still out
            killed.extend(
                pid for pid, command in children_of(os.getpid()).items() if b"retrieval.indexing" in command
            )
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    library = Library.load(root, index_dir=tmp_path / "index", workers=2, progress=kill_workers)
    assert len(killed) == 2
    assert "reading the remaining files in this process" in caplog.text
    same_library(library, Library.load(root))


WORKERS_OF = """
import sys
from retrieval import Library
Library.load(sys.argv[1], index_dir=sys.argv[2], workers=2)
"""


BUILD_WITH = """
import sys
from retrieval import Library
Library.load(sys.argv[1], index_dir=sys.argv[2], workers=int(sys.argv[3]))
"""


def test_two_builds_of_one_corpus_save_the_same_bytes(write_corpus: WriteCorpus, tmp_path: Path) -> None:
    """Each process orders sets of strings by its own hash seed: what a build saves must not."""
    root = varied_corpus(write_corpus)
    hour_ago = time.time_ns() - 3600 * 10**9
    for path in root.rglob("*"):
        os.utime(path, ns=(hour_ago, hour_ago))
    newest_change = max(path.stat().st_ctime_ns for path in root.rglob("*"))
    while time.time_ns() - newest_change < RECENT_NS:  # settled: both builds trust every file's time
        time.sleep(0.05)
    builds = []
    for seed, workers in (("1", 2), ("2", 1)):
        index = tmp_path / f"index-{seed}"
        command = [sys.executable, "-c", BUILD_WITH, root, index, str(workers)]
        subprocess.run(command, env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        (place,) = index.iterdir()
        builds.append(place / (place / "current").read_text().split()[0])
    first, second = ({path.name: path.read_bytes() for path in build.iterdir()} for build in builds)
    assert "event_terms.txt" in first
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_workers_exit_when_the_build_is_killed(write_corpus: WriteCorpus, tmp_path: Path) -> None:
    """A bot that stops kills its indexing child; the child's workers must not work on."""
    filler = "Weather report number {n} with rain and wind over the harbour. " * 60
    root = write_corpus(
        {f"f{n:04d}.txt": article("2024-01-01", f"Filler {n}", filler.format(n=n)) for n in range(3000)}
    )
    build = subprocess.Popen([sys.executable, "-c", WORKERS_OF, str(root), str(tmp_path / "index")], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120  # a safety net only: the wait ends when the workers exist
        while build.poll() is None:
            children = children_of(build.pid)
            if sum(b"retrieval.indexing" in command for command in children.values()) == 2:
                break
            assert time.monotonic() < deadline, "the build never started its workers"
            time.sleep(0.05)
        assert build.poll() is None, "the build ended before it could be killed; make the corpus larger"
        os.kill(build.pid, signal.SIGKILL)
        build.wait()
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in children):
            assert time.monotonic() < deadline, "a worker outlived the build that started it"
            time.sleep(0.05)
    finally:
        build.kill()
    assert not list((tmp_path / "index").rglob("current"))  # nothing was made current


def by_testing_every_event(library: Library, topic: str) -> list[Event]:
    """A topic's events found as the first topic question once found them: every event's
    sentence and headline analyzed and tested, in timeline order."""
    wanted = {term for reading in readings(topic) for term in reading}
    russian = {article.id for article in library.articles if article_is_russian(article)}
    return [
        event
        for event in library.timeline.events
        if wanted
        & {
            *analyze(event.sentence, event.article_id in russian),
            *analyze(event.headline, event.article_id in russian),
        }
    ]


def test_a_topic_finds_what_testing_every_event_finds_built_saved_and_updated(
    write_corpus: WriteCorpus,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each event's terms are analyzed with the build, saved, and carried across an update;
    the first topic question after a start analyzes the topic alone."""
    caplog.set_level(logging.INFO, logger="retrieval")
    root = varied_corpus(write_corpus)
    cache = tmp_path / "index"
    topics = (*TOPICS, "wind officials", "Зерно", "bridge tolls", "no such words", "the")
    built = Library.load(root, index_dir=cache, workers=2)
    analyzed: list[str] = []

    def counted(text: str) -> list[str]:
        analyzed.append(text)
        return analyze(text)

    def counted_readings(
        text: str,
        names: Callable[[str, tuple[str, ...]], bool] | None = None,
        held: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, ...]]:
        analyzed.append(text)
        return readings(text, names, held)

    with monkeypatch.context() as spied:
        spied.setattr("retrieval.timeline.analyze", counted)
        spied.setattr("retrieval.timeline.readings", counted_readings)  # how a topic is read
        saved = Library.load(root, index_dir=cache)
        assert saved.build == built.build and saved.timeline.latest(3, "grain exports")
        assert analyzed == ["grain exports"]
    # news/28 retold news/00's event, which shows again; a new article brings new terms and
    # retells an event; an edited one loses its terms
    (root / "news/28.txt").unlink()
    (root / "news/01.txt").write_text(article("2024-10-02", "Quiet day", "Nothing was dated."))
    (root / "news/99.txt").write_text(
        article("2024-10-30", "Bridge tolls", "On October 2, officials spoke about port repairs again.")
    )
    caplog.clear()
    updated = Library.load(root, index_dir=cache)
    assert "corpus files changed: 3; reading only those again" in caplog.text
    fresh = Library.load(root)
    assert list(updated.timeline.events) == list(fresh.timeline.events)
    for library in (built, saved, Library.load(root, index_dir=tmp_path / "here"), updated, fresh):
        for topic in topics:
            expected = by_testing_every_event(library, topic)
            assert library.timeline.latest(1000, topic) == expected
            assert library.timeline.latest(2, topic) == expected[:2]
    assert updated.timeline.latest(1000, "bridge tolls")
    assert fresh.timeline.latest(1000, "Зерно") == updated.timeline.latest(1000, "Зерно") != []


def test_a_headline_is_read_in_its_articles_language_over_workers_and_after_an_update(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    root = kharkiv_news(write_corpus)
    cache = tmp_path / "index"
    spread = Library.load(root, index_dir=cache, workers=2)
    same_library(spread, Library.load(root))
    # `Новости Харькова` tells no language; its article is Russian
    assert "новост" in spread.index.vocabulary
    assert "новіст" not in spread.index.vocabulary
    (root / "odesa.txt").write_text(
        article("2024-06-21", "Новости Одессы", "В порту приняли больше судов, чем год назад, это рекорд.")
    )
    updated = Library.load(root, index_dir=cache)
    assert "новіст" not in updated.index.vocabulary
    assert [event.article_id for event in updated.timeline.latest(5, "новости культуры")] == [
        "odesa",
        "kharkiv",
    ]
    result = updated.search("Новости из Одессы", now=dt.date(2024, 6, 22))
    assert result.hits[0].article.id == "odesa"
    assert result.hits[0].matched == {"новост", "одесс", "~дс"}


def test_a_text_on_the_first_line_counts_in_each_passage_only_as_far_as_any_headline(
    write_corpus: WriteCorpus,
) -> None:
    # each passage held every term of its headline: an article's text on its first line as
    # well as below it made a build's time and memory grow with the square of the file's
    # size (1 MB, half of it on line 1: 24 s and 2.4 GB)
    headline = " ".join(f"word{number}x" for number in range(5_000))
    paragraphs = [f"Paragraph {number} of the minutes. " * 60 for number in range(20)]
    root = write_corpus({"first-line.txt": article("2024-03-01", headline, *paragraphs)})
    library = Library.load(root)
    body_terms = [len(analyze(passage.text)) for passage in library.passages]
    assert len(body_terms) >= 10
    lengths = np.asarray(library.index.doc_lengths).tolist()
    assert lengths == [HEADLINE_TERMS + terms for terms in body_terms]
    assert {hit.article.id for hit in library.search("word0x").hits} == {"first-line"}
