"""Meaning beside words: a small static embedding of questions and articles.

BM25 only sees shared words; a question that says "polls closed" misses an article that
says "voting ended". Each article gets one vector for its headline and lead, the question
gets one, and their cosine joins the lexical score in `rerank`.

The model is WordLlama's `l2_supercat` (token embeddings distilled from large language
models, 32,000 word pieces by 256 dimensions), whose weights and tokenizer ship inside the
`wordllama` wheel: nothing is downloaded, ever, so it works on an air-gapped server. The
package's own loader looks for its tokenizer under a folder name the wheel does not use
and falls back to downloading it, and its import configures the root logger; so the two
files are read here directly (the weights are memory-mapped, 16 MB of float16). A text's
vector is the mean of its word pieces' vectors, cut to the first `dims` dimensions (the
model was trained so that prefixes of 64 or 128 still work) and scaled to unit length.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .errors import RetrievalError
from .models import Article

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "DEFAULT_DIMS",
    "LEAD_CHARS",
    "MODEL_NAME",
    "QUESTION_CHARS",
    "Embedder",
    "SemanticModelError",
    "article_text",
    "embedder",
    "model_name",
    "question_text",
]

MODEL_NAME = "wordllama-l2_supercat"
DEFAULT_DIMS = 256
LEAD_CHARS = 600
"""How much of an article's body, after its headline, its vector is made of."""
QUESTION_CHARS = 1000
"""How much of a question its vector is made of: any question typed, the start of one pasted."""
_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_BATCH = 512
_BLANK = "\u2581"
"""How the tokenizer writes a blank, and marks the start of a text."""
_WORD = re.compile(f"{_BLANK}*[^{_BLANK}]+|{_BLANK}+")
"""A word as the tokenizer reads a text: the blanks before it, and all up to the next blank."""
_WORDS_KEPT = 50_000
"""Words whose pieces an embedder remembers; when full, it forgets them all and starts again."""

Vectors = npt.NDArray[np.float16]


class SemanticModelError(RetrievalError):
    """The embedding model's files are missing or unreadable."""


def model_name(dims: int) -> str:
    """The model and width of vectors, as recorded beside a saved index."""
    return f"{MODEL_NAME}/{dims}"


def article_text(article: Article) -> str:
    """What an article's vector is made of: its headline and the start of its body."""
    return f"{article.headline}\n{article.text[:LEAD_CHARS]}"


def question_text(question: str) -> str:
    """What a question's vector is made of: the question, or the start of a pasted text.

    An article's vector is of its headline and lead, and a pasted article is compared by
    its start in the same way. It also bounds the tokenizer's work, which grows with the
    text: a whole 4,000-character paste took it half a millisecond.
    """
    return question[:QUESTION_CHARS]


@dataclass(frozen=True, slots=True)
class Embedder:
    """Texts -> unit vectors of `dims` float16 numbers, one row a text."""

    table: npt.NDArray[np.float16]
    """One row per word piece: the model's token embeddings, first `dims` columns."""
    tokenizer: Tokenizer
    by_words: bool = False
    """Whether the tokenizer's pieces of a text are those of its words in turn (`reads_by_words`)."""
    words: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)
    """The pieces of each word read so far (see `pieces`)."""

    @property
    def dims(self) -> int:
        return int(self.table.shape[1])

    @property
    def name(self) -> str:
        """The model and width, as recorded beside a saved index."""
        return model_name(self.dims)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text (all zeros for a text with no word piece)."""
        out = np.zeros((len(texts), self.dims), dtype=np.float16)
        for start in range(0, len(texts), _BATCH):
            chunk = list(texts[start : start + _BATCH])
            # the word pieces alone: their offsets in the text, never used, cost a third of the time
            encodings = self.tokenizer.encode_batch_fast(chunk, add_special_tokens=False)
            out[start : start + len(chunk)] = self._pool([encoding.ids for encoding in encodings])
        return out

    def _pool(self, pieces: list[list[int]]) -> Vectors:
        """Mean of each text's word-piece vectors, normalised.

        Text by text, so that a text's vector never depends on the others of its batch (an
        article updated alone equals the same article built with all the rest); in
        float32, from a float32 copy of the table when there are many texts to embed.
        """
        table = self._table32() if len(pieces) > _BATCH // 8 else self.table
        pooled = np.zeros((len(pieces), self.dims), dtype=np.float32)
        for row, ids in enumerate(pieces):
            if ids:
                pooled[row] = table[ids].sum(axis=0, dtype=np.float32) / len(ids)
        return _unit(pooled)

    def _table32(self) -> npt.NDArray[np.float32]:
        """The table in float32 (32 MB at 256 dimensions), made once, for index builds."""
        with _lock:
            wide = _wide.get(self.dims)
            if wide is None:
                wide = _wide[self.dims] = np.asarray(self.table, dtype=np.float32)
            return wide

    def embed_one(self, text: str) -> npt.NDArray[np.float32]:
        """One text's unit vector, in float32 for scoring: the very vector `embed` gives.

        A question's word pieces are summed by compiled code (`kernels.summed_rows`): a
        pasted article has over a thousand, and numpy's widening of float16 took half of its
        millisecond. Only searches call this, and they load that code anyway.
        """
        from . import kernels

        # the tokenizer takes only text: a lone surrogate (a byte of a command line's argument
        # that is not UTF-8, as Python keeps it) raised a TypeError, and the search with it
        text = text.encode("utf-8", "replace").decode("utf-8")
        ids = self.pieces(text)
        pooled = np.zeros((1, self.dims), dtype=np.float32)
        if ids:
            halves = self.table.view(np.uint16)
            halves.flags.writeable = False  # one array type for the compiled code, whatever the width
            pooled[0] = kernels.summed_rows(halves, _widening(), np.asarray(ids, dtype=np.int64)) / len(ids)
        return np.asarray(_unit(pooled)[0], dtype=np.float32)

    def pieces(self, text: str) -> list[int]:
        """The tokenizer's word pieces of `text`, read a word at a time, each word's remembered.

        The tokenizer writes each blank as `_BLANK` (one more before the text) and merges the
        characters of the whole text into pieces, pair by pair: a thousand characters took it
        0.4 ms. None of its pieces holds `_BLANK` after another character, so no merge joins
        a word to the blanks before the next one, and the pieces of a text are those of its
        words in turn, each word with the blanks before it (`_WORD`), which are looked up.
        A text naming one of the tokenizer's special tokens (`<s>`) is read whole, as it is by
        a tokenizer of another form than this one's (`by_words`).
        """
        added = self.tokenizer.get_added_tokens_decoder().values()
        if not self.by_words or any(token.content in text for token in added):
            return list(self.tokenizer.encode_batch_fast([text], add_special_tokens=False)[0].ids)
        if not text:
            return []
        words, model = self.words, self.tokenizer.model
        ids: list[int] = []
        for word in _WORD.findall(_BLANK + text.replace(" ", _BLANK)):
            found = words.get(word)
            if found is None:
                found = tuple(token.id for token in model.tokenize(word))
                if len(words) >= _WORDS_KEPT:
                    words.clear()
                words[word] = found
            ids += found
        return ids


def reads_by_words(config: dict[str, Any]) -> bool:
    """Whether a tokenizer (its `tokenizer.json`) gives a text the pieces of its words in turn:
    it only marks blanks (`_BLANK` for each space, one before the text) and merges pairs by
    BPE (every merge, none at random), none of whose pieces holds `_BLANK` after another character."""
    marks = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Prepend", "prepend": _BLANK},
            {"type": "Replace", "pattern": {"String": " "}, "content": _BLANK},
        ],
    }
    model = config.get("model") or {}
    return (
        config.get("normalizer") == marks
        and config.get("pre_tokenizer") is None
        and model.get("type") == "BPE"
        and not any(model.get(name) for name in ("dropout", "ignore_merges", "end_of_word_suffix"))
        and not any(_BLANK in piece.lstrip(_BLANK) for piece in model.get("vocab", {}))
    )


def _unit(pooled: npt.NDArray[np.float32]) -> Vectors:
    """Rows scaled to unit length (a row of zeros stays one), in float16."""
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.where(norms == 0, 1, norms)).astype(np.float16)


@functools.cache
def _widening() -> npt.NDArray[np.float32]:
    """Every float16 value, in float32, by its bits: what `kernels.summed_rows` looks up."""
    return np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)


_loaded: dict[int, Embedder] = {}
_wide: dict[int, npt.NDArray[np.float32]] = {}
_lock = threading.Lock()


def embedder(dims: int = DEFAULT_DIMS) -> Embedder:
    """The shared embedder of width `dims` (64, 128 or 256), loaded on first use."""
    if dims not in (64, 128, 256):
        raise ValueError(f"semantic dims {dims} is not offered: choose 64, 128 or 256")
    with _lock:
        if dims not in _loaded:
            _loaded[dims] = _load(dims)
        return _loaded[dims]


def _package_folder() -> Path:
    """Where the `wordllama` package is installed, found without importing it."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise SemanticModelError(
            "the wordllama package is not installed; reinstall newsbot (pip install -e .), "
            "or set LEXICAL_ONLY=true to rank by words alone"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _load(dims: int) -> Embedder:
    from tokenizers import Tokenizer  # a compiled package: imported only when meaning is used

    folder = _package_folder()
    try:
        tokenizer = Tokenizer.from_file(str(folder / _TOKENIZER))
        by_words = reads_by_words(json.loads((folder / _TOKENIZER).read_text(encoding="utf-8")))
        table = _safetensors_matrix(folder / _WEIGHTS)
    except Exception as error:  # `tokenizers` raises plain Exception for a bad file
        raise SemanticModelError(f"cannot read the embedding model in {folder}: {error}") from None
    return Embedder(np.ascontiguousarray(table[:, :dims]), tokenizer, by_words)


def _safetensors_matrix(path: Path) -> npt.NDArray[np.float16]:
    """The one float16 matrix of a `.safetensors` file, memory-mapped.

    The format is an 8-byte little-endian header length, a JSON header naming each
    tensor's dtype, shape and byte range, then the raw data.
    """
    with path.open("rb") as stream:
        (size,) = struct.unpack("<Q", stream.read(8))
        header = json.loads(stream.read(size))
    tensor = header["embedding.weight"]
    if tensor["dtype"] != "F16" or len(tensor["shape"]) != 2:
        raise ValueError(f"unexpected tensor {tensor['dtype']} {tensor['shape']}")
    begin, end = tensor["data_offsets"]
    rows, columns = tensor["shape"]
    if end - begin != rows * columns * 2:
        raise ValueError("tensor size does not match its shape")
    return np.memmap(path, dtype=np.float16, mode="r", offset=8 + size + begin, shape=(rows, columns))
