"""scripts/registry.toml: loaded, validated, and refused with errors that say what is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flows.core.errors import RegistryError, ScriptDisabled, ScriptNotFound
from flows.core.registry import load_registry
from tests.conftest import PROJECT_ROOT


def _registry(tmp_path: Path, body: str, files: dict[str, str] | None = None) -> Path:
    scripts = tmp_path / "scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "registry.toml").write_text(body)
    for name, text in (files or {"job.py": "print('{}')"}).items():
        (scripts / name).parent.mkdir(parents=True, exist_ok=True)
        (scripts / name).write_text(text)
    return scripts


def test_project_registry_declares_the_six_steps_with_seed_timeouts() -> None:
    registry = load_registry(PROJECT_ROOT / "scripts")
    timeouts = {name: spec.timeout for name, spec in registry.scripts.items()}
    assert timeouts == {
        "generate_asset": 60,
        "create_composite": 60,
        "generate_video": 600,
        "generate_audio": 120,
        "generate_sfx": 120,
        "generate_music": 180,
        "assemble_video": 300,
        "publish_folder": 600,
        "publish_youtube": 3600,
        "plan_video": 120,
    }
    assert all(spec.runtime == "python" and spec.enabled for spec in registry.scripts.values())


def test_a_valid_entry_loads_with_absolute_paths(tmp_path: Path) -> None:
    scripts = _registry(
        tmp_path,
        '[scripts.job]\nruntime = "python"\npath = "job.py"\ntimeout = 5\n'
        'requirements = "req/job.txt"\ndescription = "a job"\n',
        {"job.py": "", "req/job.txt": "six\n"},
    )
    spec = load_registry(scripts).get("job")
    assert spec.path == (scripts / "job.py").resolve()
    assert spec.requirements == (scripts / "req/job.txt").resolve()
    assert (spec.timeout, spec.enabled, spec.description) == (5, True, "a job")


def test_unknown_runtime_is_named(tmp_path: Path) -> None:
    scripts = _registry(tmp_path, '[scripts.job]\nruntime = "ruby"\npath = "job.py"\ntimeout = 5\n')
    with pytest.raises(RegistryError, match="'job': runtime: Input should be 'python'"):
        load_registry(scripts)


def test_missing_field_and_unknown_field_are_named(tmp_path: Path) -> None:
    scripts = _registry(tmp_path, '[scripts.job]\nruntime = "python"\npath = "job.py"\nnice = 1\n')
    with pytest.raises(RegistryError, match="timeout: Field required.*nice: Extra inputs"):
        load_registry(scripts)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    scripts = _registry(
        tmp_path, '[scripts.job]\nruntime = "python"\npath = "gone.py"\ntimeout = 5\n'
    )
    with pytest.raises(RegistryError, match="'job': path 'gone.py': no such file"):
        load_registry(scripts)


def test_path_traversal_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.py").write_text("")
    scripts = _registry(
        tmp_path, '[scripts.job]\nruntime = "python"\npath = "../outside.py"\ntimeout = 5\n'
    )
    with pytest.raises(RegistryError, match="outside"):
        load_registry(scripts)


def test_absolute_path_is_refused(tmp_path: Path) -> None:
    scripts = _registry(
        tmp_path, '[scripts.job]\nruntime = "binary"\npath = "/bin/true"\ntimeout = 5\n'
    )
    with pytest.raises(RegistryError, match="must be relative"):
        load_registry(scripts)


def test_symlink_escaping_the_scripts_directory_is_refused(tmp_path: Path) -> None:
    scripts = _registry(tmp_path, '[scripts.job]\nruntime = "binary"\npath = "true"\ntimeout = 5\n')
    os.symlink("/bin/true", scripts / "true")
    with pytest.raises(RegistryError, match="resolves to /.*outside"):
        load_registry(scripts)


def test_binary_without_execute_bit_is_refused(tmp_path: Path) -> None:
    scripts = _registry(
        tmp_path,
        '[scripts.job]\nruntime = "binary"\npath = "job.sh"\ntimeout = 5\n',
        {"job.sh": "#!/bin/sh\n"},
    )
    with pytest.raises(RegistryError, match="not executable"):
        load_registry(scripts)


def test_requirements_on_a_shell_script_are_refused(tmp_path: Path) -> None:
    scripts = _registry(
        tmp_path,
        '[scripts.job]\nruntime = "shell"\npath = "job.sh"\ntimeout = 5\nrequirements = "r.txt"\n',
        {"job.sh": "", "r.txt": ""},
    )
    with pytest.raises(RegistryError, match="only python scripts take requirements"):
        load_registry(scripts)


def test_invalid_toml_is_reported_with_its_path(tmp_path: Path) -> None:
    scripts = _registry(tmp_path, "[scripts.job\n")
    with pytest.raises(RegistryError, match="registry.toml is not valid TOML"):
        load_registry(scripts)


def test_lookup_refuses_unknown_and_disabled_scripts(tmp_path: Path) -> None:
    scripts = _registry(
        tmp_path,
        '[scripts.job]\nruntime = "python"\npath = "job.py"\ntimeout = 5\nenabled = false\n',
    )
    registry = load_registry(scripts)
    with pytest.raises(ScriptDisabled):
        registry.get("job")
    with pytest.raises(ScriptNotFound):
        registry.get("other")


def test_an_edited_registry_is_reloaded(tmp_path: Path) -> None:
    scripts = _registry(
        tmp_path, '[scripts.job]\nruntime = "python"\npath = "job.py"\ntimeout = 5\n'
    )
    assert load_registry(scripts).get("job").timeout == 5
    registry = scripts / "registry.toml"
    registry.write_text(registry.read_text().replace("timeout = 5", "timeout = 9"))
    os.utime(registry, ns=(registry.stat().st_atime_ns, registry.stat().st_mtime_ns + 1000))
    assert load_registry(scripts).get("job").timeout == 9


def test_fingerprint_changes_with_the_script_file(tmp_path: Path) -> None:
    scripts = _registry(
        tmp_path, '[scripts.job]\nruntime = "python"\npath = "job.py"\ntimeout = 5\n'
    )
    spec = load_registry(scripts).get("job")
    before = spec.fingerprint()
    (scripts / "job.py").write_text("print('changed')")
    assert spec.fingerprint() != before


def test_an_entry_declares_the_environment_variables_its_script_needs(tmp_path: Path) -> None:
    scripts = _registry(
        tmp_path,
        '[scripts.job]\nruntime = "python"\npath = "job.py"\ntimeout = 5\n'
        'env = ["SERVICE_API_KEY", "SERVICE_BASE_URL"]\n',
    )
    assert load_registry(scripts).get("job").env == ("SERVICE_API_KEY", "SERVICE_BASE_URL")
    (tmp_path / "bad").mkdir()
    bad = _registry(
        tmp_path / "bad",
        '[scripts.job]\nruntime = "python"\npath = "job.py"\ntimeout = 5\nenv = ["A=B"]\n',
    )
    with pytest.raises(RegistryError, match="job.*env: .*not environment variable names: 'A=B'"):
        load_registry(bad)


def test_project_scripts_declare_their_providers_variables() -> None:
    registry = load_registry(PROJECT_ROOT / "scripts")
    env = {name: set(spec.env) for name, spec in registry.scripts.items()}
    assert {"REELFLOW_GEMINI_API_KEY", "REELFLOW_GEMINI_BASE_URL"} <= env["generate_asset"]
    assert {"REELFLOW_KLING_ACCESS_KEY", "REELFLOW_KLING_SECRET_KEY"} <= env["generate_video"]
    assert "REELFLOW_ELEVENLABS_API_KEY" in env["generate_audio"] & env["generate_sfx"]
    assert env["create_composite"] == env["assemble_video"] == set()
