"""Generated corpora of any size, for tests and benchmarks that need many passages: pseudo-words
drawn by a Zipf law, so that term frequencies look like a language's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["generate_corpus"]


def generate_corpus(folder: Path, passages: int, seed: int) -> list[str]:
    """Articles of four passages each over a Zipf vocabulary of pseudo-words.

    Each paragraph has 130 to 320 words, long enough to be one passage under the default
    bounds, so `passages` is the size of the index. Returns the vocabulary.
    """
    rng = np.random.default_rng(seed)
    syllables = np.array([a + b for a in "bcdfghklmnprstvz" for b in "aeiou"])
    vocabulary = sorted({"".join(rng.choice(syllables, size=rng.integers(2, 5))) for _ in range(60_000)})
    words = np.array(vocabulary)
    weights = 1 / np.arange(1, len(words) + 1)
    cdf = np.cumsum(weights / weights.sum())
    for number in range(max(passages // 4, 1)):
        lengths = rng.integers(130, 321, size=4)
        drawn = words[np.searchsorted(cdf, rng.random(int(lengths.sum())))]
        cuts = np.cumsum(lengths)[:-1]
        paragraphs = [" ".join(part) + "." for part in np.split(drawn, cuts)]
        day = 1 + number % 28
        text = f" date 2024-02-{day:02d} Report {number}\n\n" + "\n\n".join(paragraphs) + "\n"
        (folder / f"gen-{number:06d}.txt").write_text(text)
    return vocabulary
