"""Why a file, a line of one or the corpus could not be used: a kind and the facts it names.

Retrieval tells a problem as a kind (`not_utf8`) and its facts (`byte=31`), and words it in
English (`is not UTF-8 text (byte 31)`) for the command line and the log. A caller that
speaks to people in other languages words the kind itself, from the same facts: the bot
does through its catalogs, whose extractor reads the texts marked here (`N_`). The facts
are the values the text names, numbers as numbers (`{size:,}`), and, as they are, the
words of others: a path, a date as the file writes it, what the system or a parser said.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REASONS", "Facts", "Reason"]

Facts = tuple[tuple[str, str | int], ...]
"""The values a reason's text names, in order: `(("byte", 31),)`."""


def N_(text: str) -> str:
    """Marks `text` for the catalogs of a caller that words reasons in other languages (the
    bot's extractor reads this file); the text itself is unchanged."""
    return text


REASONS: dict[str, str] = {
    # a file's content (corpus.py)
    "duplicate_id": N_("duplicate article id {id}"),
    "more_duplicate_ids": N_("{count:,} more duplicate article ids"),
    "unknown_extension": N_("unknown extension {extension}; articles are {known}"),
    "no_extension": N_("unknown extension '(none)'; articles are {known}"),
    "unparsable": N_("could not be parsed: {error}"),
    "not_utf8": N_("is not UTF-8 text (byte {byte})"),
    "binary": N_("is binary, not text (it contains NUL bytes)"),
    "no_date_line": N_("line 1 is not ' date YYYY-MM-DD headline'"),
    "no_front_matter": N_("has no YAML front matter (a first line '---')"),
    "front_matter_unclosed": N_("front matter is not closed by a line '---'"),
    "front_matter_too_long": N_("front matter is over {most:,} characters"),
    "yaml_aliases": N_("front matter uses YAML aliases, which are not allowed"),
    "front_matter_too_deep": N_("front matter is nested over {most} levels deep"),
    "yaml_invalid": N_("front matter is not valid YAML: {error}"),
    "front_matter_not_mapping": N_("front matter is not a mapping of fields"),
    "not_json_object": N_("is not a JSON object"),
    "no_id": N_("has no 'id'"),
    "no_text": N_("has no 'text' string"),
    "json_invalid": N_("is not valid JSON: {error}"),
    "nested_too_deep": N_("is nested too deeply to read"),
    "no_articles": N_("holds no articles"),
    "more_bad_lines": N_("{count:,} more lines are not articles either"),
    "long_number": N_("holds a {digits:,}-digit number; at most {most} digits are read"),
    "no_date": N_("has no 'date' (YYYY-MM-DD)"),
    "no_title": N_("has no 'title'"),
    "field_not_text": N_("its '{field}' is a list or a mapping, not text"),
    "lone_surrogate": N_("holds {escape}, half of a UTF-16 pair, which is not text"),
    "date_not_iso": N_("date {date} is not YYYY-MM-DD"),
    "date_not_real": N_("date {date} is not a real calendar date"),
    "no_headline": N_("has no headline"),
    "no_body": N_("has no body text"),
    # an entry that is not read (folder.py)
    "name_not_utf8": N_("its name is not valid UTF-8; rename it (a file's name becomes its article id)"),
    "folder_not_listed": N_(
        "is a folder that could not be listed as the corpus was read; the articles in it are left "
        "out until it can be"
    ),
    "folder_unlistable": N_(
        "is a folder that cannot be listed: {error}; the articles in it are left out until it can be"
    ),
    "link_outside": N_("is a link to {target}, outside the corpus folder; not followed"),
    "link_to_nothing": N_("is a link to a file that does not exist"),
    "link_loop": N_("is a link that leads back to itself"),
    "link_to_folder": N_("is a link to a folder; links to folders are not followed"),
    "named_pipe": N_("is a named pipe, not a regular file; only regular files are read"),
    "character_device": N_("is a character device, not a regular file; only regular files are read"),
    "block_device": N_("is a block device, not a regular file; only regular files are read"),
    "socket": N_("is a socket, not a regular file; only regular files are read"),
    "not_regular": N_("is not a regular file"),
    "too_large": N_("is {size:,} bytes, over the {most:,}-byte limit"),
    "grew_too_large": N_("grew over the {most:,}-byte limit while it was read"),
    "unreadable": N_("cannot be read: {error}"),
    "link_appeared": N_("cannot be read: a link appeared in its path while it was read"),
    # the corpus as a whole (library.py, corpus.py)
    "no_corpus_folder": N_("corpus folder {folder} does not exist or is not a folder"),
    "no_readable_article": N_("corpus folder {folder} has no readable article: {problems}"),
    "no_files": N_("corpus folder {folder} has no readable article: it holds no files"),
    "index_inside_corpus": N_(
        "index folder {index} lies inside the corpus folder {folder}: its saved files would be read "
        "as articles, and change the corpus at every save; move it out of the corpus folder, or give "
        "it a name that starts with a dot (as .newsbot-index)"
    ),
    "index_folder_is_link": N_(
        "the saved index's folder {place} is a symbolic link: a build would remove and write files "
        "where it leads, and answers would come from what is there; remove the link"
    ),
}
"""Each kind's English text; the facts fill its `{fields}`."""


@dataclass(frozen=True, slots=True)
class Reason:
    """Why something could not be used: its kind (a key of `REASONS`) and the facts it names.

    `str()` is the English.
    """

    kind: str
    facts: Facts = ()

    @classmethod
    def of(cls, kind: str, **facts: str | int) -> Reason:
        """The reason of `kind` naming `facts`."""
        return cls(kind, tuple(facts.items()))

    def __str__(self) -> str:
        return REASONS[self.kind].format(**dict(self.facts))
