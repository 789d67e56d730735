"""Articles, passages, their index and timeline as one value.

The bot holds exactly one `Library` and replaces it whole on reload, so a question is
always answered from a consistent corpus, never from half of an old one and half of a
new one.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import indexing, shelf, store
from .analyzer import analyze, russian_articles
from .corpus import DUPLICATE_ID, load_files
from .errors import CorpusError, IndexFileError, MissingCorpusError, NoArticleError
from .folder import CorpusFolder, corpus_files, relative_path
from .ids import plan_ids, wanted_id
from .index import BM25Index, Ranking, top_k
from .models import Article, Event, Hit, LoadProblem, LoadReport, SearchResult
from .options import LibraryOptions
from .progress import BuildStep
from .query import most_selective, recent_cue, topical, topical_terms
from .reasons import Reason
from .rerank import EVENT_KEY, CorpusSignals, QueryTerms, rerank
from .semantic import embedder, question_text
from .stories import fold_same_story, same_story_by
from .tables import PRECISIONS, ArticleTable, EventTable, PassageTable, encoded_body
from .timeline import EventTerms, Timeline, extract_events, order_as_of

__all__ = ["Library"]

logger = logging.getLogger(__name__)
DEFAULT_PER_ARTICLE = 2
OPEN_TRIES = 3
"""Opens of the saved index by `open_current`, while each finds its build removed by a newer
save: each try past the first means a whole save ended meanwhile, which takes far longer."""


@dataclass(frozen=True, slots=True)
class Library:
    """A searchable corpus: build it with `Library.load` or `Library.from_articles`."""

    articles: ArticleTable
    passages: PassageTable
    index: BM25Index
    report: LoadReport
    events: Sequence[Event]
    """Every dated event of every article, duplicates included: what the timeline is made of."""
    timeline: Timeline
    passage_recency: npt.NDArray[np.int32]
    """For each passage, its article's date as an ordinal: ties go to newer news."""
    options: LibraryOptions
    article_vectors: npt.NDArray[np.float16]
    """One unit vector per article, of its headline and lead (see `semantic`)."""
    _derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Arrays made on first use from the others (the timeline's events by article), and the
    timeline as of the last day before its newest article's that was asked (`timeline_as_of`)."""
    build: str | None = None
    """The saved build this library was opened from or saved as (see `is_current`)."""
    saved_in: Path | None = None
    """The folder of its corpus's saved index, which holds that build (see `shelf`)."""
    read_folders: store.FolderRecord | None = None
    """Of a library built or updated in memory because its save failed: its corpus folders as
    that read found them, which `folders_unchanged` compares with in place of a saved record."""

    @property
    def passage_article(self) -> npt.NDArray[np.int32]:
        """For each passage, the position of its article in `articles`."""
        return self.passages.owner

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike[str],
        options: LibraryOptions | None = None,
        index_dir: str | os.PathLike[str] | None = None,
        check_texts: bool = False,
        workers: int | None = None,
        progress: Callable[[BuildStep], None] | None = None,
        waiting: Callable[[str], None] | None = None,
        allow_empty: bool = False,
    ) -> Library:
        """Read and index a corpus folder; raise `CorpusError` if nothing can serve.

        Bad files do not raise: they are listed in `report.problems`. A folder of which not
        one article loads (empty, or bad files alone) raises `NoArticleError`, and a saved
        index of articles is never replaced by one of none; with `allow_empty` it makes (and
        saves) a library of no article instead, as a bot that fills its corpus from feeds
        starts with, and whose reloads must then go on from nothing. With `index_dir`,
        the saved index of the corpus folder (each folder has its own place there, see
        `shelf`) is opened, after checking it, instead of rebuilt, if the corpus is
        unchanged; if some files changed, only those are read and analyzed again; a saved
        index that fails a check is rebuilt. A new build is saved there for the next
        start, with the print of the very bytes it read of each file: a file edited while
        it was read is then seen as changed next time. It reads and analyzes the files in
        `workers` processes (default: one per core for a corpus of `indexing.PARALLEL_FROM`
        files or more) and streams what it made to disk, so memory holds the index once,
        not every text. `check_texts` checks every saved article text now rather than each
        one when it is read (the indexer does, off the serving path). `progress` hears
        how far a build or an update is (see `progress`); an index opened as saved is
        neither. `waiting` is told the process id of another process holding the saved
        index ("" if unknown) before this one waits for it (see `shelf.exclusive`).
        """
        root = Path(folder)
        options = options or LibraryOptions()
        report = progress or _no_progress
        if not root.is_dir():
            raise MissingCorpusError(Reason.of("no_corpus_folder", folder=repr(str(root))))
        if index_dir is None:
            return cls._build(root, options, report, allow_empty)[0]
        cache = _place(Path(index_dir), root, options)
        with shelf.exclusive(cache, waiting=waiting):  # another process's build of it, done first, is opened
            shelf.in_use(cache)
            opened = cls._open_saved(cache, root, options, check_texts)
            saved_print = cls._saved_print(opened)
            if opened is None or saved_print is None:
                return cls._build_saved(root, options, cache, workers, report, allow_empty)
            library, saved = opened
            stamps: store.FolderStamps = {}
            known = saved_print | store.recorded_prints(cache, saved.build)  # touched files as last found
            now = store.fingerprint(root, known, stamps)
            changed = store.changed_files(known, now)
            if not changed:
                store.record_unchanged(cache, saved.build, stamps, now, saved_print)
                if not allow_empty and not len(library.articles):  # saved so by a bot that allowed it
                    raise _nothing_readable(root, library.report)
                return library
            logger.info("corpus files changed: %d; reading only those again", len(changed))
            report(BuildStep("update", 0, len(changed)))
            library, read = library.updated(root, changed, files=len(now), allow_empty=allow_empty)
            done = BuildStep(
                "update",
                len(changed),
                len(changed),
                len(library.articles),
                len(library.passages),
                finished=True,
            )
            corpus_print = {name: now[name] for name in now.keys() - changed} | read
            try:
                # An update still reads the kept articles through the previous library; the saved
                # copy stands alone, so reloads never chain to older ones.
                saved = store.save(
                    cache, root, corpus_print, stamps, options.record(), library._parts(), library._bodies()
                )
            except IndexFileError:  # a kept article's saved text is damaged and its file changed since
                return cls._build_saved(root, options, cache, workers, report, allow_empty)
            except OSError as error:
                logger.warning("could not save the index in %s: %s", cache, error)
                report(done)
                return replace(library, read_folders=store.FolderRecord.of(stamps, corpus_print))
            report(done)
            return cls._from_saved(saved, options, root, cache)

    @classmethod
    def open_current(
        cls,
        folder: str | os.PathLike[str],
        index_dir: str | os.PathLike[str],
        options: LibraryOptions | None = None,
        check: Literal["files", "folders"] = "files",
    ) -> Library | None:
        """The saved library of `folder` if the corpus is as it was saved; never builds.

        `check="files"` compares every file's size and time (and content, where the time
        changed) with what was read: any change is seen. `check="folders"` looks only at
        the corpus folders when the last check recorded them (`store.looks_unchanged`):
        a file added, removed or renamed is seen, a file edited in place is not, so the
        caller must run the full check later (as the bot does in the background). Without
        a record of the folders it checks every file; it records its check only while no
        other process holds the place (`shelf.exclusive`), never waiting for one, and only
        while its build is the current one: a newer build's record is kept. Raises
        `CorpusError` when `index_dir` lies inside the corpus folder, as `load` does.

        Taking no turns, it may find the build the pointer named removed as it opens it: a
        save removes the build before its own. A build gone is no damage when the pointer
        has moved on, so the build named then is opened instead (`OPEN_TRIES` in all).
        """
        root, options = Path(folder), options or LibraryOptions()
        cache = _place(Path(index_dir), root, options)
        tries = 1
        while True:
            named = store.current_build(cache)
            try:
                return cls._current(cache, root, options, check)
            except IndexFileError as why:
                if tries == OPEN_TRIES or store.current_build(cache) == named:
                    logger.warning("saved index not used, building it again: %s", why)
                    return None
            logger.info("saved index in %s was saved again as it was opened; opening the new build", cache)
            tries += 1

    @classmethod
    def _current(
        cls, cache: Path, root: Path, options: LibraryOptions, check: Literal["files", "folders"]
    ) -> Library | None:
        """`open_current` of the build the pointer names now; `IndexFileError` if it fails a check."""
        opened = cls._opened(cache, root, options)
        if opened is None:
            return None
        library, saved = opened
        if check == "folders" and store.looks_unchanged(cache, root, saved.build):
            return library
        saved_print = saved.fingerprint()
        stamps: store.FolderStamps = {}
        known = saved_print | store.recorded_prints(cache, saved.build)
        now = store.fingerprint(root, known, stamps)
        if store.changed_files(known, now):
            return None
        # in turn, or not at all: two records written at once take each other's temporary; and
        # only of the current build: one saved since this open recorded its own check, kept
        with shelf.exclusive(cache, wait=False) as held:
            if held and store.current_build(cache) == saved.build:
                store.record_unchanged(cache, saved.build, stamps, now, saved_print)
        return library

    def folders_unchanged(self, folder: str | os.PathLike[str]) -> bool | None:
        """Whether a look at the folders of `folder` finds it as this library was saved from, or
        read from if its save failed (`read_folders`): no file added, removed or renamed below
        it since (`store.looks_unchanged`; a file edited in place is not seen). A stat of each
        folder, so that it can be asked every minute; None for a library read with nowhere to
        save it (`load` without `index_dir`, `from_articles`), which has no record of them."""
        if self.saved_in is not None and self.build is not None:
            return store.looks_unchanged(self.saved_in, Path(folder), self.build)
        if self.read_folders is not None:
            return self.read_folders.unchanged(Path(folder))
        return None

    def is_current(self) -> bool:
        """Whether its corpus's saved index is this library's build still: false once another was saved."""
        return self.saved_in is not None and store.current_build(self.saved_in) == self.build

    @classmethod
    def _open_saved(
        cls, cache: Path, root: Path, options: LibraryOptions, check_texts: bool = False
    ) -> tuple[Library, store.Saved] | None:
        """The saved library and what was saved of it, if it passes its checks (see `store`)."""
        try:
            return cls._opened(cache, root, options, check_texts)
        except IndexFileError as why:
            logger.warning("saved index not used, building it again: %s", why)
            return None

    @classmethod
    def _opened(
        cls, cache: Path, root: Path, options: LibraryOptions, check_texts: bool = False
    ) -> tuple[Library, store.Saved] | None:
        """As `_open_saved`, raising `IndexFileError` for a saved index that fails its checks."""
        saved = store.load_saved(cache, root, options.record(), check_texts)
        if saved is None:
            logger.info("no saved index in %s yet", cache)
            return None
        return cls._from_saved(saved, options, root, cache), saved

    @staticmethod
    def _saved_print(opened: tuple[Library, store.Saved] | None) -> store.Fingerprint | None:
        """The fingerprint an opened library was built from, or None if it is damaged (logged)."""
        if opened is None:
            return None
        try:
            return opened[1].fingerprint()
        except IndexFileError as why:
            logger.warning("saved index not used, building it again: %s", why)
            return None

    @classmethod
    def _build_saved(
        cls,
        root: Path,
        options: LibraryOptions,
        cache: Path,
        workers: int | None,
        report: Callable[[BuildStep], None],
        allow_empty: bool = False,
    ) -> Library:
        """A library of every file below `root`, saved in `cache` as it is built (see `indexing`);
        one of no article only if `allow_empty`.

        Then the saved indexes of corpus folders that are gone are removed (`shelf.prune`).
        """
        started = time.perf_counter()
        try:
            shelf.claim(cache, root)
            with store.NewBuild(cache) as target:
                built = indexing.build(root, options, target, workers, report)
                if not allow_empty and not built.parts["article_columns"]["id"]:
                    raise _nothing_readable(root, built.parts["report"])
                indexed = time.perf_counter()
                saved = target.commit(root, built.prints, built.stamps, options.record(), built.parts)
        except OSError as error:
            logger.warning("could not save the index in %s: %s; building it in memory", cache, error)
            stamps: store.FolderStamps = {}
            library, corpus_print = cls._build(root, options, report, allow_empty, stamps)
            return replace(library, read_folders=store.FolderRecord.of(stamps, corpus_print))
        logger.info(
            "build: listed, read and indexed in %.1f s; saved in %.1f s",
            indexed - started,
            time.perf_counter() - indexed,
        )
        for corpus in shelf.prune(cache.parent, keep=cache):
            logger.info("removed the saved index of %s: that folder no longer exists", corpus)
        library = cls._from_saved(saved, options, root, cache)
        files = library.report.files
        report(BuildStep("build", files, files, len(library.articles), len(library.passages), finished=True))
        return library

    @classmethod
    def _build(
        cls,
        root: Path,
        options: LibraryOptions,
        report: Callable[[BuildStep], None],
        allow_empty: bool = False,
        stamps: store.FolderStamps | None = None,
    ) -> tuple[Library, store.Fingerprint]:
        """A library of every file below `root` (of no article only if `allow_empty`), and the
        print of what was read of each; `stamps` receives the stamp of each folder listed."""
        files = corpus_files(root, stamps)
        report(BuildStep("build", 0, len(files)))
        loaded = load_files(root, files)
        loaded = loaded.settled(plan_ids(loaded.wanted()))
        load_report = LoadReport(len(files), len(loaded.articles), tuple(loaded.problems))
        if not loaded.articles and not allow_empty:
            raise _nothing_readable(root, load_report)
        library = cls.from_articles(loaded.articles, load_report, options, loaded.sources)
        count = len(files)
        report(BuildStep("build", count, count, len(library.articles), len(library.passages), finished=True))
        return library, loaded.prints

    @classmethod
    def from_articles(
        cls,
        articles: Sequence[Article],
        report: LoadReport | None = None,
        options: LibraryOptions | None = None,
        files: Sequence[str] | None = None,
    ) -> Library:
        """Index articles already in memory (the pure half of `load`).

        `files` names each article's corpus file, which lets a later reload tell which
        articles a changed file holds.
        """
        options = options or LibraryOptions()
        russian = russian_articles(articles)
        passages = indexing.Passages(options, russian)
        index = BM25Index.build(passages.terms(articles), options.bm25)
        events = [event for article in articles for event in extract_events(article)]
        return cls._assemble(
            ArticleTable.in_memory(articles, files or [a.id for a in articles]),
            passages.owner(),
            passages.spans(),
            passages.word_counts(),
            passages.marks(),
            index,
            report or LoadReport(files=0, articles=len(articles)),
            events,
            Timeline.from_events(events, russian),
            options,
            indexing.article_vectors(articles, options),
        )

    def updated(
        self, root: Path, changed: Collection[str], files: int, allow_empty: bool = False
    ) -> tuple[Library, store.Fingerprint]:
        """This library after the corpus files `changed` (paths relative to `root`) changed,
        and the print of what was read of each of them; `NoArticleError` if it would hold no
        article, unless `allow_empty`.

        Articles of unchanged files keep their passages, postings and events; only the
        changed files are read and analyzed again. Searches answer with the same scores
        as a library built from scratch; passages are numbered differently.
        """
        duplicates = {p.path for p in self.report.problems if p.kind == DUPLICATE_ID}
        changed = {*changed, *duplicates}  # the id a duplicate wanted may be free now
        # Found by listing, not by joining names: a name that is not UTF-8 is saved escaped.
        paths = {name: path for name, _, path in CorpusFolder(root).listing()}
        ids = self.articles.ids
        wanted = [(file, wanted_id(id_, file)) for file, id_ in zip(self.articles.files, ids, strict=True)]
        while True:
            loaded = load_files(root, sorted(Path(paths[name]) for name in changed if name in paths))
            staying = [number for number, (file, _) in enumerate(wanted) if file not in changed]
            plan = plan_ids([*(wanted[number] for number in staying), *loaded.wanted()])
            # An id settled otherwise now (`a` of a.txt once a.md came, or back once it went) is
            # a kept article's whose file is read again with the others, as a new build would.
            moved = {wanted[n][0] for n in staying if plan.get(wanted[n], wanted[n][1]) != ids[n]}
            if not moved:
                break
            changed |= moved
        loaded = loaded.settled(plan, (ids[number] for number in staying))
        problems = [p for p in self.report.problems if p.path not in changed]
        keep = np.fromiter((file not in changed for file in self.articles.files), bool, len(self.articles))
        kept = np.flatnonzero(keep)
        kept_ids = [self.articles.ids[number] for number in kept.tolist()]
        added, sources, new_problems = loaded.articles, loaded.sources, loaded.problems
        if not len(kept) and not added and not allow_empty:
            every = tuple(sorted(problems + new_problems, key=_by_path))
            raise _nothing_readable(root, LoadReport(files, 0, every))
        articles = ArticleTable.joined(self.articles, kept, added, sources)
        russian = russian_articles(added)
        passages = indexing.Passages(self.options, russian, first_owner=len(kept))
        kept_passages = keep[self.passages.owner]
        index = self.index.updated(kept_passages, passages.terms(added))
        renumber = np.cumsum(keep, dtype=np.int64) - 1
        still_there = set(kept_ids)
        old_events = list(self.events)
        keep_event = np.fromiter((e.article_id in still_there for e in old_events), bool, len(old_events))
        added_events = [event for article in added for event in extract_events(article)]
        # analyzed once, for the topics' lists of events and for settling their dates
        added_terms = [frozenset(analyze(event.sentence)) for event in added_events]
        events = [old_events[number] for number in np.flatnonzero(keep_event).tolist()] + added_events
        # the timeline is settled again only on the dates whose events came or went
        changed_dates = {(e.date, e.precision) for e in added_events} | {
            (old_events[number].date, old_events[number].precision)
            for number in np.flatnonzero(~keep_event).tolist()
        }
        shown = np.asarray(self.timeline.positions, dtype=np.int64)
        previous = (np.cumsum(keep_event, dtype=np.int64) - 1)[shown[keep_event[shown]]]
        terms = EventTerms.joined(
            [self.timeline.terms.kept(keep_event), EventTerms.of(added_events, added_terms, russian)]
        )
        sentences = [None] * (len(events) - len(added_events)) + added_terms
        return self._assemble(
            articles,
            np.r_[renumber[self.passages.owner[kept_passages]], passages.owner()].astype(np.int32),
            np.r_[self.passages.spans[kept_passages], passages.spans()].astype(np.int64).reshape(-1, 2),
            np.r_[self.passages.word_counts[kept_passages], passages.word_counts()].astype(np.int32),
            np.concatenate((self.passages.marks[kept_passages], passages.marks()), dtype=np.uint64),
            index,
            LoadReport(files, len(articles), (*sorted(problems + new_problems, key=_by_path),)),
            events,
            Timeline.updated(events, previous.tolist(), changed_dates, terms, sentences),
            self.options,
            np.concatenate(
                (self.article_vectors[kept], indexing.article_vectors(added, self.options)), dtype=np.float16
            ),
        ), loaded.prints

    @classmethod
    def _from_saved(cls, saved: store.Saved, options: LibraryOptions, root: Path, cache: Path) -> Library:
        parts = saved.parts
        index = BM25Index(
            options.bm25,
            {term: number for number, term in enumerate(parts["vocabulary"])},
            parts["offsets"],
            parts["doc_ids"],
            parts["term_freqs"],
            parts["doc_lengths"],
        )
        columns = parts["article_columns"]
        articles = ArticleTable(columns, parts["article_dates"], _SavedBodies(parts["texts"], root, columns))
        events = EventTable(
            articles,
            {name: parts[f"event_{name}"] for name in ("date", "precision", "article")},
            parts["event_sentences"],
        )
        order = parts["timeline"].tolist()
        terms = EventTerms(
            parts["event_term_vocabulary"],
            parts["event_term_offsets"],
            parts["event_term_numbers"],
            len(events),
        )
        return cls._assemble(
            articles,
            parts["passage_article"],
            parts["passage_spans"],
            parts["passage_words"],
            parts["passage_marks"],
            index,
            parts["report"],
            events,
            Timeline(events.select(order), order, terms),
            options,
            parts["article_vectors"],
            build=saved.build,
            saved_in=cache,
        )

    @classmethod
    def _assemble(
        cls,
        articles: ArticleTable,
        owner: npt.NDArray[np.int32],
        spans: npt.NDArray[np.int64],
        word_counts: npt.NDArray[np.int32],
        marks: npt.NDArray[np.uint64],
        index: BM25Index,
        report: LoadReport,
        events: Sequence[Event],
        timeline: Timeline,
        options: LibraryOptions,
        article_vectors: npt.NDArray[np.float16],
        build: str | None = None,
        saved_in: Path | None = None,
    ) -> Library:
        return cls(
            articles=articles,
            passages=PassageTable(articles, owner, spans, word_counts, marks),
            index=index,
            report=report,
            events=events,
            timeline=timeline,
            passage_recency=articles.ordinals[owner],
            options=options,
            article_vectors=article_vectors,
            build=build,
            saved_in=saved_in,
        )

    def _parts(self) -> dict[str, Any]:
        """What a saved build holds, but the article texts (see `_bodies`)."""
        events = self.events
        if not (isinstance(events, EventTable) and events.rows is None and events.articles is self.articles):
            events = EventTable.of(self.events, self.articles)
        return {
            **store.index_parts(self.index),
            "passage_article": self.passages.owner,
            "passage_spans": self.passages.spans,
            "passage_words": self.passages.word_counts,
            "passage_marks": self.passages.marks,
            "article_columns": self.articles.columns,
            "article_dates": self.articles.ordinals,
            **{f"event_{name}": column for name, column in events.columns.items()},
            "event_sentences": events.sentences,
            "timeline": np.asarray(self.timeline.positions, dtype=np.int64),
            **store.event_term_parts(self.timeline.terms),
            "report": self.report,
            "article_vectors": self.article_vectors,
        }

    def _bodies(self) -> Iterator[bytes]:
        """Each article's body, one at a time, so that a save never holds them all."""
        return (self.articles.body(number) for number in range(len(self.articles)))

    def search(
        self,
        question: str,
        k: int = 5,
        per_article: int | None = DEFAULT_PER_ARTICLE,
        now: dt.date | None = None,
        published_by: dt.date | None = None,
    ) -> SearchResult:
        """Rank passages for a question; an unanswerable question gets a reason, not an error.

        Only passages sharing at least one term with the question are returned; equal
        scores go to the newer article; at most `per_article` passages of one article;
        near-identical passages of several articles are one story, shown once. With
        `now`, the question is answered as if asked that day: no article dated after it.
        Without it, `published_by` leaves out the articles dated later (a year mistyped) but
        asks at no particular day: no recency prior, and "last year" counts from the newest
        article published by then. Unless `options.lexical_only`, the best lexical
        candidates are then re-scored by meaning, the period the question names and recency
        (`rerank`).
        """
        terms = self.query_terms(question)
        if not terms:
            return SearchResult((), terms, "the question has no searchable words, only stop words or symbols")
        owner = self.passages.owner
        by = now or published_by
        until = None if by is None else by.toordinal()
        if self.options.reranked:
            # the best lexical candidates as of `now`, re-scored; then 2k of them, capped per article
            limit = max(self.options.rerank.candidates, 4 * k)
            doc_ids, scores = self.index.top(terms, limit, Ranking(self.passage_recency, until=until))
            if not len(doc_ids):
                return SearchResult((), terms, self._why_none(terms, by))
            doc_ids, scores = self._rerank(question, terms, doc_ids, scores, now, 4 * k, published_by)
            chosen = top_k(doc_ids, scores, 2 * k, owner, self.passage_recency, per_article)
            picked, scores = doc_ids[chosen], scores[chosen]
        else:
            ranking = Ranking(self.passage_recency, until=until, groups=owner, per_group=per_article)
            if now is not None and self._wants_recent(question):
                ranking = replace(ranking, decay=(self.options.recency_weight, self.options.recency_days))
            # 2k candidates, so that folding copies of one story still leaves k
            picked, scores = self.index.top(terms, 2 * k, ranking)
            if not len(picked):
                return SearchResult((), terms, self._why_none(terms, by))
        distinct = sorted(set(terms))
        holding = self.index.holding(distinct, picked)
        hits = self._hits(picked, scores, distinct, holding)
        same_story = None
        if self.options.reranked and self.options.rerank.fold_stories:
            rows = owner[picked]
            vectors = np.asarray(self.article_vectors[rows], dtype=np.float32)
            ids = [self.articles.ids[row] for row in rows.tolist()]
            same_story = same_story_by(dict(zip(ids, vectors, strict=True)))
        # each shown passage's saved word marks, so that folding reads only passages that may be copies
        marks = {
            (self.articles.ids[row], position): found
            for row, position, found in zip(
                owner[picked].tolist(),
                self.passages.positions[picked].tolist(),
                self.passages.word_marks(picked),
                strict=True,
            )
        }
        folded = fold_same_story(
            hits,
            k,
            same_story=same_story,
            marks=lambda hit: marks.get((hit.passage.article_id, hit.passage.position)),
        )
        return SearchResult(tuple(folded), terms)

    def _why_none(self, terms: tuple[str, ...], now: dt.date | None) -> str:
        """Why no passage was found; asked as of a day, passages of later articles may hold its words,
        and "none contains them" would send the asker to rephrase a question that is fine."""
        if now is not None and len(self.index.top(terms, 1, Ranking(self.passage_recency))[0]):
            return f"no article dated {now.isoformat()} or earlier contains any of its words"
        return "no passage contains any of its words"

    def _hits(
        self,
        picked: npt.NDArray[np.int32],
        scores: npt.NDArray[np.float64],
        terms: Sequence[str],
        holding: npt.NDArray[np.bool_],
    ) -> Iterator[Hit]:
        """The picked passages as hits, made as folding asks for them: it stops at k stories.

        An article is made (its body read, checked, decoded and split) once, for all its hits.
        """
        passages = self.passages
        made: dict[int, tuple[Article, str]] = {}
        columns = (picked.tolist(), passages.owner[picked].tolist(), scores.tolist(), holding.tolist())
        for doc, number, score, row in zip(*columns, strict=True):
            try:
                if number not in made:
                    made[number] = self.articles.with_text(number)
                article, text = made[number]
                passage = passages.in_article(doc, article, text)
            except IndexFileError:  # its saved text is damaged and its file changed since: not shown
                continue
            yield Hit(passage, article, score, frozenset(itertools.compress(terms, row)))

    def query_terms(self, question: str) -> tuple[str, ...]:
        """The terms a question is scored on: analyzed, then bounded to the most selective."""
        terms = (
            self.options.terms(question)
            if self.options.plain
            else topical_terms(question, self.holds_name, self.holds_term)
        )
        return most_selective(terms, self.index.doc_freq, self.options.max_terms)

    def holds_term(self, term: str) -> bool:
        """Whether a passage holds `term`: a question asks for a word's other language's
        cognate where one does (`analyzer.question_spans`)."""
        return self.index.doc_freq(term) > 0

    def holds_name(self, key: str, spellings: Sequence[str]) -> bool:
        """Whether a passage holds a name's `key` with one of `spellings`, its terms as a name:
        the corpus names it (`Вінниці`: `вінниц`, `~внк`), where a question typed it in lower
        case as a common word's form (`виннице`, of a wine cellar; `analyzer.question_spans`)."""
        index = self.index
        if not index.doc_freq(key):
            return False
        return any(
            index.doc_freq(spelling) and index.contains(key, index.postings(spelling)[0]).any()
            for spelling in spellings
        )

    def _rerank(
        self,
        question: str,
        terms: Sequence[str],
        doc_ids: npt.NDArray[np.int32],
        scores: npt.NDArray[np.float64],
        now: dt.date | None,
        keep: int,
        published_by: dt.date | None = None,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """The second stage (`rerank`): meaning, the period the question names, recency."""
        anchor = None if now is not None or published_by is None else self._newest_by(published_by)
        return rerank(
            question,
            doc_ids,
            scores,
            self.rerank_signals(),
            self.options.rerank,
            now,
            lambda: self.question_vector(question),
            keep,
            self.query_postings(terms),
            anchor,
        )

    def _newest_by(self, day: dt.date) -> dt.date | None:
        """The newest article's date on or before `day`; None if every article is later."""
        dates = self._derived.get("sorted_dates")
        if dates is None:  # made once: a search is not to sort 250,000 dates
            dates = self._derived["sorted_dates"] = np.sort(self.articles.ordinals)
        place = int(np.searchsorted(dates, day.toordinal(), side="right"))
        return dt.date.fromordinal(int(dates[place - 1])) if place else None

    def question_vector(self, question: str) -> npt.NDArray[np.float32]:
        """The question's vector, as the second stage compares it with the articles': of its
        topical words (`topical`), and of a pasted text's start alone (`question_text`)."""
        return embedder(self.article_vectors.shape[1]).embed_one(question_text(topical(question)))

    def query_postings(self, terms: Sequence[str]) -> QueryTerms:
        """Where the index holds the postings of each distinct term it knows, and their idf:
        what article coverage (`rerank`) searches."""
        vocabulary, index = self.index.vocabulary, self.index
        rows = np.asarray([vocabulary[t] for t in sorted(set(terms)) if t in vocabulary], dtype=np.int64)
        return QueryTerms(index.doc_ids, index.offsets, rows, np.asarray(index.idf[rows], dtype=np.float64))

    def rerank_signals(self) -> CorpusSignals:
        """What the second stage reads of this corpus (`rerank`), its arrays made on first use."""
        return CorpusSignals(
            self.passages.owner,
            self.articles.ordinals,
            self.article_vectors,
            self._event_keys,
            self._article_bounds,
        )

    def _event_keys(self) -> npt.NDArray[np.int64]:
        """Each timeline event as (article, date) in one sorted int64, made once."""
        keys = self._derived.get("event_keys")
        if keys is None:
            columns = self._event_columns()
            keys = np.sort(columns["article"].astype(np.int64) * EVENT_KEY + columns["date"])
            self._derived["event_keys"] = keys
        return np.asarray(keys)

    def _event_columns(self) -> dict[str, npt.NDArray[np.int32]]:
        """Every event's date, precision and article position (`EventTable`), as saved or made now."""
        return self._event_table().columns

    def _event_table(self) -> EventTable:
        """Every event as columns (`EventTable`), as saved or made now."""
        events = self.events
        if not (isinstance(events, EventTable) and events.rows is None and events.articles is self.articles):
            events = EventTable.of(self.events, self.articles)
        return events

    def timeline_as_of(self, now: dt.date) -> Timeline:
        """The timeline of the articles published by `now`, as a reader that day sees it.

        `timeline` is settled for the newest articles: an event that an article published
        after `now` retells is shown there from that article alone. The dates such articles
        tell are settled again here (`timeline.order_as_of`), so that the event is shown
        from the newest article published by `now`. Most days no article is dated later, and
        this is `timeline` itself; else the last day asked is kept.
        """
        ordinals = self.articles.ordinals
        if not len(ordinals) or int(ordinals.max()) <= now.toordinal():
            return self.timeline
        asked = self._derived.get("timeline_as_of")
        if asked is not None and asked[0] == now:
            known: Timeline = asked[1]
            return known
        table = self._event_table()
        columns = table.columns
        late = ordinals[columns["article"]] > now.toordinal()
        dates = columns["date"].astype(np.int64) * len(PRECISIONS) + columns["precision"]
        shown = np.asarray(self.timeline.positions, dtype=np.int64)
        told = np.zeros(len(late), dtype=bool)
        told[shown] = True
        # The dates, with their precision, on which a later article tells an event shown: one
        # whose events a later article only retold (hidden already) keeps what was settled.
        touched = np.isin(dates, dates[late & told])
        kept = shown[~touched[shown]]
        order = order_as_of(table, kept, np.flatnonzero(touched & ~late), now)
        events = self.events
        chosen = events.select(order) if isinstance(events, EventTable) and events.rows is None else None
        timeline = Timeline(
            chosen if chosen is not None else [events[n] for n in order], order, self.timeline.terms
        )
        self._derived["timeline_as_of"] = (now, timeline)
        return timeline

    def _article_bounds(self) -> npt.NDArray[np.int64]:
        """Where each article's run of passages starts, and where the last one ends; made once.

        Passages are numbered article by article, in every build and update.
        """
        bounds = self._derived.get("article_bounds")
        if bounds is None:
            bounds = np.searchsorted(self.passages.owner, np.arange(len(self.articles) + 1)).astype(np.int64)
            self._derived["article_bounds"] = bounds
        return np.asarray(bounds)

    def _wants_recent(self, question: str) -> bool:
        mode = "off" if self.options.plain else self.options.recency
        return mode == "always" or (mode == "cues" and recent_cue(question))

    def latest(self, count: int, now: dt.date | None = None) -> list[Article]:
        """The newest `count` articles, newest first (ties by id, for a stable order).

        With `now`, as of that day, like `search`: no article dated after it.
        """
        ordinals, ids = self.articles.ordinals, self.articles.ids
        known = np.flatnonzero(ordinals <= now.toordinal()) if now is not None else np.arange(len(ordinals))
        if count <= 0 or not len(known):
            return []
        dated = ordinals[known]
        newest = np.sort(dated)[-min(count, len(dated))]
        candidates = known[dated >= newest].tolist()
        chosen = sorted(candidates, key=lambda number: (-int(ordinals[number]), ids[number]))
        return list(itertools.islice(self._readable(chosen), count))

    def _readable(self, numbers: Iterable[int]) -> Iterator[Article]:
        """The articles at `numbers`, less any whose saved text is damaged beyond repair."""
        for number in numbers:
            try:
                yield self.articles[number]
            except IndexFileError:  # logged where it was found
                continue

    @property
    def vocabulary_size(self) -> int:
        """How many distinct terms the index holds."""
        return len(self.index.vocabulary)


class _SavedBodies:
    """Article bodies from a saved index; a damaged one is read again from its corpus file.

    `SavedTexts` refuses a body that does not match its checksum. The corpus file it came
    from still holds it while the file is unchanged, which the checksum tells: the
    answer is then the same as before the damage. The first damage found is logged
    once and marks the saved index, so the next start or /reload rebuilds it.
    """

    def __init__(self, texts: store.SavedTexts, root: Path, columns: dict[str, list[str | None]]) -> None:
        self.texts = texts
        self.root = root
        self.ids, self.files = columns["id"], columns["file"]
        self.damaged = False

    def __call__(self, number: int) -> bytes:
        try:
            return self.texts(number)
        except IndexFileError as damage:
            if not self.damaged:
                self.damaged = True
                self.texts.mark_damaged(str(damage))
                logger.warning(
                    "saved index damaged: %s; reading its articles from the corpus files instead "
                    "until the next start or /reload rebuilds it",
                    damage,
                )
            body = self._from_corpus(number)
            if body is None:
                raise IndexFileError(f"{damage}, and {self.files[number]} has changed since") from None
            return body

    def _from_corpus(self, number: int) -> bytes | None:
        """Article `number`'s body read again from its file, if that still holds what was indexed."""
        path = self.root / relative_path(str(self.files[number]))  # files are named as shown
        wanted = wanted_id(str(self.ids[number]), str(self.files[number]))
        for article in load_files(self.root, [path] if path.is_file() else []).articles:
            if article.id == wanted:
                body = encoded_body(article)
                return body if self.texts.matches(number, body) else None
        return None


def _no_progress(step: BuildStep) -> None:
    """Progress nobody asked to hear of."""


_DEFAULT_RECORD = LibraryOptions().record()
"""The options the bot builds with: an index built otherwise has a place of its own."""


def _place(index_dir: Path, root: Path, options: LibraryOptions) -> Path:
    """Where the index of `root` built with `options` is saved below `index_dir` (see `shelf`).

    Raises `CorpusError` when the corpus would read the index's own files as articles, or
    when the place is a symbolic link.
    """
    if shelf.read_as_corpus(index_dir, root):
        raise CorpusError(
            Reason.of("index_inside_corpus", index=repr(str(index_dir)), folder=repr(str(root)))
        )
    shelf.adopt_top_level(index_dir, _DEFAULT_RECORD)
    place = shelf.place(index_dir, root, custom=options.record() != _DEFAULT_RECORD)
    if place.is_symlink():  # made by no build: whoever may write the index folder put it there
        raise CorpusError(Reason.of("index_folder_is_link", place=repr(str(place))))
    return place


def _nothing_readable(root: Path, report: LoadReport) -> NoArticleError:
    """The error of a corpus of which no file loads; the first few problems say why."""
    folder = repr(str(root))
    if not report.problems:
        return NoArticleError(Reason.of("no_files", folder=folder), report)
    problems = "; ".join(str(problem) for problem in report.problems[: NoArticleError.NAMED])
    return NoArticleError(Reason.of("no_readable_article", folder=folder, problems=problems), report)


def _by_path(problem: LoadProblem) -> tuple[str, float]:
    """The order of a full load: by file, then line, a file's duplicate ids last."""
    return (problem.path, math.inf if problem.line is None else problem.line)
