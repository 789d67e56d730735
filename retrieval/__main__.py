"""`python -m retrieval CORPUS INDEX_DIR [--allow-empty]`: build or update the saved index of a corpus.

It logs to stderr, one record a line (`LEVEL logger: message`), which the bot reads as
they come and logs as its own: when a build starts, how far it is (`ProgressLog`) and
when it is done. Ctrl-C stops it with exit code 130 and no traceback, leaving the saved
index as it was.

The bot runs this in a child process on /reload and right after a start (to check every
corpus file), so that reading and analyzing articles never competes with answering
questions for the interpreter lock; the bot then only maps the saved result. A first
build spreads the reading and analysis over one worker process per core (`indexing`).
It checks every saved article text too, which the bot leaves to the moment each is read,
so a texts file damaged in place is rebuilt here, off the serving path. An index it
could not save (a full disk, a read-only folder) exits 4, not 0: the bot then reads the
corpus itself rather than trust the saved index, which may no longer match it. Run by
hand, it prepares the index before a start. When its standard input closes (the bot
that started it has stopped), it exits at once, mid-build, and so do its workers: the
saved index is replaced atomically or not at all. (Only a pipe is watched: run from a
terminal, cron or with `< /dev/null`, it always finishes.) A corpus of which not one
article loads fails (exit 1), and leaves a saved index of articles as it was; with
`--allow-empty` (a bot that serves no article yet, see `Library.load`) it is saved as a
library of none.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
import threading

from . import CorpusError, Library, ProgressLog

ABANDONED = 3
NOT_SAVED = 4
INTERRUPTED = 130
ALLOW_EMPTY = "--allow-empty"
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
"""One record a line, as `bot.reloading` reads them back."""


def main(argv: list[str]) -> int:
    """Exit 0 when the index is saved, 1 when the corpus cannot be read, 2 on bad usage, 4 when
    the index could not be saved, 130 when interrupted."""
    allow_empty = argv[2:] == [ALLOW_EMPTY]
    if len(argv) != 2 + allow_empty:
        print(f"usage: python -m retrieval CORPUS INDEX_DIR [{ALLOW_EMPTY}]", file=sys.stderr)
        return 2
    corpus, index_dir = argv[:2]
    logging.basicConfig(format=LOG_FORMAT, level=logging.INFO)
    if _stdin_is_a_pipe():  # from a parent process, not a terminal, /dev/null or a file
        threading.Thread(target=_exit_when_stdin_closes, args=(sys.stdin.fileno(),), daemon=True).start()
    try:
        library = Library.load(
            corpus, index_dir=index_dir, check_texts=True, progress=ProgressLog(), allow_empty=allow_empty
        )
    except CorpusError as error:
        print(error, file=sys.stderr)
        return 1
    if library.build is None:  # built or updated in memory only: the warning above says why
        print(f"the index could not be saved in {index_dir}", file=sys.stderr)
        return NOT_SAVED
    print(f"{len(library.articles)} articles, {len(library.passages)} passages indexed in {index_dir}")
    return 0


def _stdin_is_a_pipe() -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no standard input at all
        return False


def _exit_when_stdin_closes(fd: int) -> None:
    # Raw reads on the descriptor: a daemon thread blocked in `sys.stdin.buffer.read()`
    # holds the buffer's lock, and the interpreter aborts when it meets it at exit.
    while os.read(fd, 4096):
        pass
    os._exit(ABANDONED)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C: a build in progress was discarded on the way out
        sys.exit(INTERRUPTED)
