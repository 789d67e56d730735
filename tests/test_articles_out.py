"""Fetched articles -> corpus files that the corpus loader reads, never outside their folder."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from bot.articles_out import (
    NewArticle,
    OutsideFolderError,
    article_file_name,
    folder_name,
    render_markdown,
    text_fingerprint,
    write_article,
)
from retrieval.corpus import parse_file

ARTICLE = NewArticle(
    title='Talks resume: "grain" — #1 topic ---',
    date=dt.date(2024, 5, 3),
    date_source="page",
    url="http://news.example/a?id=1",
    source="Daily: News",
    paragraphs=("# Not a heading", "Second paragraph with --- inside.", "Third."),
)


@pytest.mark.parametrize(
    ("name", "taken", "folder"),
    [
        ("BBC World", set(), "bbc-world"),
        ("../../etc", set(), "etc"),  # no way up
        ("/absolute/path", set(), "absolute-path"),
        ("a\x00b", set(), "a-b"),  # control characters
        ("Новости дня", set(), "новости-дня"),  # letters of any script
        ("...", set(), "feed"),  # nothing left
        ("links", set(), "links-feed"),  # the folder of single links is not a feed's
        ("World", {"world", "world-2"}, "world-3"),  # unique
        ("x" * 300, set(), "x" * 40),
    ],
)
def test_folder_name(name: str, taken: set[str], folder: str) -> None:
    assert folder_name(name, taken) == folder


def test_file_names_are_dated_safe_and_unique_per_url() -> None:
    evil = NewArticle("../../../etc/passwd\x00", ARTICLE.date, "feed", ARTICLE.url, "s", ("x",))
    name = article_file_name(evil, "http://a/1")
    assert name.startswith("2024-05-03-etc-passwd-") and name.endswith(".md") and "/" not in name
    assert article_file_name(evil, "http://a/2") != name


def test_another_writer_of_the_same_file_is_left_to_finish(tmp_path: Path) -> None:
    # a bot in another container (its process id the same as ours) half way through this very file
    folder = tmp_path / "feeds" / "daily"
    folder.mkdir(parents=True)
    theirs = folder / f".story.md.{os.getpid()}.tmp"
    theirs.write_text("their half-written copy")
    path = write_article(tmp_path, "daily", "story.md", render_markdown(ARTICLE))
    assert theirs.read_text() == "their half-written copy"  # neither truncated nor renamed away
    assert path.read_text() == render_markdown(ARTICLE) and path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in folder.iterdir()) == [theirs.name, "story.md"]  # no temporary left


def test_an_article_is_on_disk_before_its_name_and_its_name_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a power cut after the rename must find the whole text under the name: the file is
    # flushed while it is still the temporary, and the folder once the name is in it
    synced: list[tuple[str, list[str]]] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        path = os.readlink(f"/proc/self/fd/{descriptor}")
        synced.append((path, sorted(os.listdir(path)) if os.path.isdir(path) else []))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    path = write_article(tmp_path, "daily", "story.md", render_markdown(ARTICLE))
    folder = str(path.parent)
    feeds = str(path.parent.parent)
    made, temporary, named = synced[:2], synced[2][0], synced[3:]
    assert made == [(str(tmp_path), ["feeds"]), (feeds, ["daily"])]  # the new folders' names
    assert os.path.dirname(temporary) == folder and os.path.basename(temporary).startswith(".story.md.")
    assert named == [(folder, ["story.md"])]
    synced.clear()
    write_article(tmp_path, "daily", "other.md", render_markdown(ARTICLE))  # folders made already
    assert [where for where, _ in synced[1:]] == [folder]


def test_rendered_file_reads_back_through_the_corpus_loader(tmp_path: Path) -> None:
    path = write_article(tmp_path, "daily", "story.md", render_markdown(ARTICLE))
    (article,), problems = parse_file(tmp_path, path)
    assert problems == []
    assert article.id == "feeds/daily/story"
    assert (article.headline, article.date, article.url, article.source) == (
        ARTICLE.title,
        ARTICLE.date,
        ARTICLE.url,
        ARTICLE.source,
    )
    assert article.paragraphs == ("Not a heading", "Second paragraph with --- inside.", "Third.")
    assert "date_source: page" in path.read_text()


def test_text_fingerprint_ignores_spacing_case_and_punctuation_but_not_words() -> None:
    assert text_fingerprint(["Hello, World!", "Again."]) == text_fingerprint(["hello world", "again"])
    assert text_fingerprint(["Hello world"]) != text_fingerprint(["Hello there world"])


@pytest.mark.parametrize(("folder", "name"), [("..", "x.md"), ("a/b", "x.md"), ("ok", "../x.md"), ("ok", "")])
def test_write_article_refuses_names_that_are_not_plain(tmp_path: Path, folder: str, name: str) -> None:
    with pytest.raises(OutsideFolderError):
        write_article(tmp_path / "corpus", folder, name, "text")
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_write_article_refuses_a_folder_that_links_elsewhere(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "corpus" / "feeds").mkdir(parents=True)
    (tmp_path / "corpus" / "feeds" / "evil").symlink_to(outside)
    with pytest.raises(OutsideFolderError, match="outside"):
        write_article(tmp_path / "corpus", "evil", "x.md", "text")
    assert list(outside.iterdir()) == []


def test_write_article_replaces_a_symlink_at_its_name_instead_of_writing_through_it(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    folder = tmp_path / "corpus" / "feeds" / "daily"
    folder.mkdir(parents=True)
    (folder / "x.md").symlink_to(target)
    write_article(tmp_path / "corpus", "daily", "x.md", "new text")
    assert target.read_text() == "keep me"
    assert (folder / "x.md").read_text() == "new text" and not (folder / "x.md").is_symlink()


def test_write_article_makes_nothing_through_a_feeds_folder_that_links_elsewhere(tmp_path: Path) -> None:
    # feeds/ itself swapped for a link: the feed's folder was made at the link's target
    # before the check refused it, a folder outside the corpus named by a feed's title
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "feeds").symlink_to(outside)
    with pytest.raises(OutsideFolderError, match="outside"):
        write_article(tmp_path / "corpus", "evil", "x.md", "text")
    assert list(outside.iterdir()) == []
