"""flows.notion.plans: a card's plan comes only from allowed folders and hosts, within a size
cap, and a refusal never quotes the plan."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from flows.core.errors import ManifestError
from flows.notion.plans import (
    fetch_plan,
    manifest_code,
    manifest_from_text,
    manifest_reference,
    plan_roots,
    short_reason,
)
from flows.notion.schema import BoardConfig, BoardMap
from tests.factories import TINY

PLAN = TINY.read_text()


def board(**changes: Any) -> BoardConfig:
    return BoardConfig(token=SecretStr("secret_x"), database_id="db", **changes)


class Site(BaseHTTPRequestHandler):
    """/plan.yaml, /big.yaml, /same (redirects to /plan.yaml), /away (to another host)."""

    other = ""

    def do_GET(self) -> None:
        routes = {"/same": "/plan.yaml", "/away": f"{self.other}/plan.yaml"}
        if self.path in routes:
            self.send_response(302)
            self.send_header("Location", routes[self.path])
            self.end_headers()
            return
        body = PLAN.encode() if self.path == "/plan.yaml" else b"x" * 5000
        self.send_response(200 if self.path in ("/plan.yaml", "/big.yaml") else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.1", port), Site)
    Site.other = f"http://localhost:{port}"  # the same machine under another host name
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def test_the_plan_is_the_manifest_property_or_the_first_json_or_yaml_code_block() -> None:
    mapped = BoardMap(title="Name", properties={"manifest": ("Manifest", "url")})
    page = {"properties": {"Manifest": {"type": "url", "url": "https://x/plan.yaml"}}}
    assert manifest_reference(page, mapped) == "https://x/plan.yaml"
    assert manifest_reference(page, BoardMap(title="Name")) is None, "the board has none"
    blocks = [
        {"type": "paragraph", "paragraph": {"rich_text": []}},
        {"type": "code", "code": {"language": "python", "rich_text": [{"plain_text": "x=1"}]}},
        {"type": "code", "code": {"language": "yaml", "rich_text": [{"plain_text": "title: A"}]}},
    ]
    assert manifest_code(blocks) == "title: A"
    assert manifest_code(blocks[:2]) == "x=1", "an unlabelled or other code block as a last resort"
    assert manifest_code(blocks[:1]) is None
    assert manifest_from_text(PLAN, source="card 'Tiny'").project_id == "tiny"


def test_a_yaml_error_gives_the_place_and_never_the_text() -> None:
    """Plans from cards go through the same guarded parser as plan files."""
    text = "title: A\nnarration: the-secret-line: [unclosed\n"
    with pytest.raises(ManifestError) as raised:
        manifest_from_text(text, source="card 'A'")
    assert str(raised.value) == (
        "card 'A': not valid YAML: line 2, column 27: mapping values are not allowed here"
    )
    assert "secret" not in short_reason(raised.value)
    assert short_reason(ManifestError("x" * 400 + "\nmore")).endswith("…")


async def test_paths_are_read_only_inside_the_roots(tmp_path: Path) -> None:
    root = tmp_path / "plans"
    root.mkdir()
    (root / "tiny.yaml").write_text(PLAN)
    (tmp_path / "outside.yaml").write_text(PLAN)
    (root / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    (root / "big.yaml").write_text(PLAN + "#" * 2000)
    config = board(plan_roots=[str(root)], plan_max_bytes=len(PLAN) + 10)
    roots = plan_roots(config, tmp_path / "data")
    assert (await fetch_plan(str(root / "tiny.yaml"), config, roots)).project_id == "tiny"
    assert (await fetch_plan(f"file://{root}/tiny.yaml", config, roots)).project_id == "tiny"
    for escape in (tmp_path / "outside.yaml", root / ".." / "outside.yaml", root / "link.yaml"):
        with pytest.raises(ManifestError, match=r"plans are read only from .*plans \(plan_roots"):
            await fetch_plan(str(escape), config, roots)
    with pytest.raises(ManifestError, match="more than the .* allowed"):
        await fetch_plan(str(root / "big.yaml"), config, roots)
    with pytest.raises(ManifestError, match="a plan is a .yaml, .yml, .json file or URL"):
        await fetch_plan("/etc/passwd", config, roots)


def test_the_default_root_is_the_data_dirs_plans_folder(tmp_path: Path) -> None:
    assert plan_roots(board(), tmp_path) == [(tmp_path / "plans").resolve()]


async def test_urls_only_from_allowed_hosts_redirects_only_to_the_same_host(site: str) -> None:
    none = board()
    with pytest.raises(ManifestError, match="host '127.0.0.1' is not in the board's plan_hosts"):
        await fetch_plan(f"{site}/plan.yaml", none, [])
    allowed = board(plan_hosts=["127.0.0.1"], plan_max_bytes=len(PLAN) + 100)
    assert (await fetch_plan(f"{site}/plan.yaml", allowed, [])).project_id == "tiny"
    assert (await fetch_plan(f"{site}/same", allowed, [])).project_id == "tiny"
    with pytest.raises(ManifestError, match="a redirect to another host is not followed"):
        await fetch_plan(f"{site}/away", allowed, [])
    with pytest.raises(ManifestError, match="more than the .* bytes allowed"):
        await fetch_plan(f"{site}/big.yaml", allowed, [])
    with pytest.raises(ManifestError, match="HTTP 404"):
        await fetch_plan(f"{site}/nothing.yaml", allowed, [])


def test_a_card_plan_gets_the_same_guards_as_a_plan_file() -> None:
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    for text in (bomb, "[" * 10_000, "title: !!python/object:os.system x"):
        with pytest.raises(ManifestError) as raised:
            manifest_from_text(text, source="card 'A'")
        assert str(raised.value).startswith("card 'A': not valid YAML")
