"""The Notion stand-in (tests/notion/fake.py) with page bodies that can be appended to:
``PATCH /v1/blocks/{id}/children`` (developers.notion.com/reference/patch-block-children),
with the rules a request there meets:

* at most 100 children a request, and at most 100 rich text objects in a block, each text
  ``content`` at most 2,000 characters (developers.notion.com/reference/request-limits:
  "rich text object: text.content 2000 characters", "any array of all block types ... 100
  elements"): a 400 ``validation_error`` otherwise;
* each child names its ``type`` and carries an object under that key; a code block's
  ``language`` is one of Notion's (a subset is listed here; developers.notion.com/reference/
  block#code);
* an unknown or trashed page is a 404 ``object_not_found``;
* the answer is a list of the appended blocks, with ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.notion.fake import FakeNotion
from tests.notion.workspace import NotionError

LANGUAGES = {"yaml", "json", "markdown", "plain text", "python", "shell"}
BLOCK_TYPES = {"paragraph", "code", "heading_1", "heading_2", "heading_3", "quote",
               "bulleted_list_item", "numbered_list_item", "divider"}  # fmt: skip


@dataclass
class FakeNotionBodies(FakeNotion):
    def _route(self, method: str, parts: list[str], body: Any, query: dict[str, str]) -> Any:
        if method == "PATCH" and len(parts) == 3 and parts[::2] == ["blocks", "children"]:
            return self._append(parts[1], body or {})
        return super()._route(method, parts, body, query)

    def _append(self, page_id: str, body: dict[str, Any]) -> dict[str, Any]:
        page = self.pages.get(page_id)
        if page is None or page.get("in_trash"):
            raise NotionError(404, f"Could not find block with ID: {page_id}.")
        children = body.get("children")
        if not isinstance(children, list) or not 1 <= len(children) <= 100:
            raise NotionError(400, "body.children should be an array of 1 to 100 blocks.")
        made = [_check(child, i) for i, child in enumerate(children)]
        self.children.setdefault(page_id, []).extend(made)
        return {"object": "list", "results": made, "next_cursor": None, "has_more": False,
                "type": "block", "block": {}}  # fmt: skip


def _check(child: Any, index: int) -> dict[str, Any]:
    where = f"body.children[{index}]"
    kind = child.get("type") if isinstance(child, dict) else None
    if kind not in BLOCK_TYPES or not isinstance(child.get(kind), dict):
        raise NotionError(400, f"{where} should be a block object with its type's object.")
    data = child[kind]
    if kind == "code" and data.get("language") not in LANGUAGES:
        raise NotionError(400, f"{where}.code.language should be a Notion language.")
    rich = data.get("rich_text", [])
    if len(rich) > 100:
        raise NotionError(400, f"{where}.{kind}.rich_text.length should be ≤ 100.")
    for n, part in enumerate(rich):
        content = (part.get("text") or {}).get("content", "")
        if len(content) > 2000:
            raise NotionError(
                400, f"{where}.{kind}.rich_text[{n}].text.content.length should be ≤ 2000, "
                f"instead was {len(content)}."
            )  # fmt: skip
        part.setdefault("plain_text", content)
    return {"object": "block", "id": str(uuid.uuid4()), **child}
