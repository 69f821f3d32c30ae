"""scripts/plan_video.py against the structured-output stand-in, as a real process: what it
sends, what it refuses before spending, and how the service's refusals map onto exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from flows.core.plan_schema import plan_json_schema
from tests.conftest import PROJECT_ROOT
from tests.planning.fake_gemini import FakeGeminiText

pytest_plugins = ["tests.planning.fixtures"]

SCRIPT = PROJECT_ROOT / "scripts" / "plan_video.py"


def run(request: dict[str, Any], *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--provider", "gemini", *args],
        input=json.dumps(request), capture_output=True, text=True, env=dict(os.environ),
        timeout=60,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def request(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "text": "Plan a video about rivers."}],
            "system": "You write plans.", "schema": plan_json_schema(),
            "output": str(tmp_path / "answer.json"), **changes}  # fmt: skip


def test_the_answer_text_is_written_and_priced(gemini_text: FakeGeminiText, tmp_path: Path) -> None:
    code, result = run(request(tmp_path))
    assert code == 0, result
    assert json.loads(Path(result["output"]).read_text())["project_id"] == "canyons"
    assert result["model"] == "gemini-3.8-flash" and result["finish_reason"] == "STOP"
    assert result["usage"]["thinking_tokens"] == 50 and result["cost_usd"] > 0
    body = gemini_text.seen(method="POST")[0].body
    assert body["systemInstruction"] == {"parts": [{"text": "You write plans."}]}
    assert body["generationConfig"]["responseMimeType"] == "application/json"


def test_refusals_map_onto_the_contract(gemini_text: FakeGeminiText, tmp_path: Path) -> None:
    code, result = run(request(tmp_path, contents=[{"role": "model", "text": "hi"}]))
    assert (code, result["error"]["type"]) == (2, "invalid_field"), "refused before asking"
    code, result = run(request(tmp_path), "--model", "gemini-9-unpriced")
    assert (code, result["error"]["type"]) == (2, "unknown_model")
    schema = {"type": "object", "properties": {"id": {"type": "string", "pattern": "^a$"}}}
    code, result = run(request(tmp_path, schema=schema))
    assert (code, result["error"]["type"]) == (1, "rejected")
    assert "the JSON Schema keyword 'pattern' is not supported" in result["error"]["message"]
    gemini_text.fail(429)
    code, result = run(request(tmp_path))
    assert (code, result["error"]["type"], result["error"]["retry_after"]) == (
        75, "rate_limited", 2.0,
    )  # fmt: skip
    assert len(gemini_text.seen(method="POST")) == 2, "the first two never reached it"
    assert not (tmp_path / "answer.json").exists()


def test_the_stand_in_refuses_both_schema_forms_and_an_unknown_field(
    gemini_text: FakeGeminiText,
) -> None:
    url = f"{gemini_text.url}/v1beta/models/gemini-3.8-flash:generateContent"
    headers = {"x-goog-api-key": gemini_text.key}
    contents = [{"role": "user", "parts": [{"text": "x"}]}]
    both = {"contents": contents, "generationConfig": {
        "responseMimeType": "application/json", "responseJsonSchema": {"type": "object"},
        "responseSchema": {"type": "OBJECT"}}}  # fmt: skip
    answer = httpx.post(url, json=both, headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    odd = {
        "contents": contents,
        "generation_config_typo": {},
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object"},
        },
    }
    assert (
        'Unknown name "generation_config_typo"'
        in httpx.post(url, json=odd, headers=headers).json()["error"]["message"]
    )
