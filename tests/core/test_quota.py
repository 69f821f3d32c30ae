"""YouTube's quota: the next Pacific midnight (PST and PDT), and what a publish costs."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.core.quota import DAILY_UNITS, DAILY_UPLOADS, next_reset, publish_cost


def test_the_quota_resets_at_the_next_midnight_pacific_in_winter_and_summer() -> None:
    assert next_reset(datetime(2026, 12, 7, 1, 0, tzinfo=UTC)) == datetime(
        2026, 12, 7, 8, tzinfo=UTC
    )
    assert next_reset(datetime(2026, 12, 7, 8, 0, tzinfo=UTC)) == datetime(
        2026, 12, 8, 8, tzinfo=UTC
    )
    assert next_reset(datetime(2026, 7, 1, 6, 59, tzinfo=UTC)) == datetime(
        2026, 7, 1, 7, tzinfo=UTC
    )
    # the day the clocks go back (2026-11-01): midnight the next day is PST again
    assert next_reset(datetime(2026, 11, 1, 12, tzinfo=UTC)) == datetime(2026, 11, 2, 8, tzinfo=UTC)


def test_a_publish_costs_one_upload_and_the_units_of_the_calls_after_it() -> None:
    cost = publish_cost(thumbnail=True, captions=True, playlist=False)
    assert (cost.uploads, cost.units) == (1, 450)
    assert publish_cost(thumbnail=False, captions=False, playlist=True).units == 50
    assert (
        f"of {DAILY_UPLOADS} uploads" in cost.describe() and f"{DAILY_UNITS:,}" in cost.describe()
    )
