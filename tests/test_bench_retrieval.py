"""`bench/retrieval.py` as one runs it: a generated corpus kept for the next run."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def bench(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "bench" / "retrieval.py"), "--sizes", "200", "--questions", "2"]
    return subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=600, check=False)


def test_a_kept_corpus_is_written_once_and_read_by_the_next_run_and_another_engine(tmp_path: Path) -> None:
    # the generated corpus went with the indexes at the end of every run: a second run, or
    # another engine run alone, wrote it again (minutes at 1m passages)
    kept, scratch = tmp_path / "corpora", tmp_path / "scratch"
    first = bench("--engines", "newsbot", "--keep-corpus", str(kept), "--scratch", str(scratch))
    assert first.returncode == 0, first.stderr
    assert "corpus written" in first.stderr
    (corpus,) = kept.iterdir()
    files = {path: path.stat().st_mtime_ns for path in corpus.rglob("*")}
    assert len(files) > 10 and list(scratch.iterdir()) == []  # the indexes went, the corpus stayed
    second = bench("--engines", "rank-bm25", "--keep-corpus", str(kept), "--scratch", str(scratch))
    assert second.returncode == 0, second.stderr
    assert "corpus written" not in second.stderr and f"corpus reused from {corpus}" in second.stderr
    assert {path: path.stat().st_mtime_ns for path in corpus.rglob("*")} == files
    other_seed = bench("--engines", "newsbot", "--keep-corpus", str(kept), "--seed", "8")
    assert other_seed.returncode == 0, other_seed.stderr
    assert len(list(kept.iterdir())) == 2  # another seed is another corpus
