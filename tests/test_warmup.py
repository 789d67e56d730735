"""The search code is compiled ahead of the first question, once per machine."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

COMPILED = """
from retrieval import kernels
from retrieval.warmup import compile_search
functions = [
    kernels.weight_table, kernels.term_bound, kernels.exhaustive, kernels.matches, kernels.top_k,
    kernels.first_at_least, kernels.summed_rows,
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
