"""The masking rule: our credentials and URL passwords always, other values only when they
look like secrets; secret flags on a command line."""

from __future__ import annotations

import pytest

from flows.core.redact import Redactor, is_secret_flag, looks_like_secret, url_secrets


@pytest.mark.parametrize(
    "value", ["default", "true", "profile", "production", "default-profile", "us", "eu-west"]
)
def test_short_or_common_words_never_look_like_secrets(value: str) -> None:
    assert not looks_like_secret(value)


@pytest.mark.parametrize(
    "value",
    ["sk-live-CANARY-123456", "AIzaSyFAKE-gemini-canary-3c1f9e77", "Tr0ub4dor&3",
     "hunter2-hunter2", "qwhxkzprvmbtnlcjdgfsaeyo"],
)  # fmt: skip
def test_keys_and_passwords_look_like_secrets(value: str) -> None:
    assert looks_like_secret(value)


def test_an_ordinary_word_in_a_secret_named_variable_masks_nothing() -> None:
    redactor = Redactor.for_run({}, [], ambient={"AWS_KEY_PROFILE": "default"})
    assert redactor.text("output/default/tiny/a.png") == "output/default/tiny/a.png"


def test_declared_credentials_and_prefect_auth_are_masked_whatever_they_look_like() -> None:
    redactor = Redactor.for_run(
        {"SERVICE_API_KEY": "plainword"}, [], credentials=["SERVICE_API_KEY"],
        ambient={"PREFECT_API_AUTH_STRING": "admin:longpassword"}, extra=["pnu_abcd1234"],
    )  # fmt: skip
    text = "plainword admin:longpassword longpassword pnu_abcd1234"
    assert redactor.text(text) == "*** *** *** ***"


def test_url_passwords_are_masked_short_ones_inside_the_url_only() -> None:
    assert url_secrets("http://example.com/no/password") == {}
    redactor = Redactor.for_run(
        {"PROXY": "http://u:pw@proxy:3128"}, [],
        ambient={"REELFLOW_DATABASE_URL": "postgresql+asyncpg://app:s3cret%21@db/reelflow"},
        urls=["postgresql://locks:hunter22@db/locks"],
    )  # fmt: skip
    text = (
        "db postgresql+asyncpg://app:s3cret%21@db/reelflow decoded s3cret! "
        "locks postgresql://locks:hunter22@db/locks hunter22 proxy http://u:pw@proxy:3128 pw"
    )
    assert redactor.text(text) == (
        "db postgresql+asyncpg://app:***@db/reelflow decoded *** "
        "locks postgresql://locks:***@db/locks *** proxy http://u:***@proxy:3128 pw"
    )


@pytest.mark.parametrize(
    "flag", ["--key", "--api-key", "--auth", "--access-token", "--client-secret", "--password",
             "--secret-key", "--credentials", "--API_KEY"],
)  # fmt: skip
def test_secret_flags(flag: str) -> None:
    assert is_secret_flag(flag)


@pytest.mark.parametrize("flag", ["--keyframe", "--author", "--model", "--provider", "-k"])
def test_other_flags_are_not_secret(flag: str) -> None:
    assert not is_secret_flag(flag)


def test_flag_values_are_masked_in_args_and_everywhere_else() -> None:
    args = ["--key", "k-value-1", "--auth=a-value-2", "--model", "m"]
    redactor = Redactor.for_run({}, args)
    assert redactor.args(args) == ["--key", "***", "--auth=***", "--model", "m"]
    assert redactor.text("k-value-1 a-value-2 m") == "*** *** m"


def test_the_stream_redactor_uses_the_url_replacement_across_chunks() -> None:
    redactor = Redactor.for_run({"DB": "postgresql://u:pw@h/d"}, [])
    stream = redactor.stream()
    data = b"connect postgresql://u:pw@h/d now"
    out = b"".join(stream.feed(data[i : i + 3]) for i in range(0, len(data), 3)) + stream.finish()
    assert out == b"connect postgresql://u:***@h/d now"
