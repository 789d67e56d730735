import dataclasses
import datetime as dt
import json
import os
import random
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval import Article, CorpusError, Hit, Library, LibraryOptions
from retrieval.index import Ranking
from retrieval.passages import split_passages
from retrieval.stories import fold_same_story, word_marks
from retrieval.tables import ArticleTable, PassageTable, paragraphs_of
from tests.conftest import HOSTILE, ROOT, SHIPPED_CORPUS, WriteCorpus, add_hostile, article, load_in_child
from tests.test_index import exhaustive_top


@pytest.fixture(scope="module")
def seed() -> Library:
    return Library.load(SHIPPED_CORPUS)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who did Umerov negotiate with unofficially?", "Roman Abramovich"),
        ("How many people escaped through the humanitarian corridor?", "400,000"),
        ("who negotiated with Abramovich?", "Roman Abramovich"),
        ("Where did the talks collapse?", "Istanbul"),
        ("Was the United States aware of the contacts?", "always aware"),
        ("What did Olaf Scholz offer?", "Olaf Scholz"),
        ("When will the plan for negotiations be ready?", "ready in November"),
    ],
)
def test_seed_questions_rank_the_right_passage_first(seed: Library, question: str, expected: str) -> None:
    first = seed.search(question).hits[0]
    assert expected in first.passage.text
    assert first.article.headline.startswith("Ukraine's Minister of Defense")
    assert first.article.date == dt.date(2024, 10, 23)


def test_hits_carry_matched_terms_and_stay_within_two_per_article(seed: Library) -> None:
    result = seed.search("Who did Umerov negotiate with unofficially?", k=5)
    assert len(result.hits) == 2  # one article: at most two of its passages
    assert result.hits[0].matched == {"umerov", "negoti", "unoffici"}
    assert result.hits[0].score > result.hits[1].score
    small = Library.load(SHIPPED_CORPUS, LibraryOptions(min_chars=200, max_chars=1000))
    assert len(small.search("Umerov negotiations", k=5, per_article=None).hits) > 2


@pytest.mark.parametrize("question", ["", "   ", "the of and who", "🙂🙂", "?!"])
def test_questions_without_searchable_words_get_a_reason(seed: Library, question: str) -> None:
    result = seed.search(question)
    assert result.hits == ()
    assert result.reason and "no searchable words" in result.reason


def test_unknown_words_get_a_reason(seed: Library) -> None:
    result = seed.search("zyzzyva quux")
    assert result.hits == ()
    assert result.reason == "no passage contains any of its words"


def test_passage_without_a_shared_word_is_never_returned(write_corpus: WriteCorpus) -> None:
    root = write_corpus(
        {
            "a.txt": article("2024-01-01", "Weather", "Rain fell over the capital for days."),
            "b.txt": article("2024-01-02", "Harvest", "Grain exports rose by a third this year."),
            "c.txt": article("2024-01-03", "Sport", "The football final was postponed."),
        }
    )
    hits = Library.load(root).search("grain exports", k=10).hits
    assert [hit.article.id for hit in hits] == ["b"]


def test_equal_scores_go_to_the_newer_article(write_corpus: WriteCorpus) -> None:
    text = "Ceasefire talks resumed in {}."  # equal scores, but not one story
    root = write_corpus(
        {
            "old.txt": article("2023-05-01", "Talks", text.format("Geneva")),
            "new.txt": article("2024-05-01", "Talks", text.format("Vienna")),
            "mid.txt": article("2023-12-01", "Talks", text.format("Doha")),
            "other.txt": article("2024-06-01", "Markets", "Stocks fell sharply."),
        }
    )
    hits = Library.load(root, LibraryOptions(lexical_only=True)).search("ceasefire talks").hits
    assert [hit.article.id for hit in hits] == ["new", "mid", "old"]
    assert hits[0].score == hits[2].score


def test_headline_words_match_every_passage_of_the_article(write_corpus: WriteCorpus) -> None:
    root = write_corpus(
        {
            "a.txt": article(
                "2024-01-01",
                "Zaporizhzhia plant loses power",
                "x " * 450,
                "Engineers worked all night. " * 40,
            ),
            "b.txt": article("2024-01-02", "Markets", "Stocks fell."),
            "c.txt": article("2024-01-03", "Sport", "A final."),
        }
    )
    hits = Library.load(root).search("Zaporizhzhia", per_article=None).hits
    assert len(hits) == 2
    assert all(hit.matched == {"zaporizhzhia"} for hit in hits)
    assert not Library.load(root, LibraryOptions(headline_weight=0)).search("Zaporizhzhia").hits
    once = Library.load(root, LibraryOptions(lexical_only=True)).search("Zaporizhzhia", per_article=None)
    twice = Library.load(root, LibraryOptions(headline_weight=2, lexical_only=True)).search(
        "Zaporizhzhia", per_article=None
    )
    assert all(heavier.score > hit.score for heavier, hit in zip(twice.hits, once.hits, strict=True))


def kharkiv_news(write_corpus: WriteCorpus) -> Path:
    """A Russian article whose headline tells no language, beside others on Kharkiv and in Ukrainian."""
    return write_corpus(
        {
            "kharkiv.txt": article(
                "2024-06-20",
                "Новости Харькова",  # no word only Russian or only Ukrainian
                "В метро открыли новую станцию, поезда ходят каждые пять минут.",
            ),
            "weather.txt": article(
                "2024-06-20", "Погода в Харькове", "В Харькове завтра ожидаются дожди и ветер."
            ),
            "grain.txt": article(
                "2024-06-20", "Цены на пшеницу выросли", "Трейдеры связывают рост со спросом."
            ),
            "bridge.txt": article(
                "2024-06-20", "Ремонт мосту завершили", "У Києві відкрили міст після ремонту, що тривав рік."
            ),
            "school.txt": article("2024-06-20", "Школа в метро", "У Харкові діти вчаться на станції метро."),
        }
    )


def test_a_headline_that_tells_no_language_is_read_in_the_language_of_its_article(
    write_corpus: WriteCorpus,
) -> None:
    library = Library.load(kharkiv_news(write_corpus))
    # read alone, `Новости Харькова` was Ukrainian (`новіст`) in an article read as Russian
    assert "новост" in library.index.vocabulary
    assert "новіст" not in library.index.vocabulary
    # a Ukrainian article's headline stays Ukrainian: `завершили` is `завершит`, not `заверш`
    assert "завершит" in library.index.vocabulary
    assert "заверш" not in library.index.vocabulary
    # a Russian question (`из`) meets the headline in its Russian reading alone: before, the
    # weather report, naming Kharkiv twice, came first
    result = library.search("Новости из Харькова", now=dt.date(2024, 6, 21))
    assert result.terms == ("новост", "харьков", "~хркв")
    assert [hit.article.id for hit in result.hits][:2] == ["kharkiv", "weather"]
    assert result.hits[0].matched == {"новост", "харьков", "~хркв"}


def test_latest_lists_newest_first() -> None:
    articles = [
        Article(name, name, dt.date(2024, 1, day), ("Body text.",))
        for name, day in (("a", 3), ("b", 9), ("c", 5))
    ]
    library = Library.from_articles(articles)
    assert [a.id for a in library.latest(2)] == ["b", "c"]
    assert library.latest(0) == []
    # As of a day, like a search: nothing dated after it, and as many older ones as asked for.
    assert [a.id for a in library.latest(2, now=dt.date(2024, 1, 8))] == ["c", "a"]
    assert library.latest(5, now=dt.date(2024, 1, 1)) == []


def test_folder_with_only_bad_files_is_a_corpus_error(write_corpus: WriteCorpus) -> None:
    root = write_corpus({"bad.txt": "no date here\n"})
    with pytest.raises(CorpusError, match=r"no readable article: bad\.txt"):
        Library.load(root)


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("saved", [False, True])
def test_one_bad_file_of_any_kind_never_stops_the_load(
    write_corpus: WriteCorpus, tmp_path: Path, kind: str, saved: bool
) -> None:
    root = write_corpus({"good.txt": article("2024-10-23", "Talks", "Negotiators met in Istanbul.")})
    name = add_hostile(root, kind)
    index_dir = tmp_path / "index" if saved else None
    for _ in range(2 if saved else 1):  # build and save, then serve the saved index
        served = load_in_child(root, index_dir, "Istanbul", "zyzzyva")
        assert served.problems == [name]
        assert served.answers == {"Istanbul": ["good"], "zyzzyva": []}


def test_a_chain_of_folders_deeper_than_the_recursion_limit_is_read(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    # 1,200 nested folders: listing them recursively raised RecursionError, which no file's
    # problem catches, so the load stopped (and every start and /reload after it)
    root = write_corpus({"good.txt": article("2024-10-23", "Talks", "Negotiators met in Istanbul.")})
    folders = [str(root)]
    for _ in range(1200):
        folders.append(os.path.join(folders[-1], "d"))
        os.mkdir(folders[-1])
    deep = os.path.join(folders[-1], "deep.txt")
    try:
        Path(deep).write_text(article("2024-10-24", "Deep", "The zyzzyva memo is in the cellar."))
        for index_dir in (None, tmp_path / "index", tmp_path / "index"):  # built, saved, served as saved
            served = load_in_child(root, index_dir, "Istanbul", "zyzzyva")
            assert served.problems == []
            assert served.answers == {"Istanbul": ["good"], "zyzzyva": ["d/" * 1200 + "deep"]}
    finally:  # from the deepest up: removing the chain recursively would fail the same way
        os.remove(deep)
        for folder in reversed(folders[1:]):
            os.rmdir(folder)


def test_a_paragraph_of_sentences_ending_in_an_initial_loads(write_corpus: WriteCorpus) -> None:
    # "... met a. On ..." is no sentence's end (an initial), and each full stop after it
    # looked back to the sentence's start: quadratic, 20,000 of them took 144 s; and each
    # date of the one sentence they make was checked against every other date in it
    minutes = " ".join(f"On 1 March 2022 the council met w{number} a." for number in range(60_000))
    root = write_corpus(
        {
            "good.txt": article("2024-10-23", "Talks", "Negotiators met in Istanbul."),
            "minutes.txt": article("2024-01-05", "Minutes", minutes),
        }
    )
    served = load_in_child(root, None, "Istanbul", "council")
    assert served.problems == []
    assert served.answers == {"Istanbul": ["good"], "council": ["minutes", "minutes"]}


def test_a_folder_that_cannot_be_listed_is_reported_not_left_out_unseen(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    # A folder the bot may no longer list (its permissions changed, a mount gone stale)
    # held articles: they must not leave the answers without a word in /reload's reply
    # and `newsbot stats`. Here the folder's path is longer than Linux allows a path to
    # be (names of 250 characters, 20 deep), which fails its listing even for root.
    root = write_corpus({"good.txt": article("2024-10-23", "Talks", "Negotiators met in Istanbul.")})
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(20):
        os.mkdir("d" * 250, dir_fd=folder)
        inner = os.open("d" * 250, os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder)
        os.close(folder)
        folder = inner
    deep = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder)
    os.write(deep, article("2024-10-24", "Deep", "The zyzzyva memo is in the cellar.").encode())
    os.close(deep)
    os.close(folder)
    for index_dir in (None, tmp_path / "index", tmp_path / "index"):  # built, saved, served as saved
        library = Library.load(root, index_dir=index_dir)
        (problem,) = library.report.problems
        assert set(problem.path.split("/")) == {"d" * 250}
        assert problem.reason == "cannot be read: File name too long"
        assert [hit.article.id for hit in library.search("Istanbul").hits] == ["good"]


@pytest.mark.parametrize("saved", [False, True])
def test_articles_dated_at_the_ends_of_the_calendar_load_and_answer(
    write_corpus: WriteCorpus, tmp_path: Path, saved: bool
) -> None:
    # "yesterday" or "31 грудня минулого року" in an article of 0001-01-01 and "last week"
    # in one of 0001-01-03 name a day before the calendar's first: no date, rather than an
    # OverflowError or a KeyError that stopped the whole load. The dates themselves are
    # valid, so the articles load.
    root = write_corpus(
        {
            "good.txt": article("2024-10-23", "Talks", "Negotiators met in Istanbul."),
            "first.txt": article(
                "0001-01-01", "Typo", "Yesterday the zyzzyva fleet left. 31 грудня минулого року теж."
            ),
            "third.txt": article("0001-01-03", "Typo", "Last week the quokka fleet left, on Monday."),
            "last.txt": article("9999-12-31", "Typo", "Last month the wombat fleet came home."),
        }
    )
    index_dir = tmp_path / "index" if saved else None
    for _ in range(2 if saved else 1):  # build and save, then serve the saved index
        served = load_in_child(root, index_dir, "Istanbul", "zyzzyva", "quokka", "wombat")
        assert served.problems == []
        assert served.answers == {
            "Istanbul": ["good"],
            "zyzzyva": ["first"],
            "quokka": ["third"],
            "wombat": ["last"],
        }


def test_one_story_from_several_articles_is_answered_once(write_corpus: WriteCorpus) -> None:
    wire = "Ukraine and Russia exchanged 95 prisoners of war on Friday, officials in Kyiv said."
    root = write_corpus(
        {
            "agency.txt": article("2024-10-10", "Prisoner swap", wire),
            "paper.txt": article("2024-10-11", "Prisoner swap", wire + " More to follow."),
            "grain.txt": article("2024-10-09", "Grain", "Prisoners of hunger: grain exports fell."),
        }
    )
    hits = Library.load(root).search("prisoners exchanged", k=3).hits
    assert [hit.article.id for hit in hits] == ["paper", "grain"]
    assert [a.id for a in hits[0].also_reported_by] == ["agency"]


def test_now_hides_articles_published_later(write_corpus: WriteCorpus) -> None:
    root = write_corpus(
        {
            "old.txt": article("2023-03-12", "Harbour closed", "The Odesa harbour closed for repairs."),
            "new.txt": article("2024-03-10", "Harbour reopened", "The Odesa harbour reopened after repairs."),
            "other.txt": article("2024-01-01", "Sport", "A final."),
        }
    )
    library = Library.load(root)
    assert {h.article.id for h in library.search("Odesa harbour").hits} == {"new", "old"}
    then = library.search("Odesa harbour", now=dt.date(2023, 3, 13)).hits
    assert [h.article.id for h in then] == ["old"]
    assert then[0].article.date == dt.date(2023, 3, 12)  # hits keep their true dates


def harbour_library(write_corpus: WriteCorpus, options: LibraryOptions | None = None) -> Library:
    return Library.load(
        write_corpus(
            {
                # the older report matches best on words alone: the harbour, twice
                "march.txt": article("2024-03-01", "Harbour news", "The Odesa harbour and harbour cranes."),
                "june.txt": article("2024-06-20", "Port news", "The Odesa harbour reopened."),
                "week.txt": article("2024-06-18", "Calendar", "The following week follows this week."),
            }
        ),
        options,
    )


def test_questions_about_the_recent_past_prefer_recent_articles(write_corpus: WriteCorpus) -> None:
    library = harbour_library(write_corpus)
    asked = dt.date(2024, 6, 21)
    assert library.search("Odesa harbour", now=asked).hits[0].article.id == "march"
    assert library.search("latest on the Odesa harbour", now=asked).hits[0].article.id == "june"
    assert library.search("latest on the Odesa harbour").hits[0].article.id == "march"  # no date, no prior


def test_time_and_quiz_words_are_left_out_of_the_matching(write_corpus: WriteCorpus) -> None:
    library = harbour_library(write_corpus)
    result = library.search("Which of the following happened this week in the Odesa harbour?")
    assert "week" not in result.terms and "follow" not in result.terms
    assert "week" not in {hit.article.id for hit in result.hits}
    assert library.search("this week").terms == ("week",)  # nothing else to ask: kept whole


def test_the_plain_baseline_takes_questions_whole_and_has_no_recency_prior(write_corpus: WriteCorpus) -> None:
    library = harbour_library(write_corpus, LibraryOptions(plain=True))
    result = library.search("Which of the following happened this week in the Odesa harbour?")
    assert {"following", "week"} <= set(result.terms)
    assert "week" in {hit.article.id for hit in result.hits}
    undated = library.search("latest on the Odesa harbour")
    assert library.search("latest on the Odesa harbour", now=dt.date(2024, 6, 21)) == undated


def test_search_with_pruning_answers_as_scoring_every_passage_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole lexical search, date, prior, cap and folding included, against a plain reference."""
    monkeypatch.setattr("retrieval.index.WINDOW", 64)  # many windows, so pruning has work to do
    rng = random.Random(4)
    words = [f"word{n}" for n in range(300)]
    weights = [1 / (rank + 1) for rank in range(len(words))]
    articles = []
    for number in range(250):
        paragraphs = tuple(" ".join(rng.choices(words, weights, k=rng.randint(20, 60))) for _ in range(3))
        if number % 25 == 0:  # wire copies: one story in several articles
            paragraphs = articles[0].paragraphs if articles else paragraphs
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 90))
        articles.append(Article(f"a{number}", f"Report {number}", day, paragraphs))
    library = Library.from_articles(articles, options=LibraryOptions(min_chars=0, lexical_only=True))
    owner, recency = library.passage_article, library.passage_recency
    for trial in range(40):
        question = " ".join(rng.choices(words, weights, k=rng.choice([2, 6, 40])))
        if trial % 2:
            question += " latest"  # a recency cue: the prior applies
        now = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(20, 100))
        k = rng.choice([1, 3, 5])
        terms = LibraryOptions().terms(question.replace(" latest", ""))
        decay = (0.3, 14.0) if trial % 2 else None
        ranking = Ranking(recency, until=now.toordinal(), decay=decay, groups=owner, per_group=2)
        chosen = exhaustive_top(library.index, terms, 2 * k, ranking)
        expected = fold_same_story(
            [
                Hit(library.passages[doc], library.articles[int(owner[doc])], score, frozenset())
                for doc, score in chosen
            ],
            k,
        )
        got = library.search(question, k=k, now=now).hits
        assert [(hit.passage, hit.score, hit.also_reported_by) for hit in got] == [
            (hit.passage, hit.score, hit.also_reported_by) for hit in expected
        ]


def test_a_timeline_as_of_any_day_is_that_of_the_articles_published_by_then(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    # articles of a week retell one another's events, some published after the day asked (one
    # a mistyped year): the events they retell are told by the newest article published by then,
    # as in a timeline of those articles alone, whether the library is built, saved or updated
    rng = random.Random(5)
    facts = [f"the council of town {n} approved the new budget for roads and schools" for n in range(6)]
    days = ["October 14", "October 15", "October 16"]
    published = [f"2024-10-{17 + n % 6:02}" for n in range(29)] + ["2092-10-20"]
    root = write_corpus(
        {
            f"a{n:02}.txt": article(
                date, f"Report {n}", *(f"On {rng.choice(days)}, {rng.choice(facts)}." for _ in range(3))
            )
            for n, date in enumerate(published)
        }
    )
    built = Library.load(root)
    saved = Library.load(root, index_dir=tmp_path / "index")
    saved = Library.load(root, index_dir=tmp_path / "index")  # opened as saved
    (root / "a00.txt").unlink()
    updated = Library.load(root, index_dir=tmp_path / "index")
    for library in (built, saved, updated):
        articles = list(library.articles)
        for day in range(16, 24):
            now = dt.date(2024, 10, day)
            alone = Library.from_articles([a for a in articles if a.date <= now]) if day > 16 else None
            expected = alone.timeline.events if alone is not None else []
            assert list(library.timeline_as_of(now).events) == list(expected)
            assert library.timeline_as_of(now).latest(5, "budget") == (
                alone.timeline.latest(5, "budget") if alone else []
            )
        assert library.timeline_as_of(dt.date(2092, 10, 20)) is library.timeline


def test_a_timeline_as_of_any_day_is_that_of_the_articles_published_by_then_over_real_news(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    # the test corpora's English and Ukrainian news, with copies retold later (the same day,
    # days or weeks after, a paragraph left out): as of the day before and the day of each
    # publication, the timeline is that of the articles published by then, its events in the
    # same order (one date's events newest source first, ties to the greater id), whether the
    # library is built or saved
    rng = random.Random(11)
    files: dict[str, str | bytes] = {}
    for folder in ("eval", "uk"):
        for path in sorted((ROOT / "tests" / "fixtures" / folder / "corpus").glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            files[f"{folder}-{path.stem}.txt"] = text
            head, _, body = text.partition("\n\n")
            published = dt.date.fromisoformat(head.split()[1])
            for copy in range(rng.choice([0, 1, 1, 2])):
                later = published + dt.timedelta(days=rng.choice([0, 0, 2, 5, 40]))
                paragraphs = body.split("\n\n")
                if len(paragraphs) > 2 and rng.random() < 0.5:
                    paragraphs.pop(rng.randrange(len(paragraphs)))
                retold = head.replace(published.isoformat(), later.isoformat(), 1)
                files[f"{folder}-{path.stem}-{'ba'[copy]}.txt"] = retold + "\n\n" + "\n\n".join(paragraphs)
    root = write_corpus(files)
    built = Library.load(root)
    Library.load(root, index_dir=tmp_path / "index")
    saved = Library.load(root, index_dir=tmp_path / "index")  # opened as saved
    articles = list(built.articles)
    dates = sorted({a.date for a in articles})
    days = sorted({day for date in dates for day in (date - dt.timedelta(days=1), date)})
    retold = 0
    for now in days:
        alone = Library.from_articles([a for a in articles if a.date <= now]) if now >= dates[0] else None
        expected = list(alone.timeline.events) if alone is not None else []
        for library in (built, saved):
            got = library.timeline_as_of(now)
            assert list(got.events) == expected
            assert got.latest(8, "Odesa") == (alone.timeline.latest(8, "Odesa") if alone else [])
        retold += len(expected) - sum(e.published <= now for e in built.timeline.events)
    assert retold > 20  # events a later copy hid in the whole timeline, told as of those days


def test_folding_by_saved_word_marks_answers_as_reading_every_shown_passage(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    # the test corpora's English and Ukrainian news with copies of their articles (in capitals,
    # without punctuation, a paragraph left out, a few days later), built, saved, opened as
    # saved and updated: each passage's saved word marks are its text's, and every question of
    # the test corpora and every headline gets the very answers it gets when the marks tell
    # nothing and every passage folding compares is read
    rng = random.Random(12)
    files: dict[str, str | bytes] = {}
    questions: list[tuple[str, dt.date | None]] = []
    for folder in ("eval", "uk"):
        for path in sorted((ROOT / "tests" / "fixtures" / folder / "corpus").glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            files[f"{folder}-{path.stem}.txt"] = text
            head, _, body = text.partition("\n\n")
            published = dt.date.fromisoformat(head.split()[1])
            questions.append((head.partition("\n")[2], None))
            for copy in range(rng.choice([1, 2])):
                paragraphs = body.split("\n\n")
                if len(paragraphs) > 2 and rng.random() < 0.5:
                    paragraphs.pop(rng.randrange(len(paragraphs)))
                retold = "\n\n".join(paragraphs)
                retold = rng.choice([str.upper, lambda t: re.sub(r"[^\w\s]", "", t), str])(retold)
                later = head.replace(
                    published.isoformat(), (published + dt.timedelta(days=copy + 1)).isoformat()
                )
                files[f"{folder}-{path.stem}-{'ab'[copy]}.txt"] = later + "\n\n" + retold
        for path in (ROOT / "tests" / "fixtures" / folder).glob("questions*.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                date = record.get("question_date")
                questions.append((record["question"], dt.date.fromisoformat(date) if date else None))
    root = write_corpus(files)
    built = Library.load(root)
    Library.load(root, index_dir=tmp_path / "index")
    saved = Library.load(root, index_dir=tmp_path / "index")  # opened as saved
    (root / "eval-chess-a.txt").unlink()
    (root / "uk-flood-b.txt").write_text(files["uk-flood.txt"], encoding="utf-8")
    updated = Library.load(root, index_dir=tmp_path / "index")
    folded = 0
    for library in (built, saved, updated):
        passages = library.passages
        assert passages.word_marks(np.arange(len(passages))) == [word_marks(p.text) for p in passages]
        reading = dataclasses.replace(
            library,
            passages=PassageTable(
                library.articles,
                passages.owner,
                passages.spans,
                passages.word_counts,
                np.full_like(passages.marks, np.iinfo(np.uint64).max),  # marks that tell nothing
            ),
        )
        for question, now in questions:
            got = library.search(question, k=3, now=now)
            assert got == reading.search(question, k=3, now=now)
            folded += sum(len(hit.also_reported_by) for hit in got.hits)
    assert folded > 500


@pytest.mark.parametrize(
    "text",
    [
        "",
        "one paragraph",
        "first\n\nsecond\n\nthird",
        "\n\n",  # two empty paragraphs
        "a\n\n\nb",  # three breaks: the first two are the pair, the third begins the next paragraph
        "a\n\n\n\nb",  # an empty paragraph between two pairs
        "a\nb\n\nc\n",  # a break alone is kept inside its paragraph, as at the end
        "\nМіст\n\nу Києві — «Мостобуд»\n\n",  # letters beyond ASCII, breaks at both ends
    ],
)
def test_paragraphs_of_a_body_split_as_str_split_does(text: str) -> None:
    assert paragraphs_of(text) == tuple(text.split("\n\n"))


@pytest.mark.parametrize(
    "ids",
    [
        ["b", "a\x00", "a/b", "a-b", "a", "\U0001f600", "\u00c4", "z" * 40 + "a", "z" * 40, "#7"],  # no order
        ["#7", "a", "a\x00", "a-b", "a/b", "b", "\u00c4"],  # in order already, as a build lists files
        ["a", "a-b", "a/b", "b", "c", "d", "f", "e"],  # in order but for the last two
        ["a/b", "a-b"],  # a folder's file before a file beside it: not Python's order
        ["only"],
        [],
    ],
)
def test_article_id_order_is_pythons_order_of_the_ids(ids: list[str]) -> None:
    day = dt.date(2024, 1, 1)
    table = ArticleTable.in_memory(
        [Article(i, "h", day, ("p",)) for i in ids], [f"{n}.txt" for n in range(len(ids))]
    )
    ranks = {identifier: rank for rank, identifier in enumerate(sorted(ids))}
    assert table.id_order().tolist() == [ranks[identifier] for identifier in ids]


@given(st.text(alphabet="\n a\u00e9\u0416\u2014", max_size=60))
def test_paragraphs_of_any_text_split_as_str_split_does(text: str) -> None:
    assert paragraphs_of(text) == tuple(text.split("\n\n"))


@pytest.mark.parametrize("saved", [False, True])
def test_hits_are_cut_from_their_articles_text_two_of_one_article_too(
    write_corpus: WriteCorpus, tmp_path: Path, saved: bool
) -> None:
    # paragraphs of 800 characters or more: each a passage, two of one article unlike enough not
    # to be one story; Ukrainian letters, an apostrophe and a dash, whose UTF-8 is longer than
    # their text, so a span is not a byte offset
    uk = "Міст через Дніпро у Києві знову відкрили для руху. Ім’я підрядника — «Мостобуд». Ремонт йшов рік. "
    uk2 = "Мер Києва сказав, що міст відкрили вчасно, а Дніпро перетнули автобуси. Пасажири раді. "
    en = "The bridge over the Dnipro in Kyiv reopened to traffic after repairs. Work took a year. "
    en2 = "The mayor of Kyiv said the bridge reopened on time as buses crossed the Dnipro. Riders cheered. "
    root = write_corpus(
        {
            "uk.txt": article("2024-06-20", "Міст у Києві", uk * 12, uk2 * 12),
            "en.txt": article("2024-06-21", "Kyiv bridge", en * 12, en2 * 12),
            "other.txt": article("2024-06-19", "Weather", "Rain is expected in Lviv on Tuesday. " * 30),
        }
    )
    index_dir = tmp_path / "index" if saved else None
    if saved:
        Library.load(root, index_dir=index_dir)  # built and saved: the next load serves it
    library = Library.load(root, index_dir=index_dir)
    for question in ("Міст Дніпро Києві відкрили", "bridge Dnipro Kyiv reopened"):
        hits = library.search(question, k=5, per_article=2).hits
        assert len({hit.article.id for hit in hits}) < len(hits)  # two passages of one article
        for hit in hits:
            assert hit.passage == split_passages(hit.article)[hit.passage.position]
            assert hit.article.id == hit.passage.article_id
    for number in range(len(library.articles)):
        made, text = library.articles.with_text(number)
        assert made == library.articles[number] and text == made.text


@given(st.lists(st.text(max_size=6), unique=True, max_size=40), st.text(max_size=6))
def test_an_article_is_found_by_its_id_whatever_order_the_ids_come_in(ids: list[str], other: str) -> None:
    table = ArticleTable.in_memory(
        [Article(i, "Ferry sails", dt.date(2024, 5, 3), ("Ferry sailed.",)) for i in ids],
        ["a.txt"] * len(ids),
    )
    assert [table.number(identifier) for identifier in ids] == list(range(len(ids)))
    assert table.number(other) == (ids.index(other) if other in ids else None)
