"""Reading `.npy` files from any number of threads at once.

numpy reads a `.npy` header, a Python dict literal, with `ast.literal_eval`. CPython
3.11.0-3.11.7 and 3.12.0-3.12.1 count the depth of a syntax tree being built in one
counter for the whole process (CPython gh-106905, fixed in 3.11.8 and 3.12.2): when the
garbage collector hands the GIL to another thread mid-parse (a finalizer's Python code,
a file closed), two parses at once raise `SystemError: AST constructor recursion depth
mismatch`. A bot opens saved indexes in several threads (a reload, the corpus check, the
folder watch, other bots in one process), so every header here is parsed under one lock;
the arrays' data is read or mapped outside it. Other code of the process that builds
syntax trees (`ast.parse`) is not covered: nothing of this package does so in a thread.
"""

from __future__ import annotations

import io
import math
import mmap
import threading
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

__all__ = ["map_array", "read_array"]

_PARSING = threading.Lock()
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_HEADER_BYTES = 1 << 16
"""Enough for any header numpy reads: it refuses one over 10,000 characters."""


def map_array(path: Path) -> np.memmap[Any, np.dtype[Any]]:
    """The array saved in `path`, memory-mapped read-only, as `np.load(path, mmap_mode="r")` gives it."""
    with path.open("rb") as stream:
        shape, fortran, dtype = _header(stream)
        offset = stream.tell()
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def read_array(data: bytes | mmap.mmap) -> npt.NDArray[Any]:
    """A copy in memory of the array saved in `data` (a `.npy` file's bytes), as `np.load` gives it.

    Raises `ValueError` when `data` holds no such array, or too little of it.
    """
    stream = io.BytesIO(data[:_HEADER_BYTES])
    shape, fortran, dtype = _header(stream)
    flat = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=stream.tell())
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")


def _header(stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """The shape, order and type a `.npy` header gives, the stream left where the data starts."""
    version = np.lib.format.read_magic(stream)
    read_header = _HEADER_READERS.get(version)
    if read_header is None:
        raise ValueError(f".npy format version {version} is not one this package saves (1.0 or 2.0)")
    with _PARSING:
        shape, fortran, dtype = read_header(stream)
    if dtype.hasobject:
        raise ValueError("a .npy file of Python objects cannot be read without pickle")
    return shape, fortran, dtype
