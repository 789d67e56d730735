"""The bot's settings: the only place environment variables are named.

Read from the environment and from `.env`; `.env.example` documents each one.
"""

from __future__ import annotations

import difflib
import re
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from dotenv import dotenv_values
from dotenv.parser import parse_stream
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from retrieval import read_as_corpus

from .addresses import parse_networks
from .fetching import DEFAULT_USER_AGENT
from .logs import REDACTED, TOKEN_SHAPE

TELEGRAM_API = "https://api.telegram.org/bot"

ADMIN_IDS_HELP = (
    "write numeric Telegram user ids (not @usernames) as 1,2,3; to find yours, message @userinfobot, "
    "or send /reload to this bot and its log says 'refused /reload from user <your id>'"
)

MAX_USER_ID = 2**52 - 1
"""Telegram's user ids have at most 52 significant bits; a larger one (a typo) failed each
feed notice look, as no SQLite integer holds it."""


def _user_id(digits: str, written: str) -> None:
    """Refuse `written`, an ADMIN_IDS entry, unless it is a user's id: `digits` (it without its
    sign) are ASCII digits (`٤٢` is not read as 42) and it is from 1 to `MAX_USER_ID`."""
    if not (digits.isascii() and digits.isdecimal()):
        raise ValueError(f"{written!r} is not a user id: {ADMIN_IDS_HELP}")
    if written.startswith("-"):
        raise ValueError(f"{written!r} is a group or channel id, not a user's: {ADMIN_IDS_HELP}")
    if len(digits.lstrip("0")) > 16 or int(digits) > MAX_USER_ID:
        raise ValueError(f"{written[:30]!r} is larger than any Telegram id (52 bits): {ADMIN_IDS_HELP}")
    if int(digits) == 0:
        raise ValueError(f"{written!r} is no one's id: {ADMIN_IDS_HELP}")


WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""What Telegram's setWebhook takes as a secret token."""
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
ENV_FILE = Path(".env")
"""The file settings are read from besides the environment, in the working folder."""


class Settings(BaseSettings):
    """Everything the bot and the command line can be told from outside."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,  # `CORPUS_DIR=` is the default, as ADMIN_IDS= is: not ".", the working folder
    )

    telegram_bot_token: SecretStr | None = None
    """The token @BotFather gives; required to run the bot, not to ask from the shell."""
    telegram_base_url: str = TELEGRAM_API
    """Bot API endpoint; point it at a self-hosted Bot API server (or a test server)."""
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path(".newsbot-index")
    """Where the built indexes are saved, one per corpus folder, and memory-mapped from on the next start."""
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    """Telegram user ids allowed to run /reload, /feeds and /add, written `1,2,3`."""
    top_k: int = Field(3, ge=1, le=10)
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_secret_token: SecretStr | None = None
    """Sent back by Telegram with every update; without it, a random one is made at each start."""
    log_level: LogLevel = "INFO"
    lexical_only: bool = False
    """Rank by words alone, as before meaning, periods and the recency prior were added."""
    questions_per_minute: int = Field(20, ge=1, le=10_000)
    """Questions one user may ask per minute before a polite "slow down"; every command, press and
    inline query the bot replies to counts as one (`handlers.allowed`)."""
    max_unanswered_updates: int = Field(100, ge=1, le=10_000)
    """Updates the bot may take from Telegram before answering them: what a hard kill can lose.

    Telegram sends about 30 messages a second, so 100 are answered in under 4 s, well inside
    the 10 s a container gets between SIGTERM and SIGKILL; and 100 in flight keep that rate
    even when each answer takes three seconds to go out.
    """
    max_unanswered_per_chat: int = Field(10, ge=1, le=10_000)
    """Of those, how many one chat may hold; past it, its updates are dropped and the chat is
    told once a minute to ask again. Telegram lets a bot post 20 messages a minute in a group,
    so 10 are answered within 30 s, and one busy group cannot hold every update in flight."""
    state_dir: Path = Path(".newsbot-state")
    """Where the SQLite file of feeds, seen links and topic subscriptions lives."""
    watch_corpus: bool = True
    """Look at the corpus folders every minute and serve the files added, removed or renamed
    there, as /reload would; false: only /reload (and feeds) change what is served."""
    feed_interval: int = Field(15, ge=0, le=10_080)
    """Minutes between two polls of every feed by the running bot; 0 turns polling off."""
    feed_round_seconds: float = Field(300.0, gt=0, le=604_800)
    """Seconds a round of every feed may take: downloads still going then are cancelled and
    left for the next round, and what did arrive is indexed; never longer than `feed_interval`."""
    feed_timeout: float = Field(20.0, gt=0, le=600)
    """Seconds one feed or page download may take, start to finish."""
    feed_max_bytes: int = Field(10_000_000, ge=10_000, le=1_000_000_000)
    """A feed or page larger than this is skipped, not read."""
    feed_max_items: int = Field(200, ge=1, le=100_000)
    """Items read from one feed in one round, the newest first; the older ones are left unread,
    and /feeds says how many."""
    feed_host_delay: float = Field(1.0, ge=0, le=600)
    """Seconds between two requests to one host: politeness towards publishers."""
    feed_user_agent: str = Field(DEFAULT_USER_AGENT, min_length=1, max_length=300)
    """How the bot introduces itself to publishers' servers; add a contact address."""
    feed_private_networks: Annotated[tuple[IPv4Network | IPv6Network, ...], NoDecode] = ()
    """Networks feeds and links may be fetched from although not public, written `10.20.0.0/16,
    192.168.1.7`; every other private, loopback or link-local address is refused."""
    feed_notify_after: int = Field(4, ge=0, le=10_000)
    """Rounds in a row a feed must fail before the admins are told, in a private message (once,
    and once more when it reads again); 0: never."""
    alerts_per_hour: int = Field(3, ge=1, le=100)
    """Topic alerts one user gets per hour, one message each; more arrive as one digest."""

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _trimmed_token(cls, value: object) -> object:
        """Drop the line end a token read from a file brings (a Docker or Kubernetes secret):
        it went into every request's URL, and the start failed with a traceback."""
        if not isinstance(value, str):
            return value
        token = value.strip()
        if " " in token or not token.isprintable():
            raise ValueError("holds a space or a control character; paste the token @BotFather gave again")
        return token

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):  # `1 2` is refused, not read as user 12: ids are never joined
            parts = [part for part in (part.strip() for part in value.split(",")) if part]
            for part in parts:
                _user_id(part.removeprefix("-"), part)
            return frozenset(int(part) for part in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("admin_ids")
    @classmethod
    def _users_only(cls, value: frozenset[int]) -> frozenset[int]:
        """Refuse what names no user: 0, which no one has, and a negative id, a group's or a
        channel's (a message there comes from its members, each with their own id)."""
        for admin in sorted(value):
            _user_id(str(abs(admin)), str(admin))
        return value

    @field_validator("feed_user_agent", mode="before")
    @classmethod
    def _header_value(cls, value: object) -> object:
        """Refuse at start what no HTTP header can carry: httpx failed every fetch on `Société`
        with a traceback, and a line break would end the header early."""
        if not isinstance(value, str):
            return value
        agent = value.strip()
        if not (agent.isascii() and agent.isprintable()):
            raise ValueError("must be printable ASCII, as HTTP headers are; write Societe for Société")
        return agent

    @field_validator("feed_private_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        return parse_networks(value) if isinstance(value, str | list | tuple) else value

    @field_validator("telegram_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """Refuse a URL no request can go to: without a host (`http://`) or with a port that is no
        number, `newsbot run` failed with a traceback, or retried its first request forever. So
        did one without a path (`https://api.telegram.org`, `http://localhost:8081`): the token
        is written right after it, where it became the port."""
        written = value.startswith(("http://", "https://")) and value.isprintable() and " " not in value
        try:
            parts = urlsplit(value)
            reachable = bool(parts.hostname) and parts.port != 0  # `.port` checks that it is a number
        except ValueError:  # a port that is no number, an unclosed [
            reachable = False
        if not (written and reachable):
            raise ValueError(f"must be an http:// or https:// URL with a host, like {TELEGRAM_API}")
        if not parts.path:
            raise ValueError(
                f"must end in the path the token follows, like {TELEGRAM_API} "
                "(a Bot API server of your own: its address with /bot after it)"
            )
        return value

    @field_validator("webhook_secret_token")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse at start what Telegram would refuse at setWebhook, a refusal the bot retries forever."""
        secret = value.get_secret_value() if value is not None else ""
        if secret and not WEBHOOK_SECRET.fullmatch(secret):
            raise ValueError(
                "must be 1 to 256 of the characters A-Z, a-z, 0-9, _ and -, the only ones Telegram "
                "takes; leave it empty for a random one at each start"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


WEBHOOK_PORTS = (443, 80, 88, 8443)
"""The ports Telegram's own Bot API posts webhooks to; a self-hosted one posts anywhere."""


def webhook_url_problem(settings: Settings) -> str | None:
    """Why Telegram would refuse `WEBHOOK_URL` at setWebhook (a refusal the bot retries
    forever), or None. Only Telegram's own Bot API asks for https and its four ports."""
    if settings.telegram_base_url != TELEGRAM_API or not settings.webhook_url:
        return None
    try:
        parts = urlsplit(settings.webhook_url)
        accepted = parts.scheme == "https" and bool(parts.hostname) and (parts.port or 443) in WEBHOOK_PORTS
    except ValueError:  # a port that is no number
        accepted = False
    if accepted:
        return None
    return (
        f"WEBHOOK_URL: Telegram posts only to https:// URLs on port 443, 80, 88 or 8443 "
        f"(got {settings.webhook_url!r}); put your TLS proxy there"
    )


def state_dir_problem(settings: Settings, corpus: Path | None = None) -> str | None:
    """Why `STATE_DIR` cannot serve with the corpus folder (`corpus`, given with `--corpus`, else
    `CORPUS_DIR`), or None: inside it, the state file and its -wal and -shm files were read as
    articles, and each write of them changed the corpus that the watch and /reload read."""
    folder, named = (corpus, "--corpus") if corpus is not None else (settings.corpus_dir, "CORPUS_DIR")
    if not read_as_corpus(settings.state_dir, folder):
        return None
    return (
        f"STATE_DIR {str(settings.state_dir)!r} lies inside the corpus folder ({named} {str(folder)!r}): "
        "the state file and its -wal and -shm files would be read as articles, and change the corpus "
        "at every write; move it out of the corpus folder, or give it a name that starts with a dot "
        "(as .newsbot-state)"
    )


def secret_variables() -> frozenset[str]:
    """The environment variables that hold secrets (every `SecretStr` setting), upper-cased.

    A child process is started without them, so that neither its environment nor a core
    file of it can hold the token.
    """
    fields = Settings.model_fields.items()
    return frozenset(name.upper() for name, field in fields if SecretStr in get_args(field.annotation))


class SettingsError(Exception):
    """Settings that cannot be used; the message names the variable and the fix."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into one line that names the variable."""
    env_file = overrides.get("_env_file", ENV_FILE)
    try:
        if isinstance(env_file, Path):
            _check_readable(env_file)
        return Settings(**overrides)  # type: ignore[arg-type]
    except UnicodeDecodeError as error:  # the environment is text already: this is .env, saved as Latin-1
        where = f"byte {error.object[error.start]:#04x} at offset {error.start}"
        raise SettingsError(f".env: not UTF-8 ({where}); save it as UTF-8") from None
    except ValueError as error:
        raise SettingsError(describe_error(error)) from None


_KEY = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=")


def _check_readable(env_file: Path) -> None:
    """Refuse a `.env` line that sets a setting but cannot be read (an unclosed quote):
    python-dotenv drops it with a warning naming its line alone, and `ADMIN_IDS="123` started
    a bot with no admin. Only the key is named: the value may be the token."""
    if not env_file.is_file():
        return
    with env_file.open(encoding="utf-8") as stream:  # not UTF-8: `load_settings` says so
        unread = [binding.original for binding in parse_stream(stream) if binding.error]
    names = {name.upper() for name in Settings.model_fields}
    for original in unread:
        key = _KEY.match(original.string)
        if key and key[1].upper() in names:
            raise SettingsError(
                f"{env_file} line {original.line}: {key[1]} cannot be read (an unclosed quote?), "
                'so it would be left unset; write it as KEY=value or KEY="value"'
            )


def misspelt_settings(env_file: Path = ENV_FILE) -> list[str]:
    """One line for each key of `env_file` that names no setting but nearly names one
    (`TOPK` for `TOP_K`): keys a setting does not know are ignored, as a `.env` shared with
    other tools holds theirs, so a typo would leave its setting at the default unsaid."""
    try:
        keys = dotenv_values(env_file, encoding="utf-8") if env_file.is_file() else {}
    except (OSError, UnicodeDecodeError):  # `load_settings` names what is wrong with the file
        return []
    names = [name.upper() for name in Settings.model_fields]
    lines = []
    for key in keys:
        if key.upper() in names:  # a setting: no near name to look for
            continue
        meant = difflib.get_close_matches(key.upper(), names, n=1, cutoff=0.8)
        if meant:
            lines.append(f"{env_file}: {key} is not a setting, and is ignored; did you mean {meant[0]}?")
    return lines


def describe_error(error: ValueError) -> str:
    """One line per bad value: `ADMIN_IDS: ...`, environment-variable style."""
    details = getattr(error, "errors", None)
    if details is None:
        return str(error)
    lines = []
    for detail in details():
        name = "_".join(str(part) for part in detail["loc"]).upper() or "settings"
        # a token pasted into the wrong variable: some messages name the entry they refuse
        message = TOKEN_SHAPE.sub(REDACTED, detail["msg"].removeprefix("Value error, "))
        if name in secret_variables():  # a secret is not shown, even a wrong one
            lines.append(f"{name}: {message}")
            continue
        shown = TOKEN_SHAPE.sub(REDACTED, str(detail.get("input")))[:60]
        lines.append(f"{name}: {message} (got {shown!r})")
    return "; ".join(lines)
