"""Reading a plan file into plain data, safely: every problem is one ManifestError line naming
the file (and the line and column where the parser knows them), never a traceback.

Guards, before anything is validated: the file's size (read at most ``MAX_PLAN_BYTES`` + 1),
UTF-8 (a BOM is allowed), the nesting depth (counted while YAML is composed, so a deep plan is
refused before Python's recursion limit is near), and the size YAML aliases expand to (a
"billion laughs" plan, or an alias that contains itself, is refused before it is built).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from flows.core.errors import ManifestError
from flows.core.manifest_limits import MAX_DEPTH, MAX_NODES, MAX_PLAN_BYTES

__all__ = ["parse_plan_text", "read_bounded_text", "read_plan_file"]


def read_plan_file(path: Path) -> Any:
    """The parsed content of a .yaml, .yml or .json plan file."""
    text = read_bounded_text(path, what="a plan")
    return parse_plan_text(text, source=str(path), json_syntax=path.suffix.lower() == ".json")


def read_bounded_text(path: Path, *, what: str) -> str:
    """A plan's (or an outline's) text: at most ``MAX_PLAN_BYTES`` read, UTF-8 (a BOM is
    allowed); a ManifestError naming the file otherwise."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    if len(raw) > MAX_PLAN_BYTES:
        raise ManifestError(
            f"{path}: larger than {MAX_PLAN_BYTES / 2**20:g} MiB; {what} is smaller"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ManifestError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
            f"save the {what.split(' ', 1)[-1]} as UTF-8"
        ) from None


def parse_plan_text(text: str, *, source: str, json_syntax: bool = False) -> Any:
    """Parse a plan's text as JSON or YAML, within the depth and size limits."""
    kind = "JSON" if json_syntax else "YAML"
    try:
        data = json.loads(text) if json_syntax else _load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        raise ManifestError(f"{source}: not valid YAML: {_yaml_problem(exc)}") from None
    except yaml.reader.ReaderError as exc:
        what = f"character #x{exc.character:04x}" if isinstance(exc.character, int) else "byte"
        raise ManifestError(
            f"{source}: not valid YAML: {what} at offset {exc.position} is not allowed"
        ) from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}, "
                            f"column {exc.colno}") from None  # fmt: skip
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an integer of > 4,300 digits
        problem = "a number has too many digits" if "digits" in str(exc) else _first_line(exc)
        raise ManifestError(f"{source}: not valid {kind}: {problem}") from None
    except RecursionError:
        raise ManifestError(
            f"{source}: not valid {kind}: nested deeper than {MAX_DEPTH} levels"
        ) from None
    if json_syntax:
        _check_data_shape(data, source)
    return data


class _PlanLoader(yaml.SafeLoader):
    """SafeLoader that stops composing past ``MAX_DEPTH`` levels of nesting or ``MAX_NODES``
    values, and refuses explicit tags (plans need none)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        tag = getattr(self.peek_event(), "tag", None)  # type: ignore[no-untyped-call]
        if tag not in (None, "!"):  # PyYAML's constructors crash on e.g. `!!int ""`
            raise yaml.composer.ComposerError(
                None,
                None,
                f"tags such as {_clip(tag.replace('tag:yaml.org,2002:', '!!'))} are not allowed",
                self._mark(),
            )
        self._depth += 1
        self._nodes += 1
        try:
            if self._nodes > MAX_NODES:  # stop early: PyYAML takes ~20 µs a value
                raise yaml.composer.ComposerError(
                    None, None, f"more than {MAX_NODES} values", self._mark()
                )
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", self._mark()
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _mark(self) -> yaml.Mark | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        return event.start_mark if event is not None else None


def _load_yaml(text: str) -> Any:
    loader = _PlanLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        try:
            return loader.construct_document(node)
        except (ArithmeticError, LookupError, AttributeError, TypeError) as exc:
            # A constructor's own bug on an odd value: still a bad plan, not a crash.
            raise ValueError(f"a value cannot be read ({type(exc).__name__})") from None
    finally:
        loader.dispose()


def _check_expansion(root: Node) -> None:
    """Refuse a node graph whose aliases expand past ``MAX_NODES`` nodes or ``MAX_DEPTH`` levels,
    or refer to themselves. Iterative, and each shared node is measured once."""
    measured: dict[int, tuple[int, int]] = {}  # id(node) → (expanded nodes, depth)
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            sizes = [measured[id(child)] for child in _children(node)]
            size = 1 + sum(s for s, _ in sizes)
            depth = 1 + max((d for _, d in sizes), default=0)
            if size > MAX_NODES or depth > MAX_DEPTH:
                limit = f"{MAX_NODES} values" if size > MAX_NODES else f"{MAX_DEPTH} levels"
                raise _composer_error(f"more than {limit} (aliases expanded)", node)
            measured[key] = (size, depth)
            open_nodes.discard(key)
        elif key not in measured:
            if key in open_nodes:
                raise _composer_error("an alias refers to the node that contains it", node)
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in measured)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _composer_error(problem: str, node: Node) -> yaml.MarkedYAMLError:
    return yaml.composer.ComposerError(None, None, problem, node.start_mark)


def _check_data_shape(data: Any, source: str) -> None:
    """JSON has no aliases: only the depth needs checking (json itself stops at ~1,000)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ManifestError(f"{source}: not valid JSON: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "unreadable"
    if exc.context and exc.problem and not exc.context.startswith("while "):
        problem = f"{exc.context}, {exc.problem}"  # "expected a single document…, but found…"
    problem = _first_line(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


def _clip(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _first_line(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 200 else text[:200] + "…"
