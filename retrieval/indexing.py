"""A corpus folder read, analyzed and indexed in chunks of files, over worker processes.

A first build of an archive reads, parses and analyzes every article, which one
interpreter does at some million words a second. The sorted files are cut into chunks;
each chunk is read and turned into compact columns by a worker process
(`analyze_files`): its passages' postings over a vocabulary of its own (saved as a
scratch file, not sent back), article fields and bodies, dated events and their terms.
The parent takes the chunks in file order, maps each chunk's vocabulary onto the build's
(first use first, as a build in one process numbers terms), streams the bodies into the
saved build, and at the end places every chunk's postings into the index's arrays. So
memory holds the index once and a few chunks, never every token or every text, and the
result is the very index that `Library.from_articles` builds in one process: the same
vocabulary, postings, articles, passages, events and timeline.

Workers are fresh interpreters (`serve`), so that nothing is inherited but what is sent
(safe whatever threads the parent runs, and never running the caller's main program
again), and each exits as soon as its parent ends, even when the parent was killed.
"""

from __future__ import annotations

import array
import contextlib
import datetime as dt
import logging
import math
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .analyzer import analyze, russian_articles
from .corpus import id_plan, load_files
from .folder import FilePrint, sorted_entries
from .ids import IdPlan
from .models import Article, Event, LoadProblem, LoadReport
from .npy import map_array
from .options import LibraryOptions
from .passages import split_passages
from .progress import BuildStep
from .semantic import article_text, embedder
from .store import COLUMNS, FolderStamps, NewBuild, event_term_parts, text_checksum
from .stories import MARKS, word_marks
from .tables import PRECISIONS, encoded_body
from .timeline import EventTerms, extract_events, timeline_order

__all__ = [
    "CHUNK_FILES",
    "HEADLINE_TERMS",
    "PARALLEL_FROM",
    "Built",
    "Passages",
    "analyze_files",
    "article_vectors",
    "build",
    "serve",
]

logger = logging.getLogger(__name__)

CHUNK_FILES = 2000
"""Files per chunk at most: a few seconds of work, some tens of megabytes in a worker."""
PARALLEL_FROM = 1000
"""Fewer files are read in this process: starting workers would cost more than it saves."""
HEADLINE_TERMS = 100
"""A headline's first terms, counted in each of its article's passages: more than any
headline has. Counting all of them, a file with a text on its first line (the headline)
as well as below it cost time and memory growing with the square of its size: 1 MB, half
of it on line 1, took 24 s and 2.4 GB to build."""


class Passages:
    """Splits articles into passages for an index build, keeping each one's article, span
    and `WordMarks` (what story folding tells copies apart by without reading them)."""

    def __init__(self, options: LibraryOptions, russian: Container[str], first_owner: int = 0) -> None:
        """`russian` holds the ids of the articles that read as Russian (`analyzer.russian_articles`)."""
        self.options = options
        self.russian = russian
        self.first_owner = first_owner
        self._spans: list[tuple[int, int]] = []
        self._owner: list[int] = []
        self._word_counts = array.array("i")
        self._marks = bytearray()

    def terms(self, articles: Sequence[Article]) -> Iterator[list[str]]:
        """Each passage's terms in turn, headline first, so no list of all of them is kept.

        The headline and each passage are read in their article's language where their own
        words tell neither Ukrainian nor Russian more."""
        options = self.options
        for number, article in enumerate(articles, start=self.first_owner):
            russian = article.id in self.russian
            headline = [] if options.plain else analyze(article.headline, russian)[:HEADLINE_TERMS]
            headline_terms = headline * options.headline_weight
            for passage in split_passages(article, options.min_chars, options.max_chars):
                self._spans.append((passage.start, passage.end))
                self._owner.append(number)
                count, bits = word_marks(passage.text)
                self._word_counts.append(count)
                self._marks += bits.to_bytes(MARKS // 8, "little")
                yield headline_terms + options.terms(passage.text, russian)

    def owner(self) -> npt.NDArray[np.int32]:
        return np.asarray(self._owner, dtype=np.int32)

    def spans(self) -> npt.NDArray[np.int64]:
        return np.asarray(self._spans, dtype=np.int64).reshape(-1, 2)

    def word_counts(self) -> npt.NDArray[np.int32]:
        """Each passage's count of distinct words (`WordMarks.size`)."""
        return np.frombuffer(self._word_counts, dtype=np.int32).copy()

    def marks(self) -> npt.NDArray[np.uint64]:
        """Each passage's marks (`WordMarks.bits`), a row of little-endian 64-bit words."""
        return np.frombuffer(self._marks, dtype="<u8").astype(np.uint64).reshape(-1, MARKS // 64)


@dataclass(frozen=True, slots=True)
class Task:
    """A chunk of files for a worker: sorted paths below `root`, and where its postings go."""

    root: Path
    paths: list[str]
    options: LibraryOptions
    scratch: Path
    number: int
    ids: IdPlan = field(default_factory=dict)
    """The corpus's ids not served as their files want them (see `ids`)."""
    taken: frozenset[str] = frozenset()
    """Article ids that earlier chunks hold: these articles are duplicates here (a file that
    changed since `ids` was planned)."""

    def postings_file(self, kind: str) -> Path:
        return self.scratch / f"{self.number}-{kind}.npy"


@dataclass(slots=True)
class Chunk:
    """What a worker hands back for a chunk of files; its postings are in the scratch files."""

    prints: dict[str, FilePrint]
    problems: list[LoadProblem]
    columns: dict[str, list[str | None]]
    dates: npt.NDArray[np.int32]
    bodies: bytes
    """The articles' bodies (UTF-8) joined, each `sizes` long, with their `checksums`."""
    sizes: npt.NDArray[np.int64]
    checksums: npt.NDArray[np.uint64]
    vectors: npt.NDArray[np.float16]
    """Each article's vector (see `article_vectors`)."""
    owner: npt.NDArray[np.int32]
    """Each passage's article, numbered within the chunk."""
    spans: npt.NDArray[np.int64]
    word_counts: npt.NDArray[np.int32]
    marks: npt.NDArray[np.uint64]
    lengths: npt.NDArray[np.int32]
    vocabulary: list[str]
    """The chunk's terms, in order of first use; postings are grouped by them, in this order."""
    doc_freqs: npt.NDArray[np.int64]
    events: dict[str, npt.NDArray[np.int32]]
    sentences: list[str]
    event_terms: list[frozenset[str]]
    """Each event's sentence's terms, which ordering the timeline compares."""
    topic_terms: EventTerms
    """Each event's terms with its headline's, which a topic question reads."""


def analyze_files(task: Task) -> Chunk:
    """Read, parse, split, analyze and index a chunk of files (in a worker process).

    Postings are sorted by the chunk's term ids, then passages; they are saved to the
    task's scratch files rather than sent back, which spares pickling most of the bytes.
    """
    loaded = load_files(task.root, [Path(path) for path in task.paths], task.taken, task.ids)
    articles = loaded.articles
    russian = russian_articles(articles)
    passages = Passages(task.options, russian)
    terms: list[str] = []
    lengths = array.array("i")
    for passage_terms in passages.terms(articles):
        terms.extend(passage_terms)
        lengths.append(len(passage_terms))
    vocabulary = list(dict.fromkeys(terms))  # in order of first use, at the speed of C
    numbers = dict(zip(vocabulary, range(len(vocabulary)), strict=True))
    token_ids = np.fromiter(map(numbers.__getitem__, terms), dtype=np.int64, count=len(terms))
    del terms, numbers
    counts = np.frombuffer(lengths, dtype=np.int32) if lengths else np.empty(0, dtype=np.int32)
    docs, freqs, doc_freqs = _postings(token_ids, counts, len(vocabulary))
    task.scratch.mkdir(exist_ok=True)
    np.save(task.postings_file("docs"), docs)
    np.save(task.postings_file("freqs"), freqs)
    bodies = [encoded_body(article) for article in articles]
    events: list[Event] = []
    owners = array.array("i")
    for number, article in enumerate(articles):
        found = extract_events(article)
        events += found
        owners.extend([number] * len(found))
    sentence_terms = [frozenset(analyze(event.sentence)) for event in events]
    return Chunk(
        prints=loaded.prints,
        problems=loaded.problems,
        columns={
            **{name: [getattr(article, name) for article in articles] for name in COLUMNS[:-1]},
            "file": list(loaded.sources),
        },
        dates=np.asarray([article.date.toordinal() for article in articles], dtype=np.int32),
        bodies=b"".join(bodies),
        sizes=np.fromiter(map(len, bodies), dtype=np.int64, count=len(bodies)),
        checksums=np.fromiter(map(text_checksum, bodies), dtype=np.uint64, count=len(bodies)),
        vectors=article_vectors(articles, task.options),
        owner=passages.owner(),
        spans=passages.spans(),
        word_counts=passages.word_counts(),
        marks=passages.marks(),
        lengths=counts.copy(),
        vocabulary=vocabulary,
        doc_freqs=doc_freqs,
        events={
            "date": np.asarray([event.date.toordinal() for event in events], dtype=np.int32),
            "precision": np.asarray([PRECISIONS.index(event.precision) for event in events], dtype=np.int32),
            "article": np.asarray(owners, dtype=np.int32),
        },
        sentences=[event.sentence for event in events],
        event_terms=sentence_terms,
        topic_terms=EventTerms.of(events, sentence_terms, russian),
    )


def article_vectors(articles: Sequence[Article], options: LibraryOptions) -> npt.NDArray[np.float16]:
    """Each article's headline-and-lead vector (see `semantic`), built with the index.

    A vector does not depend on the others embedded with it, so chunks make the very
    vectors a build in one process makes.
    """
    return embedder(options.semantic_dims).embed([article_text(article) for article in articles])


def _postings(
    token_ids: npt.NDArray[np.int64], lengths: npt.NDArray[np.int32], terms: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.integer], npt.NDArray[np.int64]]:
    """A chunk's postings: passages (ascending within each term, terms ascending), term
    frequencies in the smallest type that holds them, and each term's document frequency."""
    span = max(len(lengths), 1)
    kind = np.dtype(np.int32 if terms * span < 2**31 else np.int64)  # a sort of half the bytes, if they fit
    local = np.repeat(np.arange(len(lengths), dtype=kind), lengths)
    keys: npt.NDArray[np.int64]
    keys, counts = np.unique(token_ids.astype(kind) * span + local, return_counts=True)
    owners = keys // span
    return (
        (keys - owners * span).astype(np.int32),
        _narrowed(counts),
        np.bincount(owners, minlength=terms).astype(np.int64),
    )


def _narrowed(counts: npt.NDArray[np.integer]) -> npt.NDArray[np.integer]:
    largest = int(counts.max()) if len(counts) else 0
    kind = next(kind for kind in (np.uint8, np.uint16, np.int32) if largest <= np.iinfo(kind).max)
    return counts.astype(kind)


@dataclass(frozen=True, slots=True)
class Built:
    """A corpus read and indexed: the parts a saved build holds (bar the texts, saved on the
    way), what was read of each file, and the folders' stamps taken before reading."""

    parts: dict[str, Any]
    prints: dict[str, FilePrint]
    stamps: FolderStamps


def build(
    root: Path,
    options: LibraryOptions,
    target: NewBuild,
    workers: int | None = None,
    progress: Callable[[BuildStep], None] | None = None,
) -> Built:
    """Read and index every file below `root` into `target`, `workers` processes at a time.

    `workers=None` takes one per core the process may use, and none (this process reads
    everything) for fewer than `PARALLEL_FROM` files; 1 reads everything here too. The
    article bodies go into `target` on the way; the rest is returned to be committed.
    `progress` hears of the files listed, then of each chunk as it is merged, in this
    process, in file order (the caller tells when the build is saved).
    """
    stamps: FolderStamps = {}
    files = sorted_entries(root, stamps)
    report_step = progress or (lambda step: None)
    report_step(BuildStep("build", 0, len(files)))
    if workers is None:
        workers = _usable_cores() if len(files) >= PARALLEL_FROM else 1
    size = max(1, min(CHUNK_FILES, math.ceil(len(files) / (4 * max(workers, 1)))))
    ids = id_plan(root, files)  # before the chunks: an article's id may hang on another chunk's files
    tasks = [
        Task(root, files[start : start + size], options, target.scratch, number, ids)
        for number, start in enumerate(range(0, len(files), size))
    ]
    merged = _Merged(target, options.semantic_dims)
    started, read = time.perf_counter(), 0
    for task, chunk in _analyzed(tasks, workers):
        taken = merged.seen.intersection(chunk.columns["id"])
        if taken:  # an id an earlier chunk holds (a file changed since `ids`): read again, with it taken
            chunk = analyze_files(replace(task, taken=frozenset(taken)))
        merged.add(task, chunk)
        read += len(task.paths)
        report_step(BuildStep("build", read, len(files), merged.articles, merged.passages))
    analyzed = time.perf_counter()
    report = LoadReport(len(files), merged.articles, tuple(merged.problems))
    parts = merged.parts(report)
    where = f"over {min(workers, len(tasks))} worker processes" if workers > 1 and len(tasks) > 1 else "here"
    logger.info(
        "build: %s files (%s passages) read and analyzed in %d chunks %s: %.1f s; timeline, postings: %.1f s",
        f"{len(files):,}",
        f"{merged.passages:,}",
        len(tasks),
        where,
        analyzed - started,
        time.perf_counter() - analyzed,
    )
    return Built(parts, merged.prints, stamps)


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _analyzed(tasks: list[Task], workers: int) -> Iterator[tuple[Task, Chunk]]:
    """Each task with its chunk, in order, task i analyzed by worker i modulo their number."""
    crew: list[_Worker] = []
    done = 0
    try:
        if workers > 1 and len(tasks) > 1:
            crew = [_Worker() for _ in range(min(workers, len(tasks)))]
            for worker, task in zip(crew, tasks, strict=False):
                worker.send(task)
        for number, task in enumerate(tasks):
            if not crew:
                break
            worker = crew[number % len(crew)]
            chunk = worker.receive()
            if number + len(crew) < len(tasks):  # before this chunk is merged: no worker waits
                worker.send(tasks[number + len(crew)])
            done += 1
            yield task, chunk
    except _WorkerFailed as why:
        logger.warning("%s; reading the remaining files in this process", why)
    finally:
        for worker in crew:
            worker.stop()
    for task in tasks[done:]:
        yield task, analyze_files(task)


class _WorkerFailed(Exception):
    """A worker process died or could not be reached."""


class _Worker:
    """A worker process: tasks pickled in on its standard input, chunks out on its standard output.

    Started as `python -c` with the import path of this package, never with the calling
    program's main module (which `multiprocessing` would import again in each worker).
    Its lifeline is a pipe only this process writes to: it closes when this process ends,
    however it ends, and the worker then exits at once. It runs in a process group of its
    own, so that Ctrl-C in a terminal interrupts only this process, which stops its
    workers as it stops: no worker prints a traceback of its own.
    """

    def __init__(self) -> None:
        lifeline, self._lifeline = os.pipe()
        package_parent = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(filter(None, (package_parent, os.environ.get("PYTHONPATH"))))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-c", f"from retrieval.indexing import serve; serve({lifeline})"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=(lifeline,),
                env={**os.environ, "PYTHONPATH": path},
                process_group=0,
            )
        except BaseException:
            os.close(self._lifeline)
            raise
        finally:
            os.close(lifeline)

    def send(self, task: Task) -> None:
        assert self.process.stdin is not None
        try:
            pickle.dump(task, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
        except OSError as error:
            raise _WorkerFailed(f"worker process {self.process.pid} is gone ({error})") from None

    def receive(self) -> Chunk:
        assert self.process.stdout is not None
        try:
            kind, value = pickle.load(self.process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            code = self.process.poll()
            raise _WorkerFailed(f"worker process {self.process.pid} died ({code}, {error!r})") from None
        if kind == "raised":
            raise value
        return value  # type: ignore[no-any-return]

    def stop(self) -> None:
        """End the worker now: at the end of a build, or as a failed one stops."""
        os.close(self._lifeline)
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def serve(lifeline: int) -> None:
    """A worker's life: analyze each task read from standard input, until that closes or
    `lifeline` does (the process that started this one ended)."""
    threading.Thread(target=_exit_when_closed, args=(lifeline,), name="lifeline", daemon=True).start()
    tasks, chunks = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed may mix with the chunks
    while True:
        try:
            task = pickle.load(tasks)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("chunk", analyze_files(task))
        except Exception as error:  # handed to the parent, which decides
            answer = ("raised", error)
        try:
            pickle.dump(answer, chunks, protocol=pickle.HIGHEST_PROTOCOL)
            chunks.flush()
        except BrokenPipeError:
            return


def _exit_when_closed(descriptor: int) -> None:
    while os.read(descriptor, 1):
        pass
    os._exit(1)


@dataclass
class _Merged:
    """Chunks joined in order: the build's vocabulary, articles, passages and events."""

    target: NewBuild
    dims: int
    """The width of the article vectors."""
    seen: set[str] = field(default_factory=set)
    prints: dict[str, FilePrint] = field(default_factory=dict)
    problems: list[LoadProblem] = field(default_factory=list)
    columns: dict[str, list[str | None]] = field(default_factory=lambda: {name: [] for name in COLUMNS})
    vocabulary: dict[str, int] = field(default_factory=dict)
    articles: int = 0
    passages: int = 0
    arrays: dict[str, list[npt.NDArray[Any]]] = field(
        default_factory=lambda: {
            "article_dates": [np.empty(0, dtype=np.int32)],
            "passage_article": [np.empty(0, dtype=np.int32)],
            "passage_spans": [np.empty((0, 2), dtype=np.int64)],
            "passage_words": [np.empty(0, dtype=np.int32)],
            "passage_marks": [np.empty((0, MARKS // 64), dtype=np.uint64)],
            "doc_lengths": [np.empty(0, dtype=np.int32)],
            **{f"event_{name}": [np.empty(0, dtype=np.int32)] for name in ("date", "precision", "article")},
        }
    )
    """Columns of the build, a part from each chunk, joined at the end."""
    sentences: list[str] = field(default_factory=list)
    vectors: list[npt.NDArray[np.float16]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    """Made as chunks come, while the workers read on: the timeline needs them whole."""
    event_terms: list[frozenset[str]] = field(default_factory=list)
    topic_terms: list[EventTerms] = field(default_factory=list)
    rows: list[tuple[Task, npt.NDArray[np.int64], npt.NDArray[np.int64], int]] = field(default_factory=list)
    """Each chunk's task, global term ids, document frequencies and first passage."""

    def add(self, task: Task, chunk: Chunk) -> None:
        self.prints |= chunk.prints
        self.problems += chunk.problems
        ids = chunk.columns["id"]
        self.seen.update(ids)  # type: ignore[arg-type]
        for name, column in chunk.columns.items():
            self.columns[name] += column
        self.target.add_joined_texts(chunk.bodies, chunk.sizes, chunk.checksums)
        vocabulary = self.vocabulary
        found = list(map(vocabulary.get, chunk.vocabulary))  # at the speed of C: nearly all are known
        if None in found:
            for position, term in enumerate(chunk.vocabulary):
                if found[position] is None:
                    found[position] = vocabulary[term] = len(vocabulary)
        terms = np.asarray(found, dtype=np.int64)
        self.rows.append((task, terms, chunk.doc_freqs, self.passages))
        parts: tuple[tuple[str, npt.NDArray[Any]], ...] = (
            ("article_dates", chunk.dates),
            ("passage_article", chunk.owner + self.articles),
            ("passage_spans", chunk.spans),
            ("passage_words", chunk.word_counts),
            ("passage_marks", chunk.marks),
            ("doc_lengths", chunk.lengths),
            ("event_date", chunk.events["date"]),
            ("event_precision", chunk.events["precision"]),
            ("event_article", chunk.events["article"] + self.articles),
        )
        for name, values in parts:
            self.arrays[name].append(values)
        self.sentences += chunk.sentences
        self.vectors.append(chunk.vectors)
        self.events += _events(chunk)
        self.event_terms += chunk.event_terms
        self.topic_terms.append(chunk.topic_terms)
        self.articles += len(ids)
        self.passages += len(chunk.lengths)

    def parts(self, report: LoadReport) -> dict[str, Any]:
        """The saved build's parts, postings placed term by term from the chunks' scratch files."""
        columns = {name: np.concatenate(values) for name, values in self.arrays.items()}
        order = timeline_order(self.events, self.event_terms)
        offsets, doc_ids, term_freqs = self._postings()
        return {
            **columns,
            "offsets": offsets,
            "doc_ids": doc_ids,
            "term_freqs": term_freqs,
            "vocabulary": list(self.vocabulary),
            "article_columns": self.columns,
            "event_sentences": self.sentences,
            "timeline": np.asarray(order, dtype=np.int64),
            **event_term_parts(EventTerms.joined(self.topic_terms)),
            "report": report,
            "article_vectors": np.concatenate([np.zeros((0, self.dims), dtype=np.float16), *self.vectors]),
        }

    def _postings(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.integer]]:
        """Every chunk's postings placed in its terms' rows: a counting sort by term, in
        chunk order, so each row's passages ascend, as `BM25Index.from_token_ids` has them."""
        doc_freqs = np.zeros(len(self.vocabulary), dtype=np.int64)
        for _, terms, frequencies, _ in self.rows:
            doc_freqs[terms] += frequencies  # a term is once in a chunk's vocabulary
        offsets = np.zeros(len(doc_freqs) + 1, dtype=np.int64)
        np.cumsum(doc_freqs, out=offsets[1:])
        kinds = [map_array(task.postings_file("freqs")).dtype for task, *_ in self.rows]
        doc_ids = np.empty(int(offsets[-1]), dtype=np.int32)
        term_freqs = np.empty(int(offsets[-1]), dtype=np.result_type(np.uint8, *kinds))
        fill = offsets[:-1].copy()
        for task, terms, frequencies, first in self.rows:
            docs, freqs = map_array(task.postings_file("docs")), map_array(task.postings_file("freqs"))
            runs = np.zeros(len(frequencies), dtype=np.int64)
            np.cumsum(frequencies[:-1], out=runs[1:])
            destination = np.repeat(fill[terms] - runs, frequencies) + np.arange(len(docs))
            doc_ids[destination] = docs + first
            term_freqs[destination] = freqs
            fill[terms] += frequencies
            for kind in ("docs", "freqs"):
                task.postings_file(kind).unlink()
        return offsets, doc_ids, term_freqs


def _events(chunk: Chunk) -> Iterator[Event]:
    """The chunk's dated events as `Event`s, as `extract_events` made them in the worker."""
    ids, headlines, published = chunk.columns["id"], chunk.columns["headline"], chunk.dates.tolist()
    columns = (chunk.events[name].tolist() for name in ("date", "precision", "article"))
    for date, precision, article, sentence in zip(*columns, chunk.sentences, strict=True):
        yield Event(
            dt.date.fromordinal(date),
            PRECISIONS[precision],
            sentence,
            str(ids[article]),
            str(headlines[article]),
            dt.date.fromordinal(published[article]),
        )
