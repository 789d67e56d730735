import random

import numpy as np
import pytest
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

from retrieval import BM25Index, BM25Params
from retrieval.index import top_k

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


def _arrays(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int32)


def test_top_k_breaks_ties_by_recency_and_caps_per_group() -> None:
    ids = _arrays(0, 1, 2, 3, 4)
    scores = np.asarray([5.0, 5.0, 4.0, 9.0, 8.0])
    groups = _arrays(0, 1, 2, 3, 3)  # documents 3 and 4 are one article
    recency = _arrays(10, 20, 30, 40, 40)
    assert top_k(ids, scores, 5, groups, recency, per_group=1) == [3, 1, 0, 2]
    assert top_k(ids, scores, 2, groups, recency, per_group=None) == [3, 4]


def test_top_k_widens_its_head_until_enough_groups() -> None:
    size = 500
    ids = np.arange(size, dtype=np.int32)
    scores = np.linspace(100, 1, size)
    groups = np.where(ids < 400, 0, ids).astype(np.int32)  # the 400 best are one article
    chosen = top_k(ids, scores, 3, groups, np.zeros(size, dtype=np.int32), per_group=1)
    assert chosen == [0, 400, 401]


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
