"""A local stand-in for Gemini's generateContent with structured output (JSON mode).

Built on the image stand-in (tests/scripts/providers/gemini.py: the key in
``x-goog-api-key``, a wrong one a 400 ``API_KEY_INVALID``, Google's error body, faults), with
what the text endpoint does, from ai.google.dev/api/generate-content and
ai.google.dev/gemini-api/docs/structured-output:

* the body is a ``GenerateContentRequest``: a field it does not have is a 400
  ``INVALID_ARGUMENT`` 'Invalid JSON payload received. Unknown name "x"' (proto JSON
  parsing, as every Google REST API answers an unknown field);
* ``contents[].role`` is ``user`` or ``model``;
* ``responseJsonSchema`` and ``responseSchema`` exclude each other, and both need
  ``responseMimeType: application/json`` (a 400 otherwise);
* ``responseJsonSchema`` takes a documented subset of JSON Schema; this stand-in refuses any
  other keyword with a 400 (the service ignores some and refuses others; refusing keeps our
  generator inside the subset), and a ``$ref`` to a definition that is not in ``$defs``;
* the answer is the JSON as a *string* in ``candidates[0].content.parts[0].text``, with
  ``finishReason`` and ``usageMetadata`` (prompt, candidates and thoughts token counts);
* a retired or unknown model is a 404 NOT_FOUND.

What it answers: the texts queued in ``answers`` first (a test queues malformed ones), then a
valid three-scene plan of ``plan_seconds``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from tests.scripts.providers.gemini import FakeGemini
from tests.scripts.providers.service import Seen

TEXT_MODELS = ("gemini-3.8-flash", "gemini-3.5-flash", "gemini-3.5-flash-lite")
REQUEST_FIELDS = {"contents", "generationConfig", "systemInstruction", "safetySettings",
                  "tools", "toolConfig", "cachedContent"}  # fmt: skip
CONFIG_FIELDS = {"responseMimeType", "responseJsonSchema", "responseSchema", "temperature",
                 "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences", "seed",
                 "thinkingConfig", "responseModalities", "imageConfig"}  # fmt: skip
SCHEMA_KEYWORDS = {"type", "properties", "required", "items", "enum", "format", "minimum",
                   "maximum", "minItems", "maxItems", "anyOf", "$ref", "$defs", "$id",
                   "$anchor", "title", "description", "additionalProperties",
                   "prefixItems"}  # fmt: skip
# (propertyOrdering is responseSchema's, the other form)
THOUGHTS = 50  # thinking tokens each answer "spends" (billed as output)


@dataclass
class FakeGeminiText(FakeGemini):
    answers: list[str] = field(default_factory=list)
    plan_seconds: float = 15.0

    def reset(self) -> None:
        super().reset()
        self.answers.clear()
        self.plan_seconds = 15.0

    def _generate(self, request: Request, seen: Seen) -> Any:
        body = seen.body if isinstance(seen.body, dict) else {}
        config = body.get("generationConfig") or {}
        if not ({"responseJsonSchema", "responseSchema", "responseMimeType"} & set(config)):
            return super()._generate(request, seen)  # an image request
        model = request.path_params["model"]
        if model not in TEXT_MODELS:
            return self._refuse(404, f"models/{model} is not found for API version v1beta, "
                                "or is not supported for generateContent.")  # fmt: skip
        problem = _problem(body, config)
        if problem:
            return self._refuse(400, problem)
        scenes = config["responseJsonSchema"]["properties"]["scenes"]  # our schema's shape
        count = min(max(3, scenes.get("minItems", 1)), scenes.get("maxItems", 3))
        text = self.answers.pop(0) if self.answers else self.plan(count)
        finish = "STOP"
        asked = len(json.dumps(body)) // 4
        return {
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": finish, "index": 0}],
            "usageMetadata": {"promptTokenCount": asked, "candidatesTokenCount": len(text) // 4,
                              "thoughtsTokenCount": THOUGHTS,
                              "totalTokenCount": asked + len(text) // 4 + THOUGHTS},
            "modelVersion": model,
        }  # fmt: skip

    def plan(self, count: int = 3) -> str:
        """A valid answer: ``count`` scenes lasting ``plan_seconds`` in all (a model follows
        the schema's minItems and maxItems)."""
        each = round(self.plan_seconds / count, 2)
        scenes = [
            {"id": f"part-{n}", "title": f"Part {n}", "background": f"a canyon, view {n}",
             "motion": "slow zoom in", "duration": each,
             "narration": f"This is part {n} of the story."}
            for n in range(1, count + 1)
        ]  # fmt: skip
        return json.dumps({"title": "How Rivers Carve Canyons", "project_id": "canyons",
                           "scenes": scenes})  # fmt: skip


def _problem(body: dict[str, Any], config: dict[str, Any]) -> str | None:
    unknown = sorted(set(body) - REQUEST_FIELDS) or sorted(set(config) - CONFIG_FIELDS)
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.'
    if "responseJsonSchema" in config and "responseSchema" in config:
        return "responseJsonSchema and responseSchema cannot both be set."
    if config.get("responseMimeType") != "application/json":
        return "response_mime_type must be application/json when a response schema is set."
    for index, turn in enumerate(body.get("contents") or []):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "model"):
            return f"contents[{index}].role: Please use a valid role: user, model."
    schema = config.get("responseJsonSchema")
    if not isinstance(schema, dict):
        return "generation_config.response_json_schema: must be a JSON Schema object."
    return _schema_problem(schema, schema.get("$defs") or {}, "response_json_schema")


def _schema_problem(node: Any, defs: dict[str, Any], where: str) -> str | None:
    if isinstance(node, list):
        for i, item in enumerate(node):
            if (found := _schema_problem(item, defs, f"{where}[{i}]")) is not None:
                return found
        return None
    if not isinstance(node, dict):
        return None
    for key, value in node.items():
        if key not in SCHEMA_KEYWORDS:
            return f"{where}: the JSON Schema keyword {key!r} is not supported."
        ref = value if key == "$ref" else None
        if ref is not None and ref.removeprefix("#/$defs/") not in defs:
            return f"{where}: $ref {ref!r} cannot be resolved."
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                if (found := _schema_problem(sub, defs, f"{where}.{name}")) is not None:
                    return found
        elif key in ("items", "anyOf", "prefixItems", "additionalProperties") and (
            (found := _schema_problem(value, defs, f"{where}.{key}")) is not None
        ):
            return found
    return None
