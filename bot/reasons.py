"""Retrieval's reasons in the reader's language: why a file was skipped, why a reload failed.

Retrieval tells each problem as a kind and its facts (`retrieval.Reason`) and words it in
English for the command line and the log. Here each kind has its text, the same English
marked for the catalogs, so that an admin who reads Ukrainian is told
`broken.txt: не є текстом UTF-8 (байт 31)`. The facts are shown as they are: a file's
name, a date as the file writes it, what the system or a parser said. A reason retrieval
gave no kind (a problem saved by an older version) is shown in its English.
"""

from __future__ import annotations

from retrieval import LoadProblem, NoArticleError, Reason

from .i18n import N_, Told, Translations

__all__ = ["TEXTS", "error_told", "problem_told", "reason_told"]

TEXTS: dict[str, str] = {
    "duplicate_id": N_("duplicate article id {id}"),
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
    "long_number": N_("holds a {digits:,}-digit number; at most {most} digits are read"),
    "no_date": N_("has no 'date' (YYYY-MM-DD)"),
    "no_title": N_("has no 'title'"),
    "lone_surrogate": N_("holds {escape}, half of a UTF-16 pair, which is not text"),
    "date_not_iso": N_("date {date} is not YYYY-MM-DD"),
    "date_not_real": N_("date {date} is not a real calendar date"),
    "no_headline": N_("has no headline"),
    "no_body": N_("has no body text"),
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
"""The text of each kind of `retrieval.REASONS`, in English as there, marked for the catalogs."""


def reason_told(reason: Reason, tr: Translations) -> str:
    """`reason` in the language of `tr`."""
    return tr.gettext(TEXTS[reason.kind]).format(**dict(reason.facts))


def problem_told(problem: LoadProblem, tr: Translations) -> str:
    """`where: why` of a file that could not be loaded, in the language of `tr`."""
    if not problem.kind:  # saved by an older version: its English alone
        return str(problem)
    return f"{problem.where}: {reason_told(Reason(problem.kind, problem.facts), tr)}"


def error_told(error: BaseException, tr: Translations) -> str:
    """Why a reload failed, in the language of `tr` where it is told by kind, else as it says."""
    if isinstance(error, Told):
        return error.told(tr)
    reason = getattr(error, "reason", None)
    if not isinstance(reason, Reason):
        return str(error)
    if isinstance(error, NoArticleError) and reason.kind == "no_readable_article":
        named = error.report.problems[: NoArticleError.NAMED]
        problems = "; ".join(problem_told(problem, tr) for problem in named)
        reason = Reason.of(reason.kind, **(dict(reason.facts) | {"problems": problems}))
    return reason_told(reason, tr)
