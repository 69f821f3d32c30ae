"""Signed media links: what they name, when they stop working, what they refuse to name."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from flows.media.links import MediaLinks, check_signature, relative_media_path, sign

KEY = b"k" * 32


def _parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return split.path.removeprefix("/media/"), query["exp"][0], query["sig"][0]


def test_a_signed_link_checks_until_it_expires(tmp_path: Path) -> None:
    (tmp_path / "ch" / "p").mkdir(parents=True)
    video = tmp_path / "ch" / "p" / "p.mp4"
    video.write_bytes(b"x")
    links = MediaLinks(tmp_path, "http://media.test:8765/", KEY, ttl_seconds=60)
    url = links.url_for(video, now=1000)
    assert url is not None and url.startswith("http://media.test:8765/media/ch/p/p.mp4?")
    relpath, exp, sig = _parts(url)
    assert exp == "1060"
    assert check_signature(relpath, exp, sig, KEY, now=1059)
    assert not check_signature(relpath, exp, sig, KEY, now=1061)


def test_an_altered_path_expiry_or_key_breaks_the_signature() -> None:
    sig = sign("ch/p/p.mp4", 2000, KEY)
    assert check_signature("ch/p/p.mp4", "2000", sig, KEY, now=0)
    assert not check_signature("ch/p/other.mp4", "2000", sig, KEY, now=0)
    assert not check_signature("ch/p/p.mp4", "2001", sig, KEY, now=0)
    assert not check_signature("ch/p/p.mp4", "2000", sig, b"other-key", now=0)
    altered = sig[:-1] + ("1" if sig[-1] == "0" else "0")
    assert not check_signature("ch/p/p.mp4", "2000", altered, KEY, now=0)
    assert not check_signature("ch/p/p.mp4", None, sig, KEY, now=0)
    assert not check_signature("ch/p/p.mp4", "-5", sig, KEY, now=0)
    assert not check_signature("ch/p/p.mp4", "2000", None, KEY, now=0)


def test_no_link_is_made_for_a_file_outside_the_output_root(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("no")
    links = MediaLinks(root, "http://m", KEY, ttl_seconds=60)
    assert links.url_for(outside) is None
    assert links.url_for(root / ".." / "secret.txt") is None


def test_an_external_base_gives_plain_links(tmp_path: Path) -> None:
    links = MediaLinks(tmp_path, "https://cdn.example.com/reels", None, ttl_seconds=60)
    assert (
        links.url_for(tmp_path / "ch" / "a b.mp4") == "https://cdn.example.com/reels/ch/a%20b.mp4"
    )


def test_paths_that_could_leave_the_root_are_refused() -> None:
    for bad in ("", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a\x00b"):
        assert relative_media_path(bad) is None, bad
    assert str(relative_media_path("ch/p/p.mp4")) == "ch/p/p.mp4"
