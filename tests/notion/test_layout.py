"""flows/notion is one package: pure modules that never load Prefect, Prefect-aware ones
above them, and nothing left at the old places."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

PURE = ["schema", "cards", "client", "provision", "plans", "records"]
PREFECT_AWARE = ["boards", "push", "sync", "reconcile", "intake"]


def test_the_pure_modules_import_without_prefect() -> None:
    modules = ", ".join(f"flows.notion.{name}" for name in PURE)
    code = (
        f"import sys, {modules}\n"
        "loaded = [m for m in sys.modules if m == 'prefect' or m.startswith('prefect.')]\n"
        "assert not loaded, loaded[:3]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


def test_pure_modules_never_import_the_prefect_aware_ones() -> None:
    for name in PURE:
        text = (PROJECT_ROOT / "flows" / "notion" / f"{name}.py").read_text()
        for above in PREFECT_AWARE:
            assert f"flows.notion.{above}" not in text, f"{name} imports {above}"


def test_every_notion_module_lives_in_the_package() -> None:
    flows = PROJECT_ROOT / "flows"
    gone = ["notion_sync.py", "notion_cards.py", "notion_boards.py", "intake.py",
            "core/notion.py", "core/notion_client.py", "core/cards.py"]  # fmt: skip
    assert not [name for name in gone if (flows / name).exists()]
    assert sorted(p.stem for p in (flows / "notion").glob("*.py")) == sorted(
        ["__init__", *PURE, *PREFECT_AWARE]
    )
    deployments = (PROJECT_ROOT / "deployments" / "prefect.yaml").read_text()
    for entrypoint in ("flows/notion/intake.py:notion_intake",
                       "flows/notion/reconcile.py:notion_reconcile"):  # fmt: skip
        assert f"entrypoint: {entrypoint}" in deployments
        assert Path(PROJECT_ROOT / entrypoint.split(":")[0]).is_file()
