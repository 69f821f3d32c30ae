"""flows.notion.schema: our fields on a board's own schema, and how each status is shown."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from blocks import NotionBoard
from flows.notion.schema import (
    DEFAULT_STATUS_OPTIONS,
    FIELDS,
    BoardConfig,
    board_schema,
    map_board,
    normalized,
)
from tests.notion.workspace import notion_default_schema, reelflow_schema


def board(**changes: Any) -> BoardConfig:
    values: dict[str, Any] = {"token": SecretStr("secret_x"), "database_id": "db", **changes}
    return BoardConfig(**values)


def test_the_block_and_the_config_have_the_same_fields_and_defaults() -> None:
    block_fields = {
        name: field.default for name, field in NotionBoard.model_fields.items()
        if not name.startswith("_")
    }  # fmt: skip
    config_fields = {name: field.default for name, field in BoardConfig.model_fields.items()}
    assert block_fields.keys() == config_fields.keys()
    skip = {"status_options", "plan_hosts"}
    assert {k: v for k, v in block_fields.items() if k not in skip} == {
        k: v for k, v in config_fields.items() if k not in skip
    }
    block = NotionBoard(token="t", database_id="d")
    assert block.status_options == DEFAULT_STATUS_OPTIONS and block.plan_hosts == []


def test_a_default_notion_board_maps_every_status_to_an_option_of_its_group() -> None:
    mapped = map_board(board(), notion_default_schema())
    assert (mapped.title, mapped.status, mapped.status_kind) == ("Name", "Status", "status")
    assert mapped.options["queued"] == "Not started"
    assert mapped.options["generating_video"] == "In progress"
    assert mapped.options["awaiting_review"] == "In progress"
    assert mapped.options["approved"] == "Done"
    assert mapped.options["video_error"] == "Done"
    assert mapped.properties == {}, "nothing but the title and the status to write"
    assert mapped.missing[0] == "Video ID (number)" and len(mapped.missing) == len(FIELDS)


def test_a_status_option_of_the_same_name_ignoring_case_and_punctuation_wins() -> None:
    schema = notion_default_schema()
    options = schema["Status"]["status"]["options"]
    options.append({"id": "aw", "name": "awaiting-review", "color": "yellow"})
    schema["Status"]["status"]["groups"][1]["option_ids"].append("aw")
    mapped = map_board(board(), schema)
    assert mapped.options["awaiting_review"] == "awaiting-review"
    assert normalized("In-Progress!") == normalized("in progress")


def test_a_status_without_groups_falls_back_to_its_first_option() -> None:
    schema = notion_default_schema()
    schema["Status"]["status"]["groups"] = []
    assert map_board(board(), schema).options["approved"] == "Not started"


def test_a_select_status_gets_our_names_and_keeps_an_existing_spelling() -> None:
    schema = {"Name": {"type": "title", "title": {}},
              "Stage": {"type": "select", "select": {"options": [{"name": "queued"}]}}}  # fmt: skip
    mapped = map_board(board(status_property="Stage"), schema)
    assert mapped.status_kind == "select"
    assert mapped.options["queued"] == "queued", "no second option differing only in case"
    assert mapped.options["approved"] == "Approved", "a select makes it on write"


def test_fields_map_to_properties_of_a_compatible_type_and_the_rest_is_named() -> None:
    schema = reelflow_schema()
    schema["Cost"] = {"type": "rich_text", "rich_text": {}}  # text: compatible
    schema["Duration"] = {"type": "checkbox", "checkbox": {}}  # not
    schema["Title"] = schema.pop("Name")  # the title under another name is still the title
    mapped = map_board(board(), schema)
    assert mapped.title == "Title"
    assert mapped.properties["cost"] == ("Cost", "rich_text")
    assert mapped.properties["output"] == ("Output", "rich_text")
    assert "duration" not in mapped.properties
    assert mapped.wrong == ("Duration is checkbox, expected number or rich_text",)
    assert mapped.missing == ()
    del schema["Review"], schema["Decision"]
    assert map_board(board(), schema).missing == ("Review (url)", "Decision (rich_text)")


def test_the_only_status_property_is_used_when_the_configured_name_is_absent() -> None:
    schema = notion_default_schema()
    schema["State"] = schema.pop("Status")
    assert map_board(board(), schema).status == "State"


def test_the_full_schema_has_every_field_and_a_select_status_with_our_options() -> None:
    schema = board_schema(board())
    assert schema["Name"] == {"title": {}}
    options = schema["Status"]["select"]["options"]
    assert [o["name"] for o in options] == list(DEFAULT_STATUS_OPTIONS.values())
    colours = {o["name"]: o["color"] for o in options}
    assert (colours["Queued"], colours["Assembling"], colours["Approved"]) == (
        "gray", "blue", "green",
    )  # fmt: skip
    assert colours["Video Error"] == "red" and colours["Awaiting Review"] == "yellow"
    assert schema["Cost"] == {"number": {"format": "dollar"}}
    assert schema["Output"] == {"url": {}} and schema["Review"] == {"url": {}}
    assert schema["Channel"] == {"select": {}} and schema["Updated"] == {"date": {}}
    assert list(board_schema(board(), ["video_id"])) == ["Video ID"]
