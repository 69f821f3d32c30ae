"""How big a plan may be, and why: every free-text field is capped at what the paid provider
that receives it accepts, and the file itself before it is parsed.

Characters are Python ``str`` characters (Unicode code points), as the providers count them.
"""

from __future__ import annotations

import re

__all__ = [
    "CONTROL",
    "MAX_BACKGROUND",
    "MAX_DEPTH",
    "MAX_FOREGROUND",
    "MAX_MOTION",
    "MAX_NARRATION",
    "MAX_NODES",
    "MAX_PLAN_BYTES",
    "MAX_PLAN_TITLE",
    "MAX_SCENES",
    "MAX_SCENE_TITLE",
    "MAX_SFX",
    "MAX_VOICE",
]

# What no text in a plan may hold: control characters other than tab, newline and CR.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# The file, before parsing. The 72-second demo plan is 6 KB; 1 MiB is hundreds of scenes.
MAX_PLAN_BYTES = 1024 * 1024
# A plan is five levels deep (plan → scenes → scene → layout → value). YAML anchors and aliases
# are allowed (shared prompts, ``<<: *defaults``) but what they expand to is counted, so a
# "billion laughs" plan is refused before it is built.
# A full plan (500 scenes, every field set) is about 13,000 values; PyYAML, in pure Python,
# takes about 40 µs a value, so 20,000 also bounds the time a hostile file costs (< 1 s).
MAX_DEPTH = 32
MAX_NODES = 20_000

MAX_SCENES = 500
MAX_PLAN_TITLE = 500
# Scene titles go into Gemini's background prompt and onto the picture's caption.
MAX_SCENE_TITLE = 200

# background / foreground → Gemini image generation (scripts/_gemini.py, model
# gemini-2.5-flash-image), which wraps them in about 200 characters of its own. Gemini itself
# takes far longer input (32,768 tokens for gemini-2.5-flash-image per its model card,
# ai.google.dev/gemini-api/docs/models; from memory, not re-checked), so the cap is ours:
# Google's Imagen models take 480 tokens (about 2,000 characters; also unverified here), and a
# longer picture prompt only dilutes the picture while costing input tokens. 2,000 keeps a plan
# portable to either.
MAX_BACKGROUND = 2_000
MAX_FOREGROUND = 2_000

# motion → Kling image2video ``prompt``, to which scripts/_kling.py appends about 60
# characters: "length must be between 1 and 2500 characters" (Kling API docs, Image to Video;
# also docs.comfy.org/built-in-nodes/KlingOmniProImageToVideoNode, which wraps that API).
MAX_MOTION = 2_400

# narration → ElevenLabs text to speech: eleven_multilingual_v2 (our default) takes up to
# 10,000 characters a request, flash/turbo v2.5 40,000 (help.elevenlabs.io/hc/en-us/articles/
# 13298164480913); eleven_v3 about 5,000 (openrouter.ai/provider/elevenlabs, unconfirmed), and
# the ElevenLabs web app 5,000 on paid plans. 5,000 fits every model.
MAX_NARRATION = 5_000

# sfx → ElevenLabs sound generation ``text``: 1 to 450 characters
# (docs.comfy.org/built-in-nodes/ElevenLabsTextToSoundEffects, which wraps that API; the
# ElevenLabs API reference we read states no maximum).
MAX_SFX = 450

# voice → an eSpeak NG voice name (the longest, "English (America, New York City)", has 32
# characters) or an ElevenLabs voice id (20): see flows/core/voices.py.
MAX_VOICE = 100
