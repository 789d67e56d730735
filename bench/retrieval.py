"""Retrieval benchmark: newsbot against bm25s, Tantivy and rank-bm25 on the same token lists.

    pip install -e '.[bench]'
    python bench/retrieval.py --sizes 10k,100k          # add 1m for the archive scale (minutes)

For each size a seeded corpus of article files is written (kept for the next run, or a
run of another engine, with `--keep-corpus DIR`): four paragraphs an article,
each 150 to 350 words (one passage under the default bounds), half of them English stop
words and half drawn from a Zipf vocabulary of 200,000 made-up content words. Questions
of four kinds are drawn by corpus frequency, the way text is:
  short  3-6 content words;
  news   8-15 words of running text, stop words included (the analyzer drops them);
  long   a pasted 4,000-character text;
  worst  the 600 most frequent content words, in a new order each time.

Every engine runs in a child process of its own, so its peak resident memory (`VmHWM`)
is the whole process's, build included. newsbot builds exactly as the bot does
(`Library.load`: files -> passages -> analyzer -> index, saved, the analysis spread over
worker processes, whose CPU counts in the build's and whose largest peak is shown), and
answers from a second process that maps the saved index, as the bot does. The other engines get the very token
lists newsbot indexes (the same analyzer over the same passages, headline terms included):
bm25s (numba backend, BM25+), Tantivy (pre-analyzed terms through its whitespace tokenizer,
term frequencies without positions, its own BM25), rank-bm25 (`BM25Plus`, on a sample: it
scores every passage in Python). Questions are sent to the engines in turn, the order
rotating, and each engine times its own CPU (`time.process_time`) per question: top 10 from
the bare index; for newsbot also `Library.search` end to end (k=5, as of the day after the
newest article: the analyzer, the per-article cap, folding copies of a story, the hits),
by default and by words alone (`LEXICAL_ONLY`), the two taking turns to go first (the
analyzer's cache of words seen serves the second), and what the default adds.

Checks, not timed: newsbot's pruned top 10 equals its exhaustive scoring (all questions),
and equals rank-bm25's to 1e-6 (the sampled ones); bm25s's and Tantivy's overlap with it
(Tantivy's BM25 differs: no delta, its own idf). The "worst" questions are one word set in
different orders. Left out: concurrency (one question at a time), the page cache being cold
(each engine has just built or mapped its index), real text (made-up words, no
phrases), and the Telegram side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval import Library, LibraryOptions, analyze, load_corpus, split_passages  # noqa: E402
from retrieval.analyzer import STOP_WORDS, term  # noqa: E402
from retrieval.indexing import article_vectors  # noqa: E402

VOCABULARY = 200_000
KINDS = ("short", "news", "long", "worst")
K = 10
# the commonest English stop words, commonest first (all in the analyzer's list)
STOPS = (
    "the of and to a in that is was he for it with as his on be at by i this had not are but from or have"
    " an they which you were her she there would their we him been has when who will more no if out so"
    " what up its about into than them can only other these some could our any then over such do after"
).split()
ENGINES = ("newsbot", "bm25s", "tantivy", "rank-bm25")


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size >= 1_000_000 else f"{size // 1_000}k"


class Language:
    """Made-up content words that are their own stems, and how often each is used."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        syllables = [c + v for c in "bdfgklmnprstvz" for v in "aiou"]
        words: dict[str, None] = {}
        while len(words) < VOCABULARY:
            drawn = rng.integers(0, len(syllables), size=(VOCABULARY, 4))
            sizes = rng.integers(2, 5, size=VOCABULARY)
            for row, size in zip(drawn.tolist(), sizes.tolist(), strict=True):
                word = "".join(syllables[i] for i in row[:size])
                if word not in STOP_WORDS and term(word) == word:
                    words[word] = None
        self.words = np.array(list(words)[:VOCABULARY])
        self.cdf = np.cumsum(1 / np.arange(1, VOCABULARY + 1))
        self.cdf /= self.cdf[-1]
        stops = 1 / np.arange(1, len(STOPS) + 1)
        self.stops = np.array(STOPS)
        self.stop_cdf = np.cumsum(stops / stops.sum())

    def content(self, rng: np.random.Generator, count: int) -> np.ndarray:
        return self.words[np.searchsorted(self.cdf, rng.random(count))]

    def text(self, rng: np.random.Generator, count: int) -> list[str]:
        """Running text: half stop words, half content words, by frequency."""
        words = self.content(rng, count)
        stop = rng.random(count) < 0.5
        words[stop] = self.stops[np.searchsorted(self.stop_cdf, rng.random(int(stop.sum())))]
        return words.tolist()


def write_corpus(folder: Path, passages: int, language: Language, seed: int) -> None:
    """Articles of four one-passage paragraphs each, dated over two years."""
    rng = np.random.default_rng(seed)
    first = dt.date(2023, 1, 1)
    for number in range(max(passages // 4, 1)):
        paragraphs = []
        for _ in range(4):
            words = language.text(rng, int(rng.integers(150, 351)))
            sentences = [" ".join(words[i : i + 20]).capitalize() + "." for i in range(0, len(words), 20)]
            paragraphs.append(" ".join(sentences))
        headline = " ".join(language.content(rng, int(rng.integers(3, 7)))).capitalize()
        day = first + dt.timedelta(days=number % 730)
        text = f" date {day.isoformat()} {headline}\n\n" + "\n\n".join(paragraphs) + "\n"
        (folder / f"{number // 1000:04d}" / f"a{number:07d}.txt").parent.mkdir(exist_ok=True)
        (folder / f"{number // 1000:04d}" / f"a{number:07d}.txt").write_text(text, encoding="utf-8")


def make_questions(language: Language, count: int, seed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    worst = language.words[:600].tolist()
    shuffler = random.Random(seed)
    long_words = 4000 // 6  # about 4,000 characters of running text
    return {
        "short": [" ".join(language.content(rng, int(rng.integers(3, 7)))) for _ in range(count)],
        "news": [" ".join(language.text(rng, int(rng.integers(8, 16)))) + "?" for _ in range(count)],
        "long": [" ".join(language.text(rng, long_words))[:4000] for _ in range(max(count // 2, 1))],
        "worst": [" ".join(shuffler.sample(worst, len(worst))) for _ in range(max(count // 10, 1))],
    }


# ---------------------------------------------------------------- the engines, one per child


def passage_terms(folder: Path) -> Iterator[list[str]]:
    """The token lists newsbot indexes: each passage's terms after its headline's."""
    articles, _ = load_corpus(folder)
    for article in articles:
        headline = analyze(article.headline)
        for passage in split_passages(article):
            yield headline + analyze(passage.text)


class Engine:
    """Builds one engine's index, then answers questions by number; reports its own figures."""

    def __init__(self, corpus: Path, work: Path, questions: dict[str, list[str]]) -> None:
        self.corpus, self.work, self.questions = corpus, work, questions
        self.tokens = {kind: [analyze(text) for text in texts] for kind, texts in questions.items()}

    def ask(self, kind: str, number: int) -> dict[str, Any]:
        tokens = self.tokens[kind][number]
        started = time.process_time()
        ids, scores = self.top(tokens)
        return {"ms": (time.process_time() - started) * 1000, "ids": ids, "scores": scores}

    def top(self, tokens: list[str]) -> tuple[list[int], list[float]]:
        raise NotImplementedError


class Newsbot(Engine):
    def __init__(self, corpus: Path, work: Path, questions: dict[str, list[str]]) -> None:
        super().__init__(corpus, work, questions)
        self.library = Library.load(corpus, index_dir=work / "newsbot-index")
        # the same saved index, ranked by words alone (LEXICAL_ONLY): no second stage
        self.lexical = Library.load(
            corpus, LibraryOptions(lexical_only=True), index_dir=work / "newsbot-index"
        )
        self.now = dt.date.fromordinal(int(self.library.articles.ordinals.max()) + 1)

    def top(self, tokens: list[str]) -> tuple[list[int], list[float]]:
        ids, scores = self.library.index.top(tokens, K)
        return ids.tolist(), scores.tolist()

    def ask(self, kind: str, number: int) -> dict[str, Any]:
        answer = super().ask(kind, number)
        # The two searches take turns going first: the first one's analyzer reads the
        # question and the words of the passages it shows for the first time, and the
        # second finds them in the analyzer's cache (0.6 to 0.8 ms a question here).
        searches = [("search_ms", self.library), ("lexical_ms", self.lexical)]
        for field, library in searches if number % 2 == 0 else searches[::-1]:
            started = time.process_time()
            library.search(self.questions[kind][number], k=5, now=self.now)
            answer[field] = (time.process_time() - started) * 1000
        ids, scores = self.library.index.score(self.tokens[kind][number])
        best = np.lexsort((ids, -scores))[:K]  # exhaustive: ties to the lower passage number
        answer["exact"] = ids[best].tolist() == answer["ids"] and scores[best].tolist() == answer["scores"]
        return answer


class Bm25s(Engine):
    def __init__(self, corpus: Path, work: Path, questions: dict[str, list[str]]) -> None:
        import bm25s

        super().__init__(corpus, work, questions)
        started = time.perf_counter()
        tokens = list(passage_terms(corpus))
        self.analysis = time.perf_counter() - started
        self.retriever = bm25s.BM25(method="bm25+", k1=1.5, b=0.75, delta=1.0, backend="numba")
        self.retriever.index(tokens, show_progress=False)
        del tokens

    def top(self, tokens: list[str]) -> tuple[list[int], list[float]]:
        found = self.retriever.retrieve([tokens or [""]], k=K, show_progress=False, n_threads=0)
        return found.documents[0].tolist(), found.scores[0].tolist()


class Tantivy(Engine):
    def __init__(self, corpus: Path, work: Path, questions: dict[str, list[str]]) -> None:
        import tantivy

        super().__init__(corpus, work, questions)
        self.tantivy = tantivy
        self.hits: list[Any] = []
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
        builder.add_integer_field("passage", stored=True)
        self.schema = builder.build()
        folder = work / "tantivy-index"
        folder.mkdir()
        self.index = tantivy.Index(self.schema, path=str(folder))
        writer = self.index.writer(heap_size=300_000_000)
        for number, tokens in enumerate(passage_terms(corpus)):
            writer.add_document(tantivy.Document(body=" ".join(tokens), passage=number))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def top(self, tokens: list[str]) -> tuple[list[int], list[float]]:
        query, should = self.tantivy.Query, self.tantivy.Occur.Should
        clauses = []
        for word, count in Counter(tokens).items():  # a repeated word counts again, as in BM25
            clause = query.term_query(self.schema, "body", word, index_option="freq")
            clauses.append((should, query.boost_query(clause, count) if count > 1 else clause))
        self.hits = self.searcher.search(query.boolean_query(clauses), K, count=False).hits
        return [], [score for score, _ in self.hits]

    def ask(self, kind: str, number: int) -> dict[str, Any]:
        answer = super().ask(kind, number)  # then, untimed: which passages those were
        answer["ids"] = [self.searcher.doc(address)["passage"][0] for _, address in self.hits]
        return answer


class RankBm25(Engine):
    def __init__(self, corpus: Path, work: Path, questions: dict[str, list[str]]) -> None:
        from rank_bm25 import BM25Plus

        super().__init__(corpus, work, questions)
        self.oracle = BM25Plus(list(passage_terms(corpus)))
        self.scores = np.empty(0)

    def top(self, tokens: list[str]) -> tuple[list[int], list[float]]:
        self.scores = self.oracle.get_scores(tokens)
        best = np.argpartition(-self.scores, K)[:K]
        best = best[np.argsort(-self.scores[best], kind="stable")]
        return best.tolist(), self.scores[best].tolist()

    def ask(self, kind: str, number: int) -> dict[str, Any]:
        return {**super().ask(kind, number), "all_scores": self.scores.tolist()}


CLASSES: dict[str, Callable[[Path, Path, dict[str, list[str]]], Engine]] = {
    "newsbot": Newsbot,
    "bm25s": Bm25s,
    "tantivy": Tantivy,
    "rank-bm25": RankBm25,
}


def memory() -> dict[str, float]:
    """This process's peak resident memory and its private (anonymous) memory now, in MB.

    The peak is `VmHWM`, which starts afresh with the program: `ru_maxrss` would carry
    over the benchmark parent's peak, as a child started with `exec` inherits it.
    """
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return {
        "peak_mb": int(status["VmHWM"].split()[0]) / 1024,
        "private_mb": int(status["RssAnon"].split()[0]) / 1024,
    }


def serve(engine_name: str, corpus: Path, work: Path, questions_file: Path) -> None:
    """The child: build, say so, then answer `kind number` lines until `exit`."""
    questions = json.loads(questions_file.read_text())
    started, cpu = time.perf_counter(), time.process_time()
    engine = CLASSES[engine_name](corpus, work, questions)
    built = {"build_s": time.perf_counter() - started, "build_cpu_s": time.process_time() - cpu}
    print(json.dumps({**built, **memory()}), flush=True)
    for line in sys.stdin:
        if line.strip() == "exit":
            break
        kind, number = line.split()
        print(json.dumps(engine.ask(kind, int(number))), flush=True)
    print(json.dumps(memory()), flush=True)


def build_newsbot(corpus: Path, work: Path) -> None:
    """The child that builds and saves newsbot's index, as `python -m retrieval` does for the bot."""
    started, cpu = time.perf_counter(), time.process_time()
    library = Library.load(corpus, index_dir=work / "newsbot-index")
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the build's analysis processes
    built = {
        "build_s": time.perf_counter() - started,
        "build_cpu_s": time.process_time() - cpu + workers.ru_utime + workers.ru_stime,
        "worker_peak_mb": workers.ru_maxrss / 1024,
    }
    built.update(memory(), passages=len(library.passages))
    # what the article vectors (the meaning signal) cost of that build, embedded again on their own
    started = time.perf_counter()
    for first in range(0, len(library.articles), 10_000):
        article_vectors(library.articles[first : first + 10_000], library.options)
    built["vectors_s"] = time.perf_counter() - started
    print(json.dumps(built), flush=True)


# ---------------------------------------------------------------- the parent


class Child:
    def __init__(self, *arguments: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, *arguments], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def request(self, line: str | None = None) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        if line is not None:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        reply = self.process.stdout.readline()
        if not reply:
            raise RuntimeError(f"benchmark child {self.process.args} died")
        return dict(json.loads(reply))

    def finish(self) -> dict[str, Any]:
        figures = self.request("exit")
        self.process.wait()
        return figures


def percentiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def agrees(ids: list[int], got: list[float], scores: np.ndarray) -> bool:
    """newsbot's top 10 equals rank-bm25's: the same scores to 1e-6 rank by rank, the same
    passages up to swaps among equal scores; past newsbot's last hit, only passages that
    share no word (which rank-bm25 scores at its BM25+ floor and newsbot never returns)."""
    expected = np.argsort(-scores, kind="stable")[:K]
    n = len(ids)
    if not np.allclose(got, scores[expected[:n]], atol=1e-6, rtol=0):
        return False
    if not np.allclose(np.sort(scores[ids]), np.sort(scores[expected[:n]]), atol=1e-6, rtol=0):
        return False
    return n == K or bool(np.all(scores[expected[n:]] <= scores.min() + 1e-6))


def generated_corpus(size: int, language: Language, seed: int, scratch: Path, kept: Path | None) -> Path:
    """The corpus of `size` passages and `seed`: written in `scratch`, gone with it; or, with
    `kept`, read from there when a run wrote it before, else written there to stay. A corpus
    is moved into `kept` only once written whole, so a run cut short leaves none half written."""
    if kept is not None:
        corpus = kept / f"{size}-seed{seed}"
        if corpus.is_dir():
            print(f"{label(size)}: corpus reused from {corpus}", file=sys.stderr)
            return corpus
        kept.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{corpus.name}-", dir=kept))
    else:
        corpus = folder = scratch / "corpus"
        folder.mkdir()
    started = time.perf_counter()
    try:
        write_corpus(folder, size, language, seed + 1)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    folder.rename(corpus)
    print(f"{label(size)}: corpus written in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return corpus


def run_size(
    size: int,
    engines: list[str],
    count: int,
    oracle_count: int,
    seed: int,
    keep: Path | None,
    kept_corpus: Path | None = None,
) -> dict[str, Any]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-{label(size)}-", dir=keep))
    try:
        language = Language(seed)
        corpus = generated_corpus(size, language, seed, scratch, kept_corpus)
        questions = make_questions(language, count, seed + 2)
        questions_file = scratch / "questions.json"
        questions_file.write_text(json.dumps(questions))
        results: dict[str, Any] = {"size": size, "engines": {}, "load": [load_average()]}
        if "newsbot" in engines:  # the build, in a process of its own as the bot does it
            builder = Child("--build-newsbot", str(corpus), str(scratch))
            results["newsbot_build"] = builder.request()
            builder.process.wait()
            print(f"{label(size)}: newsbot built {results['newsbot_build']}", file=sys.stderr)
        children: dict[str, Child] = {}
        for name in engines:  # one at a time, so that builds do not share the two cores
            children[name] = Child("--serve", name, str(corpus), str(scratch), str(questions_file))
            results["engines"][name] = {"built": children[name].request(), "times": {}, "search": {}}
            print(f"{label(size)}: {name} ready {results['engines'][name]['built']}", file=sys.stderr)
        answers: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in engines}
        rotation = 0
        for kind in KINDS:
            warm = min(3, len(questions[kind]))
            for number in range(-warm, len(questions[kind])):
                order = engines[rotation % len(engines) :] + engines[: rotation % len(engines)]
                rotation += 1
                for name in order:
                    if name == "rank-bm25" and number >= oracle_count:
                        continue
                    reply = children[name].request(f"{kind} {number % len(questions[kind])}")
                    if number >= 0:
                        answers[name].setdefault(kind, []).append(reply)
            print(f"{label(size)}: {kind} done", file=sys.stderr)
        for name, child in children.items():
            results["engines"][name]["end"] = child.finish()
        results["load"].append(load_average())
        results["table"] = summarise(answers, engines)
        results["disk_mb"] = {
            name: sum(p.stat().st_size for p in (scratch / folder).rglob("*") if p.is_file()) / 2**20
            for name, folder in (("newsbot", "newsbot-index"), ("tantivy", "tantivy-index"))
            if (scratch / folder).exists()
        }
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def summarise(answers: dict[str, dict[str, list[dict[str, Any]]]], engines: list[str]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    ours = answers.get("newsbot", {})
    for name in engines:
        for kind, replies in answers[name].items():
            p50, p99 = percentiles([reply["ms"] for reply in replies])
            row: dict[str, Any] = {"p50": p50, "p99": p99, "n": len(replies)}
            if name == "newsbot":
                row["search_p50"], row["search_p99"] = percentiles([reply["search_ms"] for reply in replies])
                row["lexical_p50"], row["lexical_p99"] = percentiles(
                    [reply["lexical_ms"] for reply in replies]
                )
                row["exact"] = f"{sum(reply['exact'] for reply in replies)}/{len(replies)}"
            elif name == "rank-bm25" and ours:
                agreed = sum(
                    agrees(ours[kind][i]["ids"], ours[kind][i]["scores"], np.asarray(reply["all_scores"]))
                    for i, reply in enumerate(replies)
                )
                row["agree"] = f"{agreed}/{len(replies)}"
            elif ours:
                overlap = [
                    len(set(reply["ids"]) & set(ours[kind][i]["ids"])) / K for i, reply in enumerate(replies)
                ]
                row["overlap"] = statistics.mean(overlap)
            table[f"{name}/{kind}"] = row
    return table


def machine() -> str:
    """The CPU model, cores, memory and Python, as the figures depend on them."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), ""
    )
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cores = f"{os.cpu_count()} cores, {memory_gb:.0f} GB"
    return f"{model or os.uname().machine}, {cores}, Python {sys.version.split()[0]}"


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: how busy the machine was with other work."""
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


def print_results(all_results: list[dict[str, Any]]) -> None:
    print(f"\nCPU ms per question, p50 / p99, top {K}; {machine()}")
    for results in all_results:
        print(
            f"{label(results['size'])}: load average (1 / 5 / 15 min) {results['load'][0]} at the start,"
            f" {results['load'][1]} at the end"
        )
    print("| passages | engine | build | peak memory | " + " | ".join(KINDS) + " | check |")
    print("| --- | --- | --- | --- | " + " | ".join("---" for _ in KINDS) + " | --- |")
    for results in all_results:
        size = label(results["size"])
        for name, engine in results["engines"].items():
            print(f"| {size} | {name} | " + " | ".join(engine_cells(results, name, engine)) + " |")
            if name == "newsbot":
                rows = [results["table"].get(f"newsbot/{kind}") for kind in KINDS]
                cells = [f"{row['search_p50']:.2f} / {row['search_p99']:.2f}" if row else "" for row in rows]
                print(
                    f"| {size} | newsbot `Library.search` | | | " + " | ".join(cells) + " | k=5, end to end |"
                )
                cells = [
                    f"{row['lexical_p50']:.2f} / {row['lexical_p99']:.2f}" if row else "" for row in rows
                ]
                vectors = results["newsbot_build"]["vectors_s"]
                print(
                    f"| {size} | newsbot `Library.search`, LEXICAL_ONLY | of the build: article vectors"
                    f" {vectors:.1f} s | | " + " | ".join(cells) + " | k=5, words alone |"
                )
        disk = ", ".join(f"{name} {mb:,.0f} MB" for name, mb in results.get("disk_mb", {}).items())
        print(f"| {size} | index on disk: {disk} |" + " |" * (len(KINDS) + 3))
    for results in all_results:
        rows = [results["table"].get(f"newsbot/{kind}") for kind in KINDS]
        added = [
            f"{kind} {row['search_p50'] - row['lexical_p50']:.2f}"
            for kind, row in zip(KINDS, rows, strict=True)
            if row
        ]
        if added:
            print(
                f"{label(results['size'])}: the second stage adds (p50, default - LEXICAL_ONLY, ms): "
                + ", ".join(added)
            )


def engine_cells(results: dict[str, Any], name: str, engine: dict[str, Any]) -> list[str]:
    """Build time, memory, each kind's p50 / p99, and the check, for one engine's row."""
    built = results["newsbot_build"] if name == "newsbot" else engine["built"]
    end = engine["end"]
    if name == "newsbot":
        serving = f"{end['peak_mb']:,.0f} serving, {end['private_mb']:,.0f} private"
        worker = f", largest worker {built['worker_peak_mb']:,.0f}" if built.get("worker_peak_mb") else ""
        peak = f"{built['peak_mb']:,.0f} MB build{worker}; {serving}"
    else:
        peak = f"{end['peak_mb']:,.0f} MB"
    cells, checks = [], []
    for kind in KINDS:
        row = results["table"].get(f"{name}/{kind}")
        cells.append(f"{row['p50']:.2f} / {row['p99']:.2f}" if row else "")
        if row and "exact" in row:
            checks.append(f"{kind} {row['exact']}")
        elif row and "agree" in row:
            checks.append(f"{kind} {row['agree']}")
        elif row and "overlap" in row:
            checks.append(f"{kind} {row['overlap']:.0%}")
    what = {"newsbot": "pruned = exhaustive", "rank-bm25": "top 10 = newsbot's"}.get(name, "overlap")
    build = f"{built['build_s']:.1f} s ({built['build_cpu_s']:.1f} s CPU)"
    return [build, peak, *cells, f"{what}: " + ", ".join(checks)]


def analyzer_speed(folder: Path) -> None:
    """How fast the analyzer reads a real folder of articles (its words cached after a first pass)."""
    articles, _ = load_corpus(folder)
    texts = [text for article in articles for text in (article.headline, *article.paragraphs)]
    words = sum(len(text.split()) for text in texts)
    repeat = max(1, 2_000_000 // max(words, 1))
    started = time.perf_counter()
    terms = sum(len(analyze(text)) for _ in range(repeat) for text in texts)
    seconds = time.perf_counter() - started
    print(f"analyzer: {words * repeat / seconds / 1e6:.2f} M words/s ({terms / seconds / 1e6:.2f} M terms/s)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--build-newsbot":
        build_newsbot(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated passage counts: 10k,100k,1m")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: " + ",".join(ENGINES))
    parser.add_argument(
        "--questions",
        type=int,
        default=200,
        help="short and news questions a kind (long: half, worst: a tenth)",
    )
    parser.add_argument(
        "--oracle-questions", type=int, default=20, help="questions a kind that rank-bm25 answers (above 10k)"
    )
    parser.add_argument(
        "--no-oracle-above", default="100k", help="rank-bm25 is left out above this size (its memory)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--scratch", type=Path, help="folder for the generated corpus and indexes (default: temp)"
    )
    parser.add_argument(
        "--keep-corpus",
        type=Path,
        metavar="DIR",
        help="keep each generated corpus in DIR (one folder a size and seed), and read it from"
        " there when a run wrote it before: another run or engine is spared writing it again",
    )
    parser.add_argument("--corpus", type=Path, help="only time the analyzer over this folder of articles")
    args = parser.parse_args()
    if args.corpus:
        analyzer_speed(args.corpus)
        return
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {', '.join(ENGINES)}")
    all_results = []
    for size in [parse_size(s) for s in args.sizes.split(",") if s.strip()]:
        here = [name for name in engines if name != "rank-bm25" or size <= parse_size(args.no_oracle_above)]
        oracle = args.questions if size <= 10_000 else args.oracle_questions
        all_results.append(
            run_size(size, here, args.questions, oracle, args.seed, args.scratch, args.keep_corpus)
        )
        if args.json:
            args.json.write_text(json.dumps(all_results, indent=1))
    print_results(all_results)


if __name__ == "__main__":
    main()
