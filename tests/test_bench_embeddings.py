import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from bench import dev_split, embeddings
from bench.learn_ranking import ask_all
from retrieval.semantic import embedder
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "eval"


def test_vectors_made_from_the_exported_texts_rank_as_the_library_s_own(tmp_path: Path) -> None:
    """WordLlama's vectors of the exported texts, saved in another order and read back,
    are the index's very vectors, and every question ranks as with the library's own."""
    args = argparse.Namespace(
        questions=FIXTURES / "questions.jsonl", corpus=FIXTURES / "corpus", index_dir=tmp_path / "index"
    )
    questions, library = dev_split.load(args)
    embeddings.write_texts(library, [q.question for q in questions], tmp_path / "texts.json")
    texts = json.loads((tmp_path / "texts.json").read_text(encoding="utf-8"))
    model = embedder()
    np.savez(
        tmp_path / "vectors.npz",
        article_ids=texts["article_ids"][::-1],
        articles=model.embed(texts["article_texts"][::-1]).astype(np.float32),
        questions=texts["question_texts"],
        question_vectors=np.stack([model.embed_one(t) for t in texts["question_texts"]]),
    )
    wanted = [embeddings.embedded_question(q.question) for q in questions]
    vectors = embeddings.read_vectors(tmp_path / "vectors.npz", library.articles.ids, wanted)
    assert np.array_equal(vectors.articles, library.article_vectors)
    asked = ask_all(library, questions, dev_split.weeks(questions))
    swapped, theirs = embeddings.with_vectors(library, asked, vectors)
    ours, from_file = embeddings.per_question(library, asked), embeddings.per_question(swapped, theirs)
    assert all(np.array_equal(ours[k], from_file[k]) for k in embeddings.COLUMNS)
    assert ours["R@1"].sum() > 0  # the fixture's questions are found: the comparison is not of zeros


UNIT = np.eye(3, dtype=np.float32)


@pytest.mark.parametrize(
    ("saved", "refusal"),
    [
        # an article of the library has no row
        ({"article_ids": ["a", "b"], "articles": UNIT[:2]}, "1 articles have no vector, 'c' first"),
        # a question has no row
        ({"questions": ["who?"], "question_vectors": UNIT[:1]}, "1 questions have no vector, 'when?' first"),
        # the questions were embedded by another model, of another width
        ({"question_vectors": np.eye(2, 4, dtype=np.float32)}, "articles have 3 dimensions, questions 4"),
        # rows not normalised: the cosine would be a plain dot product
        ({"articles": 2 * UNIT}, "article rows are not unit vectors"),
    ],
)
def test_a_vectors_file_that_does_not_fit_the_library_is_refused_naming_why(
    tmp_path: Path, saved: dict[str, object], refusal: str
) -> None:
    arrays = {
        "article_ids": ["c", "a", "b"],
        "articles": UNIT,
        "questions": ["who?", "when?"],
        "question_vectors": UNIT[:2],
    }
    np.savez(tmp_path / "v.npz", **(arrays | saved))
    with pytest.raises(ValueError, match=refusal.replace("?", r"\?")):
        embeddings.read_vectors(tmp_path / "v.npz", ["a", "b", "c"], ["who?", "when?"])
