"""Addresses: which may be fetched, and one canonical spelling for each."""

from __future__ import annotations

import pytest

from bot.links import URL_IN_TEXT, LinkError, canonical_url, checked_url, shown_url, without_tracking


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("http://example.com/a", "http://example.com/a"),
        ("HTTP://Example.COM:80/a", "http://example.com/a"),  # case and default port
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),  # a real port stays
        ("http://example.com/a#comments", "http://example.com/a"),  # fragment
        ("http://example.com/a?utm_source=x&utm_medium=rss&id=7", "http://example.com/a?id=7"),  # tracking
        ("http://example.com/a?b=2&a=1", "http://example.com/a?a=1&b=2"),  # parameter order
        ("http://example.com/caf%c3%a9", "http://example.com/caf%C3%A9"),  # escapes normalised
        ("http://example.com", "http://example.com/"),  # empty path
        ("http://example.com./a", "http://example.com/a"),  # trailing dot of the host
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),  # IPv6
    ],
)
def test_canonical_url(given: str, canonical: str) -> None:
    assert canonical_url(given) == canonical


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("file:///etc/passwd", "not file:"),
        ("javascript:alert(1)", "not javascript:"),
        ("ftp://example.com/a", "not ftp:"),
        ("example.com/a", "does not start with http"),  # no scheme
        ("example.com:8080/a", "does not start with http"),  # a host that looks like a scheme
        ("http:///nohost", "no host name"),
        ("http://exa mple.com/", "spaces or control characters"),
        ("http://example.com:99999/", "invalid port"),
        ("", "no address given"),
        ("http://example.com/" + "a" * 3000, "at most 2,048"),
    ],
)
def test_checked_url_refuses_what_cannot_be_fetched(text: str, why: str) -> None:
    with pytest.raises(LinkError, match=why):
        checked_url(text)


@pytest.mark.parametrize("text", ["http://example.com/a", " https://example.com/a?b=1 ", "<https://x.org/>"])
def test_checked_url_accepts_http_and_https(text: str) -> None:
    assert checked_url(text).startswith("http")


@pytest.mark.parametrize(
    ("message", "is_link"),
    [
        ("https://example.com/news/1", True),
        ("  file:///etc/passwd ", True),  # any scheme, so that a bad one gets an answer
        ("who negotiated with Abramovich?", False),
        ("read https://example.com/news/1 please", False),  # a link inside a question
        ("JavaScript:alert(1)", True),
        ("10:30", False),  # a time, not an address
        ("Istanbul:2022", False),
    ],
)
def test_a_message_that_is_only_a_link(message: str, is_link: bool) -> None:
    assert (URL_IN_TEXT.fullmatch(message) is not None) is is_link


@pytest.mark.parametrize(
    ("given", "clean"),
    [
        ("http://example.com/a?utm_source=x&utm_medium=rss&id=7", "http://example.com/a?id=7"),
        ("http://example.com/a?fbclid=IwAR0&gclid=Cj0&mc_cid=1&mc_eid=2", "http://example.com/a"),
        ("http://example.com/a?UTM_Source=x&b=2&a=1", "http://example.com/a?b=2&a=1"),  # the rest as it was
        ("http://example.com/a?q=caf%C3%A9+au+lait&utm_term=x", "http://example.com/a?q=caf%C3%A9+au+lait"),
        (
            "http://example.com/a?utm_source=x#section-2",
            "http://example.com/a#section-2",
        ),  # its fragment kept
        ("http://example.com/a?flag&utm_source=x", "http://example.com/a?flag"),  # a parameter with no value
        ("http://Example.com:80/a?id=7", "http://Example.com:80/a?id=7"),  # nothing to take: as given
    ],
)
def test_without_tracking_takes_out_tracking_parameters_alone(given: str, clean: str) -> None:
    assert without_tracking(given) == clean
    assert canonical_url(clean) == canonical_url(given)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("http://editor:s3cret@example.com/a?id=7&utm_source=x", "http://example.com/a?id=7"),
        ("https://editor@example.com:8443/a#top", "https://example.com:8443/a#top"),
        ("http://a:b@c@example.com/a", "http://example.com/a"),  # the last @ ends the login
        ("http://example.com/a?next=x@y", "http://example.com/a?next=x@y"),  # an @ past the host is kept
    ],
)
def test_an_address_is_shown_without_its_login(given: str, shown: str) -> None:
    assert shown_url(given) == shown
    assert canonical_url(given) == canonical_url(shown)  # one page, with or without the login
