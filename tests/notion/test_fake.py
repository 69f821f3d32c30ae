"""The fake Notion answers as Notion does where Reelflow can tell. Each rule's source in
Notion's API reference (version 2025-09-03) is named in ``tests/notion/workspace.py``'s
docstring, by the tag in brackets here."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.notion.fake import TOKEN, VERSION, FakeNotion
from tests.notion.workspace import notion_default_schema


@pytest.fixture
def fake() -> Any:
    notion = FakeNotion(schema=notion_default_schema(), rate=1000).start()
    yield notion
    notion.stop()


def call(fake: FakeNotion, method: str, path: str, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKEN}", "Notion-Version": VERSION}
    return httpx.request(method, f"{fake.url}/v1/{path}", json=body, headers=headers)


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert body["object"] == "error" and body["request_id"]
    return body["status"], body["code"], body["message"]


def page(fake: FakeNotion, properties: dict[str, Any]) -> httpx.Response:
    parent = {"data_source_id": fake.data_source_id}
    return call(fake, "POST", "pages", {"parent": parent, "properties": properties})


def test_unknown_property_or_wrong_type_is_a_validation_error_with_notions_message(
    fake: FakeNotion,
) -> None:  # [values] [errors]
    assert error(page(fake, {"Video ID": {"number": 1}})) == (
        400, "validation_error", "Video ID is not a property that exists.",
    )  # fmt: skip
    assert error(page(fake, {"Status": {"select": {"name": "Done"}}})) == (
        400, "validation_error", "Status is expected to be status.",
    )  # fmt: skip


def test_an_unknown_status_option_is_refused_and_a_known_one_taken(fake: FakeNotion) -> None:
    refused = page(fake, {"Status": {"status": {"name": "Approved"}}})  # [values] [status]
    assert error(refused)[:2] == (400, "validation_error")
    assert "Approved" in error(refused)[2]
    assert page(fake, {"Status": {"status": {"name": "Done"}}}).status_code == 200


def test_an_unknown_select_option_is_created_by_the_write(fake: FakeNotion) -> None:
    patch = {"properties": {"Stage": {"select": {"options": [{"name": "Queued"}]}}}}
    assert call(fake, "PATCH", f"data_sources/{fake.data_source_id}", patch).status_code == 200
    assert page(fake, {"Stage": {"select": {"name": "Approved"}}}).status_code == 200  # [values]
    options = [o["name"] for o in fake.schema["Stage"]["select"]["options"]]
    assert options == ["Queued", "Approved"]


def test_a_database_is_made_under_a_shared_page_with_its_data_source(fake: FakeNotion) -> None:
    body = {"parent": {"type": "page_id", "page_id": fake.parent_page},
            "title": [{"type": "text", "text": {"content": "Board"}}],
            "initial_data_source": {"properties": {"Name": {"title": {}}}}}  # fmt: skip
    made = call(fake, "POST", "databases", body).json()  # [create-db]
    assert made["object"] == "database" and len(made["data_sources"]) == 1
    source = call(fake, "GET", f"data_sources/{made['data_sources'][0]['id']}").json()
    assert source["properties"]["Name"]["type"] == "title"
    hidden = call(fake, "POST", "databases", body | {"parent": {"page_id": "elsewhere"}})
    assert error(hidden)[:2] == (404, "object_not_found")
    status = {"Status": {"status": {}}}
    with_status = body | {"initial_data_source": {"properties": status}}
    assert error(call(fake, "POST", "databases", with_status))[:2] == (400, "validation_error")


def test_a_schema_patch_adds_renames_removes_and_keeps_status_options(fake: FakeNotion) -> None:
    path = f"data_sources/{fake.data_source_id}"  # [update-ds]
    added = call(fake, "PATCH", path, {"properties": {"Cost": {"number": {"format": "dollar"}}}})
    assert added.json()["properties"]["Cost"]["type"] == "number"
    call(fake, "PATCH", path, {"properties": {"Cost": {"name": "Price"}}})
    assert "Price" in fake.schema and "Cost" not in fake.schema
    call(fake, "PATCH", path, {"properties": {"Price": None}})
    assert "Price" not in fake.schema
    options = {"properties": {"Status": {"status": {"options": [{"name": "Queued"}]}}}}
    assert error(call(fake, "PATCH", path, options))[:2] == (400, "validation_error")


def test_a_board_not_shared_or_deleted_is_not_found_and_its_cards_cannot_be_edited(
    fake: FakeNotion,
) -> None:  # [errors] [trash]
    card = fake.add_card("A", status="Not started")
    fake.delete_board()
    assert error(call(fake, "GET", f"data_sources/{fake.data_source_id}"))[:2] == (
        404, "object_not_found",
    )  # fmt: skip
    edited = call(fake, "PATCH", f"pages/{card}", {"properties": {}})
    assert error(edited) == (
        400, "validation_error",
        "Can't edit block that is archived. You must unarchive the block before editing.",
    )  # fmt: skip
    fake.restore_board()
    fake.unshare()
    status, code, message = error(call(fake, "GET", f"databases/{fake.database_id}"))
    assert (status, code) == (404, "object_not_found") and "shared with your integration" in message
    assert error(call(fake, "PATCH", f"pages/{card}", {"properties": {}}))[0] == 404
