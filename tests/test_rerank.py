"""The second stage of ranking: meaning, periods, recency, and LEXICAL_ONLY keeping words alone."""

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rank_bm25 import BM25Plus

from retrieval import Library, LibraryOptions, analyze, semantic
from retrieval.library import topical
from retrieval.rerank import QueryTerms, RerankOptions, article_coverage
from retrieval.semantic import QUESTION_CHARS, embedder, question_text, reads_by_words
from tests.conftest import SHIPPED_CORPUS, WriteCorpus, article

LEXICAL = LibraryOptions(lexical_only=True)


def ids(library: Library, question: str, now: dt.date | None = None) -> list[str]:
    return [hit.article.id for hit in library.search(question, now=now).hits]


def test_meaning_lifts_the_article_that_says_it_in_other_words(write_corpus: WriteCorpus) -> None:
    root = write_corpus(
        {
            # both share only "club" with the question; words alone put the gym first
            "final.txt": article(
                "2024-05-20",
                "Soccer side lifts the league trophy",
                "The club celebrated a dramatic final day in front of its fans.",
            ),
            "gym.txt": article(
                "2024-05-20",
                "Opening hours",
                "The club opens its gym and its pool to members on Monday morning after weeks of repairs.",
            ),
            "rates.txt": article("2024-05-20", "Markets", "Stocks fell as the central bank raised rates."),
        }
    )
    question = "Which football club won the championship?"
    assert ids(Library.load(root, LEXICAL), question) == ["gym", "final"]
    assert ids(Library.load(root), question) == ["final", "gym"]


def harbour(write_corpus: WriteCorpus) -> Path:
    return write_corpus(
        {
            "march-2023.txt": article(
                "2023-03-14", "Harbour closes", "The Odesa harbour closed for repairs."
            ),
            # the newer report matches more words, so words alone put it first
            "june-2024.txt": article(
                "2024-06-20", "Odesa harbour news", "The Odesa harbour and its cranes were repaired."
            ),
            "looking-back.txt": article(
                "2024-06-01",
                "The port looks back",
                "In March 2023, the Odesa harbour closed, the port authority recalls.",
            ),
            "other.txt": article("2024-01-01", "Sport", "A final."),
        }
    )


def test_a_question_naming_a_period_prefers_articles_of_it(write_corpus: WriteCorpus) -> None:
    root = harbour(write_corpus)
    library = Library.load(root)
    asked = dt.date(2024, 7, 1)
    assert ids(library, "What happened to the Odesa harbour?", asked)[0] == "june-2024"
    # published in March 2023, or telling of it: both ahead of the newer report
    assert set(ids(library, "What happened to the Odesa harbour in March 2023?", asked)[:2]) == {
        "march-2023",
        "looking-back",
    }
    # "last year", asked in 2024, is 2023, resolved as the timeline resolves it
    assert ids(library, "What happened to the Odesa harbour last year?", asked)[0] == "march-2023"
    assert ids(Library.load(root, LEXICAL), "Odesa harbour last year", asked)[0] == "june-2024"


def test_without_a_date_a_relative_period_counts_from_the_newest_article(write_corpus: WriteCorpus) -> None:
    library = Library.load(harbour(write_corpus))
    assert ids(library, "What happened to the Odesa harbour last year?")[0] == "march-2023"


def test_without_a_date_an_article_dated_past_published_by_neither_answers_nor_moves_periods(
    write_corpus: WriteCorpus,
) -> None:
    # one file with a mistyped year (2092): `newsbot ask` without --as-of answered from it, and
    # "last year" became 2091 for every question, so the 2023 report lost its lift
    root = harbour(write_corpus)
    (root / "typo.txt").write_text(
        article("2092-01-05", "Odesa harbour dredging", "The Odesa harbour entrance will be dredged."),
        encoding="utf-8",
    )
    library = Library.load(root)
    by = dt.date(2024, 7, 1)
    assert "typo" in ids(library, "What happened to the Odesa harbour?")  # not told of any day
    found = [hit.article.id for hit in library.search("Odesa harbour", k=10, published_by=by).hits]
    assert "typo" not in found and len(found) == 3
    last_year = library.search("What happened to the Odesa harbour last year?", published_by=by)
    assert last_year.hits[0].article.id == "march-2023"
    assert ids(library, "What happened to the Odesa harbour last year?")[0] != "march-2023"  # 2091's
    # asked at no particular day all the same: no recency prior for the question naming no period
    plain = library.search("What happened to the Odesa harbour?", k=10, published_by=by).hits
    dated = library.search("What happened to the Odesa harbour?", k=10, now=by).hits
    assert [hit.score for hit in plain] != [hit.score for hit in dated]


def test_a_period_named_keeps_its_years_report_first_among_copies_of_other_years(
    write_corpus: WriteCorpus,
) -> None:
    # an annual strike in the same words: folded as one story under the newest, the answer to
    # "in March 2022" showed 2024's report, which tells of three days' strike, not one
    strike = "Ferry workers went on strike in Piraeus on Tuesday, stopping ferries to the islands for {}."
    root = write_corpus(
        {
            "a.txt": article("2022-03-15", "Ferry workers strike in Piraeus", strike.format("a day")),
            "b.txt": article("2023-03-14", "Ferry strike in Piraeus again", strike.format("two days")),
            "c.txt": article("2024-03-12", "Piraeus ferry workers strike", strike.format("three days")),
        }
    )
    library = Library.load(root)
    (story,) = library.search("ferry strike in March 2022", now=dt.date(2024, 5, 3)).hits
    assert story.article.id == "a" and [a.id for a in story.also_reported_by] == ["c", "b"]
    assert ids(library, "ferry strike", dt.date(2024, 5, 3)) == ["c"]  # one story, this year's


def test_a_question_naming_no_period_prefers_recent_articles_a_little(write_corpus: WriteCorpus) -> None:
    root = write_corpus(
        {
            # words alone put the old report first: it is shorter
            "old.txt": article("2023-05-01", "Geneva", "Ceasefire talks resumed in Geneva."),
            "new.txt": article("2024-05-01", "Doha", "Ceasefire talks resumed in Doha on Monday."),
            "other.txt": article("2024-06-01", "Markets", "Stocks fell sharply."),
        }
    )
    library = Library.load(root)
    asked = dt.date(2024, 5, 2)
    assert ids(Library.load(root, LEXICAL), "Where did the ceasefire talks resume?", asked) == ["old", "new"]
    assert ids(library, "Where did the ceasefire talks resume?", asked) == ["new", "old"]
    old_first = library.search("Where did the ceasefire talks resume?", now=dt.date(2023, 5, 2)).hits
    assert [hit.article.id for hit in old_first] == ["old"]  # and never a later article


def test_lexical_only_ranks_by_bm25_scores_as_before(write_corpus: WriteCorpus) -> None:
    texts = {
        "a.txt": article("2024-01-01", "Grain deal", "Russia quit the grain deal, and grain prices rose."),
        "b.txt": article("2024-01-02", "Ports", "Grain ships left the ports of Odesa."),
        "c.txt": article("2024-01-03", "Weather", "Rain fell over the grain fields for days."),
        "d.txt": article("2024-01-04", "Sport", "The football final was postponed."),
    }
    library = Library.load(write_corpus(texts), LEXICAL)
    question = "Which grain ships left Odesa?"
    hits = library.search(question, k=10).hits
    passages = [analyze(a.headline) + analyze(a.text) for a in library.articles]
    oracle = BM25Plus(passages, k1=1.5, b=0.75, delta=1.0).get_scores(analyze(topical(question)))
    expected = {library.articles.ids[i]: score for i, score in enumerate(oracle)}
    assert [hit.article.id for hit in hits] == ["b", "a", "c"]
    assert [hit.score for hit in hits] == pytest.approx([expected[h.article.id] for h in hits], abs=1e-9)


def test_the_seed_questions_rank_the_same_passage_first_with_words_alone_and_with_meaning() -> None:
    lexical, default = Library.load(SHIPPED_CORPUS, LEXICAL), Library.load(SHIPPED_CORPUS)
    for question in ("Who did Umerov negotiate with unofficially?", "Where did the talks collapse?"):
        first = [library.search(question).hits[0].passage for library in (lexical, default)]
        assert first[0] == first[1]


def test_article_vectors_are_unit_length_and_built_with_the_index() -> None:
    library = Library.load(SHIPPED_CORPUS)
    vectors = np.asarray(library.article_vectors, dtype=np.float32)
    assert vectors.shape == (1, 256)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(1.0, abs=1e-2)
    near = embedder().embed_one("Umerov negotiated with Abramovich")
    far = embedder().embed_one("A recipe for apple pie")
    assert float(vectors[0] @ near) > float(vectors[0] @ far)


@pytest.mark.parametrize("dims", [64, 128])
def test_narrower_vectors_are_a_prefix_of_the_model(dims: int) -> None:
    wide, narrow = embedder(256), embedder(dims)
    assert narrow.dims == dims
    assert np.array_equal(narrow.table, wide.table[:, :dims])
    with pytest.raises(ValueError, match="choose 64, 128 or 256"):
        embedder(100)


def test_an_articles_vector_does_not_depend_on_the_others_embedded_with_it() -> None:
    texts = [f"Report {n}: grain ships left Odesa on day {n} of the corridor." for n in range(200)]
    together = embedder().embed(texts)
    alone = np.stack([embedder().embed([text])[0] for text in texts])
    assert np.array_equal(together, alone)  # so an update's vectors equal a full build's
    assert not np.array_equal(together[0], together[1])


def test_vectors_are_the_mean_of_the_word_pieces_the_tokenizer_gives_with_offsets() -> None:
    """Word pieces are taken without their offsets, which must not change which pieces they are."""
    texts = ["Умєров провів переговори з Абрамовичем", "U.S.-led talks, 400,000 tonnes 🙂", "", "  a\n\nb  "]
    model = embedder()
    for text, vector in zip(texts, model.embed(texts), strict=True):
        pieces = model.tokenizer.encode(text, add_special_tokens=False).ids
        mean = model.table[pieces].astype(np.float32).mean(axis=0) if pieces else np.zeros(model.dims)
        norm = np.linalg.norm(mean)
        assert np.allclose(vector, mean / (norm or 1), atol=2e-3)


@pytest.mark.parametrize("dims", [64, 256])
def test_a_questions_vector_is_the_one_embed_gives(dims: int) -> None:
    model = embedder(dims)
    texts = ["Who negotiated with Abramovich?", "Умєров провів переговори", "", "🙂", "grain exports " * 300]
    for text, vector in zip(texts, model.embed(texts), strict=True):
        assert np.array_equal(model.embed_one(text), vector.astype(np.float32))  # bit for bit


WORD_PIECE_TEXTS = [
    "Who negotiated with Abramovich?",
    "Умєров провів переговори з Абрамовичем у Стамбулі",
    "U.S.-led talks, 400,000 tonnes 🙂 — «grain» in 2024",
    "",
    " ",
    "  two  blanks  before,  between and after  ",
    "tabs\tand\nnew lines\r\n, a non-breaking\u00a0space",
    "\u2581the model's own blank\u2581\u2581 typed in \u2581",
    "a <s> start, an </s> end and an <unk> in the text",
    "ǅ ﬁ Ⅻ 𝔊 ⁂ \x00 \ue000",  # rare and private characters: the tokenizer falls back to bytes
    "Grain ships left Odesa under the corridor deal. " * 30,
]


def test_a_questions_word_pieces_are_the_tokenizers_read_a_word_at_a_time() -> None:
    model = embedder()
    assert model.by_words  # the shipped tokenizer's form, which reading by words relies on
    for text in WORD_PIECE_TEXTS:
        whole = model.tokenizer.encode(text, add_special_tokens=False).ids
        assert model.pieces(text) == whole
        assert model.pieces(text) == whole  # again, its words remembered


@given(st.text(alphabet=st.sampled_from(list("ab ▁ \n<s/>чї🙂é\u0301\x00")), max_size=40))
def test_any_texts_word_pieces_are_the_tokenizers(text: str) -> None:
    model = embedder()
    assert model.pieces(text) == model.tokenizer.encode(text, add_special_tokens=False).ids


def test_a_tokenizer_of_another_form_reads_a_text_whole() -> None:
    # the model's files, read where the package lies: importing it would configure logging
    config = json.loads((semantic._package_folder() / semantic._TOKENIZER).read_text(encoding="utf-8"))
    assert reads_by_words(config)
    pre_tokenized = {**config, "pre_tokenizer": {"type": "Whitespace"}}
    a_blank_inside = {
        **config,
        "model": {**config["model"], "vocab": {**config["model"]["vocab"], "a\u2581b": 32000}},
    }
    no_marks = {**config, "normalizer": None}
    words_whole = {**config, "model": {**config["model"], "ignore_merges": True}}
    assert not any(map(reads_by_words, (pre_tokenized, a_blank_inside, no_marks, words_whole)))


def test_a_pasted_texts_vector_is_of_its_start_and_a_typed_question_is_whole() -> None:
    question = "Did the US know about the grain talks in Istanbul this week?"
    assert question_text(question) == question
    pasted = "Grain ships left Odesa under the corridor deal. " * 100
    assert question_text(pasted) == pasted[:QUESTION_CHARS]


def test_the_second_stage_reads_each_known_term_once_with_its_postings_and_idf(
    write_corpus: WriteCorpus,
) -> None:
    library = Library.load(harbour(write_corpus))
    terms = library.query_terms("Odesa harbour, the harbour's cranes and a zebra")  # a repeat, an unknown
    index = library.index
    known = sorted(t for t in set(terms) if t in index.vocabulary)
    assert len(known) < len(terms)
    found = library.query_postings(terms)
    assert found.rows.tolist() == [index.vocabulary[t] for t in known]
    assert found.idf.tolist() == [float(index.idf[index.vocabulary[t]]) for t in known]
    held = [found.doc_ids[found.offsets[row] : found.offsets[row + 1]].tolist() for row in found.rows]
    assert held == [index.postings(t)[0].tolist() for t in known]


def test_a_questions_vector_leaves_out_all_past_a_pasted_texts_start(write_corpus: WriteCorpus) -> None:
    library = Library.load(harbour(write_corpus))
    question = "When did the Odesa harbour close?"
    pasted = "The Odesa harbour closed for repairs. " * 40
    assert np.array_equal(
        library.question_vector(pasted), library.question_vector(pasted + "Stocks fell as rates rose. " * 40)
    )
    assert not np.array_equal(library.question_vector(question), library.question_vector("Stocks fell"))


FILLER = (
    "The club's season opened with a long road trip through the west, and the coaches spoke "
    "of patience with young players while the weather held and crowds stayed small. "
)


def test_the_article_holding_all_of_the_questions_words_beats_a_passage_repeating_some(
    write_corpus: WriteCorpus,
) -> None:
    root = write_corpus(
        {
            # one short passage, two of the question's words, one of them twice
            "profile.txt": article(
                "2024-05-01", "High school star", "Zack Gelof of Cape Henlopen: Gelof was player of the year."
            ),
            # two passages (each over 800 characters), the question's words spread over both
            "call-up.txt": article(
                "2024-05-01",
                "Athletics promote a prospect",
                "The Athletics called up an infielder from their Las Vegas team on Friday. " + FILLER * 5,
                "Zack Gelof, 23, joins them in Oakland. " + FILLER * 5,
            ),
            "other.txt": article("2024-05-01", "Markets", "Stocks fell as the central bank raised rates."),
        }
    )
    question = "Which team called up infielder Zack Gelof?"
    no_coverage = LibraryOptions(rerank=RerankOptions(coverage_weight=0.0))
    assert ids(Library.load(root, no_coverage), question)[0] == "profile"
    assert ids(Library.load(root), question)[0] == "call-up"


@pytest.mark.parametrize(
    ("postings", "expected"),
    [
        # article 0 is passages 0-1, article 1 is passage 2, article 2 is passages 3-5
        ([([0, 3], 1.0), ([5], 1.0)], [0.5, 0.0, 1.0]),
        # a term in the second passage of an article counts as much as in its first
        ([([1], 3.0), ([2, 4], 1.0)], [0.75, 0.25, 0.25]),
        # idf weighs the terms: the rare one is most of the question
        ([([0, 2, 3], 0.5), ([2], 4.5)], [0.1, 1.0, 0.1]),
        # a term no passage holds still weighs: no article holds all of the question
        ([([0], 1.0), ([], 1.0)], [0.5, 0.0, 0.0]),
        # no term with any weight: nothing to share out
        ([([0], 0.0)], [0.0, 0.0, 0.0]),
    ],
)
def test_article_coverage_is_the_share_of_idf_held_anywhere_in_the_article(
    postings: list[tuple[list[int], float]], expected: list[float]
) -> None:
    terms = query_terms([ids for ids, _ in postings], [idf for _, idf in postings])
    bounds = np.asarray([0, 2, 3, 6], dtype=np.int64)
    articles = np.asarray([0, 1, 2], dtype=np.int32)
    assert article_coverage(terms, articles, bounds) == pytest.approx(expected)


def query_terms(postings: list[list[int]], idf: list[float], rows: list[int] | None = None) -> QueryTerms:
    """Terms whose postings are laid end to end, as the index holds them."""
    offsets = np.cumsum([0, *map(len, postings)]).astype(np.int64)
    doc_ids = np.asarray([doc for ids in postings for doc in ids], dtype=np.int32)
    picked = np.arange(len(postings)) if rows is None else np.asarray(rows)
    return QueryTerms(doc_ids, offsets, picked.astype(np.int64), np.asarray(idf, dtype=np.float64))


def test_article_coverage_reads_each_terms_postings_in_the_index_as_a_search_of_each_would() -> None:
    # many articles and terms, in any order and repeated; articles of one passage and of many;
    # terms of no passage, of one, of every passage; the rows asked, not the index's others
    rng = np.random.default_rng(5)
    for _ in range(40):
        sizes = rng.integers(1, 6, size=int(rng.integers(1, 60)))
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        passages = int(bounds[-1])
        postings = [
            np.flatnonzero(rng.random(passages) < density).tolist()
            for density in rng.choice([0.0, 0.02, 0.3, 1.0], size=int(rng.integers(1, 40)))
        ]
        rows = rng.choice(len(postings), size=int(rng.integers(0, len(postings) + 1)), replace=False).tolist()
        idf = rng.random(len(rows)).tolist()
        articles = rng.integers(0, len(sizes), size=int(rng.integers(1, 250))).astype(np.int32)
        held = np.asarray(
            [
                [np.searchsorted(postings[row], bounds[a + 1]) > np.searchsorted(postings[row], bounds[a])
                 for a in articles]
                for row in rows
            ],
            dtype=bool,
        ).reshape(len(rows), len(articles))  # fmt: skip
        weights = np.asarray(idf, dtype=np.float64)
        expected = weights @ held / weights.sum() if weights.sum() > 0 else np.zeros(len(articles))
        found = article_coverage(query_terms(postings, idf, rows), articles, bounds)
        assert found.tobytes() == np.asarray(expected, dtype=np.float64).tobytes()


def test_only_the_best_lexical_candidates_are_scored_again(write_corpus: WriteCorpus) -> None:
    # five profiles, each a short passage with the question's words but "called up"
    profiles = [
        "Zack Gelof of Cape Henlopen: the team's infielder Gelof was player of the year.",
        "Senior infielder Zack Gelof led his team to a title; Gelof hit .400 this spring.",
        "Gelof, the infielder from Lewes, carried the team. Zack Gelof signed with Virginia.",
        "A coach praised infielder Zack Gelof after Gelof's team won the county final.",
        "Zack Gelof named all-state: the infielder Gelof anchored a team with no seniors.",
    ]
    files = {
        f"profile-{n}.txt": article(f"2024-0{n}-01", f"High school star, part {n}", text)
        for n, text in enumerate(profiles, start=1)
    }
    files["call-up.txt"] = article(
        "2024-05-01",
        "Athletics promote a prospect",
        "The Athletics called up an infielder from their Las Vegas team on Friday. " + FILLER * 5,
        "Zack Gelof, 23, joins them in Oakland. " + FILLER * 5,
    )
    root = write_corpus(files)
    question = "Which team called up infielder Zack Gelof?"
    assert "call-up" not in ids(Library.load(root, LEXICAL), question)  # by words, five profiles first
    assert ids(Library.load(root), question)[0] == "call-up"  # the whole article lifts it
    # for one passage, at least 4 x 1 candidates are scored again: here only four profiles
    few = LibraryOptions(rerank=RerankOptions(candidates=4))
    assert Library.load(root, few).search(question, k=1).hits[0].article.id.startswith("profile-")
    assert (
        Library.load(root, LibraryOptions(rerank=RerankOptions(candidates=6)))
        .search(question, k=1)
        .hits[0]
        .article.id
        == "call-up"
    )


CYRILLIC_HARBOUR = {
    "uk": {
        # the older report matches best on words alone: the harbour, twice, in a short text
        "march.txt": article("2024-03-01", "Новини гавані", "Одеська гавань і крани гавані були в ремонті."),
        "june.txt": article(
            "2024-06-20",
            "Новини порту",
            "Одеська гавань знову відкрилася для суден після довгого ремонту причалів.",
        ),
        "week.txt": article("2024-06-18", "Календар", "Наступного тижня буде як цього тижня."),
    },
    "ru": {
        "march.txt": article(
            "2024-03-01", "Новости гавани", "Одесская гавань и краны гавани были в ремонте."
        ),
        "june.txt": article(
            "2024-06-20",
            "Новости порта",
            "Одесская гавань снова открылась для судов после долгого ремонта причалов.",
        ),
        "week.txt": article("2024-06-18", "Календарь", "На следующей неделе будет как на этой неделе."),
    },
}


@pytest.mark.parametrize(
    ("language", "question", "recent"),
    [
        ("uk", "Одеська гавань", None),
        ("uk", "Одеська гавань цього тижня", "тижден"),
        ("uk", "Що нового в одеській гавані на цьому тижні?", "тижден"),
        ("uk", "ОДЕСЬКА ГАВАНЬ: ОСТАННІ НОВИНИ", "останні"),  # capitals
        ("uk", "Що нещодавно сталося в одеській гавані?", "нещодавн"),
        ("ru", "Одесская гавань", None),
        ("ru", "Одесская гавань на этой неделе", "недел"),
        ("ru", "Что нового в одесской гавани на этой неделе?", "недел"),
        ("ru", "Одесская гавань: последние новости", "последн"),
        ("ru", "Что недавно произошло в одесской гавани?", "недавн"),
    ],
)
def test_a_ukrainian_or_russian_question_about_the_recent_past_prefers_recent_articles(
    write_corpus: WriteCorpus, language: str, question: str, recent: str | None
) -> None:
    """As "latest" and "this week" do in English (tests/test_library.py): the cue's words
    are not matched, and the stronger recency prior lifts the newer report."""
    library = Library.load(write_corpus(CYRILLIC_HARBOUR[language]))
    result = library.search(question, now=dt.date(2024, 6, 21))
    undated = [hit.article.id for hit in library.search(question).hits]
    assert recent not in result.terms
    assert [hit.article.id for hit in result.hits] == (
        ["march", "june"] if recent is None else ["june", "march"]
    )
    assert undated == ["march", "june"]  # no date, no prior; and the calendar never matches
