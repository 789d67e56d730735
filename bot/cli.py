"""`newsbot`: ask, stats and run over the same library the bot serves.

Exit codes: 0 found, 1 nothing found, 2 bad usage, an unreadable corpus or an output
that cannot be written (a full disk), 130 stopped with Ctrl-C, 141 when whatever read
the output stopped reading (`newsbot ask ... | head`): the codes a shell gives a command
ended by SIGINT or SIGPIPE, without a traceback.
A build, `eval` and `fetch` show a bar on stderr when it is a terminal, log lines
otherwise (see `progress`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import errno
import io
import json
import logging
import math
import os
import resource
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from retrieval import (
    BM25Params,
    CorpusError,
    Hit,
    Library,
    LibraryOptions,
    LoadProblem,
    LoadReport,
    MissingCorpusError,
    NoArticleError,
    format_event_date,
    iso_day,
    latest_today,
    matched_spans,
    readings,
)
from retrieval.evaluation import (
    CUTOFFS,
    Metrics,
    Question,
    Ranked,
    Report,
    evaluate,
    missing_gold,
    parse_questions,
)
from retrieval.library import DEFAULT_PER_ARTICLE
from retrieval.passages import DEFAULT_MAX_CHARS, DEFAULT_MIN_CHARS
from retrieval.rerank import RerankOptions
from retrieval.snippets import snippet_span

from . import progress
from .feed_cli import add_corpus_option, add_feed_commands
from .logs import redact_secrets
from .reloading import reload_library
from .render import by_article, shown_headline
from .settings import (
    Settings,
    SettingsError,
    load_settings,
    misspelt_settings,
    state_dir_problem,
    webhook_url_problem,
)
from .state import published_by
from .statedb import StateError, open_state
from .terminal import json_shown, shown, shown_in_line

EXIT_FOUND, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
DEFAULT_BM25 = BM25Params()
DEFAULT_OPTIONS = LibraryOptions()
DEFAULT_RERANK = RerankOptions()
SNIPPET_CHARS = 700
GUARD_DAYS = 30
MAX_HEADLINE_WEIGHT = 10
"""`eval --headline-weight`: each passage holds its headline's terms that many times."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `newsbot` command and return its exit code."""
    _open_closed_streams()
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        for line in misspelt_settings():
            print(f"newsbot: {line}", file=sys.stderr)
        if args.command is run_command:  # the bot sets up its own logging, and stops on Ctrl-C
            return int(args.command(args, settings))
        if sys.stdout is None:  # started with it closed (`>&-`): every line would be dropped unseen
            raise OSError(errno.EBADF, "stdout is closed; send the output somewhere, as > /dev/null")
        if isinstance(sys.stdout, io.TextIOWrapper):  # a Latin-1 terminal shows `…` and Cyrillic as \u2026
            sys.stdout.reconfigure(errors="backslashreplace")
        with progress.console_logging("WARNING", progress_lines=not progress.on_terminal()):
            code = int(args.command(args, settings))
            sys.stdout.flush()  # a closed pipe is found here, not at exit
        return code
    except MissingCorpusError as error:
        print(f"newsbot: {shown_in_line(str(error))}; {_corpus_hint(args, settings)}", file=sys.stderr)
        return EXIT_USAGE
    except (SettingsError, CorpusError, StateError) as error:  # the token may be in a URL it names
        print(f"newsbot: {shown_in_line(redact_secrets(str(error)))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _output_to_devnull()
        return EXIT_BROKEN_PIPE
    except OSError as error:  # stdout on a full disk, a --hits-out folder: not exit 1, "nothing found"
        if args.command is run_command:
            raise
        with contextlib.suppress(OSError):
            print(f"newsbot: {error}", file=sys.stderr)
        _output_to_devnull(sys.stdout)  # what its buffer still holds is not tried again at exit
        return EXIT_USAGE


def _open_closed_streams() -> None:
    """Point a standard input or error the command was started without (`<&-`, `2>&-`) at
    /dev/null, before any file is opened.

    Else the first file opened takes its number: the saved index's lock file became
    descriptor 2, which each indexing worker inherits as its stderr, and with no
    `sys.stderr` the build's log lines and "Nothing found" went to stdout, into the answer.
    """
    for number, name, mode in ((0, "stdin", "r"), (2, "stderr", "w")):
        try:
            os.fstat(number)
        except OSError:
            devnull = os.open(os.devnull, os.O_RDWR)
            if devnull != number:  # a closed stdout has the lower number: it stays closed
                os.dup2(devnull, number)
                os.close(devnull)
            stream = open(number, mode, buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
            setattr(sys, name, stream)  # for the life of the process, as Python's own


def _corpus_hint(args: argparse.Namespace, settings: Settings) -> str:
    """How to point at a corpus folder, and where the one that is missing was named."""
    if getattr(args, "corpus", None) is not None:
        where = "this one was given with --corpus"
    elif "corpus_dir" in settings.model_fields_set:
        where = "this one is set by CORPUS_DIR"
    else:
        where = "without either, it is corpus/ in the current folder"
    return f"point at your articles with --corpus DIR, or CORPUS_DIR=DIR in .env or the environment ({where})"


def _output_to_devnull(*streams: TextIO) -> None:
    """Let the exit flush `streams` (stdout and stderr) into /dev/null: whoever read them
    has gone, or they cannot be written."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in streams or (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):  # no such stream, or not a file (a test's capture)
            continue
    os.close(devnull)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot", description="Answer questions from a folder of news articles."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        add_corpus_option(sub)
        return sub

    ask = command("ask", "print the passages that best answer a question")
    ask.add_argument("question")
    ask.add_argument("-k", type=_positive, default=5, metavar="N", help="how many passages (default 5)")
    ask.add_argument("--json", action="store_true", help="print the hits as a JSON list")
    ask.add_argument(
        "--as-of", type=_date, metavar="YYYY-MM-DD", help="ask as on that day: no article published later"
    )
    ask.add_argument("--lexical-only", action="store_true", help="rank by words alone (as LEXICAL_ONLY=true)")
    ask.set_defaults(command=ask_command)

    stats = command("stats", "print the corpus size and the problems found loading it")
    stats.set_defaults(command=stats_command)

    timeline = command("timeline", "print dated events from the articles, newest first")
    timeline.add_argument(
        "--limit", type=_positive, default=10, metavar="N", help="how many events (default 10)"
    )
    timeline.add_argument("--topic", metavar="WORDS", help="only events about these words")
    timeline.add_argument(
        "--as-of",
        type=_date,
        metavar="YYYY-MM-DD",
        help="as on that day: no article published later (default: today, as the bot's /timeline)",
    )
    timeline.set_defaults(command=timeline_command)

    evaluate = command("eval", "measure answer quality on a labelled questions file")
    evaluate.add_argument("questions", type=Path, help="JSON lines: qid, question, answers, gold_article_ids")
    evaluate.add_argument(
        "--hits-out", type=Path, metavar="FILE", help="write each question's ranked hits here"
    )
    evaluate.add_argument(
        "--as-of", choices=["question_date"], help="answer each question as if asked on its question_date"
    )
    evaluate.add_argument(
        "--variant",
        choices=["okapi", "l", "plus"],
        default=DEFAULT_BM25.variant,
        help=f"BM25 variant (default {DEFAULT_BM25.variant})",
    )
    evaluate.add_argument("--k1", type=_finite, default=DEFAULT_BM25.k1, help=f"default {DEFAULT_BM25.k1}")
    evaluate.add_argument("--b", type=_finite, default=DEFAULT_BM25.b, help=f"default {DEFAULT_BM25.b}")
    evaluate.add_argument(
        "--min-chars",
        type=int,
        default=DEFAULT_MIN_CHARS,
        metavar="N",
        help=f"shorter passages absorb the next paragraph; 0 keeps paragraphs (default {DEFAULT_MIN_CHARS})",
    )
    evaluate.add_argument(
        "--max-chars",
        type=int,
        default=DEFAULT_MAX_CHARS,
        metavar="N",
        help=f"longer passages are split at sentences (default {DEFAULT_MAX_CHARS})",
    )
    evaluate.add_argument(
        "--per-article",
        type=int,
        default=DEFAULT_PER_ARTICLE,
        metavar="N",
        help=f"at most N passages of one article, 0 for no cap (default {DEFAULT_PER_ARTICLE})",
    )
    evaluate.add_argument(
        "--plain", action="store_true", help="the baseline: plain words, no stemming, stop words or headline"
    )
    evaluate.add_argument(
        "--recency",
        choices=["off", "cues", "always"],
        default=DEFAULT_OPTIONS.recency,
        help="with --as-of, prefer recent articles: never, when the question says so, always",
    )
    evaluate.add_argument("--recency-weight", type=_finite, default=DEFAULT_OPTIONS.recency_weight)
    evaluate.add_argument("--recency-days", type=_finite, default=DEFAULT_OPTIONS.recency_days)
    evaluate.add_argument(
        "--headline-weight",
        type=int,
        default=DEFAULT_OPTIONS.headline_weight,
        metavar="N",
        help=f"times the headline's terms count in each passage, 0 to {MAX_HEADLINE_WEIGHT} (default 1)",
    )
    evaluate.add_argument(
        "--lexical-only", action="store_true", help="rank by words alone: no meaning, periods or prior"
    )
    evaluate.add_argument(
        "--semantic-weight",
        type=_finite,
        default=DEFAULT_RERANK.semantic_weight,
        metavar="W",
        help=f"weight of the question-article cosine, 0 for none (default {DEFAULT_RERANK.semantic_weight})",
    )
    evaluate.add_argument(
        "--coverage-weight",
        type=_finite,
        default=DEFAULT_RERANK.coverage_weight,
        metavar="W",
        help="weight of the share of the question's words its article holds, 0 for none "
        f"(default {DEFAULT_RERANK.coverage_weight})",
    )
    evaluate.add_argument(
        "--semantic-dims", type=int, choices=[64, 128, 256], default=DEFAULT_OPTIONS.semantic_dims
    )
    evaluate.add_argument(
        "--prior-weight",
        type=_finite,
        default=DEFAULT_RERANK.recency_weight,
        metavar="W",
        help="recency prior of questions that name no period and no recent cue "
        f"(default {DEFAULT_RERANK.recency_weight}, over {DEFAULT_RERANK.recency_days:g} days)",
    )
    evaluate.add_argument("--prior-days", type=_finite, default=DEFAULT_RERANK.recency_days, metavar="D")
    evaluate.add_argument(
        "--period-weight",
        type=_finite,
        default=DEFAULT_RERANK.period_weight,
        metavar="W",
        help="lift of articles published in the period a question names, 0 for none "
        f"(default {DEFAULT_RERANK.period_weight})",
    )
    evaluate.add_argument(
        "--period-event-weight",
        type=_finite,
        default=DEFAULT_RERANK.period_event_weight,
        metavar="W",
        help=f"lift of articles telling of events in it (default {DEFAULT_RERANK.period_event_weight})",
    )
    evaluate.add_argument(
        "--candidates",
        type=int,
        default=DEFAULT_RERANK.candidates,
        metavar="N",
        help=f"how many of the best lexical candidates are re-scored (default {DEFAULT_RERANK.candidates})",
    )
    evaluate.add_argument(
        "--no-story-folding", action="store_true", help="fold only near-identical passages, as before"
    )
    evaluate.add_argument(
        "--guard-days",
        type=int,
        default=GUARD_DAYS,
        metavar="D",
        help="also report questions whose newest gold article is more than D days older than the "
        f"question (default {GUARD_DAYS})",
    )
    evaluate.add_argument(
        "--progress", action="store_true", help="draw the progress bar even when stderr is not a terminal"
    )
    evaluate.set_defaults(command=eval_command)

    run = command("run", "start the Telegram bot (long polling, or webhooks with --webhook)")
    run.add_argument("--webhook", action="store_true", help="serve Telegram webhooks at WEBHOOK_URL")
    run.set_defaults(command=run_command)
    add_feed_commands(commands)
    return parser


def _positive(value: str) -> int:
    # ASCII digits alone: `isdigit` takes `²`, which `int` refuses, and `isdecimal` `٣`
    number = int(value) if value.isascii() and value.isdecimal() else 0
    if not 1 <= number <= 100:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number from 1 to 100")
    return number


def _finite(value: str) -> float:
    """A number; `nan` and `inf`, which `float` takes, passed every bound and ranked at random."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{value!r} is not a number like 0.5")
    return number


def _date(value: str) -> dt.date:
    """A day written YYYY-MM-DD, and no other way (`iso_day`)."""
    if (day := iso_day(value)) is not None:
        return day
    raise argparse.ArgumentTypeError(f"{value!r} is not a date written YYYY-MM-DD")


def _library(args: argparse.Namespace, settings: Settings, options: LibraryOptions | None = None) -> Library:
    """The library of the corpus named, from its saved index; a build shows how far it is."""
    if options is None:
        options = LibraryOptions(lexical_only=settings.lexical_only or getattr(args, "lexical_only", False))
    with progress.meter("indexing", "file") as shown:
        return Library.load(
            args.corpus or settings.corpus_dir, options, index_dir=settings.index_dir, progress=shown
        )


def ask_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the best passages for a question."""
    # without --as-of, asked at no particular day, but of what is published by now: an article
    # dated later (a year mistyped, 2092) was answered, and moved every "last year" with it
    by = None if args.as_of else latest_today()
    result = _library(args, settings).search(args.question, k=args.k, now=args.as_of, published_by=by)
    if args.json:
        document = json.dumps([hit_record(hit) for hit in result.hits], ensure_ascii=False, indent=2)
        print(json_shown(document, sys.stdout.encoding or "utf-8"))
    else:
        for rank, group in enumerate(by_article(result.hits), start=1):
            print(shown(format_group(rank, group)))
    if not result.hits:  # on stderr, so that `--json` output stays a list a script can read
        print(f"Nothing found: {result.reason}.", file=sys.stderr)
    return EXIT_FOUND if result.hits else EXIT_NOTHING


def stats_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the corpus's size and its load report."""
    try:
        library = _library(args, settings)
    except NoArticleError as error:  # no file loads: when the list of why is wanted most
        print_stats(error.report, articles=0, passages=0, vocabulary=0, dates=None)
        raise  # and exit 2, saying the corpus cannot serve
    dates = None
    if len(library.articles):
        ordinals = library.articles.ordinals
        dates = dt.date.fromordinal(int(ordinals.min())), dt.date.fromordinal(int(ordinals.max()))
    print_stats(library.report, len(library.articles), len(library.passages), library.vocabulary_size, dates)
    return EXIT_FOUND


def print_stats(
    report: LoadReport, articles: int, passages: int, vocabulary: int, dates: tuple[dt.date, dt.date] | None
) -> None:
    """The corpus's size, its date range, and every problem of its load report."""
    print(f"files       {report.files}")
    print(f"articles    {articles}")
    print(f"passages    {passages}")
    print(f"vocabulary  {vocabulary}")
    if dates is not None:
        print(f"dates       {dates[0]} to {dates[1]}")
    print(f"problems    {len(report.problems)}")
    for problem in report.problems:  # a quoted line of a file's YAML may hold a bidi control
        print(f"  {shown_in_line(str(problem))}")


def timeline_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the newest dated events of the articles published by `--as-of`, on a topic if given.

    Without `--as-of`, as of today: the latest date on Earth, as the bot's /timeline, so
    that an article dated later (an embargo, a year mistyped) does not top the timeline.
    """
    as_of = args.as_of or latest_today()
    library = _library(args, settings)
    events = published_by(library, args.limit, args.topic, as_of)
    for event in events:
        print(shown(f"{format_event_date(event):<10}  {event.sentence}"))
        print(shown(f"{'':<10}  ({event.headline}, {event.published})"))
    if not events:
        print(f"No dated events found: {_no_events(library, args.topic, as_of)}.", file=sys.stderr)
    return EXIT_FOUND if events else EXIT_NOTHING


def _no_events(library: Library, topic: str | None, as_of: dt.date) -> str:
    """Why the timeline as of `as_of` holds no event (on `topic`, if given)."""
    if topic is not None and not any(readings(topic)):
        return "the topic has no searchable words, only stop words or symbols"
    if library.timeline.latest(
        1, topic, library.holds_name, library.holds_term
    ):  # there are some, of articles dated later
        return f"no article dated {as_of} or earlier" + (" tells of the topic" if topic else "")
    return "no event's sentence or headline shares a word with the topic"


def eval_command(args: argparse.Namespace, settings: Settings) -> int:
    """Rank the top 10 passages for each question and print recall and MRR."""
    try:
        questions = parse_questions(args.questions.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SettingsError(f"cannot read questions from {args.questions}: {error}") from None
    if not questions:
        raise SettingsError(f"{args.questions} holds no questions: write one JSON object a line")
    if args.per_article < 0:
        raise SettingsError(f"--per-article {args.per_article}: use a count of 1 or more, or 0 for no cap")
    if args.candidates < 1:
        raise SettingsError(f"--candidates {args.candidates}: use a count of 1 or more")
    if not 0 <= args.headline_weight <= MAX_HEADLINE_WEIGHT:  # each passage holds that many copies
        raise SettingsError(
            f"--headline-weight {args.headline_weight}: use a count from 0 to {MAX_HEADLINE_WEIGHT}"
        )
    for option, days in (("--recency-days", args.recency_days), ("--prior-days", args.prior_days)):
        if days <= 0:  # exp(-age / days): 0 / 0 for an article of that day, and older ones lifted below 0
            raise SettingsError(f"{option} {days:g}: use a number of days above 0")
    if not 0 <= args.min_chars <= args.max_chars or args.max_chars < 1:
        raise SettingsError(
            f"--min-chars {args.min_chars} --max-chars {args.max_chars}: "
            "need 0 <= min-chars <= max-chars and max-chars >= 1"
        )
    try:
        bm25 = BM25Params(args.variant, args.k1, args.b)
        options = LibraryOptions(
            args.min_chars,
            args.max_chars,
            bm25,
            plain=args.plain,
            recency=args.recency,
            recency_weight=args.recency_weight,
            recency_days=args.recency_days,
            headline_weight=args.headline_weight,
            lexical_only=args.lexical_only,
            rerank=RerankOptions(
                candidates=args.candidates,
                semantic_weight=args.semantic_weight,
                coverage_weight=args.coverage_weight,
                cue_weight=args.recency_weight if args.recency != "off" else 0.0,
                cue_days=args.recency_days,
                recency_weight=args.prior_weight if args.recency != "off" else 0.0,
                recency_days=args.prior_days,
                period_weight=args.period_weight,
                period_event_weight=args.period_event_weight,
                fold_stories=not args.no_story_folding,
            ),
            semantic_dims=args.semantic_dims,
        )
    except ValueError as error:
        raise SettingsError(str(error)) from None
    library = _library(args, settings, options)
    if missing := missing_gold(questions, library.articles.ids):
        qid, gold = missing[0]
        print(
            f"newsbot: {len(missing):,} gold article ids name no article of the corpus, and their "
            f"questions count as misses (the first: qid {qid!r}, {gold!r})",
            file=sys.stderr,
        )
    cap = args.per_article or None
    rankings: list[list[Ranked]] = []
    records = []
    later = 0
    today = latest_today()
    with progress.meter("eval", "question", bar=args.progress or None) as shown:
        shown.update(0, len(questions))
        for number, question in enumerate(questions, start=1):
            now = question.question_date if args.as_of else None
            by = None if now else today  # asked without a date as `ask` asks
            hits = library.search(
                question.question, k=max(CUTOFFS), per_article=cap, now=now, published_by=by
            ).hits
            asked = question.question_date
            later += sum(1 for hit in hits if asked and hit.article.date > asked)
            rankings.append([Ranked(hit.article.id, hit.passage.text) for hit in hits])
            records.append({"qid": question.qid, "hits": [hit_record(hit) for hit in hits]})
            shown.update(number, len(questions), finished=number == len(questions))
    if args.hits_out:
        args.hits_out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    report = evaluate(questions, rankings)
    print(format_report(report, len(questions)))
    guard = old_news(questions, library, args.guard_days)
    older = None
    if guard:
        picked = [(q, r) for q, r, old in zip(questions, rankings, guard, strict=True) if old]
        older = evaluate([q for q, _ in picked], [r for _, r in picked])
        print(f"{f'gold older than {args.guard_days} days ({older.gold.count})':<30}{_cells(older.gold)}")
    label = f"by article: gold ({report.gold_by_article.count})"
    print(f"{label:<30}{_article_cells(report.gold_by_article, cap)}")
    if older is not None:
        label = f"by article: older ({older.gold_by_article.count})"
        print(f"{label:<30}{_article_cells(older.gold_by_article, cap)}")
    print(f"sources dated after their question: {later}")
    return EXIT_FOUND


def old_news(questions: Sequence[Question], library: Library, days: int) -> list[bool]:
    """Which questions ask about older news: their newest gold article is over `days` days older.

    These guard against a recency preference that helps the questions about this week's
    news at the cost of the rest.
    """
    published = dict(zip(library.articles.ids, library.articles.ordinals.tolist(), strict=True))
    flags = []
    for question in questions:
        dates = [published[g] for g in question.gold_article_ids if g in published]
        asked = question.question_date
        flags.append(bool(dates) and asked is not None and asked.toordinal() - max(dates) > days)
    return flags if any(flags) else []


def format_report(report: Report, questions: int) -> str:
    """The metrics as a small table."""
    header = "".join(f"{'R@' + str(k):>8}" for k in CUTOFFS) + f"{'MRR@10':>8}"
    lines = [f"{questions} questions, {report.gold.count} with gold articles", f"{'':<30}{header}"]
    for name, metrics in (
        ("gold article", report.gold),
        ("gold article with answer", report.gold_with_answer),
        ("any passage with answer", report.answer),
    ):
        lines.append(f"{name + f' ({metrics.count})':<30}{_cells(metrics)}")
    return "\n".join(lines)


def _cells(metrics: Metrics) -> str:
    """One row of the table: recall at each cutoff, then MRR@10."""
    return "".join(f"{metrics.recall.get(k, 0.0):>8.3f}" for k in CUTOFFS) + f"{metrics.mrr:>8.3f}"


def _article_cells(metrics: Metrics, per_article: int | None) -> str:
    """A row of recall by distinct article, as deep as the ten passages ranked always reach.

    At most `per_article` passages an article, ten passages hold at least 10 // per_article
    articles (five at the default two; one without a cap), not always ten: a deeper cell,
    or MRR@10, would count a gold article as missed that was never given a place.
    """
    ranked = max(CUTOFFS)
    depth = ranked // per_article if per_article else 1
    cells = [f"{metrics.recall.get(k, 0.0):>8.3f}" if k <= depth else f"{'-':>8}" for k in CUTOFFS]
    return "".join(cells) + (f"{metrics.mrr:>8.3f}" if depth >= ranked else f"{'-':>8}")


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """Start the bot and serve until stopped."""
    from telegram.error import InvalidToken  # Telegram is only imported to run the bot

    from .app import build_application, run, webhook_options, webhook_secret
    from .logs import configure_logging
    from .preflight import check_listen, check_token, check_webhook

    token = settings.telegram_bot_token
    if token is None or not token.get_secret_value().strip():
        raise SettingsError("TELEGRAM_BOT_TOKEN: not set; get one from @BotFather and put it in .env")
    secrets = [token.get_secret_value()]
    if settings.webhook_secret_token:
        secrets.append(settings.webhook_secret_token.get_secret_value())
    configure_logging(settings.log_level, secrets)  # first: a URL named below may hold the token
    disable_core_dumps()
    if args.webhook and not settings.webhook_url:
        raise SettingsError("WEBHOOK_URL: required with --webhook (the public https URL Telegram posts to)")
    if args.webhook and (problem := webhook_url_problem(settings)):
        raise SettingsError(problem)
    if problem := state_dir_problem(settings, args.corpus):
        raise SettingsError(problem)
    asyncio.run(check_token(token.get_secret_value(), settings.telegram_base_url))  # before a long build
    secret = None
    if args.webhook:
        check_listen(settings.webhook_listen, settings.webhook_port)
        secret = webhook_secret(settings)  # registered now, and again as the bot starts to serve
        asyncio.run(
            check_webhook(
                token.get_secret_value(), settings.telegram_base_url, webhook_options(settings, secret)
            )
        )
    db = open_state(settings.state_dir)  # a damaged state file, too, is told of before it
    if args.corpus is not None:  # the folder served, reloaded, watched and fed, not CORPUS_DIR's
        settings = settings.model_copy(update={"corpus_dir": args.corpus})
    # The application alone holds the first library: a reload then lets it go, and with it
    # the saved build it maps, which the reload's save removed from the disk.
    application = build_application(settings, *_first_library(settings.corpus_dir, settings), db)
    try:
        run(application, settings, args.webhook, secret)
    except InvalidToken:  # refused after an outage hid it from the check; its message holds the token
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN: rejected by the Bot API (or TELEGRAM_BASE_URL is wrong)"
        ) from None
    return EXIT_FOUND


def _first_library(corpus: Path, settings: Settings) -> tuple[Library, bool]:
    """The library the bot starts serving, and whether it was opened on a look at the corpus
    folders alone (a file edited in place is then found by the check of every file that the
    bot runs in the background).

    A folder with no readable article (empty, or bad files alone) starts a bot of no article,
    warned of: a newsroom that fills its corpus from feeds or `/add` can only send them to a
    running bot, and the watch, `/reload`, feeds and `/add` bring the first articles in."""
    options = LibraryOptions(lexical_only=settings.lexical_only)
    library = Library.open_current(corpus, settings.index_dir, options, check="folders")
    opened_on_folders = library is not None
    if library is None:  # built as /reload builds: in a child process, whose memory is freed when it exits
        library = asyncio.run(reload_library(corpus, settings.index_dir, options, allow_empty=True))
    log_problems(library.report.problems)
    if not len(library.articles):
        why = "it holds no files" if not library.report.files else "its files' problems are logged above"
        logging.getLogger(__name__).warning(
            "corpus folder %s has no readable article (%s); serving none until one is added: drop "
            "article files into it, or send /reload, /feeds add URL or /add URL as an admin",
            shown_in_line(repr(str(corpus))),
            why,
        )
    return library, opened_on_folders


def log_problems(problems: Sequence[LoadProblem], most: int = 20) -> None:
    """Log the first load problems at start-up, and how many more: never a flood of lines."""
    logger = logging.getLogger(__name__)
    for problem in problems[:most]:
        logger.warning("skipped %s", shown_in_line(str(problem)))
    if len(problems) > most:
        logger.warning("skipped %s more; `newsbot stats` lists every problem", f"{len(problems) - most:,}")


def disable_core_dumps() -> None:
    """Keep the token out of core files: a crash of the bot, or of a child it starts, writes none."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))


def hit_record(hit: Hit) -> dict[str, object]:
    """A hit as plain JSON for scripts."""
    return {
        "article_id": hit.article.id,
        "headline": hit.article.headline,
        "date": hit.article.date.isoformat(),
        "score": round(hit.score, 6),
        "position": hit.passage.position,
        "text": hit.passage.text,
        "matched": matched_words(hit),
        "url": hit.article.url,
    }


def matched_words(hit: Hit) -> list[str]:
    """The question's words as the passage (then the headline) writes them, each once, in order."""
    words: dict[str, None] = {}
    for text in (hit.passage.text, hit.article.headline):
        words.update(dict.fromkeys(text[start:end] for start, end in matched_spans(text, hit.matched)))
    return list(words)


def format_group(rank: int, hits: Sequence[Hit]) -> str:
    """An article's hits for the terminal: headline and date once, then each passage, matches in **bold**."""
    article = hits[0].article
    scores = ", ".join(f"{hit.score:.2f}" for hit in hits)
    lines = [
        f"{rank}. {shown_headline(article)}",
        f"   {article.date}  score {scores}  [{shown_in_line(article.id)}]",
    ]
    if article.url:
        lines.append(f"   {shown_in_line(article.url)}")
    for number, hit in enumerate(hits):
        if number:
            lines.append("   —")
        text = hit.passage.text
        start, end = snippet_span(text, hit.matched, SNIPPET_CHARS)
        shown = ("…" if start else "") + mark(text[start:end], hit.matched) + ("…" if end < len(text) else "")
        lines.append("   " + shown.replace("\n\n", "\n   "))
    also = {a.id: a for hit in hits for a in hit.also_reported_by}
    if also:
        names = [(shown_in_line(a.source or shown_headline(a)), a.date) for a in also.values()]
        others = ", ".join(f"{name} ({date})" for name, date in names)
        lines.append(f"   also reported by {others}")
    return "\n".join(lines) + "\n"


def mark(text: str, terms: frozenset[str], before: str = "**", after: str = "**") -> str:
    """Wrap each word of `text` whose term is in `terms`."""
    pieces, last = [], 0
    for start, end in matched_spans(text, terms):
        pieces += [text[last:start], before, text[start:end], after]
        last = end
    return "".join(pieces) + text[last:]


def main_entry() -> None:
    """Console-script entry point: `newsbot ...`."""
    sys.exit(main())
