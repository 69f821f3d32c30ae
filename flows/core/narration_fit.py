"""Whether each scene's narration fits its scene, and scenes lengthened to their speech.

The assembly cuts a narration at its scene's end. A plan says what it wants per scene
(``fit``, or the plan's ``fit``): ``cut`` (the default: cut, and say so) or ``extend`` (the
scene is lengthened to the speech). Two measures:

* an estimate from the text, before anything is made (``estimate_speech``): characters at
  the voice's speaking rate, counted at six characters a word (five letters and a space, the
  usual "standard word"). eSpeak NG speaks 175 words a minute by default (its ``-s`` option),
  so 17.5 characters a second; on the 13 narrations of examples/documentary.yaml (voice en)
  the estimate came to 0.93-1.20 times the measured speech (mean 1.07). ElevenLabs' voices
  are taken at 150 words a minute (a common figure for them, not measured here);
* the measured length of the narration once it is made (the narration step's ``duration``).

Only narration is measured ahead: it does not depend on a scene's length, so the pipeline
makes it before the clips when a scene may extend (flows/planning/fit.py), and every clip is
made once, at its final length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from flows.core.manifest import Manifest, Scene, parse_manifest
from flows.core.voices import ELEVENLABS_VOICE_ID

__all__ = [
    "ELEVENLABS_WPM",
    "ESPEAK_WPM",
    "FitNote",
    "estimate_speech",
    "estimated_notes",
    "extend_to_speech",
    "fit_of",
    "measured_notes",
    "needs_speech_first",
    "scene_length_for",
]

ESPEAK_WPM = 175  # eSpeak NG's default rate (espeak-ng --help: "-s <integer> ... default is 175")
ELEVENLABS_WPM = 150
CHARACTERS_PER_WORD = 6
TAIL_SECONDS = 0.4  # silence kept after the last word of an extended scene
STEP_SECONDS = 0.1  # extended durations are rounded up to this


@dataclass(frozen=True)
class FitNote:
    """A scene whose narration is (or is estimated to be) longer than the scene."""

    scene: str
    index: int
    speech: float
    duration: float
    fit: str
    measured: bool

    def message(self) -> str:
        how = "is" if self.measured else "is estimated at"
        where = f"scene {self.scene!r} (#{self.index})"
        said = f"{where}: narration {how} {self.speech:.1f} s, the scene {self.duration:g} s"
        if self.fit == "extend":
            return f"{said}: the scene is extended to {scene_length_for(self.speech):g} s"
        return f"{said}: it is cut at {self.duration:g} s (set `fit: extend` to lengthen it)"


def fit_of(plan: Manifest, scene: Scene) -> str:
    """``cut`` or ``extend``: the scene's own fit, else the plan's."""
    return scene.fit or plan.fit


def words_per_minute(voice: str) -> int:
    """The speaking rate a voice is estimated at (an ElevenLabs id, else eSpeak NG)."""
    return ELEVENLABS_WPM if ELEVENLABS_VOICE_ID.fullmatch(voice) else ESPEAK_WPM


def estimate_speech(text: str, voice: str = "en") -> float:
    """Seconds ``text`` takes to say, estimated from its characters at the voice's rate."""
    characters = len(" ".join(text.split()))
    per_second = words_per_minute(voice) * CHARACTERS_PER_WORD / 60
    return characters / per_second


def scene_length_for(speech: float) -> float:
    """A scene long enough for ``speech`` seconds of narration and a short tail."""
    return math.ceil((speech + TAIL_SECONDS) / STEP_SECONDS - 1e-9) * STEP_SECONDS


def estimated_notes(plan: Manifest) -> list[FitNote]:
    """Scenes whose narration is estimated not to fit, from the text alone."""
    speech = {s.id: estimate_speech(s.narration, plan.voice_of(s)) for s in plan.scenes}
    return _notes(plan, speech, measured=False)


def measured_notes(plan: Manifest, speech: Mapping[str, float | None]) -> list[FitNote]:
    """Scenes whose narration, as made (``speech``: scene id → seconds), is too long."""
    return _notes(plan, speech, measured=True)


def _notes(plan: Manifest, speech: Mapping[str, float | None], *, measured: bool) -> list[FitNote]:
    notes = []
    for index, scene in enumerate(plan.scenes, start=1):
        seconds = speech.get(scene.id)
        if seconds is not None and seconds > scene.duration:
            fit = fit_of(plan, scene)
            notes.append(FitNote(scene.id, index, seconds, scene.duration, fit, measured))
    return notes


def needs_speech_first(plan: Manifest) -> bool:
    """Whether any scene may be extended: then narration is made before the clips."""
    return any(fit_of(plan, scene) == "extend" for scene in plan.scenes)


def extend_to_speech(plan: Manifest, speech: Mapping[str, float | None]) -> Manifest:
    """The plan with every ``extend`` scene lengthened to its measured narration (never
    shortened); the same plan object when nothing changes."""
    data = plan.model_dump(mode="json", exclude_unset=True)
    changed = False
    for raw, scene in zip(data["scenes"], plan.scenes, strict=True):
        seconds = speech.get(scene.id)
        if fit_of(plan, scene) != "extend" or seconds is None or seconds <= scene.duration:
            continue
        raw["duration"] = min(scene_length_for(seconds), 120.0)  # the manifest's cap
        changed = True
    return parse_manifest(data, source="plan extended to its narration") if changed else plan
