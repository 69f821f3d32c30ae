"""Credentials for the media providers: secrets only."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr


class GeminiCredentials(Block):
    """An API key for Google's Gemini API (image generation)."""

    _block_type_name = "Reelflow Gemini Credentials"
    _block_type_slug = "reelflow-gemini-credentials"

    api_key: SecretStr = Field(description="A Gemini API key.")


class KlingCredentials(Block):
    """Kling's access key and secret key (they sign a short-lived JWT per request)."""

    _block_type_name = "Reelflow Kling Credentials"
    _block_type_slug = "reelflow-kling-credentials"

    access_key: SecretStr = Field(description="The Kling access key.")
    secret_key: SecretStr = Field(description="The Kling secret key.")


class ElevenLabsCredentials(Block):
    """An API key for ElevenLabs (speech and sound effects)."""

    _block_type_name = "Reelflow ElevenLabs Credentials"
    _block_type_slug = "reelflow-elevenlabs-credentials"

    api_key: SecretStr = Field(description="An ElevenLabs API key (xi-api-key).")
