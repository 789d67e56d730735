"""Pages -> articles: decoding, extraction with trafilatura, feed HTML -> paragraphs."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.extract import ExtractError, decode_html, extract_article, html_paragraphs
from fakes.newsroom import article_page, paragraphs

CYRILLIC = "Переговоры о зерне продолжились в Стамбуле"


@pytest.mark.parametrize(
    ("content", "charset", "expected"),
    [
        ("café".encode(), None, "café"),  # UTF-8 without any declaration
        ("café".encode("cp1252"), "windows-1252", "café"),  # the HTTP header's charset
        (f'<meta charset="windows-1251">{CYRILLIC}'.encode("cp1251"), None, CYRILLIC),  # the page's own
        (
            f'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">{CYRILLIC}'.encode(
                "koi8_r"
            ),
            None,
            CYRILLIC,
        ),
        ("\ufeffcafé".encode(), None, "café"),  # a byte-order mark
        ("café".encode(), "no-such-charset", "café"),  # an unknown charset: the next candidate
        ((CYRILLIC + ". ").encode("cp1251") * 40, None, CYRILLIC),  # undeclared, not UTF-8: detected
        (f"<meta charset='utf-8'>{CYRILLIC}".encode("cp1251"), None, ""),  # a wrong declaration: still text
    ],
)
def test_decode_html(content: bytes, charset: str | None, expected: str) -> None:
    assert expected in decode_html(content, charset)


def test_extract_article_reads_headline_date_and_paragraphs_without_the_menus() -> None:
    body = paragraphs("extract", count=3)
    page = article_page("Council approves the harbour budget", body, dt.date(2024, 5, 3)).decode()
    article = extract_article(page, "http://news.example/harbour")
    assert article.title == "Council approves the harbour budget"
    assert article.date == dt.date(2024, 5, 3)
    assert article.paragraphs == tuple(body)  # headline, menu and footer left out


def test_extract_article_without_a_date_in_the_markup_gives_none() -> None:
    page = article_page("Undated story", paragraphs("undated"), date=None).decode()
    assert extract_article(page, "http://news.example/undated").date is None


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><nav>Home World Sport</nav><p>Subscribe!</p></body></html>",  # an index page
        "<html><body></body></html>",  # empty
        "not html at all",
    ],
)
def test_a_page_without_article_text_is_an_extract_error(page: str) -> None:
    with pytest.raises(ExtractError, match="no article text"):
        extract_article(page, "http://news.example/x")


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("<p>One</p><p>Two <b>bold</b></p>", ["One", "Two bold"]),
        ("Lead text<p>Para</p>tail", ["Lead text", "Para", "tail"]),  # text outside blocks is kept
        ("first<br><br>second<br>same", ["first", "second same"]),  # <br><br> parts paragraphs
        ("<ul><li>a</li><li>b</li></ul>", ["a", "b"]),
        ("<div><div><p>deep</p></div></div>", ["deep"]),
        ("plain &amp; simple", ["plain & simple"]),
        ("", []),
        ("<p>  </p>", []),
        # control characters lxml reads but refuses to be given back: the item was lost
        ("<p>Ferry&#11;sails</p><p>To&#27;[2J Dar<br>today&#1;</p>", ["Ferry sails", "To [2J Dar today"]),
    ],
)
def test_html_paragraphs(fragment: str, expected: list[str]) -> None:
    assert html_paragraphs(fragment) == expected


@pytest.mark.parametrize("ahead", [1, 2, 40])
def test_a_date_the_page_declares_after_today_is_read_as_written(ahead: int) -> None:
    # htmldate refused a date after the machine's today and gave its month's 1st: an outlet
    # east of UTC, whose today is tomorrow in UTC, had each fresh story saved weeks old (no
    # alert, old news in answers); the ingest judges a date too far ahead, not the extractor
    declared = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=ahead)
    page = article_page("Quokka ferry festival opens", paragraphs("quokka"), declared).decode()
    assert extract_article(page, "https://news.example/quokka").date == declared
    body = "".join(f"<p>{text}</p>" for text in paragraphs("quokka"))
    meta = f"<meta property='article:published_time' content='{declared.isoformat()}'>"  # no time
    page = f"<html><head><title>Quokka</title>{meta}</head><body><article>{body}</article></body></html>"
    assert extract_article(page, "https://news.example/quokka").date == declared
