"""The container image, replayed without a container engine: its install, then its start.

`deploy/Dockerfile` is read step by step into a folder standing for the image's root:
COPY takes files from the build context the `.dockerignore` leaves, and the few RUN
commands it uses are carried out (the virtualenv, the project installed from the copied
sources, the folders made for the bot's user). The bot is then started with the image's
command, working folder and environment, plus a Compose `.env` made from `.env.example`,
against the fake Bot API, with no privileges and every file outside the volume
read-only. What differs from a real container: the base image (this machine's Python
stands for `python:3.11-slim`), the dependencies (this environment's, found through a
`.pth` file rather than downloaded), the user (this one, or root stripped of every
capability, rather than uid 10001), and what a container shuts out (other folders, the
network, other processes).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
import yaml

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES
from fakes.bot_api import FakeBotApi
from tests.conftest import ROOT
from tests.deploy_files import (
    COMPOSE,
    DOCKERFILE,
    DOCKERIGNORE,
    build_context,
    dockerfile_stages,
    expand,
    ignore_rules,
    seconds,
    shell_commands,
)
from tests.e2e.conftest import TOKEN

BASE_ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
"""What `python:3.11-slim` sets before the Dockerfile's own ENV lines."""
QUESTION = "Who negotiated with Abramovich?"


@dataclass
class Image:
    """The replayed image: its root folder on this machine and what `docker run` would use."""

    root: Path
    environment: dict[str, str] = field(default_factory=dict)
    workdir: PurePosixPath = field(default_factory=lambda: PurePosixPath("/"))
    volume: PurePosixPath = field(default_factory=lambda: PurePosixPath("/"))
    home: PurePosixPath = field(default_factory=lambda: PurePosixPath("/"))
    command: list[str] = field(default_factory=list)

    def host(self, path: PurePosixPath | str) -> Path:
        """Where a path of the image lies on this machine."""
        return self.root / PurePosixPath(path).relative_to("/")

    def host_value(self, value: str) -> str:
        """An environment value with the image's paths (also in a `:` list, as PATH) made this machine's."""
        if not value.startswith("/"):
            return value
        return ":".join(str(self.host(part)) if self.holds(part) else part for part in value.split(":"))

    def holds(self, path: str) -> bool:
        """Whether `path` is in a top folder the image made (so not /usr/bin of the base image)."""
        parts = PurePosixPath(path).parts
        return path.startswith("/") and len(parts) > 1 and (self.root / parts[1]).exists()


def replay(root: Path) -> Image:
    """Carry out the Dockerfile's stages in `root`; every stage shares it, as the venv needs
    the same path in the stage that builds it and the one that copies it."""
    rules = ignore_rules(DOCKERIGNORE.read_text())
    context = sorted(build_context(ROOT, rules))
    image = Image(root)
    build_only: list[PurePosixPath] = []
    stages = dockerfile_stages(DOCKERFILE.read_text())
    for number, stage in enumerate(stages):
        final = number == len(stages) - 1
        workdir, environment = PurePosixPath("/"), dict(BASE_ENVIRONMENT)
        for instruction in stage[1:]:
            keyword, words = instruction.keyword, instruction.operands()
            if keyword == "WORKDIR":
                workdir = workdir / instruction.text
                image.host(workdir).mkdir(parents=True, exist_ok=True)
                if not final:
                    build_only.append(workdir)
            elif keyword == "COPY" and "from" in instruction.flags():
                source, target = words
                assert source == target and image.host(source).is_dir()  # same path in both stages
            elif keyword == "COPY":
                copy_from_context(context, words[:-1], workdir / words[-1], words[-1].endswith("/"), image)
            elif keyword == "RUN":
                for command in shell_commands(instruction):
                    run_step(command, image)
            elif keyword == "ENV":
                for word in instruction.words():
                    name, _, value = word.partition("=")
                    environment[name] = expand(value, environment)
            elif keyword == "VOLUME":
                (volume,) = words
                image.volume = PurePosixPath(volume)
            elif keyword == "ENTRYPOINT":
                image.command = instruction.exec_form() + image.command
            elif keyword == "CMD":
                image.command = image.command + instruction.exec_form()
            elif keyword not in {"USER", "STOPSIGNAL"}:
                raise AssertionError(f"the replay does not know {keyword}: teach tests/e2e/test_image.py")
        image.workdir, image.environment = workdir, environment
    for path in build_only:  # the build stage's sources are not in the final image
        shutil.rmtree(image.host(path))
    return image


def copy_from_context(
    context: list[str], sources: list[str], target: PurePosixPath, into: bool, image: Image
) -> None:
    """COPY: files, and folders' contents, from the build context to `target`."""
    for source in sources:
        prefix = source.rstrip("/")
        files = [path for path in context if path == prefix or path.startswith(prefix + "/")]
        assert files, f"COPY {source}: not in the build context"
        for path in files:
            if path == prefix:
                destination = target / Path(path).name if into or len(sources) > 1 else target
            else:
                destination = target / Path(path).relative_to(prefix)
            image.host(destination).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, image.host(destination))


def run_step(command: list[str], image: Image) -> None:
    """One command of a RUN line, of the few the Dockerfile uses."""
    if command[:3] == ["python", "-m", "venv"]:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", image.host(command[3])], check=True)
    elif command[0].endswith("/bin/pip") and command[1] == "install":
        # `pip install SOURCE` builds a wheel of SOURCE and installs it: done here in two steps,
        # offline, the build with this environment's setuptools, the dependencies this
        # environment's (found through a .pth file) where the image's pip downloads them
        venv = image.host(command[0]).parent.parent
        *options, source = command[2:]
        wheels = image.host(source) / "dist"  # in the sources, which the final image leaves out
        pip = [sys.executable, "-m", "pip"]
        offline = ["-q", "--no-deps", "--no-index", "--no-cache-dir"]
        subprocess.run(
            [*pip, "wheel", *offline, "--no-build-isolation", "-w", wheels, image.host(source)], check=True
        )
        (wheel,) = wheels.glob("*.whl")
        subprocess.run(
            [*pip, "--python", venv / "bin" / "python", "install", *offline, *options, wheel], check=True
        )
        site = sorted(venv.glob("lib/python*/site-packages"))[0]
        (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elif command[0] == "useradd":
        image.home = PurePosixPath(command[command.index("--home-dir") + 1])
    elif command[:2] == ["install", "-d"]:
        for folder in command[2:]:
            if folder.startswith("/"):
                image.host(folder).mkdir(parents=True, exist_ok=True)
    else:
        raise AssertionError(f"the replay does not know {command}: teach tests/e2e/test_image.py")


def compose_env_file(values: dict[str, str]) -> dict[str, str]:
    """What Compose's `env_file` puts in the environment for a `.env` made from
    `.env.example` with `values` filled in: quotes taken off, empty values kept empty."""
    env: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line[:1].isupper():
            name, _, value = line.partition("=")
            quoted = len(value) > 1 and value[0] == value[-1] and value[0] in "\"'"
            env[name] = value[1:-1] if quoted else value
    return {**env, **values}


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


def set_writable(root: Path, keep: Path, writable: bool) -> None:
    """Take write permission off every file and folder under `root` but `keep` (or give it back)."""
    for folder, subfolders, names in os.walk(root):
        if Path(folder) == keep:
            subfolders[:] = []
            continue
        for path in [Path(folder), *(Path(folder) / name for name in names)]:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
            path.chmod(mode | stat.S_IWUSR if writable else mode & ~bits)


def unprivileged(argv: list[str]) -> list[str]:
    """`argv` run without any privilege: as root here, with every capability dropped, so the
    permission bits bind it as they bind uid 10001 in the image."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", *argv]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    """The image replayed once, read-only but for its volume."""
    built = replay(tmp_path_factory.mktemp("image"))
    set_writable(built.root, built.host(built.volume), writable=False)
    yield built
    set_writable(built.root, built.host(built.volume), writable=True)


def container_environment(image: Image, env_file: dict[str, str]) -> dict[str, str]:
    """What the bot's process gets in the container: the image's ENV, HOME of its user, and
    the env file, which Compose puts over the image's values."""
    values = {**image.environment, "HOME": str(image.home), **env_file}
    return {name: image.host_value(value) for name, value in values.items()}


async def start(image: Image, env: dict[str, str]) -> asyncio.subprocess.Process:
    """The image's command, found on its PATH, in its working folder."""
    program, *arguments = image.command
    found = shutil.which(program, path=env["PATH"])
    assert found == str(image.host("/opt/newsbot/bin") / program)  # the image's, not this checkout's
    return await asyncio.create_subprocess_exec(
        *unprivileged([found, *arguments]),
        cwd=image.host(image.workdir),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_log(stream: asyncio.StreamReader, lines: list[str], compiled: asyncio.Event) -> None:
    """Keep each line the bot logs in `lines`; set `compiled` once it says its search code is.

    Read in chunks, not lines: a line over the stream's limit (a DEBUG line with a whole
    update) would make `readline` raise and lose it, and end the reading.
    """
    pending = b""
    while chunk := await stream.read(1 << 16):
        *ended, pending = (pending + chunk).split(b"\n")
        for line in ended:
            lines.append(line.decode(errors="replace") + "\n")
            if "search code compiled" in lines[-1]:
                compiled.set()
    if pending:
        lines.append(pending.decode(errors="replace"))


async def answer_then_stop(image: Image, env_file: dict[str, str], api: FakeBotApi, user: int) -> str:
    """Start the bot, ask it one question, let it finish compiling (or loading) its search
    code, stop it as `docker stop` does; its log."""
    grace = seconds(yaml.safe_load(COMPOSE.read_text())["services"]["newsbot"]["stop_grace_period"])
    process = await start(image, container_environment(image, {**env_file, "LOG_LEVEL": "DEBUG"}))
    assert process.stderr is not None
    lines: list[str] = []
    compiled = asyncio.Event()
    reader = asyncio.create_task(read_log(process.stderr, lines, compiled))
    try:
        api.push_message(QUESTION, user_id=user)
        (reply,) = await api.wait_for("sendMessage", chat_id=user, timeout=180)
        assert "Abramovich" in reply.params["text"]
        await asyncio.wait_for(compiled.wait(), 180)  # all of it in the cache before the stop
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), grace)  # after the grace, Docker would SIGKILL
        await asyncio.wait_for(reader, grace)  # the log ends with the container, its children too
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        reader.cancel()
    log = "".join(lines)
    assert process.returncode == 0, log[-3000:]
    return log


async def test_the_log_is_read_whole_however_long_its_lines() -> None:
    stream = asyncio.StreamReader()  # as a pipe of `start`'s gives, which reads at most 64 KiB a line
    update = "DEBUG telegram.ext.Updater: update " + "x" * 100_000 + "\n"  # a whole update, logged
    compiled = "DEBUG bot.app: search code compiled\n"
    stream.feed_data(f"{update}{compiled}last words, unended".encode())
    stream.feed_eof()
    lines: list[str] = []
    event = asyncio.Event()
    await read_log(stream, lines, event)
    assert lines == [update, compiled, "last words, unended"]
    assert event.is_set()


def test_the_install_ships_the_code_and_the_interface_catalogs(image: Image) -> None:
    venv = image.host("/opt/newsbot")
    probe = "import bot, retrieval; print(bot.__file__); print(retrieval.__file__)"
    result = subprocess.run(
        unprivileged([str(venv / "bin" / "python"), "-c", probe]),
        cwd=image.host(image.workdir),
        env=container_environment(image, {}),
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(Path(line).is_relative_to(venv) for line in result.stdout.splitlines())  # not this checkout
    catalogs = {path.parent.parent.name for path in venv.rglob("bot/locale/*/LC_MESSAGES/newsbot.mo")}
    assert catalogs == set(LANGUAGES) - {DEFAULT_LANGUAGE}  # compiled, committed, and in the wheel
    assert not image.host("/src").exists() and image.host("/data/corpus/000_eba0014b280aac67.txt").exists()


async def test_the_image_serves_as_non_root_writes_only_its_volume_and_a_restart_compiles_nothing(
    image: Image,
) -> None:
    outside = files(image.root)
    volume = image.host(image.volume)
    outside = {
        name: value for name, value in outside.items() if not (image.root / name).is_relative_to(volume)
    }
    api = FakeBotApi(TOKEN)
    await api.start()
    try:
        # first start: .env made from .env.example (relative folders), as the README says
        env_file = compose_env_file({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.base_url})
        log = await answer_then_stop(image, env_file, api, user=7)
        written = {path.name for path in volume.iterdir()}
        assert written == {"corpus", ".newsbot-index", ".newsbot-state", ".numba-cache"}  # nothing else
        assert (volume / ".newsbot-state" / "newsbot.sqlite3").is_file()
        assert any((volume / ".newsbot-index").iterdir())
        compiled = files(volume / ".numba-cache")
        assert any(name.endswith(".nbi") for name in compiled)
        assert "not cached" not in log and TOKEN.split(":")[1] not in log
        # a restart: the image's own absolute folders, the same as the relative ones above
        log = await answer_then_stop(
            image, {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.base_url}, api, 8
        )
    finally:
        await api.stop()
    assert files(volume / ".numba-cache") == compiled  # the compiled code was loaded, not compiled again
    assert "every corpus file is as the saved index was built from" in log  # served as saved
    after = files(image.root)
    assert {name: after[name] for name in outside} == outside
