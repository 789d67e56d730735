"""The search code is compiled ahead of the first question, once per machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SHIPPED_CORPUS

COMPILED = """
from retrieval import kernels
from retrieval.warmup import compile_search
functions = [
    kernels.weight_table, kernels.term_bound, kernels.exhaustive, kernels.matches, kernels.top_k,
    kernels.held_in_runs, kernels.summed_rows,
]
assert not any(function.signatures for function in functions)
compile_search()
print(sum(bool(function.signatures) for function in functions), len(functions))
"""


def test_compile_search_compiles_every_kernel_a_search_runs() -> None:
    # a process of its own: nothing compiled (or loaded from the cache) before, everything after
    done = subprocess.run(
        [sys.executable, "-c", COMPILED], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    compiled, total = map(int, done.stdout.split())
    assert compiled == total == 7


SEARCHED = """
import datetime as dt
import sys
from pathlib import Path
from retrieval import Library, kernels
from retrieval.warmup import compile_search
functions = {name: function for name, function in vars(kernels).items() if hasattr(function, "signatures")}
compile_search()
warmed = {name: set(function.signatures) for name, function in functions.items()}
Library.load(Path(sys.argv[1]), index_dir=Path(sys.argv[2]))  # built, saved ...
library = Library.load(Path(sys.argv[1]), index_dir=Path(sys.argv[2]))  # ... memory-mapped at a restart
for question in ("Who negotiated with Abramovich?", "grain talks in Istanbul this week " * 200):
    library.search(question)
    library.search(question, now=dt.date(2022, 6, 1))
for name, function in functions.items():
    print(name, sorted(map(str, set(function.signatures) - warmed[name])))
"""


def test_compile_search_compiles_the_argument_types_a_search_gives(tmp_path: Path) -> None:
    # another array type (writable, another width, another layout) would be compiled again
    # at the first question, which would wait for the compiler after all
    done = subprocess.run(
        [sys.executable, "-c", SEARCHED, str(SHIPPED_CORPUS), str(tmp_path / "index")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) >= 7 and all(line.endswith(" []") for line in lines), done.stdout
