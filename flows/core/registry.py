"""The script registry: ``registry.toml`` in the scripts directory, loaded and validated.

Each ``[scripts.NAME]`` table declares one script a pipeline may run::

    [scripts.generate_asset]
    runtime = "python"          # python | shell | binary
    path = "generate_asset.py"  # relative to the scripts directory
    timeout = 60                # seconds
    requirements = "requirements/asset.txt"   # python only, optional
    enabled = true
    description = "..."
    concurrency_limit = "gemini"  # optional Prefect global concurrency limit name
    env = ["REELFLOW_GEMINI_API_KEY", "REELFLOW_GEMINI_BASE_URL"]  # optional, see below

A script gets a minimal environment (see ``flows.core.runner``): the basics a program needs
to run, the variables of the scripts' contract, and the names its entry lists in ``env``,
taken from the runner's environment when set. Those whose names say KEY, TOKEN, SECRET or
PASSWORD are the script's credentials: masked in everything stored and logged, whatever
they look like.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import stat
import threading
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.core.errors import RegistryError, ScriptDisabled, ScriptNotFound

__all__ = ["Registry", "Runtime", "ScriptSpec", "load_registry"]

Runtime = Literal["python", "shell", "binary"]
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runtime: Runtime
    path: str = Field(min_length=1)
    timeout: float = Field(gt=0)
    requirements: str | None = None
    enabled: bool = True
    description: str = ""
    concurrency_limit: str | None = None
    env: list[str] = Field(default_factory=list)

    @field_validator("env")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        bad = [name for name in names if not ENV_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"not environment variable names: {', '.join(map(repr, bad))}")
        return names


@dataclass(frozen=True)
class ScriptSpec:
    """One validated registry entry, with absolute paths."""

    name: str
    runtime: Runtime
    path: Path
    timeout: float
    requirements: Path | None
    enabled: bool
    description: str
    concurrency_limit: str | None
    env: tuple[str, ...] = ()  # variables passed from the runner's environment

    def fingerprint(self) -> str:
        """SHA-256 of the script file, its requirements and its registry entry.

        Part of every cache key: editing a script or its entry invalidates its results.
        """
        digest = hashlib.sha256()
        digest.update(repr((self.name, self.runtime, self.timeout, self.enabled)).encode())
        digest.update(self.path.read_bytes())
        if self.requirements is not None:
            digest.update(self.requirements.read_bytes())
        return digest.hexdigest()

    def helpers(self) -> tuple[list[Path], bool]:
        """The helper modules (``_*.py`` beside the script) a Python script imports, directly
        or through other helpers, sorted; and whether any of that code names the ``fonts``
        folder (the fonts shipped beside the scripts). What else lies in the folder does not
        change what this script does, so it is no part of its cache keys."""
        if self.runtime != "python":
            return [], False
        folder, seen, fonts = self.path.parent, set[Path](), False
        todo = [self.path]
        while todo:
            path = todo.pop()
            imports, names_fonts = _code_facts(path, *_stamp(path))
            fonts = fonts or names_fonts
            for name in imports:
                helper = folder / f"{name}.py"
                if helper not in seen and helper.is_file():
                    seen.add(helper)
                    todo.append(helper)
        return sorted(seen), fonts


def _stamp(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except FileNotFoundError:
        return -1, -1
    return info.st_mtime_ns, info.st_size


# One parse at a time: CPython 3.11's parser is not safe in threads run at once ("AST
# constructor recursion depth mismatch", gh-106905), and Dask workers run items in threads.
_PARSING = threading.Lock()


@lru_cache(maxsize=512)
def _code_facts(path: Path, mtime_ns: int, size: int) -> tuple[frozenset[str], bool]:
    """The ``_``-prefixed top-level modules ``path`` imports anywhere (in functions too), and
    whether it holds the string ``"fonts"``; memoised on the file's mtime and size. A file
    that does not parse imports nothing here: running it will say what is wrong."""
    try:
        with _PARSING:
            tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return frozenset(), False
    imports: set[str] = set()
    fonts = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imports.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and node.value == "fonts":
            fonts = True
    return frozenset(name for name in imports if name.startswith("_")), fonts


@dataclass(frozen=True)
class Registry:
    """The scripts a pipeline may run, keyed by name."""

    path: Path
    scripts: dict[str, ScriptSpec]

    def get(self, name: str) -> ScriptSpec:
        """The enabled script called ``name``; raises ScriptNotFound or ScriptDisabled."""
        spec = self.scripts.get(name)
        if spec is None:
            raise ScriptNotFound(name, known=list(self.scripts))
        if not spec.enabled:
            raise ScriptDisabled(name)
        return spec


_cache: dict[Path, tuple[int, Registry]] = {}


def load_registry(scripts_dir: Path) -> Registry:
    """Load and validate ``scripts_dir/registry.toml``; cached until the file changes."""
    path = scripts_dir / "registry.toml"
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise RegistryError(f"no registry at {path}") from None
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    registry = _parse(path, scripts_dir)
    _cache[path] = (mtime, registry)
    return registry


def _parse(path: Path, scripts_dir: Path) -> Registry:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path} is not valid TOML: {exc}") from exc
    tables = document.get("scripts", {})
    if not isinstance(tables, dict):
        raise RegistryError(f"{path}: [scripts] must be a table of tables")
    root = scripts_dir.resolve()
    scripts = {name: _validate(name, table, root) for name, table in tables.items()}
    return Registry(path=path, scripts=scripts)


def _validate(name: str, table: object, root: Path) -> ScriptSpec:
    try:
        entry = _Entry.model_validate(table)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}"
            for err in exc.errors()
        )
        raise RegistryError(problems, script=name) from exc
    script = _inside(root, entry.path, name, "path")
    if not script.is_file():
        raise RegistryError(f"path {entry.path!r}: no such file in {root}", script=name)
    if entry.runtime == "binary" and not os.access(script, os.X_OK):
        raise RegistryError(f"path {entry.path!r}: binary is not executable", script=name)
    if entry.requirements is not None and entry.runtime != "python":
        raise RegistryError("requirements: only python scripts take requirements", script=name)
    requirements = None
    if entry.requirements is not None:
        requirements = _inside(root, entry.requirements, name, "requirements")
        if not requirements.is_file():
            raise RegistryError(f"requirements {entry.requirements!r}: no such file", script=name)
    return ScriptSpec(
        name=name,
        runtime=entry.runtime,
        path=script,
        timeout=entry.timeout,
        requirements=requirements,
        enabled=entry.enabled,
        description=entry.description,
        concurrency_limit=entry.concurrency_limit,
        env=tuple(entry.env),
    )


def _inside(root: Path, relative: str, name: str, field: str) -> Path:
    """Resolve ``relative`` (following symlinks) and refuse anything outside ``root``."""
    if Path(relative).is_absolute():
        raise RegistryError(f"{field} {relative!r} must be relative to {root}", script=name)
    resolved = (root / relative).resolve()
    if not resolved.is_relative_to(root):
        raise RegistryError(
            f"{field} {relative!r} resolves to {resolved}, outside {root}", script=name
        )
    if resolved.exists() and not stat.S_ISREG(resolved.stat().st_mode):
        raise RegistryError(f"{field} {relative!r} is not a regular file", script=name)
    return resolved
