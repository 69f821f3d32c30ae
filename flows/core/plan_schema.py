"""What a model is asked to fill: a JSON Schema generated from the manifest model.

Gemini's ``responseJsonSchema`` takes standard JSON Schema, but only a documented subset of
its keywords (ai.google.dev/gemini-api/docs/structured-output, "JSON Schema support":
type, properties, required, items, enum, format, minimum, maximum, minItems, maxItems,
anyOf, $ref, $defs, title, description, additionalProperties; anyOf and others were added
in November 2025, see /work/shared/notes/api-facts.md section 6). ``propertyOrdering`` and
``nullable`` belong to the other form (``responseSchema``) and are not used: with JSON Schema
the answer keeps the order of ``properties``. Everything else
pydantic writes (``default``, ``pattern``, ``exclusiveMinimum``, ``maxLength``…) is dropped
or rewritten here, and the rule it carried is left to ``parse_manifest``, which checks every
answer like a hand-written plan.

The model fills only what is about the story (``TOPIC_FIELDS``); the frame, the voice and the
channel are ours and are set after (flows/planning/topic.py).
"""

from __future__ import annotations

from typing import Any

from flows.core.manifest import Manifest

__all__ = ["SCENE_FIELDS", "SUPPORTED_KEYWORDS", "TOPIC_FIELDS", "plan_json_schema"]

TOPIC_FIELDS = ("title", "project_id", "scenes")
SCENE_FIELDS = ("id", "title", "background", "foreground", "layout", "motion", "duration",
                "narration", "sfx")  # fmt: skip
SCENE_REQUIRED = ("id", "title", "background", "motion", "duration", "narration")
LAYOUT_FIELDS = ("position", "scale")
SUPPORTED_KEYWORDS = frozenset(
    {"type", "properties", "required", "items", "enum", "format", "minimum", "maximum",
     "minItems", "maxItems", "anyOf", "$ref", "$defs", "title", "description",
     "additionalProperties"}
)  # fmt: skip
HINTS = {
    "id": "Lowercase letters, digits, - and _ (at most 64), unique in the plan.",
    "project_id": "Lowercase letters, digits, - and _ (at most 64).",
    "motion": "A camera move: slow zoom in, slow zoom out, pan left, pan right, pan up, "
    "pan down or static.",
    "duration": "Seconds the scene lasts; long enough to speak its narration "
    "(about 2.9 words a second).",
    "background": "A picture prompt for the scene's background, no text in it.",
    "foreground": "Optional: a picture prompt for one subject laid over the background.",
    "sfx": "Optional: a short sound-effect prompt (waves, wind, rain, birds...).",
}


def plan_json_schema(*, min_scenes: int = 1, max_scenes: int = 60) -> dict[str, Any]:
    """The schema of a plan's story fields, in Gemini's subset, from ``Manifest``."""
    full = Manifest.model_json_schema()
    defs = full.get("$defs", {})
    scene = _object(defs["Scene"], SCENE_FIELDS, SCENE_REQUIRED, full)
    scene["properties"]["layout"] = _object(defs["Layout"], LAYOUT_FIELDS, (), full)
    top = _object(full, TOPIC_FIELDS, TOPIC_FIELDS, full)
    top["description"] = "A narrated video plan: a title and its scenes, in order."
    top["properties"]["scenes"] = {
        "type": "array",
        "description": full["properties"]["scenes"].get("description", "The scenes, in order."),
        "items": scene,
        "minItems": min_scenes,
        "maxItems": max_scenes,
    }
    return top


def _object(schema: dict[str, Any], fields: tuple[str, ...], required: tuple[str, ...],
            root: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    properties = {
        name: _prune(_resolve(schema["properties"][name], root), name)
        for name in fields
        if name in schema.get("properties", {})
    }
    return {
        "type": "object",
        **({"description": schema["description"]} if schema.get("description") else {}),
        "properties": properties,
        "required": [name for name in required if name in properties],
        "additionalProperties": False,
    }


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return dict(root["$defs"][ref.removeprefix("#/$defs/")])
    return node


def _prune(node: dict[str, Any], name: str) -> dict[str, Any]:
    """One property's schema in the subset: optional (``X or null``) becomes ``X``, an
    exclusive bound an inclusive one, unsupported keywords go."""
    options = [o for o in node.get("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        node = {**node, **options[0]}
        node.pop("anyOf")
    pruned: dict[str, Any] = {k: v for k, v in node.items() if k in SUPPORTED_KEYWORDS}
    if "exclusiveMinimum" in node and "minimum" not in pruned:
        pruned["minimum"] = 1 if name == "duration" else node["exclusiveMinimum"]
    if "exclusiveMaximum" in node and "maximum" not in pruned:
        pruned["maximum"] = node["exclusiveMaximum"]
    pruned.pop("title", None)  # pydantic's titles repeat the names
    if name in HINTS:
        pruned["description"] = HINTS[name]
    return pruned
