"""Captions without ffmpeg: phrases timed to words, the .srt and ASS texts, and where titles
and captions go in each format (never over the foreground or each other, inside the safe
area)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.scripts.conftest import load_script

captions = load_script("_captions")
layout = load_script("_layout")
Word = captions.Word

STYLE = {"font": "Source Sans Pro", "size": 54.0, "colour": "#FFFFFF",
         "outline_colour": "#000000", "outline": 3.0, "position": "bottom"}  # fmt: skip


def words_of(text: str, step: float = 0.3, gap: float = 0.05) -> list:
    words, at = [], 0.0
    for token in text.split():
        words.append(Word(token, round(at, 3), round(at + step - gap, 3)))
        at += step
    return words


def fits_1280(size: float = 36.0):
    return captions.line_fits(size, 1280 * 0.9)


def test_a_long_narration_becomes_phrases_of_at_most_two_lines_of_42_characters() -> None:
    text = ("The river has carved this valley for ten thousand years and every spring the "
            "melting snow brings new stones down from the peaks to the plain below")  # fmt: skip
    cues = captions.phrases(words_of(text), offset=10.0, limit=60.0, fits=fits_1280())
    assert len(cues) >= 2 and any("\n" in c.text for c in cues)
    for cue in cues:
        lines = cue.text.split("\n")
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines), cue
    assert " ".join(c.text.replace("\n", " ") for c in cues) == text, "no word lost or doubled"
    starts = [c.start for c in cues]
    assert starts == sorted(starts) and all(a.end <= b.start for a, b in itertools.pairwise(cues))


def test_phrases_are_timed_to_their_words_and_held_briefly() -> None:
    words = [Word("Rivers", 0.12, 0.48), Word("run.", 0.5, 0.9), Word("Then", 2.0, 2.3),
             Word("they", 2.35, 2.6), Word("rest.", 2.65, 3.1)]  # fmt: skip
    cues = captions.phrases(words, offset=5.0, limit=9.0, fits=fits_1280())
    assert [c.text for c in cues] == ["Rivers run.", "Then they rest."]
    assert cues[0].start == pytest.approx(5.12) and cues[1].start == pytest.approx(7.0)
    assert cues[0].end == pytest.approx(5.9 + captions.HOLD)
    assert cues[1].end == pytest.approx(8.1 + captions.HOLD)
    clipped = captions.phrases(words, offset=5.0, limit=7.5, fits=fits_1280())
    assert clipped[-1].end == 7.5, "never past the scene's end"


def test_a_long_pause_or_a_comma_in_a_full_phrase_starts_a_new_phrase() -> None:
    paused = [Word("One", 0, 0.3), Word("two", 0.35, 0.6), Word("three", 1.4, 1.8)]
    assert len(captions.phrases(paused, offset=0, limit=5, fits=fits_1280())) == 2
    text = "Near the coast the river spreads itself, into a maze of reeds and birds"
    cues = captions.phrases(words_of(text), offset=0, limit=60, fits=fits_1280())
    assert cues[0].text.replace("\n", " ").endswith("itself,")


def test_a_narrow_frame_wraps_by_pixels_as_well_as_characters() -> None:
    text = "High in the mountains, melting snow becomes a tiny spring."
    wide = captions.phrases(words_of(text), offset=0, limit=60, fits=fits_1280())
    narrow = captions.phrases(
        words_of(text), offset=0, limit=60, fits=captions.line_fits(36.0, 260)
    )

    def lines(cues: list) -> int:
        return sum(len(c.text.split("\n")) for c in cues)

    assert lines(narrow) > lines(wide)
    for cue in narrow:
        for line in cue.text.split("\n"):
            assert captions.text_width(line, 36.0) <= 260 or " " not in line


def test_words_come_from_the_words_file_else_are_estimated(tmp_path: Path) -> None:
    path = tmp_path / "n.words.json"
    path.write_text(json.dumps({"words": [{"text": "Hi", "start": 0.1, "end": 0.4}],
                                "duration": 0.5}))  # fmt: skip
    assert captions.read_words(path, "Hi", 0.5) == ([Word("Hi", 0.1, 0.4)], True)
    estimated, timed = captions.read_words(tmp_path / "none.json", "one two three", 3.0)
    assert not timed and [w.text for w in estimated] == ["one", "two", "three"]
    assert estimated[-1].end <= 3.0 and estimated[0].start == 0
    path.write_text('{"words": [{"text": "x"}]}')
    with pytest.raises(ValueError, match="not a words file"):
        captions.read_words(path, "x", 1.0)


def test_the_srt_and_the_ass_script_carry_the_same_phrases() -> None:
    cues = [captions.Cue(1.0, 2.5, "First line\nsecond line"), captions.Cue(3, 4, "Two {x}")]
    assert captions.srt(cues) == (
        "1\n00:00:01,000 --> 00:00:02,500\nFirst line\nsecond line\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nTwo {x}\n"
    )
    placed = [captions.Placed(c.start, c.end, c.text, 640, 684, 2, "Caption") for c in cues]
    sizes = {"caption": 36.0, "outline": 2.0, "title": 52.0, "title_outline": 2.6}
    text = captions.ass_script(placed, width=1280, height=720, style=STYLE, sizes=sizes)
    assert "PlayResX: 1280" in text and "PlayResY: 720" in text
    assert "Style: Caption,Source Sans Pro,36.0,&H00FFFFFF" in text
    events = [line for line in text.splitlines() if line.startswith("Dialogue:")]
    assert events[0] == (
        "Dialogue: 1,0:00:01.00,0:00:02.50,Caption,,0,0,0,,{\\an2\\pos(640,684)}"
        "First line\\Nsecond line"
    )
    assert events[1].endswith("Two (x)"), "override braces in the text are neutralised"


def _boxes(frame, scene, size):
    cue = captions.Cue(0.0, 1.0, "A caption that takes two lines when it is\nlong enough")
    placed = layout.place_scene(frame, scene, 0.0, [cue], STYLE, size)
    title = next(p for p in placed if p.style == "Title")
    caption = next(p for p in placed if p.style == "Caption")
    title_h = len(title.text.split("\n")) * size["title"] * 1.05
    top = title.y if title.anchor == 8 else title.y - title_h
    return (top, top + title_h), layout.caption_box(frame, caption, size)


@pytest.mark.parametrize("position", ["center", "left", "right", "top", "bottom", None])
@pytest.mark.parametrize("resolution", [(1280, 720), (192, 108), (1920, 1080)])
def test_titles_and_captions_keep_off_the_foreground_and_each_other_in_the_safe_area(
    position: str | None, resolution: tuple[int, int]
) -> None:
    frame = layout.frame_for("landscape", *resolution, resolution)
    size = layout.sizes(frame, STYLE)
    scene_layout = {"position": position, "scale": 0.45} if position else None
    scene = {"title": "The Waterfall", "duration": 5.0, "layout": scene_layout}
    (title_top, title_bottom), (left, top, right, bottom) = _boxes(frame, scene, size)
    height = frame.height
    margin = height * layout.SAFE
    assert title_top >= margin - 1 and bottom <= height - margin + 1, "inside the safe area"
    assert left >= frame.width * layout.SAFE - 1 and right <= frame.width * 0.95 + 1
    assert bottom <= title_top or top >= title_bottom, "the caption never covers the title"
    box = layout.foreground_box(scene_layout)
    if box is not None:
        fg_top, fg_bottom = box[0] * height, box[1] * height
        assert bottom <= fg_top + 1 or top >= fg_bottom - 1, f"caption over the {position} subject"
        assert title_bottom <= fg_top + 1 or title_top >= fg_bottom - 1, "title over it"


def test_the_vertical_cut_is_9_16_with_text_above_and_below_the_picture_band() -> None:
    assert layout.vertical_size(1280, 720) == (1080, 1920)
    assert layout.vertical_size(1920, 1080) == (1080, 1920)
    width, height = layout.vertical_size(192, 108)
    assert (width, height) == (162, 288) and width % 2 == 0
    frame = layout.frame_for("vertical", 1080, 1920, (1280, 720))
    size = layout.sizes(frame, STYLE)
    scene = {
        "title": "The Source",
        "duration": 5.0,
        "layout": {"position": "bottom", "scale": 0.45},
    }
    (title_top, title_bottom), (_, top, _, bottom) = _boxes(frame, scene, size)
    _, band_y, band_w, band_h = frame.band
    assert band_w == 1080 and title_bottom <= band_y and top >= band_y + band_h
    assert title_top >= 1920 * layout.SAFE and bottom <= 1920 * (1 - layout.SAFE)
