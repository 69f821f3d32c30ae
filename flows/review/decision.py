"""The reviewer's answer: a decision, and per-scene changes, as the Prefect UI's form.

Field types are the ones the pinned Prefect UI renders well: a ``Literal`` select, plain
``str`` fields defaulting to "" (``str | None`` renders as a "str"/"None" type picker), and
a per-video form whose scene is a select of that video's own scene ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from prefect.input import RunInput
from pydantic import BaseModel, Field, create_model, model_validator

from flows.core.manifest import CHANGEABLE_FIELDS

__all__ = ["ReviewDecision", "SceneChange", "decision_form"]


def _no_nones(data: Any) -> Any:
    """A form's input without its None values: None (older clients and forms) means
    unchanged or empty, as "" does."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v is not None}
    return data


class SceneChange(BaseModel):
    """New text for one scene: any of its prompts, its motion or its narration.

    Fields are plain strings, "" meaning unchanged: Prefect's UI renders ``str | None`` as a
    type picker ("str" / "None") that reviewers cannot be expected to understand.
    """

    scene: str = Field(description="The scene's id.")
    title: str = Field(default="", description="New title (empty: unchanged).")
    background: str = Field(default="", description="New background prompt (empty: unchanged).")
    foreground: str = Field(default="", description="New foreground prompt (empty: unchanged).")
    motion: str = Field(default="", description="New camera move (empty: unchanged).")
    narration: str = Field(default="", description="New narration text (empty: unchanged).")
    sfx: str = Field(default="", description="New sound-effect prompt (empty: unchanged).")

    @model_validator(mode="before")
    @classmethod
    def _none_is_unchanged(cls, data: Any) -> Any:
        return _no_nones(data)

    @model_validator(mode="after")
    def _sets_something(self) -> SceneChange:
        if not self.changed_fields():
            raise ValueError(f"a change to scene {self.scene!r} must set at least one field")
        return self

    def changed_fields(self) -> dict[str, str]:
        """The fields this change sets (non-blank), by name."""
        return {f: v for f in CHANGEABLE_FIELDS if (v := getattr(self, f)).strip()}

    def as_change(self) -> dict[str, str]:
        """``{"scene": id, field: new text, …}``, what the plan's apply_changes takes."""
        return {"scene": self.scene, **self.changed_fields()}


class ReviewDecision(RunInput):
    """A reviewer's decision on a finished video.

    ``decision`` has no default: a form submitted without a choice is refused (by the form
    and by the server's check of the input against this schema), never taken as approval.
    """

    decision: Literal["approve", "reject", "request_changes"] = Field(
        description="Approve it, reject it (with a reason), or ask for changes to scenes.",
    )
    reason: str = Field(default="", description="Why it is rejected (required then).")
    notes: str = Field(default="", description="Anything the team should know.")
    reviewer: str = Field(default="", description="Who decided.")
    changes: list[SceneChange] = Field(
        default_factory=list, description="For request_changes: what to change, per scene."
    )

    @model_validator(mode="before")
    @classmethod
    def _none_is_empty(cls, data: Any) -> Any:
        return _no_nones(data)

    @model_validator(mode="after")
    def _complete(self) -> ReviewDecision:
        if self.decision == "reject" and not self.reason.strip():
            raise ValueError("a rejection needs a reason")
        if self.decision == "request_changes" and not self.changes:
            raise ValueError("request_changes needs at least one scene change")
        return self


def decision_form(scene_ids: Sequence[str]) -> type[ReviewDecision]:
    """The review form of one video: a change's scene is chosen from the video's own scene
    ids (a select in the UI; any other id is refused when the run is resumed)."""
    if not scene_ids:
        return ReviewDecision
    scene_id: Any = Literal[tuple(scene_ids)]
    change = create_model(
        "SceneChange",
        __base__=SceneChange,
        scene=(scene_id, Field(description="The scene to change.")),
    )
    return create_model(
        "ReviewDecision",
        __base__=ReviewDecision,
        changes=(
            list[change],
            Field(default_factory=list, description="For request_changes: what to change."),
        ),
    )
