"""Reading the saved arrays: the very arrays numpy saved, from any number of threads at once."""

from __future__ import annotations

import ast
import gc
import io
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval import Library
from retrieval.npy import map_array, read_array
from tests.conftest import SHIPPED_CORPUS, WriteCorpus, article

THREADS = 4
OPENS = 10


@pytest.fixture
def handing_over_mid_parse() -> Iterator[None]:
    """Let another thread run whenever the garbage collector runs while Python builds a
    syntax tree (`ast.parse`, which `ast.literal_eval` and so numpy's header reading call).

    In a bot the collector runs finalizers of its asyncio and HTTP objects, Python code
    that may hand the GIL to another thread, and whichever thread allocates runs the
    collector; here it runs often and always hands over mid-parse, so that what happens
    now and then in a bot happens in every test run.
    """
    parse = ast.parse.__code__

    def hand_over(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and sys._getframe(1).f_code is parse:  # the frame the collector ran in
            time.sleep(0)  # lets go of the GIL

    thresholds = gc.get_threshold()
    gc.callbacks.append(hand_over)
    gc.set_threshold(10, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(hand_over)


def test_a_saved_index_opens_in_many_threads_at_once(
    write_corpus: WriteCorpus, tmp_path: Path, handing_over_mid_parse: None
) -> None:
    # A bot opens saved indexes in worker threads (a reload, the corpus check, the folder
    # watch, other bots in one process); on Python 3.11.0-3.11.7 and 3.12.0-3.12.1 two .npy
    # headers parsed at once raised `SystemError` (CPython gh-106905, see `retrieval.npy`).
    corpus = write_corpus(
        {"chess.txt": article("2024-10-29", "Chess", "On October 28, India won the olympiad.")}
    )
    shutil.copy(SHIPPED_CORPUS / "000_eba0014b280aac67.txt", corpus / "seed.txt")
    cache = tmp_path / "index"
    built = Library.load(corpus, index_dir=cache)
    start = threading.Barrier(THREADS)
    opened: list[str | None] = []
    failed: list[BaseException] = []

    def open_saved() -> None:
        start.wait()
        for _ in range(OPENS):
            try:
                library = Library.open_current(corpus, cache)
            except BaseException as error:  # counted, and shown below
                failed.append(error)
            else:
                opened.append(None if library is None else library.build)

    threads = [threading.Thread(target=open_saved) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert opened == [built.build] * THREADS * OPENS


def saved(array: np.ndarray[Any, Any], allow_pickle: bool = False) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=allow_pickle)
    return stream.getvalue()


@pytest.mark.parametrize(
    "array",
    [
        np.arange(5, dtype=np.int64),
        np.empty(0, dtype=np.int32),  # a corpus without dated events: a header and no data
        np.zeros((0, 256), dtype=np.float16),  # no article vectors
        np.arange(12, dtype=np.uint64).reshape(3, 4),
        # never saved so (`_npy` saves contiguous arrays), read as numpy would
        np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
        np.array(7),  # no dimensions
    ],
)
def test_arrays_read_as_numpy_loads_them(array: np.ndarray[Any, Any], tmp_path: Path) -> None:
    data = saved(array)
    (tmp_path / "a.npy").write_bytes(data)
    expected = np.load(io.BytesIO(data))
    for found, writeable in ((read_array(data), True), (map_array(tmp_path / "a.npy"), False)):
        assert found.dtype == expected.dtype and found.shape == expected.shape
        assert np.array_equal(found, expected)
        assert found.flags.f_contiguous == expected.flags.f_contiguous
        assert found.flags.writeable is writeable


@pytest.mark.parametrize(
    "data",
    [
        saved(np.arange(100))[:-8],  # cut short
        b"\x93NUMPY",  # cut inside the magic string
        b"PK\x03\x04 an .npz, not an .npy",
        saved(np.arange(3))[:6] + b"\x09\x00" + saved(np.arange(3))[8:],  # a format version numpy never wrote
        saved(np.array([1, "a"], dtype=object), allow_pickle=True),  # Python objects: pickled
    ],
)
def test_what_is_not_a_saved_array_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        read_array(data)
