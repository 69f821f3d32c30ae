"""Reelflow's Prefect blocks: configuration and credentials only.

Registered with ``prefect block register -m blocks`` (``reelflow setup`` does it for you).
"""

from blocks.channel import Channel
from blocks.notion import NotionBoard
from blocks.providers import ElevenLabsCredentials, GeminiCredentials, KlingCredentials
from blocks.youtube import YouTubeCredentials

__all__ = [
    "Channel",
    "ElevenLabsCredentials",
    "GeminiCredentials",
    "KlingCredentials",
    "NotionBoard",
    "YouTubeCredentials",
]
