"""The search code compiled before the first question needs it.

numba compiles `retrieval.kernels` on their first call and keeps the machine code on disk.
Only the first start after an install pays for it, but then that start's first question
would wait for the compiler: 10-30 s on a busy 2-core machine. The bot calls
`compile_search` in the background as it starts, and the tests once before any test waits
on an answer.
"""

from __future__ import annotations

import numpy as np

from .index import BM25Index, Ranking

__all__ = ["compile_search"]

_DOCUMENTS = (("grain", "export", "odesa"), ("grain", "port"), ("talks", "istanbul", "grain", "grain"))


def compile_search() -> None:
    """Run every compiled function once, with the argument types a search gives them
    (loaded from numba's cache on disk when it holds them already)."""
    from . import kernels  # numba is loaded here, in the background, not when the bot is imported

    index = BM25Index.build(_DOCUMENTS)
    every = np.arange(len(_DOCUMENTS), dtype=np.int32)
    index.score(["grain", "port"])
    index.top(["grain", "port"], 2)
    ranked = Ranking(every, until=2, decay=(0.1, 60.0), groups=np.zeros_like(every), per_group=1)
    found, _ = index.top(["grain", "talks"], 2, ranked)
    index.holding(["grain", "odesa"], found)
    # the second ranking stage's: article coverage, and the question's vector
    bounds = np.arange(len(_DOCUMENTS) + 1, dtype=np.int64)
    kernels.held_in_runs(index.doc_ids, index.offsets, np.arange(2, dtype=np.int64), bounds, every)
    halves = np.zeros((2, 4), dtype=np.uint16)
    halves.flags.writeable = False  # as the model's table is handed over
    kernels.summed_rows(halves, np.zeros(1 << 16, dtype=np.float32), np.arange(2, dtype=np.int64))
