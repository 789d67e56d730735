"""A corpus folder -> articles and a load report.

Reads every article file under a folder, recursively, in three formats:

- `.txt`, the house format: a first line ` date YYYY-MM-DD headline`, then paragraphs
  separated by blank lines; a paragraph like `Name (Photo: Agency)` is the photo caption;
- `.md` with a YAML front matter (`title`, `date`, optional `url`, `source`);
- `.jsonl`, one article an object (`id`, `title`, `date`, `text`, optional `url`,
  `source`), as scrapers and CMS exports write them.

Whatever a file holds, and whatever it is (a pipe, a link out of the folder: see
`folder`), reading it never raises and never stops the load: it becomes a `LoadProblem`
with a one-line reason and the rest still load. Hidden files and folders (a leading dot,
like the index cache) are not part of the corpus.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .dates import ISO_DAY
from .errors import MissingCorpusError
from .folder import MAX_FILE_BYTES, CorpusFolder, FilePrint, corpus_files, not_read, printable
from .ids import IdPlan, Wanted, crowded_files, full_id, plan_ids, stem
from .models import Article, LoadProblem, LoadReport
from .reasons import Reason

__all__ = [
    "ARTICLE_SUFFIXES",
    "DUPLICATE_ID",
    "MAX_FILE_BYTES",
    "Loaded",
    "corpus_files",
    "id_plan",
    "load_corpus",
    "load_files",
    "parse_file",
]

logger = logging.getLogger(__name__)
ARTICLE_SUFFIXES = (".txt", ".md", ".jsonl")
_MAX_FRONT_MATTER = 16 * 1024
_MAX_NESTING = 20
"""Front matter fields are flat; nesting deeper than this is refused before it is built."""
_MAX_DIGITS = 100
"""No article field needs a longer number; Python refuses to convert one of 4,300 digits."""
MAX_LINE_PROBLEMS = 100
"""Lines of one `.jsonl` file listed as problems, and its duplicate ids; the rest of each are
counted in one more. Each was one: a 10 MB file of 5,000,000 broken lines held 4.3 GB and
saved a manifest of 514 MB; a 17 MB file of one id repeated gave 315,000 duplicates."""
DUPLICATE_ID = "duplicate_id"
"""The kind of the problem of an article whose id an earlier one holds."""

_DATE_LINE = re.compile(r"\s*date\s+(\S+)\s*(.*)")
_TIME_OF_DAY = re.compile(r"[Tt ]\s*\d")
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n")
_CAPTION = re.compile(r"[^\n]{1,300}\((?:Photo|Photos|Фото)\b[^()\n]{0,200}\)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


class _BadArticle(ValueError):
    """A file's content is not an article, for `reason`, the load report's."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason


class _FrontMatterLoader(yaml.SafeLoader):
    """PyYAML's safe loader with dates, numbers and yes or no kept as text.

    Dates are checked and explained by `_parse_date`; PyYAML's own conversion fails on
    `2024-02-30` with a bare `ValueError`, as it does on a number of 4,300 digits. A
    front matter's fields are text anyway (`title: 1984` is a title), and `title: Yes`
    (a referendum's result) or `title: 3.5` read as a truth or a number had no title.
    """


_AS_TEXT = (
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
)
_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _AS_TEXT]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _scalar_as_text(loader: _FrontMatterLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


for _tag in _AS_TEXT:  # explicitly tagged ones too (`!!timestamp 2024-02-30`)
    _FrontMatterLoader.add_constructor(_tag, _scalar_as_text)


@dataclass(slots=True)
class Loaded:
    """What reading corpus files gave: articles, each one's file, problems, and prints."""

    articles: list[Article] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """Each article's file, relative to the corpus folder."""
    problems: list[LoadProblem] = field(default_factory=list)
    prints: dict[str, FilePrint] = field(default_factory=dict)
    """Each file's print (see `folder.FilePrint`): the very bytes parsed, as the saved index
    records them, so that it never describes other text than it holds."""

    def wanted(self) -> list[Wanted]:
        """Each article as its file and the id the file wants for it (read without a plan)."""
        return list(zip(self.sources, (article.id for article in self.articles), strict=True))

    def settled(self, ids: IdPlan, taken: Iterable[str] = ()) -> Loaded:
        """These articles, read without a plan, under the ids of plan `ids`; one whose id is in
        `taken` or came earlier (or that the plan leaves none) is reported as a duplicate."""
        settled = Loaded(prints=self.prints)
        seen = set(taken)
        dropped: dict[str, _Capped] = {}
        for article, name in zip(self.articles, self.sources, strict=True):
            served = ids.get((name, article.id), article.id) if ids else article.id
            if served is None or served in seen:
                shown = served or full_id(article.id, name)
                dropped.setdefault(name, _Capped(name, "more_duplicate_ids")).add(
                    Reason.of(DUPLICATE_ID, id=repr(shown))
                )
                continue
            seen.add(served)
            settled.articles.append(article if served == article.id else replace(article, id=served))
            settled.sources.append(name)
        settled.problems = self.problems
        if dropped:  # after their files' other problems, as a file's duplicates are listed
            files = {name: number for number, name in enumerate(self.prints)}
            extra = [problem for capped in dropped.values() for problem in capped.all()]
            settled.problems = sorted(self.problems + extra, key=lambda problem: files.get(problem.path, -1))
        return settled


def load_corpus(folder: str | os.PathLike[str]) -> tuple[list[Article], LoadReport]:
    """Read every article under `folder`; raise `CorpusError` only if it is unreadable.

    Articles are returned in path order, so loads are reproducible.
    """
    root = Path(folder)
    if not root.is_dir():
        raise MissingCorpusError(Reason.of("no_corpus_folder", folder=repr(str(root))))
    files = corpus_files(root)
    loaded = load_files(root, files)
    loaded = loaded.settled(plan_ids(loaded.wanted()))
    return loaded.articles, LoadReport(len(files), len(loaded.articles), tuple(loaded.problems))


def load_files(
    root: Path, paths: Iterable[Path], taken: Iterable[str] = (), ids: IdPlan | None = None
) -> Loaded:
    """Read and parse files in order, never raising: each failure is that file's problem.

    Without `ids`, each article has the id its file wants (see `ids`), which another
    file's may want too: settle them with `Loaded.settled`. With `ids`, the plan of the
    corpus's ids, each has the id it is served under; one whose id is in `taken` or came
    earlier is then a duplicate and is reported, not loaded (a file that changed between
    the plan and this read): ids name articles in answers and must be unique. Within one
    file an id repeated is always a duplicate.
    """
    folder = CorpusFolder(root)
    loaded = Loaded()
    for path in paths:
        name = folder.name(path)
        data, loaded.prints[name] = folder.read(str(path), folder.relative(path))
        duplicates = _Capped(name, "more_duplicate_ids")
        seen: set[str] = set()

        def take(
            article: Article, name: str = name, duplicates: _Capped = duplicates, seen: set[str] = seen
        ) -> None:
            if article.id in seen:  # dropped as it is read: a file of one id repeated holds one article
                duplicates.add(Reason.of(DUPLICATE_ID, id=repr(article.id)))
                return
            seen.add(article.id)
            loaded.articles.append(article)
            loaded.sources.append(name)

        loaded.problems.extend(_parse(name, data, loaded.prints[name], take))
        loaded.problems.extend(duplicates.all())
    return loaded if ids is None else loaded.settled(ids, taken)


def id_plan(root: Path, paths: Iterable[str | Path]) -> IdPlan:
    """The plan of ids (`ids.plan_ids`) of the corpus of these files, all those below `root`,
    reading only the files whose articles may share an id with another's (`ids.crowded_files`):
    in nearly every corpus, none."""
    skip = len(os.path.join(str(root), ""))  # names made of the listing's strings, as `CorpusFolder.listing`
    names = {printable(str(path)[skip:].replace(os.sep, "/")): path for path in paths}
    crowded = crowded_files(names)
    if not crowded:
        return {}
    return plan_ids(load_files(root, [Path(names[name]) for name in sorted(crowded)]).wanted())


def parse_file(root: Path, path: Path) -> tuple[list[Article], list[LoadProblem]]:
    """Read and parse one file into articles, never raising: failures become problems."""
    folder = CorpusFolder(root)
    data, file_print = folder.read(str(path), folder.relative(path))
    articles: list[Article] = []
    problems = _parse(folder.name(path), data, file_print, articles.append)
    return articles, problems


def _parse(
    name: str, data: bytes | None, file_print: FilePrint, take: Callable[[Article], None]
) -> list[LoadProblem]:
    """Hand each article in a file's bytes (`None`: not read, the print says why) to `take`, as
    it is parsed; return the file's problems."""
    file_name = PurePosixPath(name)
    article_id = stem(name)  # the id it wants: another file's article may want it too (see `ids`)
    try:
        if data is None:
            return [LoadProblem.of(name, not_read(file_print))]
        suffix = file_name.suffix.lower()
        if suffix not in ARTICLE_SUFFIXES:
            known = ", ".join(ARTICLE_SUFFIXES)
            if not file_name.suffix:
                raise _BadArticle(Reason.of("no_extension", known=known))
            raise _BadArticle(Reason.of("unknown_extension", extension=repr(file_name.suffix), known=known))
        text = _decode(data)
        if suffix == ".jsonl":
            return _parse_jsonl(text, article_id, name, take)
        parse = _parse_txt if suffix == ".txt" else _parse_md
        take(parse(text, article_id))
        return []
    except _BadArticle as error:
        return [LoadProblem.of(name, error.reason)]
    except Exception as error:  # whatever the bytes, one file never stops the load
        logger.warning("%s: unexpected %s while parsing", name, type(error).__name__, exc_info=True)
        return [LoadProblem.of(name, Reason.of("unparsable", error=_unexpected(error)))]


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _BadArticle(Reason.of("not_utf8", byte=error.start)) from None
    if "\x00" in text:
        raise _BadArticle(Reason.of("binary"))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse_txt(text: str, article_id: str) -> Article:
    first, _, body = text.lstrip("\n").partition("\n")
    match = _DATE_LINE.fullmatch(first)
    if match is None:
        raise _BadArticle(Reason.of("no_date_line"))
    date = _parse_date(match.group(1))
    return _article(article_id, match.group(2), date, _paragraphs(body))


def _parse_md(text: str, article_id: str) -> Article:
    if not text.startswith("---\n"):
        raise _BadArticle(Reason.of("no_front_matter"))
    end = text.find("\n---", 3)  # from the first line's own break: an empty front matter closes there
    if end < 0:
        raise _BadArticle(Reason.of("front_matter_unclosed"))
    front = text[4:end]
    if len(front) > _MAX_FRONT_MATTER:
        raise _BadArticle(Reason.of("front_matter_too_long", most=_MAX_FRONT_MATTER))
    meta = _safe_yaml(front)
    body = text[end + 4 :].partition("\n")[2]
    return _from_fields(meta, article_id, [p.lstrip("#").strip() for p in _paragraphs(body)])


def _safe_yaml(front: str) -> dict[str, Any]:
    """Load a front matter, refusing aliases (how YAML bombs multiply) and deep nesting
    (which exhausts the stack), both seen in the event stream before a document is built."""
    try:
        depth = 0
        for event in yaml.parse(front, Loader=_FrontMatterLoader):
            if isinstance(event, yaml.AliasEvent):
                raise _BadArticle(Reason.of("yaml_aliases"))
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _MAX_NESTING:
                    raise _BadArticle(Reason.of("front_matter_too_deep", most=_MAX_NESTING))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        meta = yaml.load(front, Loader=_FrontMatterLoader)
        if meta is None:  # empty, or blank lines and comments alone: no fields, each missing one told
            meta = {}
    except yaml.YAMLError as error:
        raise _BadArticle(Reason.of("yaml_invalid", error=_one_line(error))) from None
    if not isinstance(meta, dict):
        raise _BadArticle(Reason.of("front_matter_not_mapping"))
    return meta


def _parse_jsonl(text: str, file_id: str, name: str, take: Callable[[Article], None]) -> list[LoadProblem]:
    found = 0
    problems = _Capped(name, "more_bad_lines")
    for number, line in enumerate(_lines(text), start=1):
        line = line.removeprefix("\ufeff")  # one opens each export of files joined (`cat a.jsonl b.jsonl`)
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_int=_json_int)
            if not isinstance(record, dict):
                raise _BadArticle(Reason.of("not_json_object"))
            if record.get("id") in (None, ""):
                raise _BadArticle(Reason.of("no_id"))
            text_field = record.get("text")
            if not isinstance(text_field, str):
                raise _BadArticle(Reason.of("no_text"))
            fields = {key: _scalar_text(value) for key, value in record.items()}
            take(_from_fields(fields, f"{file_id}#{record['id']}", _paragraphs(text_field)))
            found += 1
        except _BadArticle as error:
            problems.add(error.reason, number)
        except json.JSONDecodeError as error:
            problems.add(Reason.of("json_invalid", error=error.msg), number)
        except RecursionError:
            problems.add(Reason.of("nested_too_deep"), number)
        except Exception as error:  # one line never costs the file's other articles
            problems.add(Reason.of("unparsable", error=_unexpected(error)), number)
    if not found and not problems.listed:
        return [LoadProblem.of(name, Reason.of("no_articles"))]
    return problems.all()


def _lines(text: str) -> Iterator[str]:
    """`text.split("\\n")`, one line at a time: the list of a 17 MB file's lines held 36 MB more."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


class _Capped:
    """Problems of one kind in one file (its bad lines, its duplicate ids): the first
    `MAX_LINE_PROBLEMS`, then a count of the rest, a problem of kind `more`."""

    def __init__(self, name: str, more: str) -> None:
        self.name = name
        self.kind = more
        self.listed: list[LoadProblem] = []
        self.more = 0

    def add(self, reason: Reason, line: int | None = None) -> None:
        if len(self.listed) < MAX_LINE_PROBLEMS:
            self.listed.append(LoadProblem.of(self.name, reason, line))
        else:
            self.more += 1

    def all(self) -> list[LoadProblem]:
        if not self.more:
            return self.listed
        return [*self.listed, LoadProblem.of(self.name, Reason.of(self.kind, count=self.more))]


def _scalar_text(value: Any) -> Any:
    """A JSON number or truth as JSON text (`1984`, `3.5`, `true`), as a front matter's fields
    are read (`_FrontMatterLoader`): `"title": 1984` is a title, not an article without one."""
    return json.dumps(value) if isinstance(value, int | float) else value


def _json_int(digits: str) -> int:
    if len(digits) > _MAX_DIGITS:
        raise _BadArticle(Reason.of("long_number", digits=len(digits), most=_MAX_DIGITS))
    return int(digits)


def _from_fields(meta: dict[str, Any], article_id: str, paragraphs: list[str]) -> Article:
    raw_date = meta.get("date")
    if not isinstance(raw_date, str):
        raise _BadArticle(Reason.of("no_date"))
    date = _parse_date(raw_date[:10] if _TIME_OF_DAY.match(raw_date, 10) else raw_date)
    title = meta.get("title")
    if not isinstance(title, str):
        raise _BadArticle(Reason.of("no_title"))
    url, source = _optional(meta, "url"), _optional(meta, "source")
    _refuse_lone_surrogates(article_id, title, url, source, *paragraphs)
    return _article(article_id, title, date, paragraphs, url=url, source=source)


def _refuse_lone_surrogates(*values: str | None) -> None:
    """JSON and YAML escapes can spell half a UTF-16 pair (`\\udcff`): not text, and not
    savable in the index, so the article is refused rather than the whole save."""
    for value in filter(None, values):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            half = ord(error.object[error.start])
            raise _BadArticle(Reason.of("lone_surrogate", escape=f"\\u{half:04x}")) from None


def _optional(meta: dict[str, Any], key: str) -> str | None:
    """An optional text field; a list or a mapping (`url: [canonical, amp]`) is refused as a
    title is: it was served as Python's spelling of it, `['https://…']`, as a link or outlet."""
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _BadArticle(Reason.of("field_not_text", field=key))
    return value.strip() or None


def _parse_date(value: str) -> dt.date:
    if not ISO_DAY.fullmatch(value):
        raise _BadArticle(Reason.of("date_not_iso", date=repr(value[:40])))
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _BadArticle(Reason.of("date_not_real", date=repr(value))) from None


def _paragraphs(body: str) -> list[str]:
    # `" ".join(block.split())` is `_SPACES.sub(" ", block).strip()`: both split on what
    # `str.isspace` calls a space (a test checks every character); this is four times faster.
    return [p for p in (" ".join(block.split()) for block in _BLANK_LINES.split(body)) if p]


def _article(
    article_id: str,
    headline: str,
    date: dt.date,
    paragraphs: list[str],
    url: str | None = None,
    source: str | None = None,
) -> Article:
    headline = _SPACES.sub(" ", headline).strip()
    if not headline:
        raise _BadArticle(Reason.of("no_headline"))
    caption = next((p for p in paragraphs if _CAPTION.fullmatch(p)), None)
    body = tuple(p for p in paragraphs if p is not caption)
    if not body:
        raise _BadArticle(Reason.of("no_body"))
    return Article(article_id, headline, date, body, url=url, source=source, caption=caption)


def _one_line(error: Exception) -> str:
    return _SPACES.sub(" ", str(error)).strip()[:200]


def _unexpected(error: Exception) -> str:
    return f"{type(error).__name__}: {_one_line(error)}" if str(error) else type(error).__name__
