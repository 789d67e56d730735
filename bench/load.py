"""Load test: the real bot, as a process, against a fake Bot API server on 127.0.0.1.

    python bench/load.py                       # 1,000 questions from 100 users, shipped corpus
    python bench/load.py --generate 100000     # the same over a generated 100,000-passage corpus
    python bench/load.py --generate 100000 --reload update   # and an admin's /reload meanwhile
    python bench/load.py --long                # 4,090-character questions at 20/s, 100,000 passages

Queues bursts of questions from many users at the fake server, which the bot polls like
Telegram, and prints: answered, lost, duplicated, p50/p95/p99 time from update to answer
and the bot process's peak memory. Bounded in count and time: it stops by itself.

With `--reload`, a quarter of the way through, 10% more passages arrive as new files
and an admin sends /reload (`update`); with `rebuild` the saved index is deleted first,
so the whole corpus is read again. It then also prints how long the reload took and the
latencies of the questions asked while it ran.

    python bench/load.py --stop grace          # SIGTERM with 1,000 questions queued, SIGKILL 10 s later
    python bench/load.py --stop grace --bound 10000   # the same with no bound (as before it)
    python bench/load.py --stop reload --generate 100000   # SIGTERM during a full /reload

`--stop grace` queues 1,000 questions from 1,000 users at once, sends SIGTERM once 100
are answered and SIGKILL 10 s later if the bot still runs (a container's grace),
restarts the bot (the fake server hands out again what was not confirmed), and prints
how long the stop took and how many questions were lost or answered twice. `--stop
reload` times SIGTERM to exit during a /reload that rebuilds the whole index, 5 times.

With `--long`, every question is as long as Telegram allows (4,090 characters) and made
of the corpus's most frequent words, the costliest question a user can send; it runs
over a generated 100,000-passage corpus at 20 questions a second unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from fakes.bot_api import FakeBotApi  # noqa: E402
from fakes.corpora import generate_corpus  # noqa: E402

TOKEN = "100000:load-test-token"
ADMIN = 1
QUESTION_WORDS = 4
LONG_QUESTION_CHARS = 4090
FREQUENT_WORDS = 300


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument(
        "--generate", type=int, default=0, metavar="PASSAGES", help="generate a corpus this big"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="questions per second arriving (default 25, under Telegram's 30 messages/s; "
        "20 with --long); 0 = all at once",
    )
    parser.add_argument(
        "--long",
        action="store_true",
        help=f"{LONG_QUESTION_CHARS:,}-character questions of the most frequent words "
        "(generates 100,000 passages unless --generate says otherwise)",
    )
    parser.add_argument(
        "--reload",
        choices=("none", "update", "rebuild"),
        default="none",
        help="an admin's /reload a quarter of the way through (needs --generate)",
    )
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds before giving up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--stop",
        choices=("grace", "reload"),
        help="instead of the load: SIGTERM then SIGKILL with a queue, or SIGTERM during a /reload",
    )
    parser.add_argument(
        "--bound", type=int, default=100, help="MAX_UNANSWERED_UPDATES for --stop grace (default 100)"
    )
    parser.add_argument("--grace", type=float, default=10.0, help="seconds from SIGTERM to SIGKILL")
    parser.add_argument(
        "--answered", type=int, default=100, help="--stop grace: SIGTERM once this many are answered"
    )
    args = parser.parse_args()
    if args.rate is None:
        args.rate = 20.0 if args.long else 25.0
    if args.long and not args.generate:
        args.generate = 100_000
    if args.stop == "grace":
        asyncio.run(stop_with_a_queue(args))
    elif args.stop == "reload":
        asyncio.run(stop_during_reload(args))
    else:
        asyncio.run(run(args))


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        corpus = args.corpus
        if args.generate:
            corpus = Path(scratch) / "corpus"
            corpus.mkdir()
            print(f"generating {args.generate:,} passages ...", file=sys.stderr)
            vocabulary = generate_corpus(corpus, args.generate, args.seed)
            words = vocabulary[100:5000]
            if args.long:  # the generator's Zipf ranks follow the sorted vocabulary
                words = vocabulary[:FREQUENT_WORDS]
            if args.reload != "none":  # hidden until the reload: a dot folder is not corpus
                (corpus / ".incoming").mkdir()
                generate_corpus(corpus / ".incoming", args.generate // 10, args.seed + 1)
        else:
            words = ["Umerov", "Abramovich", "negotiations", "corridor", "grain", "Istanbul", "Scholz", "war"]
        api = FakeBotApi(TOKEN)
        await api.start()
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": api.base_url,
            "CORPUS_DIR": str(corpus),
            "INDEX_DIR": str(Path(scratch) / "index"),
            "LOG_LEVEL": "WARNING",
            "ADMIN_IDS": str(ADMIN),
        }
        bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=ROOT, env=env)
        try:
            started = time.monotonic()
            await api.wait_for("deleteWebhook", timeout=args.deadline)
            print(f"bot ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
            reload = Reload(corpus, Path(scratch) / "index", args.reload) if args.reload != "none" else None
            await send_and_measure(api, args, rng, words, bot.pid, reload)
        finally:
            bot.terminate()
            await bot.wait()
            await api.stop()


@dataclass
class Reload:
    """An admin's /reload during the load: new files appear, then the command is sent."""

    corpus: Path
    index: Path
    kind: str
    started: float = 0.0

    def start(self, api: FakeBotApi) -> None:
        (self.corpus / ".incoming").rename(self.corpus / "added")
        if self.kind == "rebuild":
            shutil.rmtree(self.index, ignore_errors=True)
        self.started = time.monotonic()
        api.push_message("/reload", user_id=ADMIN)

    def finished(self, api: FakeBotApi) -> float | None:
        """When the reload's report arrived, if it has."""
        replies = api.sent("sendMessage", ADMIN)
        return replies[0].at if replies else None


async def send_and_measure(
    api: FakeBotApi,
    args: argparse.Namespace,
    rng: random.Random,
    words: list[str],
    pid: int,
    reload: Reload | None,
) -> None:
    users = [1000 + n for n in range(args.users)]
    asked: dict[int, list[float]] = {user: [] for user in users}
    peak_kb = 0
    deadline = time.monotonic() + args.deadline
    start = time.monotonic()
    for number in range(args.questions):
        user = users[number % len(users)]
        question = (
            long_question(rng, words) if args.long else " ".join(rng.sample(words, QUESTION_WORDS)) + "?"
        )
        if args.rate:
            await asyncio.sleep(max(0.0, start + number / args.rate - time.monotonic()))
        elif number % 50 == 49:
            await asyncio.sleep(0)  # let the server hand out what is queued
        if reload and number == args.questions // 4:
            reload.start(api)
        asked[user].append(time.monotonic())
        api.push_message(question, user_id=user)
        peak_kb = max(peak_kb, peak_memory_kb(pid)) if number % 100 == 0 else peak_kb
    while time.monotonic() < deadline:
        peak_kb = max(peak_kb, peak_memory_kb(pid))
        answered_all = sum(len(api.sent("sendMessage", user)) for user in users) >= args.questions
        if answered_all and (reload is None or reload.finished(api)):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # time for duplicates to show up, if any
    peak_kb = max(peak_kb, peak_memory_kb(pid))
    timings, answered, lost, duplicated = [], 0, 0, 0
    for user in users:
        replies = api.sent("sendMessage", user)
        answered += min(len(replies), len(asked[user]))
        lost += max(0, len(asked[user]) - len(replies))
        duplicated += max(0, len(replies) - len(asked[user]))
        timings += [(sent, reply.at - sent) for reply, sent in zip(replies, asked[user], strict=False)]
    rate = f"{args.rate:g}/s" if args.rate else "all at once"
    kind = f" of {LONG_QUESTION_CHARS:,} characters" if args.long else ""
    print(f"questions   {args.questions}{kind} from {args.users} users, arriving {rate}")
    print(f"answered    {answered}")
    print(f"lost        {lost}")
    print(f"duplicated  {duplicated}")
    print(f"p50 / p95 / p99 update to answer  {percentiles([took for _, took in timings])}")
    print(f"bot peak memory  {peak_kb / 1024:.0f} MB")
    private, mapped = memory_kb(pid, "RssAnon") // 1024, memory_kb(pid, "RssFile") // 1024
    print(f"bot memory at the end  {private} MB private + {mapped} MB of mapped files (index, texts, code)")
    if reload is not None:
        done = reload.finished(api)
        if done is None:
            print("reload      not finished before the deadline")
            return
        during = [took for sent, took in timings if reload.started <= sent < done]
        report = " ".join(api.sent("sendMessage", ADMIN)[0].params["text"].split())
        print(f"reload ({reload.kind})  {done - reload.started:.1f} s: {report[:120]}")
        print(f"questions asked during the reload  {len(during)}, p50 / p95 / p99 {percentiles(during)}")


async def start_bot(api: FakeBotApi, corpus: Path, index: Path, **values: str) -> asyncio.subprocess.Process:
    """The bot as a process (`python -m bot`), once it polls the fake server."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "CORPUS_DIR": str(corpus),
        "INDEX_DIR": str(index),
        "LOG_LEVEL": "WARNING",
        "ADMIN_IDS": str(ADMIN),
        **values,
    }
    polls = len(api.sent("getUpdates"))
    bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=ROOT, env=env)
    await api.wait_for("getUpdates", count=polls + 1, timeout=600)
    return bot


async def stop_within(bot: asyncio.subprocess.Process, grace: float) -> tuple[float, bool]:
    """SIGTERM, then SIGKILL after `grace` seconds if still running: (seconds to exit, killed?)."""
    started = time.monotonic()
    bot.terminate()
    try:
        await asyncio.wait_for(bot.wait(), grace)
    except TimeoutError:
        bot.kill()
        await bot.wait()
        return time.monotonic() - started, True
    return time.monotonic() - started, False


async def stop_with_a_queue(args: argparse.Namespace) -> None:
    """1,000 questions queued; SIGTERM, SIGKILL after the grace; restart; count lost and repeated."""
    rng = random.Random(args.seed)
    words = ["Umerov", "Abramovich", "negotiations", "corridor", "grain", "Istanbul", "Scholz", "war"]
    with tempfile.TemporaryDirectory() as scratch:
        api = FakeBotApi(TOKEN)
        await api.start()
        index = Path(scratch) / "index"
        bound = {"MAX_UNANSWERED_UPDATES": str(args.bound)}
        bots = []
        try:
            bots.append(bot := await start_bot(api, args.corpus, index, **bound))
            users = [10_000 + n for n in range(args.questions)]  # one question each: exact accounting
            for user in users:
                final = api.push_message(" ".join(rng.sample(words, QUESTION_WORDS)) + "?", user_id=user)
            await api.wait_for("sendMessage", count=args.answered, timeout=args.deadline)  # mid-burst
            stopped, killed = await stop_within(bot, args.grace)
            before = len(api.sent("sendMessage"))
            bots.append(restarted := await start_bot(api, args.corpus, index, **bound))
            deadline = time.monotonic() + args.deadline
            while not any(offset > final for offset, _ in api.confirmations):  # by either bot
                if time.monotonic() > deadline:
                    raise SystemExit("the restarted bot did not take the remaining questions in time")
                await asyncio.sleep(0.05)  # until the restarted bot has taken all that was left
            await stop_within(restarted, args.deadline)  # SIGTERM: it answers what it took, then exits
        finally:
            for running in bots:
                if running.returncode is None:
                    running.kill()
            await api.stop()
    replies = [len(api.sent("sendMessage", user)) for user in users]
    lost = sum(1 for count in replies if count == 0)
    duplicated = sum(count - 1 for count in replies if count > 1)
    print(f"questions   {args.questions} queued at once, MAX_UNANSWERED_UPDATES={args.bound}")
    how = f"SIGKILL after {args.grace:g} s" if killed else "exited by itself"
    print(f"stop        SIGTERM -> {how} in {stopped:.1f} s, {before} answered by then")
    print(f"restart     answered {len(api.sent('sendMessage')) - before} more")
    print(f"lost        {lost}")
    print(f"duplicated  {duplicated}")


async def stop_during_reload(args: argparse.Namespace, runs: int = 5) -> None:
    """Seconds from SIGTERM to exit while a /reload rebuilds the whole index, `runs` times."""
    if not args.generate:
        raise SystemExit("--stop reload needs --generate PASSAGES (a corpus whose rebuild takes a while)")
    with tempfile.TemporaryDirectory() as scratch:
        corpus, index = Path(scratch) / "corpus", Path(scratch) / "index"
        corpus.mkdir()
        print(f"generating {args.generate:,} passages ...", file=sys.stderr)
        generate_corpus(corpus, args.generate, args.seed)
        api = FakeBotApi(TOKEN)
        await api.start()
        took = []
        try:
            for _ in range(runs):
                bot = await start_bot(api, corpus, index)
                shutil.rmtree(index)  # the reload reads everything again
                api.push_message("/reload", user_id=ADMIN)
                while not children(bot.pid):
                    await asyncio.sleep(0.01)
                await asyncio.sleep(1.0)  # well into the reload
                stopped, killed = await stop_within(bot, args.deadline)
                took.append(stopped)
                assert not killed and not api.sent("sendMessage", ADMIN), "the reload was not abandoned"
        finally:
            await api.stop()
    print(f"SIGTERM during a full /reload of {args.generate:,} passages, to exit: ", end="")
    print(f"median {statistics.median(took):.2f} s, max {max(took):.2f} s over {runs} runs")


def children(pid: int) -> list[int]:
    """Process ids of the children of `pid`, from /proc."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def long_question(rng: random.Random, words: list[str]) -> str:
    """Frequent words drawn at random up to Telegram's length limit: the costliest question."""
    question = rng.choice(words)
    while True:
        longer = f"{question} {rng.choice(words)}"
        if len(longer) > LONG_QUESTION_CHARS:
            return question
        question = longer


def percentiles(seconds: list[float]) -> str:
    """p50 / p95 / p99 in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100) if len(seconds) > 1 else (seconds or [0.0]) * 99
    return " / ".join(f"{cuts[at] * 1000:.0f}" for at in (49, 94, 98)) + " ms"


def peak_memory_kb(pid: int) -> int:
    """The process's peak resident set (VmHWM), from /proc; 0 where unavailable."""
    return memory_kb(pid, "VmHWM")


def memory_kb(pid: int, field: str) -> int:
    """One memory figure of /proc/PID/status in kB (VmHWM, RssAnon, RssFile); 0 where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    main()
