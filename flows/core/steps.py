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

    def output(self, project_id: str, fmt: str) -> Path:
        """The MP4 of one format: the final (landscape) one, or ``<project>-<format>.mp4``."""
        if fmt == "landscape":
            return self.final(project_id)
        return self.step("assembly") / f"{project_id}-{fmt}.mp4"

    def thumbnail(self, project_id: str) -> Path:
        return self.step("assembly") / f"{project_id}-thumbnail.jpg"

    def music(self, providers: dict[str, str]) -> Path:
        """Where a music bed made from the plan's prompt goes (``_music``: no scene's name)."""
        extension = AUDIO_EXTENSION.get(providers.get("sfx", "local"), ".wav")
        return self.step("sfx") / f"_music{extension}"


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
        noun = "music bed" if self.script == "generate_music" else NOUN.get(self.step, self.step)
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

    def model_for(script: str) -> str | None:  # the music bed's model is the channel's "music"
        return model if script == SCRIPT[step] else (models or {}).get(key_of(script))

    return [
        Item(step, key, script, provider, model_for(script), payload, tuple(upstream), where(key))
        for key, payload, upstream, script in _with_script(step, build(manifest, paths, providers))
    ]


def key_of(script: str) -> str:
    """The name a channel's ``models`` uses for a script that is not its step's own."""
    return "music" if script == "generate_music" else script


def _with_script(step: str, specs: Iterable[_Spec]) -> Iterable[tuple[Any, ...]]:
    """Each spec with its script: the step's, unless the spec names its own (the music bed)."""
    for spec in specs:
        yield (*spec, SCRIPT[step]) if len(spec) == 3 else spec


def audio_path(paths: VideoPaths, step: str, scene_id: str, providers: dict[str, str]) -> Path:
    """Where a narration or sound effect goes: its extension follows the provider's format."""
    extension = AUDIO_EXTENSION.get(providers.get(step, "local"), ".wav")
    return paths.step(step) / f"{scene_id}{extension}"


_Spec = tuple[str, dict[str, Any], list[str]] | tuple[str, dict[str, Any], list[str], str]


def _assets(m: Manifest, paths: VideoPaths, providers: dict[str, str]) -> Iterable[_Spec]:
    for scene in m.scenes:
        for kind, prompt in (("background", scene.background), ("foreground", scene.foreground)):
            if prompt:
                out = paths.step("assets") / f"{scene.id}-{kind}.png"
                yield (
                    f"{scene.id}/{kind}",
                    {
                        "prompt": prompt,
                        # local pictures would carry the title into the camera move (and be
                        # cut by a zoom): the assembly draws it over the moving picture
                        "title": "" if providers.get("assets", "local") == "local" else scene.title,
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
    if m.music is not None and m.music.prompt is not None:
        music = {"prompt": m.music.prompt, "mood": m.music.mood, "duration": m.duration,
                 "seed": m.music.seed, "output": str(paths.music(providers))}  # fmt: skip
        yield "music", music, [], "generate_music"
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
    """One item per format (``final`` is the landscape MP4, which also makes the thumbnail)."""
    scenes, upstream = [], []
    for scene in m.scenes:
        narration = audio_path(paths, "narration", scene.id, providers)
        files = {
            "clip": str(paths.step("video") / f"{scene.id}.mp4"),
            "narration": str(narration),
            "words": str(narration.with_suffix(".words.json")),
            "sfx": str(audio_path(paths, "sfx", scene.id, providers)) if scene.sfx else None,
        }
        upstream += [f for f in files.values() if f]
        layout = scene.layout.model_dump() if scene.foreground else None
        scenes.append({**files, "text": scene.narration, "title": scene.title,
                       "layout": layout, "duration": scene.duration})  # fmt: skip
    music = None
    if m.music is not None:
        bed = paths.music(providers) if m.music.prompt is not None else Path(m.music.file or "")
        bed_file = str(bed.expanduser().absolute())
        music = {"file": bed_file, "volume_db": m.music.volume_db}
        upstream.append(bed_file)
    common = {
        "scenes": scenes, "width": m.width, "height": m.height, "fps": m.fps,
        "captions": m.captions, "caption_style": m.caption_style.model_dump(),
        "music": music, "crossfade": m.crossfade, "loudness_lufs": m.loudness_target,
        "title": m.title,
    }  # fmt: skip
    for fmt in m.formats:
        thumbnail = str(paths.thumbnail(m.project_id)) if fmt == "landscape" else None
        output = str(paths.output(m.project_id, fmt))
        key = "final" if fmt == "landscape" else fmt
        yield key, {**common, "format": fmt, "thumbnail": thumbnail, "output": output}, upstream


_BUILDERS = {
    "assets": _assets,
    "composites": _composites,
    "video": _video,
    "narration": _narration,
    "sfx": _sfx,
    "assembly": _assembly,
}


def cache_key(item: Item, script: ScriptSpec) -> str:
    """The item's cache key: script content and entry, the helpers it imports (and the fonts
    when it uses them), provider, model, input, upstream files."""
    digest = hashlib.sha256()
    digest.update(script.fingerprint().encode())
    helpers, uses_fonts = script.helpers()
    for helper in helpers:  # the shared code it imports changes what it does too
        digest.update(helper.name.encode() + file_digest(helper).encode())
    if uses_fonts:  # captions and titles
        for font in sorted((script.path.parent / "fonts").glob("*")):
            digest.update(font.name.encode() + file_digest(font).encode())
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
