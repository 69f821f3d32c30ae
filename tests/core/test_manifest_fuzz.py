"""Fuzzing plan loading: whatever a plan file holds, loading it returns a valid plan or raises
one ManifestError line (never another exception); through the CLI that is one ``error:`` line
on stderr and exit 1, never a traceback."""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.core.errors import ManifestError
from flows.core.manifest import Manifest, load_manifest
from tests.conftest import PROJECT_ROOT

TINY = yaml.safe_load((PROJECT_ROOT / "examples" / "tiny.yaml").read_text(encoding="utf-8"))
REELFLOW = Path(sys.executable).with_name("reelflow")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # a fresh clone keeps no .hypothesis folder
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

texts = (
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
    | st.sampled_from(["", "   ", "a\x00b", "en", "enn", "true", ".nan", "🎬 ünïcødé", "\ufeff"])
    | st.integers(440, 2600).map(lambda n: "x" * n)
)
numbers = (
    st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([math.nan, math.inf, -math.inf, 10**400, 0, -1, 121, 1e308])
)
scalars = st.none() | st.booleans() | numbers | texts
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(texts | st.sampled_from(["id", "voice", "scenes"]), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = ["title", "project_id", "channel", "resolution", "fps", "voice", "burn_subtitles",
          "budget_usd", "scenes", "extra"]  # fmt: skip
SCENE_FIELDS = ["id", "title", "background", "foreground", "layout", "motion", "duration",
                "narration", "voice", "sfx", "extra"]  # fmt: skip


@st.composite
def plans(draw: st.DrawFn) -> Any:
    """A valid plan with a few of its fields (the plan's or a scene's) set to random values."""
    data = copy.deepcopy(TINY)
    scenes = data["scenes"]  # still changed when data["scenes"] itself was replaced: harmless
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            data[draw(st.sampled_from(FIELDS))] = draw(values)
        else:
            scenes[draw(st.integers(0, 2))][draw(st.sampled_from(SCENE_FIELDS))] = draw(values)
    return data


def as_text(data: Any, kind: str) -> str:
    if kind == "json":
        return json.dumps(data, ensure_ascii=False)
    return yaml.safe_dump(data, allow_unicode=True)


def check_loads(path: Path) -> None:
    try:
        plan = load_manifest(path)
    except ManifestError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 4000, message
        assert message.startswith(str(path)), message
    else:
        assert isinstance(plan, Manifest)


_numbers = itertools.count()


def plan_file(folder: Path, content: bytes, suffix: str) -> Path:
    path = folder / f"plan-{next(_numbers)}{suffix}"
    path.write_bytes(content)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=values | plans(), kind=st.sampled_from(["json", "yaml"]))
def test_any_value_loads_as_a_plan_or_fails_in_one_line(folder: Path, data: Any, kind: str) -> None:
    try:
        text = as_text(data, kind)
    except (ValueError, TypeError, yaml.YAMLError):
        return  # not representable in that syntax (json's circular or non-str keys)
    check_loads(plan_file(folder, text.encode(), f".{kind}"))


@FUZZ
@given(
    content=st.binary(max_size=300)
    | st.builds(lambda head, tail: head + tail, st.sampled_from([b"title: ", b"{", b"["]),
                st.binary(max_size=100)),
    suffix=st.sampled_from([".yaml", ".json", ".yml"]),
)  # fmt: skip
def test_any_bytes_load_as_a_plan_or_fail_in_one_line(
    folder: Path, content: bytes, suffix: str
) -> None:
    check_loads(plan_file(folder, content, suffix))


@FUZZ
@given(
    opener=st.sampled_from(["[", "{a: ", "- ", "&x [", "!!python/object:os.system [", "*x "]),
    depth=st.integers(1, 3000),
    suffix=st.sampled_from([".yaml", ".json"]),
)
def test_nested_and_aliased_structures_fail_in_one_line(
    folder: Path, opener: str, depth: int, suffix: str
) -> None:
    check_loads(plan_file(folder, ("title: " + opener * depth).encode(), suffix))


# --- through the CLI ------------------------------------------------------------------------

BAD_PLANS: dict[str, bytes] = {
    "latin1.yaml": "title: Tïny\n".encode("latin-1"),
    "deep.yaml": b"title: " + b"[" * 100_000 + b"]" * 100_000,
    "lol.yaml": (
        b'a: &a ["l","l","l","l","l","l","l","l","l"]\n'
        + b"".join(
            f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n".encode()
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        )
    ),
    "list.json": b"[1, 2]",
    "voice.yaml": (PROJECT_ROOT / "examples" / "tiny.yaml").read_bytes().replace(b"en\n", b"enn\n"),
}


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFLOW_")}
    env |= {
        "REELFLOW_DATA_DIR": str(tmp_path / "data"),
        "REELFLOW_OUTPUT_DIR": str(tmp_path / "out"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    return subprocess.run(
        [str(REELFLOW), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], path: Path) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), result.stderr[-3000:]


def test_bad_plans_are_one_error_line_through_estimate_and_run(tmp_path: Path) -> None:
    for index, (name, content) in enumerate(BAD_PLANS.items()):
        path = tmp_path / name
        path.write_bytes(content)
        command = ["run", str(path), "--approve"] if index % 2 else ["estimate", str(path)]
        assert_one_error_line(run_cli(tmp_path, *command), path)


@settings(max_examples=2, deadline=None, database=None)
@given(data=plans().filter(lambda d: d != TINY))
def test_generated_bad_plans_are_one_error_line_through_the_cli(folder: Path, data: Any) -> None:
    path = plan_file(folder, yaml.safe_dump(data, allow_unicode=True).encode(), ".yaml")
    try:
        load_manifest(path)
    except ManifestError:
        assert_one_error_line(run_cli(path.parent, "estimate", str(path)), path)
