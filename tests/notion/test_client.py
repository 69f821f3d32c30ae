"""flows.notion.client: errors translated, one retry layer, pagination (against the fake
Notion over HTTP; no Prefect)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from notion_client.errors import RequestTimeoutError, build_request_error
from pydantic import SecretStr

from flows.core.errors import NotionError
from flows.notion.client import (
    NotionCaller,
    NotionRateLimited,
    RetryPolicy,
    backoff,
    classify,
    data_source_of,
    list_children,
    open_client,
    query_all,
    retry_after,
)
from flows.notion.schema import BoardConfig
from tests.notion.fake import FakeNotion

pytest_plugins = ["tests.notion.fixtures"]

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02, max_inline_wait=1.5)


def board(**changes: Any) -> BoardConfig:
    values: dict[str, Any] = {"token": SecretStr("secret_x"), "database_id": "db", **changes}
    return BoardConfig(**values)


def http_error(status: int, body: Any, headers: dict[str, str] | None = None) -> Exception:
    text = body if isinstance(body, str) else json.dumps(body)
    response = httpx.Response(status, text=text, headers=headers)
    return build_request_error(response, text)


def notion_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"object": "error", "status": status, "code": code, "message": message}


@pytest.mark.parametrize(
    ("status", "body", "code", "transient"),
    [
        (400, notion_body(400, "validation_error", "Cost is not a property that exists."),
         "validation_error", False),
        (401, notion_body(401, "unauthorized", "API token is invalid."), "unauthorized", False),
        (403, notion_body(403, "restricted_resource", "No access."), "restricted_resource", False),
        (404, notion_body(404, "object_not_found", "Could not find page."), "object_not_found",
         False),
        (409, notion_body(409, "conflict_error", "Conflict."), "conflict_error", False),
        (500, notion_body(500, "internal_server_error", "Oops."), "internal_server_error", True),
        (502, "<html>502 Bad Gateway</html>", "notionhq_client_response_error", True),
        (503, notion_body(503, "service_unavailable", "Later."), "service_unavailable", True),
        (504, notion_body(504, "gateway_timeout", "Slow."), "gateway_timeout", True),
        (529, notion_body(529, "service_overload", "Overloaded."), "service_overload", True),
    ],
)  # fmt: skip
def test_http_errors_are_classified_with_notions_code_and_message(
    status: int, body: Any, code: str, transient: bool
) -> None:
    error = classify(http_error(status, body))
    assert isinstance(error, NotionError)
    assert (error.status, error.code, error.transient) == (status, code, transient)  # type: ignore[attr-defined]
    if isinstance(body, dict):
        assert str(error) == f"Notion {status} {code}: {body['message']}"


def test_a_429_carries_its_retry_after_even_past_a_minute() -> None:
    error = classify(http_error(429, notion_body(429, "rate_limited", "Slow down."),
                                {"Retry-After": "3600"}))  # fmt: skip
    assert isinstance(error, NotionRateLimited) and error.retry_after == 3600
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    assert 115 < retry_after(httpx.Headers({"Retry-After": when})) <= 120
    assert retry_after(httpx.Headers({})) == 1.0


def test_timeouts_and_network_errors_are_transient_and_other_errors_are_not_ours() -> None:
    for exc in (RequestTimeoutError(), httpx.ConnectError("refused"), httpx.ReadError("reset")):
        error = classify(exc)
        assert error is not None and error.transient  # type: ignore[attr-defined]
    assert classify(ValueError("x")) is None


def test_backoff_doubles_up_to_its_ceiling_with_half_of_it_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert [backoff(n, policy, rng=lambda: 0.0) for n in range(5)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert [backoff(n, policy, rng=lambda: 1.0) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


# --- the caller, over HTTP ------------------------------------------------------------------


def caller(fake: FakeNotion, **changes: Any) -> NotionCaller:
    config = board(token=SecretStr(fake.token), database_id=fake.database_id, base_url=fake.url)
    return NotionCaller(open_client(config.model_copy(update=changes)), policy=FAST)


async def test_a_transient_error_is_retried_by_one_layer_only(fake_notion: FakeNotion) -> None:
    fake_notion.rate = 100
    fake_notion.fail(503, times=100)
    call = caller(fake_notion)
    with pytest.raises(NotionError, match="503 service_unavailable"):
        await data_source_of(call, fake_notion.database_id)
    await call.aclose()
    assert len(fake_notion.seen()) == FAST.attempts, "notion-client's own retries are off"


async def test_an_operation_that_must_not_repeat_is_tried_once(fake_notion: FakeNotion) -> None:
    fake_notion.rate = 100
    fake_notion.fail(503, times=5)
    call = caller(fake_notion)
    with pytest.raises(NotionError, match="503"):
        await call(lambda c: c.databases.retrieve(database_id=fake_notion.database_id), retry=False)
    await call.aclose()
    assert len(fake_notion.seen()) == 1


async def test_a_short_429_is_waited_out_and_a_long_one_is_raised(fake_notion: FakeNotion) -> None:
    fake_notion.rate = 100
    fake_notion.fail(429, times=1, retry_after=1)
    call = caller(fake_notion)
    assert await data_source_of(call, fake_notion.database_id) == fake_notion.data_source_id
    assert [s.status for s in fake_notion.seen()] == [429, 200]
    assert fake_notion.seen()[1].at - fake_notion.seen()[0].at >= 1.0
    fake_notion.fail(429, times=1, retry_after=120)
    with pytest.raises(NotionRateLimited) as raised:
        await data_source_of(call, fake_notion.database_id)
    await call.aclose()
    assert raised.value.retry_after == 120 and len(fake_notion.seen()) == 3


async def test_a_refused_token_is_raised_at_once_and_never_sent_elsewhere(
    fake_notion: FakeNotion,
) -> None:
    call = caller(fake_notion, token=SecretStr("secret_wrong"))
    with pytest.raises(NotionError, match="401 unauthorized: API token is invalid") as raised:
        await data_source_of(call, fake_notion.database_id)
    await call.aclose()
    assert len(fake_notion.seen()) == 1 and "secret_wrong" not in repr(raised.value.__dict__)


async def test_an_unreachable_board_is_a_transient_network_error() -> None:
    dead = FakeNotion()
    dead.port = 9  # discard: nothing listens
    call = caller(dead)
    with pytest.raises(NotionError, match="network error") as raised:
        await data_source_of(call, dead.database_id)
    await call.aclose()
    assert raised.value.transient  # type: ignore[attr-defined]


async def test_queries_and_page_bodies_follow_has_more_and_next_cursor(
    fake_notion: FakeNotion,
) -> None:
    fake_notion.rate, fake_notion.max_page_size = 100, 2
    queued = [fake_notion.add_card(f"card {i}") for i in range(5)]
    fake_notion.add_card("done", status="Approved")
    call = caller(fake_notion)
    where = {"property": "Status", "status": {"equals": "Queued"}}
    rows = await query_all(call, fake_notion.data_source_id, filter=where)
    assert [row["id"] for row in rows] == queued
    assert len(fake_notion.seen("POST", "data_sources")) == 3
    fake_notion.children[queued[0]] = [
        {"type": "paragraph", "paragraph": {"rich_text": []}, "id": str(i)} for i in range(5)
    ]
    assert len(await list_children(call, queued[0])) == 5
    await call.aclose()
