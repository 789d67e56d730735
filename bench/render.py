"""How long an answer page takes to render, per shape of page, and where the time goes.

    python bench/render.py [--passages 2000] [--profile] [--root CHECKOUT]

Answers are rendered in a worker thread after the search (`bot/handlers.py`); rendered on
the event loop, as they were, every chat's updates waited for each. Real hits of a
generated corpus (`fakes.corpora.generate_corpus`, through `Library.search`) and of the
shipped corpus are rendered at k=5 and k=10, ordinary and made hostile: headlines of 300
characters, passages full of #tags, "AT&T" in quotes, emoji. Each page is timed once with
the snippet caches empty (a new answer's first render), then as a page turn renders it
again. Prints the median and p90 of each shape in milliseconds, and the median of an
inline query's results built from the same hits (`bot/inline.py`: a title, description and
message each, also rendered in a worker); `--profile` adds cProfile's top functions over
all of them. `--root` renders with another checkout's code (the same pages: compare before
and after in one run).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if "--root" in sys.argv:
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
sys.path.insert(0, str(ROOT))

from bot.i18n import translations  # noqa: E402
from bot.inline import article_result  # noqa: E402
from bot.render import render_answer  # noqa: E402
from fakes.corpora import generate_corpus  # noqa: E402
from retrieval import Hit, Library, LibraryOptions, snippets  # noqa: E402

QUESTIONS = 40


def hostile(hits: Sequence[Hit], how: str, rng: random.Random) -> list[Hit]:
    """`hits` with each headline or passage made into what costs a page the most."""
    made = []
    for hit in hits:
        article, passage = hit.article, hit.passage
        words = passage.text.split()
        if how == "long headlines":
            article = dataclasses.replace(article, headline=" ".join(rng.choices(words, k=60))[:300])
        elif how == "#tags":
            tagged = [f"#{word}" if i % 2 else word for i, word in enumerate(words)]
            passage = dataclasses.replace(passage, text=" ".join(tagged))
        elif how == "AT&T quotes":
            quoted = [f'"AT&T {word}"' if i % 3 == 0 else word for i, word in enumerate(words)]
            passage = dataclasses.replace(passage, text=" ".join(quoted))
        elif how == "emoji":
            passage = dataclasses.replace(passage, text=" ".join(f"{word} 🇺🇦😀" for word in words))
        made.append(dataclasses.replace(hit, passage=passage, article=article))
    return made


def pages(library: Library, questions: Sequence[str], k: int, now: dt.date | None) -> list[list[Hit]]:
    """The hits of each question that has `k` of them."""
    found = [list(library.search(question, k=k, now=now).hits) for question in questions]
    return [hits for hits in found if len(hits) == k]


def forget() -> None:
    """Empty the snippet caches (where the code has them): the next render is a new answer's."""
    for name in ("_best_sentence", "_first_match"):
        cached = getattr(snippets, name, None)
        if cached is not None:
            cached.cache_clear()


def timed_ms(render: Callable[[], object]) -> tuple[float, float]:
    """A render's time with the caches empty, and again as a page turn, in milliseconds."""
    forget()
    started = time.perf_counter()
    render()
    cold = time.perf_counter()
    render()
    return (cold - started) * 1000, (time.perf_counter() - cold) * 1000


def shapes(passages: int, seed: int) -> dict[str, list[list[Hit]]]:
    """Pages to render, by shape: generated and shipped corpus, k=5 and k=10, ordinary and hostile."""
    rng = random.Random(seed)
    options = LibraryOptions(lexical_only=True)
    with tempfile.TemporaryDirectory() as scratch:
        vocabulary = generate_corpus(Path(scratch), passages, seed)
        generated = Library.load(scratch, options)
    questions = [" ".join(rng.sample(vocabulary[100:3000], 3)) for _ in range(QUESTIONS)]
    shipped = Library.load(ROOT / "corpus", options)
    shipped_questions = ["Who did Umerov negotiate with unofficially?", "humanitarian corridor grain exports"]
    found: dict[str, list[list[Hit]]] = {}
    for k in (5, 10):
        ordinary = pages(generated, questions, k, None)
        found[f"generated k={k}"] = ordinary
        for how in ("long headlines", "#tags", "AT&T quotes", "emoji"):
            found[f"{how} k={k}"] = [hostile(hits, how, rng) for hits in ordinary]
        shipped_pages = [list(shipped.search(q, k=k).hits) for q in shipped_questions]
        found[f"shipped k={k}"] = [hits for hits in shipped_pages if hits]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=2000, help="size of the generated corpus")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top functions")
    parser.add_argument("--root", help="the checkout whose code renders (default: this one)")
    args = parser.parse_args()
    tr = translations("en")
    found = shapes(args.passages, args.seed)
    print(f"code of {ROOT}")
    print(
        f"{'shape':<22} {'pages':>5} {'median ms':>10} {'p90 ms':>8} {'page turn ms':>13} {'inline ms':>10}"
    )
    for name, hit_pages in found.items():
        times = [timed_ms(lambda hits=hits: render_answer(tr, hits)) for hits in hit_pages]
        cold = [first for first, _ in times]
        p90 = statistics.quantiles(cold, n=10)[-1] if len(cold) > 1 else cold[0]
        again = statistics.median(second for _, second in times)
        inline = statistics.median(
            timed_ms(lambda hits=hits: [article_result(hit) for hit in hits])[0] for hits in hit_pages
        )
        print(
            f"{name:<22} {len(hit_pages):>5} {statistics.median(cold):>10.2f} {p90:>8.2f} {again:>13.2f}"
            f" {inline:>10.2f}"
        )
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for hit_pages in found.values():
            for hits in hit_pages:
                forget()
                render_answer(tr, hits)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
