"""Retrieval's reasons in the reader's language: why a file was skipped, why a reload failed.

Retrieval tells each problem as a kind and its facts (`retrieval.Reason`) and words it in
English for the command line and the log, texts marked for the bot's catalogs (which read
`retrieval/reasons.py` too). Here they are looked up there, so that an admin who reads Ukrainian is told
`broken.txt: не є текстом UTF-8 (байт 31)`. The facts are shown as they are: a file's
name, a date as the file writes it, what the system or a parser said. A reason retrieval
gave no kind (a problem saved by an older version) is shown in its English.
"""

from __future__ import annotations

from retrieval import REASONS, LoadProblem, NoArticleError, Reason

from .i18n import Told, Translations

__all__ = ["error_told", "problem_told", "reason_told"]


def reason_told(reason: Reason, tr: Translations) -> str:
    """`reason` in the language of `tr`."""
    return tr.gettext(REASONS[reason.kind]).format(**dict(reason.facts))


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
