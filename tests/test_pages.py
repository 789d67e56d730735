"""An answer's pages: whole articles, at most `MAX_PAGES` of them."""

import datetime as dt

from bot.pages import MAX_PAGES, Page, paginate
from retrieval import Article, Hit, Passage


def hits_of(articles: int, passages: int) -> list[Hit]:
    """`passages` hits of each of `articles` articles (`a0`, `a1`, ...), an article's together."""
    hits = []
    for number in range(articles):
        texts = tuple(f"Passage {position} of article {number}." for position in range(passages))
        article = Article(f"a{number}", f"Headline {number}", dt.date(2024, 10, 23), texts)
        hits += [
            Hit(Passage(article.id, position, 0, len(text), text), article, 1.0, frozenset())
            for position, text in enumerate(texts)
        ]
    return hits


def shown(pages: list[Page]) -> list[list[tuple[str, int]]]:
    """Each page's (article, passage position) pairs, in order."""
    return [[(hit.article.id, hit.passage.position) for hit in page.hits] for page in pages]


def test_an_answer_has_at_most_five_pages() -> None:
    # two articles of two passages overfill a page of three: one article a page, ten pages cut to five
    pages = paginate(hits_of(10, 2), per_page=3)
    assert len(pages) == MAX_PAGES == 5
    assert shown(pages) == [[(f"a{n}", 0), (f"a{n}", 1)] for n in range(5)]
    assert [page.first_rank for page in pages] == [1, 2, 3, 4, 5]


def test_an_articles_passages_share_one_page_however_they_rank() -> None:
    # the second passage of a0 ranks below a1's first: it still joins a0, so no headline shows twice
    a0, a1 = hits_of(2, 2)[:2], hits_of(2, 2)[2:]
    pages = paginate([a0[0], a1[0], a0[1], a1[1]], per_page=1)
    assert shown(pages) == [[("a0", 0), ("a0", 1)], [("a1", 0), ("a1", 1)]]
    assert [page.first_rank for page in pages] == [1, 2]
