"""Readers for the files in deploy/: a Dockerfile, a .dockerignore, a systemd unit, durations.

No container engine runs the tests, so these read the files the way Docker, Compose and
systemd do, for the subset of each format the deploy files use, and refuse the rest: a
construct they do not know fails a test rather than being misread.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
COMPOSE_WEBHOOK = DEPLOY / "compose.webhook.yaml"
UNIT = DEPLOY / "newsbot.service"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: `COPY --chown=a:b src/ /dst/` is ("COPY", that rest)."""

    keyword: str
    text: str

    def words(self) -> list[str]:
        """The arguments as a shell would split them."""
        return shlex.split(self.text)

    def exec_form(self) -> list[str]:
        """The JSON array of `CMD ["run"]` or `ENTRYPOINT [...]`; the shell form is refused."""
        value = json.loads(self.text)
        assert isinstance(value, list), f"{self.keyword} {self.text}: use the exec (JSON) form"
        return [str(item) for item in value]

    def flags(self) -> dict[str, str]:
        """`--chown=newsbot:newsbot` style options of COPY."""
        return dict(word[2:].split("=", 1) for word in self.words() if word.startswith("--"))

    def operands(self) -> list[str]:
        """The arguments that are not `--flag=value` options."""
        return [word for word in self.words() if not word.startswith("--")]


def dockerfile_stages(text: str) -> list[list[Instruction]]:
    """The instructions of each build stage, each starting with its FROM.

    Comment lines are dropped (also inside a continued line, as Docker does) and lines
    ending in a backslash are joined.
    """
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            keyword, _, rest = line.partition(" ")
            instructions.append(Instruction(keyword.upper(), " ".join(rest.split())))
    assert not pending, "the Dockerfile ends in a continued line"
    stages: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            stages.append([])
        assert stages, "a Dockerfile starts with FROM"
        stages[-1].append(instruction)
    return stages


def only(stage: list[Instruction], keyword: str) -> Instruction:
    """The one `keyword` instruction of a stage (the last one counts for Docker; we allow one)."""
    found = [instruction for instruction in stage if instruction.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {len(found)}"
    return found[0]


def environment(stage: list[Instruction], base: dict[str, str]) -> dict[str, str]:
    """The variables the stage's ENV lines set, `$NAME` expanded from earlier ones and `base`."""
    values: dict[str, str] = {}
    for instruction in stage:
        if instruction.keyword != "ENV":
            continue
        for word in instruction.words():
            name, sep, value = word.partition("=")
            assert sep, f"ENV {word}: write NAME=value"
            values[name] = expand(value, {**base, **values})
    return values


def expand(value: str, known: dict[str, str]) -> str:
    """`$NAME` and `${NAME}` replaced by their values, an unknown one by nothing, as Docker does."""
    return re.sub(r"\$\{?(\w+)\}?", lambda match: known.get(match.group(1), ""), value)


def shell_commands(instruction: Instruction) -> list[list[str]]:
    """A `RUN a && b` line as its commands, each split into words; other shell syntax is refused."""
    words = instruction.words()
    assert not set(words) & {";", "||", "|", "&"}, f"RUN {instruction.text}: only && is understood"
    commands: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    return commands


def ignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """`.dockerignore` lines as (is an exception `!`, pattern), in order; the last match wins."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip().lstrip("/"))
        assert not set(pattern) & set("[]\\"), f"{line}: only *, ** and ? are understood"
        rules.append((exception, re.compile(_regex(pattern))))
    return rules


def _regex(pattern: str) -> str:
    """Docker's pattern syntax (Go's filepath.Match plus `**`) as a regular expression."""
    out = ""
    for piece in re.split(r"(\*\*/?|\*|\?)", pattern):
        if piece.startswith("**"):
            out += "(.*/)?" if piece.endswith("/") else ".*"
        elif piece == "*":
            out += "[^/]*"
        elif piece == "?":
            out += "[^/]"
        else:
            out += re.escape(piece)
    return out


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether Docker leaves `path` (relative, with /) out of the build context.

    A rule matches a path or any folder above it; the last rule that matches decides.
    """
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    verdict = False
    for exception, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            verdict = not exception
    return verdict


def build_context(root: Path, rules: list[tuple[bool, re.Pattern[str]]]) -> Iterator[str]:
    """The files of `root` that a build sends to Docker, as relative paths.

    A left-out folder is not entered unless an exception could bring back something in it
    (Docker's own shortcut, which keeps .venv and data/ from being walked).
    """
    exceptions = [regex.pattern for exception, regex in rules if exception]
    for folder, subfolders, files in os.walk(root):
        relative = Path(folder).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        subfolders[:] = [
            name
            for name in subfolders
            if not ignored(prefix + name, rules) or _may_bring_back(prefix + name, exceptions)
        ]
        yield from (prefix + name for name in files if not ignored(prefix + name, rules))


def unit_file(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as {section: {key: [values in order]}}; keys may repeat, as systemd allows."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None and "=" in line, f"not a unit file line: {line}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


DURATION_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def seconds(duration: str | int | float) -> float:
    """`40s`, `1m30s` (Compose) or `40`, `1min 30s` (systemd) in seconds; a bare number is seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", duration.strip())
    assert parts and re.fullmatch(r"(\s*\d+(\.\d+)?\s*[a-z]*)+", duration), f"not a duration: {duration!r}"
    return sum(float(number) * DURATION_UNITS[unit or "s"] for number, unit in parts)


def _may_bring_back(folder: str, exceptions: list[str]) -> bool:
    """Whether an exception's pattern could match inside `folder`: it names the folder or
    starts with a wildcard."""
    return any(pattern.startswith((".*", "[^/]", "(", re.escape(folder + "/"))) for pattern in exceptions)
