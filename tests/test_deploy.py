"""deploy/: the Dockerfile, the Compose files and the systemd unit agree with the bot and each other.

No container engine runs here; `tests/e2e/test_image.py` replays the image's install and
start. These read the files: who the bot runs as, where it writes, what it runs, how long
a stop may take, and what `systemd-analyze` makes of the unit.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from bot.settings import Settings
from tests.conftest import ROOT
from tests.deploy_files import (
    COMPOSE,
    COMPOSE_WEBHOOK,
    DOCKERFILE,
    DOCKERIGNORE,
    UNIT,
    build_context,
    dockerfile_stages,
    environment,
    ignore_rules,
    ignored,
    only,
    seconds,
    shell_commands,
    unit_file,
)

FINAL = dockerfile_stages(DOCKERFILE.read_text())[-1]
PATH_SETTINGS = ("CORPUS_DIR", "INDEX_DIR", "STATE_DIR")
"""The settings that name folders the bot reads and writes (all relative by default)."""
TELEGRAM_PER_SECOND = 30
TELEGRAM_GROUP_PER_MINUTE = 20
"""Telegram's flood limits, which python-telegram-bot's AIORateLimiter keeps to."""


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def service() -> dict[str, Any]:
    return dict(compose()["services"]["newsbot"])


def unit() -> dict[str, dict[str, list[str]]]:
    return unit_file(UNIT.read_text())


def volume_path() -> PurePosixPath:
    (path,) = only(FINAL, "VOLUME").words()
    return PurePosixPath(path)


def image_environment() -> dict[str, str]:
    return environment(FINAL, {"PATH": "/usr/local/bin:/usr/bin:/bin"})


def useradd() -> list[str]:
    for instruction in FINAL:
        for command in shell_commands(instruction) if instruction.keyword == "RUN" else []:
            if command[0] == "useradd":
                return command
    raise AssertionError("the final stage creates no user")


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def setting_default(name: str) -> Path:
    return Path(Settings.model_fields[name.lower()].default)


def test_image_runs_as_the_unprivileged_user_it_creates() -> None:
    user, _, group = only(FINAL, "USER").text.partition(":")
    account = useradd()
    assert user.isdigit() and int(user) != 0  # numeric: Kubernetes' runAsNonRoot can check it
    assert option(account, "--uid") == user
    assert "--system" in account and option(account, "--home-dir") == str(volume_path())
    assert group == user and "--user-group" in account  # its own group, of the same number
    keywords = [instruction.keyword for instruction in FINAL]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k in {"RUN", "COPY"})


def test_every_folder_the_bot_writes_is_in_the_volume_and_belongs_to_its_user() -> None:
    volume, env = volume_path(), image_environment()
    written = [*PATH_SETTINGS, "NUMBA_CACHE_DIR"]
    for name in written:
        assert PurePosixPath(env[name]).is_relative_to(volume), name
    (created,) = [
        command
        for instruction in FINAL
        if instruction.keyword == "RUN"
        for command in shell_commands(instruction)
        if command[:2] == ["install", "-d"]
    ]
    owner = option(created, "-o")
    assert owner == option(useradd(), "--uid") or owner == useradd()[-1]
    assert {str(volume), *(env[name] for name in written if name != "CORPUS_DIR")} <= set(created)
    # the corpus folder is made by the copy of the shipped articles, for the same user
    copies = [instruction for instruction in FINAL if instruction.keyword == "COPY"]
    (corpus_copy,) = [copy for copy in copies if copy.operands()[-1].rstrip("/") == env["CORPUS_DIR"]]
    assert corpus_copy.flags()["chown"] == f"{owner}:{owner}"


@pytest.mark.parametrize("source", ["defaults", ".env.example"])
def test_relative_folders_land_in_the_same_places_as_the_image_sets(source: str) -> None:
    """The working folder is the volume, so a `.env` made from `.env.example` (relative
    folders) and the image's own settings (absolute ones) name the same folders."""
    workdir = PurePosixPath(only(FINAL, "WORKDIR").text)
    assert workdir == volume_path()
    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if line[:1].isupper()
    )
    for name in PATH_SETTINGS:
        value = PurePosixPath(example[name] if source == ".env.example" else setting_default(name))
        assert not value.is_absolute()
        assert workdir / value == PurePosixPath(image_environment()[name]), name


def test_volume_is_declared_after_every_step_that_fills_it() -> None:
    """Docker discards what a build step writes into a volume after its VOLUME line."""
    keywords = [instruction.keyword for instruction in FINAL]
    volume = keywords.index("VOLUME")
    assert all(keyword not in {"RUN", "COPY", "ADD"} for keyword in keywords[volume:])


def test_image_compose_and_unit_run_the_same_command() -> None:
    image = only(FINAL, "ENTRYPOINT").exec_form() + only(FINAL, "CMD").exec_form()
    assert image == ["newsbot", "run"]
    assert service()["command"] == only(FINAL, "CMD").exec_form()
    (exec_start,) = unit()["Service"]["ExecStart"]
    binary, *arguments = exec_start.split()
    assert [Path(binary).name, *arguments] == image
    webhook = yaml.safe_load(COMPOSE_WEBHOOK.read_text())["services"]["newsbot"]
    assert webhook["command"] == [*service()["command"], "--webhook"]


def test_compose_builds_this_repository_and_reads_the_env_file_beside_env_example() -> None:
    settings = service()
    assert (COMPOSE.parent / settings["build"]["context"]).resolve() == ROOT
    assert (ROOT / settings["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert (COMPOSE.parent / settings["env_file"]).resolve() == ROOT / ".env"
    assert ignored(".env", ignore_rules(DOCKERIGNORE.read_text()))  # ... and never into the image


def test_compose_keeps_the_data_in_a_named_volume_at_the_image_volume() -> None:
    (mount,) = service()["volumes"]
    name, _, target = mount.partition(":")
    assert PurePosixPath(target) == volume_path()
    assert name in compose()["volumes"]  # a named volume: a fresh one starts with the image's /data


def test_compose_restarts_passes_signals_and_writes_only_the_volume() -> None:
    settings = service()
    assert settings["restart"] == "unless-stopped"
    assert settings["init"] is True  # the bot is not PID 1, so SIGTERM works before its handler is set
    assert settings["stop_signal"] == only(FINAL, "STOPSIGNAL").text == "SIGTERM"
    assert settings["read_only"] is True and settings["tmpfs"] == ["/tmp"]
    assert settings["cap_drop"] == ["ALL"] and "no-new-privileges:true" in settings["security_opt"]
    assert settings["logging"]["options"] == {"max-size": "10m", "max-file": "5"}  # rotated, bounded


def test_compose_webhook_variant_serves_the_webhook_port_to_a_local_proxy_only() -> None:
    webhook = yaml.safe_load(COMPOSE_WEBHOOK.read_text())["services"]["newsbot"]
    port = webhook["environment"]["WEBHOOK_PORT"]
    assert webhook["ports"] == [f"127.0.0.1:{port}:{port}"]  # a reverse proxy on the host holds TLS
    assert webhook["environment"]["WEBHOOK_LISTEN"] == "0.0.0.0"  # inside the container


def test_stop_grace_outlasts_the_answers_the_bot_finishes_on_sigterm() -> None:
    """On SIGTERM the bot answers the updates it holds: all of them at Telegram's 30 a second,
    or one group's share at 20 a minute, whichever is slower; a grace shorter than that
    would SIGKILL answers already taken from Telegram, which are then lost."""
    limits = Settings(_env_file=None)
    needed = max(
        limits.max_unanswered_updates / TELEGRAM_PER_SECOND,
        limits.max_unanswered_per_chat * 60 / TELEGRAM_GROUP_PER_MINUTE,
    )
    compose_grace = seconds(service()["stop_grace_period"])
    (unit_grace,) = unit()["Service"]["TimeoutStopSec"]
    assert compose_grace == seconds(unit_grace) > needed


def test_dockerignore_keeps_secrets_environments_and_data_out() -> None:
    rules = ignore_rules(DOCKERIGNORE.read_text())
    for path in (
        ".env",
        ".venv/bin/python",
        "data/realtimeqa/questions.jsonl",
        ".newsbot-index/current",
        ".newsbot-state/newsbot.sqlite3",
        ".git/HEAD",
        "tests/test_cli.py",
        "bench/load.py",
        "bot/__pycache__/app.cpython-311.pyc",
        "retrieval/__pycache__/kernels._walk-430.py311.nbi",
    ):
        assert ignored(path, rules), path
    for path in (
        "pyproject.toml",
        "README.md",  # pyproject.toml's readme: the package's description
        "bot/app.py",
        "bot/locale/uk/LC_MESSAGES/newsbot.mo",
        "retrieval/kernels.py",
        "corpus/000_eba0014b280aac67.txt",
    ):
        assert not ignored(path, rules), path


@pytest.mark.parametrize(
    ("rules", "path", "left_out"),
    [
        ("*\n!bot/", "bot/app.py", False),  # an exception brings back a folder's files
        ("*\n!bot/\n**/__pycache__", "bot/sub/__pycache__/x.pyc", True),  # at any depth
        ("*\n!bot/\n**/__pycache__", "bot/sub/cache.py", False),
        ("data", "data/a/b.txt", True),  # a folder's pattern leaves out what is inside
        ("data", "metadata", False),  # whole names only
        ("**/__pycache__\n!bot", "bot/__pycache__/x.pyc", False),  # the last match decides
    ],
)
def test_dockerignore_reader_follows_docker(rules: str, path: str, left_out: bool) -> None:
    assert ignored(path, ignore_rules(rules)) is left_out


def test_every_file_the_dockerfile_copies_is_in_the_build_context() -> None:
    context = set(build_context(ROOT, ignore_rules(DOCKERIGNORE.read_text())))
    assert not {path for path in context if path.startswith((".venv/", "data/", ".git/", ".env"))}
    for stage in dockerfile_stages(DOCKERFILE.read_text()):
        for instruction in stage:
            if instruction.keyword == "COPY" and "from" not in instruction.flags():
                for source in instruction.operands()[:-1]:
                    prefix = source.rstrip("/")
                    assert any(path == prefix or path.startswith(prefix + "/") for path in context), source


def test_unit_runs_as_its_own_user_in_its_state_folder() -> None:
    service_section = unit()["Service"]
    (user,) = service_section["User"]
    (state,) = service_section["StateDirectory"]
    (workdir,) = service_section["WorkingDirectory"]
    assert user not in {"root", "0"}
    assert workdir == f"/var/lib/{state}"  # where .env goes, and the relative folders land
    (numba,) = [value for value in service_section["Environment"] if value.startswith("NUMBA_CACHE_DIR=")]
    assert Path(numba.partition("=")[2]).is_relative_to(workdir)
    assert service_section["KillSignal"] == ["SIGTERM"] and service_section["KillMode"] == ["mixed"]
    assert service_section["Restart"] == ["on-failure"]
    limits = unit()["Unit"]
    assert (limits["StartLimitBurst"], seconds(limits["StartLimitIntervalSec"][0])) == (["5"], 600)


def test_unit_sandbox_leaves_numba_its_executable_memory() -> None:
    service_section = unit()["Service"]
    assert service_section["ProtectSystem"] == ["strict"] and service_section["NoNewPrivileges"] == ["yes"]
    for named_in_readme in ("ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert service_section[named_in_readme] == ["yes"], named_in_readme
    assert "MemoryDenyWriteExecute" not in service_section  # numba compiles code into memory
    assert service_section["CapabilityBoundingSet"] == [""]  # none
    assert service_section["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert "@system-service" in service_section["SystemCallFilter"]
    assert "\n# ReadWritePaths=" in UNIT.read_text()  # the line to uncomment for a corpus elsewhere


def installable_unit(tmp_path: Path) -> Path:
    """The unit with its ExecStart pointing at this checkout's `newsbot`, which does exist
    (quoted as systemd reads a command, for a checkout whose path holds a space)."""
    newsbot = Path(sys.executable).with_name("newsbot")
    assert newsbot.exists()
    quoted = '"' + str(newsbot).replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = UNIT.read_text().replace("/srv/newsbot/.venv/bin/newsbot", quoted)
    path = tmp_path / UNIT.name
    path.write_text(text)
    return path


def test_systemd_analyze_verify_accepts_the_unit_without_a_warning(tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(installable_unit(tmp_path))], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_systemd_analyze_verify_catches_a_misspelt_setting(tmp_path: Path) -> None:
    """The check above would see a typo in the unit (systemd ignores such a line)."""
    path = installable_unit(tmp_path)
    path.write_text(path.read_text().replace("TimeoutStopSec=", "TimeoutStopSecs="))
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    assert "Unknown key 'TimeoutStopSecs'" in result.stderr


def test_unit_exposure_is_rated_ok_by_systemd_analyze_security(tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(installable_unit(tmp_path))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:]  # exposure at most 2.0 of 10
    assert "Overall exposure level for newsbot.service" in result.stdout
