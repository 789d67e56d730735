import math
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

from retrieval import BM25Index, BM25Params
from retrieval.index import Ranking
from retrieval.index import _release as release

ROOT = Path(__file__).resolve().parent.parent

ORACLES = {"okapi": BM25Okapi, "l": BM25L, "plus": BM25Plus}


def generated_corpus(size: int, seed: int = 7) -> tuple[list[list[str]], list[str]]:
    """Zipf-like documents: a few very common words, a long tail of rare ones."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(2000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    documents = [rng.choices(vocabulary, weights, k=rng.randint(5, 60)) for _ in range(size)]
    documents[10] = []  # an empty passage (all stop words) must not break anything
    return documents, vocabulary


@pytest.mark.parametrize("variant", ["okapi", "l", "plus"])
def test_scores_equal_rank_bm25_on_a_generated_corpus(variant: str) -> None:
    documents, vocabulary = generated_corpus(3000)
    params = BM25Params(variant, k1=1.2, b=0.8)  # type: ignore[arg-type]
    ours = BM25Index.build(documents, params)
    delta = {"okapi": {}, "l": {"delta": params.lower_bound}, "plus": {"delta": params.lower_bound}}[variant]
    oracle = ORACLES[variant](documents, k1=params.k1, b=params.b, **delta)
    rng = random.Random(3)
    for _ in range(40):
        # common and rare words, a repeated word and one the corpus never saw
        query = rng.sample(vocabulary[:20], 2) + rng.sample(vocabulary[20:], 3) + ["w5", "unseen"]
        ids, scores = ours.score(query)
        expected = oracle.get_scores(query)
        np.testing.assert_allclose(scores, expected[ids], rtol=0, atol=1e-9)
        # exactly the documents sharing a word are candidates
        sharing = [i for i, doc in enumerate(documents) if set(doc) & set(query)]
        assert ids.tolist() == sharing


def test_okapi_floors_negative_idf_like_rank_bm25() -> None:
    documents = [["common", "rare"], ["common"], ["common"], ["other"]]
    ours = BM25Index.build(documents, BM25Params("okapi"))
    oracle = BM25Okapi(documents)
    for term in ("common", "rare"):
        ids, scores = ours.score([term])
        np.testing.assert_allclose(scores, oracle.get_scores([term])[ids], atol=1e-12)
    assert ours.idf[ours.vocabulary["common"]] > 0


def test_unknown_words_give_no_candidates() -> None:
    ids, scores = BM25Index.build([["a"], ["b"], ["c"]]).score(["zzz"])
    assert len(ids) == len(scores) == 0


def test_bad_parameters_name_the_fix() -> None:
    with pytest.raises(ValueError, match="choose okapi, l or plus"):
        BM25Params("bm42")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="0 <= b <= 1"):
        BM25Params(b=2.0)
    for k1, b in [(math.nan, 0.75), (math.inf, 0.75), (1.5, math.nan)]:  # nan passed `k1 < 0`
        with pytest.raises(ValueError, match="k1 >= 0"):
            BM25Params(k1=k1, b=b)
    with pytest.raises(ValueError, match="finite delta"):
        BM25Params(delta=math.nan)


def _arrays(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int32)


def exhaustive_top(index: BM25Index, query: list[str], k: int, ranking: Ranking) -> list[tuple[int, float]]:
    """The top k by the definition: score everything, filter, weigh by age, sort, cap per group."""
    ids, scores = index.score(query)
    recency = ranking.recency if ranking.recency is not None else np.zeros(index.size, dtype=np.int32)
    ranked = []
    for doc, score in zip(ids.tolist(), scores.tolist(), strict=True):
        if ranking.until is not None and recency[doc] > ranking.until:
            continue
        if ranking.decay and ranking.until is not None:
            weight, days = ranking.decay
            score *= 1 - weight + weight * math.exp(-(ranking.until - int(recency[doc])) / days)
        ranked.append((-score, -int(recency[doc]), doc, score))
    chosen: list[tuple[int, float]] = []
    taken: dict[int, int] = {}
    for _, _, doc, score in sorted(ranked):
        if ranking.groups is not None and ranking.per_group is not None:
            group = int(ranking.groups[doc])
            if taken.get(group, 0) >= ranking.per_group:
                continue
            taken[group] = taken.get(group, 0) + 1
        chosen.append((doc, score))
        if len(chosen) == k:
            break
    return chosen


@pytest.mark.parametrize("variant", ["okapi", "l", "plus"])
@pytest.mark.parametrize("window", [64, 4096])  # many windows, or one
def test_pruned_top_k_equals_exhaustive_scoring(
    variant: str, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retrieval.index.WINDOW", window)
    rng = random.Random(window)
    documents, vocabulary = generated_corpus(3000)
    for number in range(0, 3000, 97):  # copies of one passage: ties that must go to the newer
        documents[number] = list(documents[1])
    index = BM25Index.build(documents, BM25Params(variant))  # type: ignore[arg-type]
    recency = np.asarray([rng.randint(700, 760) for _ in documents], dtype=np.int32)
    groups = np.asarray([number // rng.choice([1, 3]) for number in range(len(documents))], dtype=np.int32)
    rankings = [
        Ranking(),
        Ranking(recency),
        Ranking(recency, until=730),  # an as-of date: newer documents left out
        Ranking(recency, until=745, decay=(0.3, 14.0)),  # and the recency prior
        Ranking(recency, groups=groups, per_group=2),
        Ranking(recency, until=750, decay=(0.5, 3.0), groups=groups, per_group=1),
    ]
    for trial in range(60):
        # short questions of rare words, news-length ones, and long ones of frequent words
        length = [3, 10, 200][trial % 3]
        query = rng.choices(vocabulary[: 50 if length == 200 else 2000], k=length) + documents[1][:2]
        k = rng.choice([1, 5, 10, 40, 200])  # 200: the candidates of the second ranking stage
        ranking = rankings[trial % len(rankings)]
        ids, scores = index.top(query, k, ranking)
        expected = exhaustive_top(index, query, k, ranking)
        assert list(zip(ids.tolist(), scores.tolist(), strict=True)) == expected


@pytest.mark.parametrize("variant", ["okapi", "l", "plus"])
def test_a_floor_for_the_kth_best_is_found_among_the_rarest_terms_documents_and_never_above_it(
    variant: str,
) -> None:
    from retrieval import kernels

    rng = random.Random(5)
    documents, vocabulary = generated_corpus(3000)
    index = BM25Index.build(documents, BM25Params(variant))  # type: ignore[arg-type]
    recency = np.asarray([rng.randint(700, 760) for _ in documents], dtype=np.int32)
    found = 0
    for _ in range(90):
        # a few common words beside rarer ones, as a news question has
        query = rng.sample(vocabulary[:30], 2) + rng.sample(vocabulary[100:], rng.randint(3, 8))
        k = rng.choice([5, 40, 200])
        until, decay = rng.choice([(None, 0.0), (730, 0.0), (745, 0.3), (760, 1.0)])
        prepared = index._prepare(query)
        assert prepared is not None
        starts, ends = index.offsets[prepared.rows], index.offsets[prepared.rows + 1]
        floor = kernels._floor(
            index._postings, index._weighting, starts, ends, prepared.weights, k, recency,
            -1 if until is None else until, prepared.scale, prepared.constant, decay, 14.0,
        )  # fmt: skip
        ranking = Ranking(recency, until=until, decay=(decay, 14.0) if decay else None)
        expected = exhaustive_top(index, query, k, ranking)
        if floor > -math.inf:
            found += 1
            assert len(expected) == k and floor <= expected[-1][1]
            assert index.top(query, k, ranking)[1].tolist() == [score for _, score in expected]
    assert found >= 30  # most of these questions have rare enough words


@pytest.mark.parametrize("decay", [0.0, 0.15, 0.5, 1.0])
def test_the_pruning_threshold_is_the_least_fixed_point_score_able_to_reach_the_kth_best(
    decay: float,
) -> None:
    from retrieval import kernels

    rng = np.random.default_rng(int(decay * 100))
    for _ in range(2000):
        scale, constant = 2.0 ** int(rng.integers(1, 41)), float(rng.choice([0.0, rng.random() * 40]))
        score = float(
            rng.choice(
                [
                    rng.normal() * 50,  # any score, negative ones too
                    kernels._final(
                        int(rng.integers(0, 2**50)), scale, constant, int(rng.integers(0, 400)), decay, 60.0
                    ),
                    np.nextafter(rng.random() * 30, 100),
                    1e300,  # beyond every fixed-point score
                    -1e300,  # below every one
                ]
            )
        )
        found = kernels._threshold(score, scale, constant, decay)
        assert kernels.LOWEST <= found <= -kernels.LOWEST
        if found > kernels.LOWEST:
            assert kernels._ceiling(found - 1, scale, constant, decay) < score
        if found < -kernels.LOWEST:
            assert kernels._ceiling(found, scale, constant, decay) >= score


@pytest.mark.parametrize("variant", ["okapi", "l", "plus"])
def test_top_k_scores_equal_rank_bm25(variant: str) -> None:
    documents, vocabulary = generated_corpus(2000)
    params = BM25Params(variant)  # type: ignore[arg-type]
    delta = {} if variant == "okapi" else {"delta": params.lower_bound}
    oracle = ORACLES[variant](documents, k1=params.k1, b=params.b, **delta)
    index = BM25Index.build(documents, params)
    rng = random.Random(9)
    for _ in range(30):
        query = rng.sample(vocabulary[:30], 3) + rng.sample(vocabulary[30:], 4)
        ids, scores = index.top(query, 10)
        expected = oracle.get_scores(query)
        np.testing.assert_allclose(scores, expected[ids], rtol=0, atol=1e-9)
        # nothing outside the ten scores higher than the tenth (beyond rounding)
        assert np.sort(expected)[-10] <= scores[-1] + 1e-9


def test_copies_of_a_passage_score_exactly_alike_whatever_path_finds_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a rare word leads; the common ones are pruned to lookups in later windows
    monkeypatch.setattr("retrieval.index.WINDOW", 64)
    common = [["w0", "w1", "w2"] * 3 for _ in range(2000)]
    passage = ["rare", "w0", "w1", "w2", "w1"]
    for number in (5, 900, 1999):
        common[number] = list(passage)
    index = BM25Index.build(common)
    recency = np.arange(len(common), dtype=np.int32)
    ids, scores = index.top(["rare", "w0", "w1", "w2"] * 5, 3, Ranking(recency))
    assert ids.tolist() == [1999, 900, 5]  # equal scores, the newest first
    assert len(set(scores.tolist())) == 1


def test_top_k_breaks_ties_by_recency_and_caps_per_group() -> None:
    documents = [["a"], ["a"], ["a", "b"], ["a", "b", "b"], ["a", "b", "b"]]
    index = BM25Index.build(documents)
    groups = _arrays(0, 1, 2, 3, 3)  # documents 3 and 4 are one article
    recency = _arrays(10, 20, 30, 40, 41)
    capped = index.top(["a", "b"], 5, Ranking(recency, groups=groups, per_group=1))[0]
    assert capped.tolist() == [4, 2, 1, 0]
    assert index.top(["a", "b"], 2, Ranking(recency))[0].tolist() == [4, 3]


def test_top_k_fills_k_from_other_groups_when_the_best_are_one_group() -> None:
    documents = [["x"] * (1 + number % 7) + ["y"] for number in range(500)]
    index = BM25Index.build(documents)
    groups = np.where(np.arange(500) < 400, 0, np.arange(500)).astype(np.int32)  # 400 in one article
    ids, _ = index.top(["x"], 3, Ranking(np.zeros(500, dtype=np.int32), groups=groups, per_group=1))
    assert len({int(groups[doc]) for doc in ids}) == 3


def test_top_k_of_no_known_word_or_no_eligible_document_is_empty() -> None:
    index = BM25Index.build([["a"], ["b"], ["c"]])
    assert len(index.top(["zzz"], 5)[0]) == 0
    future = Ranking(_arrays(50, 60, 70), until=40)  # every document is newer than the as-of date
    assert len(index.top(["a", "b"], 5, future)[0]) == 0


def test_term_frequencies_take_the_smallest_type_and_widen_on_update() -> None:
    index = BM25Index.build([["a", "b"], ["a"] * 3, ["c"]])
    assert index.term_freqs.dtype == np.uint8
    updated = index.updated(np.ones(3, dtype=bool), [["a"] * 300, ["b"]])
    assert updated.term_freqs.dtype == np.uint16
    ids, freqs = updated.postings("a")
    assert ids.tolist() == [0, 1, 3] and freqs.tolist() == [1, 3, 300]
    oracle = BM25Plus([["a", "b"], ["a"] * 3, ["c"], ["a"] * 300, ["b"]])
    np.testing.assert_allclose(updated.score(["a"])[1], oracle.get_scores(["a"])[[0, 1, 3]], atol=1e-9)


COMPILED_SEARCH = """
import numpy as np
from retrieval import BM25Index
index = BM25Index.build([["a", "b"], ["b", "c"], ["a"]])
print(index.top(["a"], 2)[0].tolist())
"""


def test_opening_and_building_an_index_does_not_load_the_compiler(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from retrieval import Library\n"
        f"Library.load({str(ROOT / 'corpus')!r}, index_dir={str(tmp_path / 'index')!r})\n"
        "print('numba' in sys.modules)\n"
    )
    for _ in range(2):  # a build, then a start from the saved index
        done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "False"


def test_compiled_search_is_cached_where_numba_cache_dir_points(tmp_path: Path) -> None:
    cache = tmp_path / "numba-cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", COMPILED_SEARCH], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[2, 0]"
    assert any(cache.rglob("kernels.top_k-*.nbi"))


def test_compiled_search_runs_when_no_cache_folder_is_writable(tmp_path: Path) -> None:
    # a copy of the package whose __pycache__ cannot be made, and no usable user cache
    shutil.copytree(ROOT / "retrieval", tmp_path / "retrieval", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "retrieval" / "__pycache__").write_text("a file where a folder would go")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    env = {
        **{name: value for name, value in os.environ.items() if name != "NUMBA_CACHE_DIR"},
        "HOME": str(blocked),
        "XDG_CACHE_HOME": str(blocked / "cache"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [sys.executable, "-c", COMPILED_SEARCH]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[2, 0]"
    assert "not cached" in done.stderr


def test_building_in_small_chunks_gives_the_same_index(monkeypatch: pytest.MonkeyPatch) -> None:
    documents, _ = generated_corpus(300)
    whole = BM25Index.build(documents)
    monkeypatch.setattr("retrieval.index.CHUNK_TOKENS", 37)  # many chunks, documents across edges
    chunked = BM25Index.build(documents)
    for name in ("offsets", "doc_ids", "term_freqs", "doc_lengths"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name))


@pytest.mark.parametrize("variant", ["okapi", "l", "plus"])
def test_an_updated_index_scores_like_rank_bm25_over_the_kept_and_new_documents(variant: str) -> None:
    documents, vocabulary = generated_corpus(1500)
    documents[3] = ["only-in-a-removed-document"] * 3
    added, _ = generated_corpus(300, seed=11)
    added[0] = ["brand-new", "w1"]
    keep = np.array([number % 4 != 3 for number in range(len(documents))])
    params = BM25Params(variant)  # type: ignore[arg-type]
    updated = BM25Index.build(documents, params).updated(keep, added)
    remaining = [doc for doc, kept in zip(documents, keep, strict=True) if kept] + added
    delta = {} if variant == "okapi" else {"delta": params.lower_bound}
    oracle = ORACLES[variant](remaining, k1=params.k1, b=params.b, **delta)
    assert "only-in-a-removed-document" not in updated.vocabulary
    assert updated.vocabulary.keys() == {word for doc in remaining for word in doc}
    rng = random.Random(5)
    for _ in range(30):
        query = rng.sample(vocabulary[:20], 2) + rng.sample(vocabulary[20:], 3) + ["brand-new"]
        ids, scores = updated.score(query)
        np.testing.assert_allclose(scores, oracle.get_scores(query)[ids], rtol=0, atol=1e-9)
        assert ids.tolist() == [i for i, doc in enumerate(remaining) if set(doc) & set(query)]


@pytest.mark.parametrize("block", [3, 1 << 22])
def test_an_update_gives_each_term_the_postings_of_a_build_from_scratch(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Rows are merged a block at a time (3: every run cut in many blocks), with documents
    removed or not, words only removed documents held, and words new in the update."""
    monkeypatch.setattr("retrieval.index.MERGE_BLOCK", block)
    documents, _ = generated_corpus(400)
    documents[7] = ["gone-with-the-document"] * 300  # the widest frequency leaves
    added, _ = generated_corpus(60, seed=3)
    added[5] = ["brand-new"] * 2
    for keep in (np.ones(len(documents), dtype=bool), np.arange(len(documents)) % 5 != 2):
        updated = BM25Index.build(documents).updated(keep, added)
        scratch = BM25Index.build([doc for doc, kept in zip(documents, keep, strict=True) if kept] + added)
        assert updated.vocabulary.keys() == scratch.vocabulary.keys()
        assert updated.term_freqs.dtype == scratch.term_freqs.dtype
        for term in scratch.vocabulary:
            for mine, theirs in zip(updated.postings(term), scratch.postings(term), strict=True):
                np.testing.assert_array_equal(mine, theirs)


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_an_updates_old_postings_leave_resident_memory_once_read_and_stay_readable(tmp_path: Path) -> None:
    """A saved index's postings are read through once by an update; as many pages of a
    million passages' file would otherwise count in the process's memory."""
    values = np.arange(16 << 20, dtype=np.int32)  # 64 MB
    np.save(tmp_path / "doc_ids.npy", values)
    mapped = np.asarray(np.load(tmp_path / "doc_ids.npy", mmap_mode="r")).view()
    before = resident_bytes()
    assert int(mapped.sum(dtype=np.int64)) == int(values.sum(dtype=np.int64))  # every page read
    read = resident_bytes()
    release(mapped)
    assert read - before > 48 << 20
    assert read - resident_bytes() > 48 << 20
    np.testing.assert_array_equal(mapped[::4096], values[::4096])
