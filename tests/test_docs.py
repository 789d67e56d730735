"""Tests that keep the documentation and the architecture honest."""

import ast
import asyncio
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.conftest import ROOT

NEWSBOT = Path(sys.executable).with_name("newsbot")
OFFLINE_COMMANDS = {"ask", "eval", "stats", "timeline"}
"""The commands that need neither a token nor the network: their examples are run as shown."""

FORBIDDEN_IN_RETRIEVAL = {"bot", "telegram", "pydantic_settings", "pydantic"}


def test_env_example_lists_exactly_the_settings() -> None:
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", text, flags=re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_env_example_shows_each_settings_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """A `.env` copied from it changes nothing until edited, as "its default" promises."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    shown = Settings(_env_file=ROOT / ".env.example")
    defaults = Settings(_env_file=None)
    assert {name: getattr(shown, name) for name in Settings.model_fields} == defaults.model_dump()


def test_retrieval_imports_no_bot_telegram_or_settings() -> None:
    for path in (ROOT / "retrieval").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            roots = {name.split(".")[0] for name in names}
            assert not roots & FORBIDDEN_IN_RETRIEVAL, f"{path.name} imports {roots & FORBIDDEN_IN_RETRIEVAL}"


def test_readme_quickstart_matches_ci() -> None:
    """The quickstart's two commands, one line each: install and run, install and test; the
    second is exactly what `.ci/run` runs."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = ci.strip().splitlines()[-1]
    assert test_command in readme
    assert "newsbot ask" in readme
    quickstart = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quickstart, flags=re.DOTALL)
    assert len(commands) == 2 and not any("\n" in command for command in commands)
    assert "/pip install " in commands[0] and "&& .venv/bin/newsbot ask " in commands[0]
    assert commands[1] == test_command


def test_shipped_seed_is_byte_for_byte(tmp_path: Path) -> None:
    shared = ROOT.parent / "shared" / "seed"
    if shared.is_dir():  # the seed's origin sits beside the repository in development and CI
        for original in shared.iterdir():
            assert (ROOT / "corpus" / original.name).read_bytes() == original.read_bytes()
    assert (
        (ROOT / "corpus" / "000_eba0014b280aac67.txt").read_bytes().startswith(b" date 2024-10-23 Ukraine's")
    )


def test_every_registered_command_is_in_help_and_readme(tmp_path: Path) -> None:
    from telegram.ext import CommandHandler

    from bot.app import build_application
    from bot.handlers import ADMIN_COMMANDS, COMMANDS
    from retrieval import Library
    from tests.conftest import SHIPPED_CORPUS

    # A realistic token: `build_application` redacts its secret half from every later log line.
    settings = Settings(_env_file=None, telegram_bot_token="1:docs-test-secret", corpus_dir=SHIPPED_CORPUS)
    application = build_application(settings, Library.load(SHIPPED_CORPUS))
    try:
        registered = {
            command
            for group in application.handlers.values()
            for handler in group
            if isinstance(handler, CommandHandler)
            for command in handler.commands
        }
    finally:
        asyncio.run(application.shutdown())  # closes the state file it opened
    menu = {name for name, _ in COMMANDS + ADMIN_COMMANDS}
    assert registered == menu
    readme = (ROOT / "README.md").read_text()
    for name in menu:
        assert f"`/{name}" in readme


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_readme_and_docs_resolves() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) >= 5  # the README and docs/quality, speed, reliability, development
    for page in pages:
        text = page.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):  # https:, mailto: ... are not ours to check
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: {target} names no file"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.MULTILINE)
                assert anchor in {_anchor(h) for h in headings}, f"{page.name}: {target} names no heading"


def test_readme_keeps_the_sections_a_newcomer_needs_in_order() -> None:
    headings = re.findall(r"^## (.+)$", (ROOT / "README.md").read_text(), flags=re.MULTILINE)
    first = ["Quickstart", "Telegram setup", "Commands"]
    assert headings[:3] == first
    for later in ("The corpus", "Deploy", "Settings", "Quality", "Speed", "Reliability"):
        assert later in headings
    assert headings.index("Deploy") < headings.index("How answers are ranked")


def _console_examples(page: Path) -> list[tuple[list[str], list[str]]]:
    """Each `$ command` of a page's console blocks, split as a shell splits it, with the
    output lines shown under it."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", page.read_text(), flags=re.DOTALL):
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, *shown = chunk.rstrip("\n").split("\n")
            examples.append((shlex.split(command), shown))
    return examples


def _shown_as_pattern(shown: list[str]) -> str:
    """The output a page shows as a pattern: a line of `…` or `...` alone stands for any lines."""
    return "".join(r"(?:.*\n)*" if line.strip() in ("…", "...") else re.escape(line) + "\n" for line in shown)


def test_console_examples_print_what_the_docs_show() -> None:
    """A newcomer pastes them from the repository's root: each runs, and prints the lines shown."""
    examples = [
        (page, argv, shown)
        for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        for argv, shown in _console_examples(page)
    ]
    assert all(argv[0] == ".venv/bin/newsbot" for _, argv, _ in examples)
    offline = [(page, argv, shown) for page, argv, shown in examples if argv[1] in OFFLINE_COMMANDS]
    assert {argv[1] for _, argv, _ in offline} >= {"ask", "eval"}
    environment = {k: v for k, v in os.environ.items() if k not in ("CORPUS_DIR", "TELEGRAM_BOT_TOKEN")}
    for page, argv, shown in offline:
        done = subprocess.run(
            [str(NEWSBOT), *argv[1:]], capture_output=True, text=True, cwd=ROOT, env=environment, check=False
        )
        assert done.returncode == 0, f"{page.name}: {shlex.join(argv)}: {done.stderr}"
        shown_pattern = _shown_as_pattern(shown)
        assert not shown or re.fullmatch(shown_pattern, done.stdout), f"{page.name}: {shlex.join(argv)}"


@pytest.mark.parametrize(
    ("name", "default"),
    [  # as the README states them
        ("TOP_K", 3),  # "`TOP_K` passages, default 3"
        ("FEED_INTERVAL", 15),  # "every `FEED_INTERVAL` minutes (default 15)"
        ("FEED_HOST_DELAY", 1),  # "`FEED_HOST_DELAY` seconds apart (default 1)"
        ("FEED_ROUND_SECONDS", 300),  # "`FEED_ROUND_SECONDS` at most (default 300)"
        ("FEED_TIMEOUT", 20),  # "`FEED_TIMEOUT` seconds for a whole download (default 20)"
        ("FEED_MAX_BYTES", 10_000_000),  # "at most `FEED_MAX_BYTES` (default 10 MB"
        ("FEED_MAX_ITEMS", 200),  # "at most `FEED_MAX_ITEMS` items of each feed (default 200)"
        ("ALERTS_PER_HOUR", 3),  # "At most `ALERTS_PER_HOUR` (default 3) single alerts"
        ("CORPUS_DIR", Path("corpus")),  # "`CORPUS_DIR` (the articles, default `corpus/`)"
        ("INDEX_DIR", Path(".newsbot-index")),  # "`INDEX_DIR` (the saved index, default `.newsbot-index`)"
        ("STATE_DIR", Path(".newsbot-state")),  # "`STATE_DIR` (feeds and topics, default `.newsbot-state`)"
        ("LOG_LEVEL", "INFO"),  # "The log (at the default `LOG_LEVEL=INFO`)"
    ],
)
def test_the_defaults_the_readme_states_are_the_settings_own(name: str, default: object) -> None:
    assert Settings.model_fields[name.lower()].default == default  # .env.example shows the same
