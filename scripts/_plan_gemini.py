"""Gemini structured output for plan_video (provider ``gemini``).

API (ai.google.dev/api/generate-content, ai.google.dev/gemini-api/docs/structured-output):

    POST {base}/v1beta/models/{model}:generateContent      header x-goog-api-key: KEY
    {"systemInstruction": {"parts": [{"text": SYSTEM}]},
     "contents": [{"role": "user" | "model", "parts": [{"text": TEXT}]}, ...],
     "generationConfig": {"responseMimeType": "application/json",
                          "responseJsonSchema": SCHEMA}}
    → {"candidates": [{"content": {"parts": [{"text": "<the JSON, as a string>"}]},
                       "finishReason": "STOP"}],
       "usageMetadata": {"promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount"}}

The answer is JSON *text*; this script does not parse or judge it (the caller validates it
against the plan model and asks again with the problem). Errors, the refused key and
RetryInfo are Google's, handled as for images (_gemini.refused_key, _http).

Cost: input tokens x the model's input price + (output + thinking tokens) x its output price
(thinking is billed as output: ai.google.dev/gemini-api/docs/pricing), from prices.toml.
"""

from __future__ import annotations

from typing import Any

import _gemini
import _http
import _prices
from _contract import BadInput, Failure

DEFAULT_MODEL = "gemini-3.8-flash"
READ_TIMEOUT = 110.0  # a long plan takes a while to write; under the registry's 120 s
ROLES = ("user", "model")


def body_for(request: dict[str, Any]) -> dict[str, Any]:
    """The generateContent body: the turns so far, and the schema the answer must follow."""
    turns = request.get("contents")
    if not isinstance(turns, list) or not turns:
        raise BadInput("field 'contents' must be a non-empty list of turns", type="invalid_field")
    contents = []
    for index, turn in enumerate(turns):
        ok = isinstance(turn, dict) and turn.get("role") in ROLES
        if not ok or not isinstance(turn.get("text"), str) or not turn["text"].strip():
            raise BadInput(
                f'field \'contents[{index}]\' must be {{"role": user|model, "text": str}}',
                type="invalid_field",
            )
        contents.append({"role": turn["role"], "parts": [{"text": turn["text"]}]})
    if contents[0]["role"] != "user" or contents[-1]["role"] != "user":
        raise BadInput("field 'contents' must start and end with a user turn",
                       type="invalid_field")  # fmt: skip
    schema = request.get("schema")
    if not isinstance(schema, dict) or not schema:
        raise BadInput("field 'schema' must be a JSON Schema object", type="invalid_field")
    body: dict[str, Any] = {
        "contents": contents,
        "generationConfig": {"responseMimeType": "application/json",
                             "responseJsonSchema": schema},
    }  # fmt: skip
    system = request.get("system")
    if isinstance(system, str) and system.strip():
        body["systemInstruction"] = {"parts": [{"text": system}]}
    return body


def answer(request: dict[str, Any], model: str) -> tuple[str, dict[str, Any]]:
    """Ask the model; its answer text, and the cost and usage figures."""
    entry = _prices.price("gemini", model)  # priced before anything is spent
    if "output_per_million_tokens" not in entry:
        raise BadInput(f"no token prices for gemini {model} in the price table",
                       type="unknown_model")  # fmt: skip
    body = body_for(request)
    key = _http.secret(_gemini.KEY_ENV)
    base = _http.base_url(_gemini.BASE_ENV, _gemini.DEFAULT_BASE_URL)
    with _http.Session("gemini", base, headers={"x-goog-api-key": key}, secrets=[key],
                       read_timeout=READ_TIMEOUT,
                       refused_key=_gemini.refused_key) as session:  # fmt: skip
        reply = session.json(
            session.request("POST", f"/v1beta/models/{model}:generateContent", json=body)
        )
    usage = reply.get("usageMetadata") or {}
    text, finish = _text_of(reply)
    return text, {
        "model": model,
        "cost_usd": cost(entry, usage),
        "finish_reason": finish,
        "usage": {
            "prompt_tokens": usage.get("promptTokenCount"),
            "output_tokens": usage.get("candidatesTokenCount"),
            "thinking_tokens": usage.get("thoughtsTokenCount"),
            "total_tokens": usage.get("totalTokenCount"),
        },
    }


def cost(entry: dict[str, Any], usage: dict[str, Any]) -> float:
    """What the answer cost from its token counts (missing counts count as none)."""

    def count(name: str) -> int:
        value = usage.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    output = count("candidatesTokenCount") + count("thoughtsTokenCount")
    spent = (count("promptTokenCount") * float(entry.get("input_per_million_tokens", 0.0))
             + output * float(entry["output_per_million_tokens"]))  # fmt: skip
    return round(spent / 1_000_000, 6)


def _text_of(reply: dict[str, Any]) -> tuple[str, str | None]:
    candidates = reply.get("candidates") or []
    for candidate in candidates:
        parts = (candidate.get("content") or {}).get("parts") or []
        text = "".join(p.get("text", "") for p in parts if isinstance(p, dict)
                       and not p.get("thought"))  # fmt: skip
        if text.strip():
            return text, candidate.get("finishReason")
    blocked = (reply.get("promptFeedback") or {}).get("blockReason")
    reasons = [c.get("finishReason") for c in candidates if c.get("finishReason")]
    why = blocked or ", ".join(reasons) or "no candidates"
    raise Failure(f"gemini: the answer holds no text ({why})", type="no_answer")
