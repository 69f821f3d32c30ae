"""Cache keys follow the code a script runs: its own file, the helpers it imports
(transitively, even inside a function), and the shipped fonts only when it uses them.
Editing a helper another script imports leaves this one's finished items cached."""

from __future__ import annotations

import os
from pathlib import Path

from flows.core.registry import Runtime, ScriptSpec
from flows.core.steps import Item, cache_key

ITEM = Item(step="video", key="storm", script="clip", provider="local", model=None,
            input={"prompt": "rain"})  # fmt: skip


def spec(folder: Path, name: str, runtime: Runtime = "python") -> ScriptSpec:
    return ScriptSpec(
        name=name, runtime=runtime, path=folder / f"{name}.py", timeout=10, requirements=None,
        enabled=True, description="", concurrency_limit=None,
    )  # fmt: skip


def write(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = path.stat().st_mtime_ns + 1_000_000_000  # a later mtime, as an edit makes
    os.utime(path, ns=(stamp, stamp))


def scripts(tmp_path: Path) -> Path:
    write(tmp_path / "clip.py", "import _contract\n\ndef main():\n    from _motion import pan\n")
    write(tmp_path / "_contract.py", "VERSION = 1\n")
    write(tmp_path / "_motion.py", "from _media import probe\n\ndef pan(): ...\n")
    write(tmp_path / "_media.py", "def probe(): ...\n")
    write(tmp_path / "_speech.py", "VOICE = 'en'\n")  # imported by another script only
    write(tmp_path / "captions.py", 'from pathlib import Path\nFONTS = Path(".") / "fonts"\n')
    (tmp_path / "fonts").mkdir()
    write(tmp_path / "fonts" / "Sans.ttf", "font v1")
    return tmp_path


def test_the_helpers_of_a_script_are_what_it_imports_transitively(tmp_path: Path) -> None:
    folder = scripts(tmp_path)
    helpers, fonts = spec(folder, "clip").helpers()
    assert [p.name for p in helpers] == ["_contract.py", "_media.py", "_motion.py"]
    assert not fonts
    assert spec(folder, "captions").helpers() == ([], True)
    assert spec(folder, "clip", runtime="shell").helpers() == ([], False)


def test_editing_a_helper_changes_only_the_keys_of_scripts_that_import_it(
    tmp_path: Path,
) -> None:
    folder = scripts(tmp_path)
    clip, captions = spec(folder, "clip"), spec(folder, "captions")
    before = cache_key(ITEM, clip), cache_key(ITEM, captions)
    write(folder / "_speech.py", "VOICE = 'fr'\n")  # not clip's
    write(folder / "fonts" / "Sans.ttf", "font v2")  # not clip's
    assert cache_key(ITEM, clip) == before[0], "an unrelated edit re-made clip's items"
    assert cache_key(ITEM, captions) != before[1], "captions draw with the fonts"
    write(folder / "_media.py", "def probe(): return 1\n")  # clip → _motion → _media
    assert cache_key(ITEM, clip) != before[0]


def test_a_helper_that_does_not_parse_still_counts_by_its_bytes(tmp_path: Path) -> None:
    folder = scripts(tmp_path)
    clip = spec(folder, "clip")
    before = cache_key(ITEM, clip)
    write(folder / "_motion.py", "def pan(:\n")  # the run will fail and say so
    assert cache_key(ITEM, clip) != before
