"""The six steps and their items, without Prefect: what each item runs, and its cache key.

An item is one unit of paid or slow work (a picture, a clip, a line of narration). Its cache
key hashes everything its output depends on: the script's content and registry entry, the
provider and model, the item's input, and the content of the upstream files it reads. Edit
one scene's narration and only that narration item, and the assembly that reads its file,
get new keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.core.errors import ConfigError
from flows.core.manifest import Manifest
from flows.core.registry import ScriptSpec

__all__ = [
    "ERROR_STATUS",
    "STATUS",
    "STEPS",
    "Item",
    "ItemResult",
    "VideoPaths",
    "cache_key",
    "file_digest",
    "plan_items",
]

STEPS = ("assets", "composites", "video", "narration", "sfx", "assembly")
SCRIPT = {
    "assets": "generate_asset",
    "composites": "create_composite",
    "video": "generate_video",
    "narration": "generate_audio",
    "sfx": "generate_sfx",
    "assembly": "assemble_video",
}
STATUS = {
    "assets": "generating_assets",
    "composites": "generating_composites",
    "video": "generating_video",
    "narration": "generating_audio",
    "sfx": "generating_sfx",
    "assembly": "assembling",
}
ERROR_STATUS = {
    "assets": "asset_error",
    "composites": "composite_error",
    "video": "video_error",
    "narration": "audio_error",
    "sfx": "sfx_error",
    "assembly": "assembly_error",
}
AUDIO_EXTENSION = {"elevenlabs": ".mp3"}
NOUN = {
    "assets": "image",
    "composites": "composite",
    "video": "video clip",
    "narration": "narration",
    "sfx": "sound effect",
    "assembly": "assembly",
}


@dataclass(frozen=True)
class VideoPaths:
    """``<output root>/<channel>/<project id>/<step>/…`` for one video."""

    root: Path

    @classmethod
    def for_video(cls, output_root: Path, channel: str, project_id: str) -> VideoPaths:
        """The video's folder; a ConfigError if it would not be inside ``output_root``.

        Channel names and project ids are validated where they enter (names.py, the
        manifest); this is the second line of defence against writing outside the root.
        """
        for what, part in (("channel", channel), ("project id", project_id)):
            if not part or part in (".", "..") or Path(part).name != part or "\\" in part:
                raise ConfigError(f"{what} {part!r} is not a plain folder name")
        root = output_root / channel / project_id
        resolved, base = root.resolve(), output_root.resolve()
        if resolved == base or not resolved.is_relative_to(base):
            raise ConfigError(
                f"video folder {str(root)!r} is outside the output root {str(base)!r}"
            )
        return cls(root)

    def step(self, step: str) -> Path:
        return self.root / step

    def final(self, project_id: str) -> Path:
        return self.step("assembly") / f"{project_id}.mp4"


@dataclass(frozen=True)
class Item:
    """One unit of work in a step: a script run with its input and the files it reads."""

    step: str
    key: str
    script: str
    provider: str
    model: str | None
    input: dict[str, Any]
    upstream: tuple[str, ...] = ()
    where: str = ""  # "scene 'storm' (#3)": for errors; not part of the cache key

    @property
    def label(self) -> str:
        return f"{self.step}/{self.key}"

    def describe(self) -> str:
        """Where this item is, for a person: ``scene 'storm' (#3), video clip``."""
        noun = NOUN.get(self.step, self.step)
        return f"{self.where}, {noun}" if self.where else noun

    @property
    def output(self) -> Path:
        return Path(self.input["output"])


@dataclass(frozen=True)
class ItemResult:
    """What an item made: the file, its content hash, how long the media is, what it cost."""

    label: str
    output: str
    sha256: str
    duration: float | None
    cost_usd: float
    provider: str
    model: str | None
    execution_id: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def is_intact(self) -> bool:
        """Whether the file is still there with the content this result recorded."""
        path = Path(self.output)
        return path.is_file() and file_digest(path) == self.sha256


def plan_items(
    manifest: Manifest,
    step: str,
    paths: VideoPaths,
    providers: dict[str, str],
    models: dict[str, str] | None = None,
) -> list[Item]:
    """The items of ``step`` for ``manifest``, in scene order."""
    provider = providers.get(step, "local")
    model = (models or {}).get(step)
    build = _BUILDERS[step]
    number = {scene.id: n for n, scene in enumerate(manifest.scenes, start=1)}

    def where(key: str) -> str:
        scene = key.split("/", 1)[0]
        return f"scene {scene!r} (#{number[scene]})" if scene in number else ""

    return [
        Item(step, key, SCRIPT[step], provider, model, payload, tuple(upstream), where(key))
        for key, payload, upstream in build(manifest, paths, providers)
    ]


def audio_path(paths: VideoPaths, step: str, scene_id: str, providers: dict[str, str]) -> Path:
    """Where a narration or sound effect goes: its extension follows the provider's format."""
    extension = AUDIO_EXTENSION.get(providers.get(step, "local"), ".wav")
    return paths.step(step) / f"{scene_id}{extension}"


_Spec = tuple[str, dict[str, Any], list[str]]


def _assets(m: Manifest, paths: VideoPaths, providers: dict[str, str]) -> Iterable[_Spec]:
    for scene in m.scenes:
        for kind, prompt in (("background", scene.background), ("foreground", scene.foreground)):
            if prompt:
                out = paths.step("assets") / f"{scene.id}-{kind}.png"
                yield (
                    f"{scene.id}/{kind}",
                    {
                        "prompt": prompt,
                        "title": scene.title,
                        "kind": kind,
                        "width": m.width,
                        "height": m.height,
                        "seed": None,
                        "output": str(out),
                    },
                    [],
                )


def _composites(m: Manifest, paths: VideoPaths, providers: dict[str, str]) -> Iterable[_Spec]:
    assets = paths.step("assets")
    for scene in m.scenes:
        background = str(assets / f"{scene.id}-background.png")
        foreground = str(assets / f"{scene.id}-foreground.png") if scene.foreground else None
        yield (
            scene.id,
            {
                "background": background,
                "foreground": foreground,
                "layout": scene.layout.model_dump(),
                "width": m.width,
                "height": m.height,
                "output": str(paths.step("composites") / f"{scene.id}.png"),
            },
            [p for p in (background, foreground) if p],
        )


def _video(m: Manifest, paths: VideoPaths, providers: dict[str, str]) -> Iterable[_Spec]:
    for scene in m.scenes:
        image = str(paths.step("composites") / f"{scene.id}.png")
        yield (
            scene.id,
            {
                "image": image,
                "motion": scene.motion,
                "duration": scene.duration,
                "width": m.width,
                "height": m.height,
                "fps": m.fps,
                "output": str(paths.step("video") / f"{scene.id}.mp4"),
            },
            [image],
        )


def _narration(m: Manifest, paths: VideoPaths, providers: dict[str, str]) -> Iterable[_Spec]:
    for scene in m.scenes:
        yield (
            scene.id,
            {
                "text": scene.narration,
                "voice": m.voice_of(scene),
                "output": str(audio_path(paths, "narration", scene.id, providers)),
            },
            [],
        )


def _sfx(m: Manifest, paths: VideoPaths, providers: dict[str, str]) -> Iterable[_Spec]:
    for scene in m.scenes:
        if scene.sfx:
            yield (
                scene.id,
                {
                    "prompt": scene.sfx,
                    "duration": scene.duration,
                    "output": str(audio_path(paths, "sfx", scene.id, providers)),
                },
                [],
            )


def _assembly(m: Manifest, paths: VideoPaths, providers: dict[str, str]) -> Iterable[_Spec]:
    scenes, upstream = [], []
    for scene in m.scenes:
        files = {
            "clip": str(paths.step("video") / f"{scene.id}.mp4"),
            "narration": str(audio_path(paths, "narration", scene.id, providers)),
            "sfx": str(audio_path(paths, "sfx", scene.id, providers)) if scene.sfx else None,
        }
        upstream += [f for f in files.values() if f]
        scenes.append({**files, "text": scene.narration, "duration": scene.duration})
    yield (
        "final",
        {
            "scenes": scenes,
            "width": m.width,
            "height": m.height,
            "fps": m.fps,
            "burn_subtitles": m.burn_subtitles,
            "output": str(paths.final(m.project_id)),
        },
        upstream,
    )


_BUILDERS = {
    "assets": _assets,
    "composites": _composites,
    "video": _video,
    "narration": _narration,
    "sfx": _sfx,
    "assembly": _assembly,
}


def cache_key(item: Item, script: ScriptSpec) -> str:
    """The item's cache key: script content and entry, provider, model, input, upstream files."""
    digest = hashlib.sha256()
    digest.update(script.fingerprint().encode())
    for helper in sorted(script.path.parent.glob("_*.py")):
        digest.update(helper.read_bytes())  # shared helpers change behaviour too
    described = {"provider": item.provider, "model": item.model, "input": item.input}
    digest.update(json.dumps(described, sort_keys=True, default=str).encode())
    for path in item.upstream:
        digest.update(file_digest(Path(path)).encode())
    return f"reelflow-{item.step}-{digest.hexdigest()}"


_digests: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content ("missing" when absent), memoised on size, mtime and inode."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "missing"
    memo = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if memo not in _digests:
        with path.open("rb") as handle:
            _digests[memo] = hashlib.file_digest(handle, "sha256").hexdigest()
    return _digests[memo]
