"""Which id each article is served under, whatever order its files arrive in.

An article's file wants an id for it: the file's path without its extension (`a` for
`a.txt`), or `file#id` for a record of a `.jsonl` file (`x#b`). Two files may want one id:
`a.txt` and `a.md`, or `x#b.txt` and the record `b` of `x.jsonl`. Serving the first in
path order and refusing the other made a newsroom's `a.md` put out the `a.txt` it served.
Instead, an id that two articles want is served as neither's: each such plain file is
served under its name, extension and all (`a.txt`, `a.md`); a record keeps its id beside a
plain file (which takes its name), and takes its file's full name beside another file's
record (`x.jsonl#b`, `x.JSONL#b`). Every other id stays the one its file wants: ids are
stored (the state file, page buttons, alerts).

The ids settled so are a function of the articles there are, never of the order they
were read in: a build from scratch, one over worker processes and an update that reads
only the files that changed serve each article under one id.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "IdPlan",
    "Wanted",
    "crowded_files",
    "full_id",
    "is_jsonl",
    "plan_ids",
    "stem",
    "suffix",
    "wanted_id",
]

IdPlan = dict[tuple[str, str], str | None]
"""The ids not served as their files want them: by (file, the id it wants for the article),
the id served, or None for the article no id is left for (see `plan_ids`)."""

Wanted = tuple[str, str]
"""An article as (its file, as shown: see `folder.printable`; the id its file wants for it)."""


def stem(name: str) -> str:
    """A file's name without its extension: the id a plain file wants, the start of a record's.

    Made of string searches, not `PurePosixPath` (as `suffix`): an update finds the id of each
    of an archive's 300,000 articles in a fraction of the time.
    """
    dot = name.rfind(".")
    return name[:dot] if dot > name.rfind("/") else name


def suffix(name: str) -> str:
    """A file's extension, in lower case (`.jsonl` of `X.JSONL`), or "" for none."""
    dot = name.rfind(".")
    return name[dot:].lower() if dot > name.rfind("/") + 1 else ""  # a leading dot starts a name


def is_jsonl(name: str) -> bool:
    return name[-6:].lower() == ".jsonl" and suffix(name) == ".jsonl"


def full_id(wanted: str, file: str) -> str:
    """The id an article takes when its file's wanted one is shared: the file's name, with
    the record's id after it for a `.jsonl` record (`x.jsonl#b` for `x#b`)."""
    return file + wanted[len(stem(file)) :] if is_jsonl(file) else file


def wanted_id(served: str, file: str) -> str:
    """The id `file` wants for the article served as `served` (the inverse of `full_id`).

    Never ambiguous: a wanted id goes on from the file's stem with `#` (or ends there),
    the full id with the `.` of the extension.
    """
    if is_jsonl(file):
        return stem(file) + served[len(file) :] if served.startswith(f"{file}#") else served
    return stem(file) if served == file else served  # never a file's name but as its full id


def plan_ids(wanted: Iterable[Wanted]) -> IdPlan:
    """The ids of the articles `wanted` (each file's articles' own ids distinct) that are
    not served as their files want them.

    In rounds, until no two share an id: of the articles that share one, those of plain
    files take their full ids (`full_id`), or if none of them can, the records do; an id
    that articles all on their full ids still share (an archive named `x.jsonl#b.txt` beside
    the record `b.txt` of `x.jsonl`, both crowded out of their own) is kept by the file first
    in path order, and the others are reported as duplicates.
    """
    entries = list(wanted)
    if len({article_id for _, article_id in entries}) == len(entries):  # nearly every corpus
        return {}
    current = {entry: entry[1] for entry in entries}
    holders: dict[str, list[Wanted]] = {}
    for entry, article_id in current.items():
        holders.setdefault(article_id, []).append(entry)
    moved: set[Wanted] = set()
    crowds = [article_id for article_id, group in holders.items() if len(group) > 1]
    while crowds:
        movers: list[Wanted] = []
        for article_id in crowds:
            free = [entry for entry in holders[article_id] if entry not in moved]
            movers += [entry for entry in free if not is_jsonl(entry[0])] or free
        touched = {current[entry] for entry in movers}
        for entry in movers:
            holders[current[entry]].remove(entry)
            current[entry] = full_id(entry[1], entry[0])
            holders.setdefault(current[entry], []).append(entry)
            touched.add(current[entry])
            moved.add(entry)
        crowds = [article_id for article_id in touched if len(holders[article_id]) > 1] if movers else []
    plan: IdPlan = {entry: current[entry] for entry in moved}
    for group in holders.values():
        for entry in sorted(group, key=lambda entry: entry[0].split("/"))[1:]:
            plan[entry] = None
    return plan


def crowded_files(names: Iterable[str]) -> set[str]:
    """The files of `names` (a corpus listing, as shown) of which an article may want an id, or
    a full id, that another file's may want too: only their articles need be known to plan
    every id (`plan_ids`), and in nearly every corpus there are none.

    A plain file may take either of two ids, its stem and its name; a record either of
    `stem#` and `name#` of its file, followed by its own id. Those of two plain files meet only
    if they are equal, and one that a record takes starts with one of its file's two.
    """
    plain: dict[str, str] = {}  # an id a plain file may take, and the file
    records: dict[str, str] = {}  # how the ids of a file's records may start, and the file
    crowded: set[str] = set()
    meeting: list[tuple[str, str]] = []  # an id or a start with `#` in it, and its file
    for name in names:
        extension = suffix(name)
        if extension == ".jsonl":
            taken, keys = records, (f"{stem(name)}#", f"{name}#")
        elif extension in (".txt", ".md"):
            taken, keys = plain, (stem(name), name)
        else:
            continue
        for key in keys:
            if (other := taken.setdefault(key, name)) != name:
                crowded.update((other, name))
            if "#" in key:
                meeting.append((key, name))
    for key, name in meeting:  # a record's id starts with its file's start: any `#` of another key
        start = key.find("#")
        while 0 <= start < len(key) - 1:  # a start's own `#` at its end is its own
            if (owner := records.get(key[: start + 1])) is not None:
                crowded.update((owner, name))
            start = key.find("#", start + 1)
    return crowded
