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

A second table times what the feed side sends (`bot/feed_render.py`) from the same hits:
one alert, a digest of 20 and of 200 alerts (a backlog after an outage), ordinary and
hostile (headlines of 300 characters, passages and headlines all #tags), an admin's notice
of 20 and 100 failing feeds, and `/latest`'s 30 headlines of 300 characters: the medians
that tell whether each is worth a worker thread (alerts and digests are rendered in one).
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
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if "--root" in sys.argv:
    ROOT = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
sys.path.insert(0, str(ROOT))

from bot.feed_render import render_alert, render_digest, render_feed_notices  # noqa: E402
from bot.i18n import Translations, translations  # noqa: E402
from bot.inline import article_result  # noqa: E402
from bot.render import render_answer, render_latest  # noqa: E402
from bot.statedb import FeedRow, PendingAlert  # noqa: E402
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


def as_alerts(hits: Sequence[Hit], how: str) -> list[PendingAlert]:
    """Alerts on `hits` as the state file keeps them; `how`: "all #tags" tags every word of
    each passage and headline."""
    made = []
    for number, hit in enumerate(hits):
        passage, headline = hit.passage.text, hit.article.headline
        if how == "all #tags":
            tagged = [f"#{word}" for word in passage.split()]
            passage, headline = " ".join(tagged), " ".join(tagged * 3)[:300]
        url = f"https://news.example/{number}/{'a-long-slug-' * 8}"
        made.append(
            PendingAlert(
                number,
                7,
                7,
                "topic words",
                1.0,
                passage,
                hit.matched,
                headline,
                hit.article.date,
                url,
                0.0,
                "Outlet",
            )
        )
    return made


def failing_feeds(count: int) -> list[FeedRow]:
    """Feeds failing round after round, their titles and errors #tags and `&`: a notice's worst."""
    title, error = " ".join(f"#tag{n}" for n in range(40)), " ".join(f"#err{n} &amp;" for n in range(60))
    return [
        FeedRow(n, f"https://news.example/{n}.xml", f"feed{n}", title, None, None, None, None, error, 5, 0)
        for n in range(count)
    ]


def median_ms(render: Callable[[], object], times: int = 20) -> float:
    """The median of `times` renders, in milliseconds."""
    return statistics.median(timed_ms(render)[0] for _ in range(times))


def feed_side(tr: Translations, hit_pages: Sequence[Sequence[Hit]], rng: random.Random) -> None:
    """Print the medians of the feed side's messages and of `/latest`, in milliseconds."""
    hits = [hit for page in hit_pages for hit in page][:200]
    rows: list[tuple[str, float]] = []
    for how, shaped in (
        ("generated", hits),
        ("long headlines", hostile(hits, "long headlines", rng)),
        ("all #tags", hits),
    ):
        alerts = as_alerts(shaped, how)
        alone = [partial(render_alert, alert, tr) for alert in alerts]
        twenties = [partial(render_digest, alerts[n : n + 20], tr) for n in range(0, len(alerts) - 19, 10)]
        rows += [
            (f"alert, {how}", statistics.median(timed_ms(render)[0] for render in alone)),
            (f"digest of 20, {how}", statistics.median(timed_ms(render)[0] for render in twenties)),
            (f"digest of {len(alerts)}, {how}", median_ms(partial(render_digest, alerts, tr), 5)),
        ]
    for count in (20, 100):
        rows.append(
            (f"notice of {count} feeds", median_ms(partial(render_feed_notices, tr, failing_feeds(count))))
        )
    latest = [hit.article for hit in hostile(hits[:30], "long headlines", rng)]
    marked = [dataclasses.replace(a, headline=a.headline.replace(" ", " & <b> ")[:300]) for a in latest]
    rows.append(("/latest of 30, long headlines", median_ms(partial(render_latest, tr, latest))))
    rows.append(("/latest of 30, & and <", median_ms(partial(render_latest, tr, marked))))
    print(f"\n{'feed side':<30} {'median ms':>10}")
    for name, ms in rows:
        print(f"{name:<30} {ms:>10.2f}")


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
    feed_side(tr, found["generated k=5"], random.Random(args.seed))
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
