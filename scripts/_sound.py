"""Sound-effect recipes for the local sfx provider: ffmpeg lavfi sources shaped by filters.

Each layer has trigger words and one or more mono filter chains. ``{d}`` is the source
length in seconds, ``{s}`` a seed (so the same prompt gives the same noise), ``{t0}`` when a
one-off event (thunder, impact) happens. ``plan(prompt, duration)`` picks the layers and
returns the ``-filter_complex`` graph for a stereo mix of exactly the asked length.
"""

from __future__ import annotations

import re
import zlib

SAMPLE_RATE = 44100
_SR = f"r={SAMPLE_RATE}"
_EVAL = f"s={SAMPLE_RATE}"

LAYERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "wind": (
        "wind breeze gust gale windy blowing",
        (
            f"anoisesrc=c=pink:{_SR}:a=0.9:d={{d}}:seed={{s}},highpass=f=80,lowpass=f=600,"
            "volume='0.35+0.3*sin(2*PI*0.17*t)+0.2*sin(2*PI*0.05*t+1)':eval=frame",
        ),
    ),
    "rain": (
        "rain drizzle shower downpour raindrop storm",
        (
            f"anoisesrc=c=white:{_SR}:a=0.3:d={{d}}:seed={{s}},highpass=f=1500,lowpass=f=9000",
            f"anoisesrc=c=velvet:density=0.004:{_SR}:a=0.5:d={{d}}:seed={{s}},highpass=f=2500",
        ),
    ),
    "waves": (
        "ocean sea wave surf shore beach tide",
        (
            f"anoisesrc=c=brown:{_SR}:a=0.9:d={{d}}:seed={{s}},lowpass=f=900,"
            "volume='0.15+0.85*pow(sin(PI*t/6),2)':eval=frame",
        ),
    ),
    "water": (
        "water stream river brook creek waterfall splash fountain trickle",
        (
            f"anoisesrc=c=pink:{_SR}:a=0.6:d={{d}}:seed={{s}},bandpass=f=1100:t=o:w=1.5,"
            "tremolo=f=6:d=0.35,volume=1.8",
        ),
    ),
    "bubbles": (
        "bubble underwater gurgle bubbling",
        (
            f"aevalsrc='0.35*sin(2*PI*t*(300+1400*mod(t*2.7,1)))*exp(-9*mod(t*2.7,1))':{_EVAL}"
            ":d={d},lowpass=f=2500",
            f"anoisesrc=c=brown:{_SR}:a=0.4:d={{d}}:seed={{s}},lowpass=f=300",
        ),
    ),
    "crowd": (
        "crowd chatter people voice murmur audience market applause",
        (
            f"anoisesrc=c=pink:{_SR}:a=0.6:d={{d}}:seed={{s}},bandpass=f=700:t=o:w=2,"
            "tremolo=f=5:d=0.5,tremolo=f=1.3:d=0.3",
        ),
    ),
    "traffic": (
        "traffic car road street city highway",
        (
            f"anoisesrc=c=brown:{_SR}:a=0.8:d={{d}}:seed={{s}},lowpass=f=400,"
            "volume='0.5+0.4*sin(2*PI*0.11*t)':eval=frame",
        ),
    ),
    "engine": (
        "engine hum motor machine generator drone boat",
        (
            f"aevalsrc='0.25*sin(2*PI*55*t)+0.15*sin(2*PI*110*t)+0.07*sin(2*PI*165*t)'"
            f":{_EVAL}:d={{d}},tremolo=f=11:d=0.25",
        ),
    ),
    "thunder": (
        "thunder explosion boom blast rumble",
        (
            f"aevalsrc='(2*random(0)-1)*if(gte(t,{{t0}}),exp(-1.6*(t-{{t0}})),0)':{_EVAL}:d={{d}},"
            "lowpass=f=220,lowpass=f=220,volume=3",
        ),
    ),
    "impact": (
        "impact hit slam punch thud crash collision",
        (
            f"aevalsrc='(2*random(0)-1)*exp(-25*abs(t-{{t0}}))*gte(t,{{t0}})"
            f"+0.9*sin(2*PI*70*t)*exp(-12*(t-{{t0}}))*gte(t,{{t0}})':{_EVAL}:d={{d}},lowpass=f=1200",
        ),
    ),
    "fire": (
        "fire flame crackle campfire fireplace burning",
        (
            f"anoisesrc=c=brown:{_SR}:a=0.5:d={{d}}:seed={{s}},lowpass=f=500",
            f"anoisesrc=c=velvet:density=0.0006:{_SR}:a=1:d={{d}}:seed={{s}},highpass=f=900,"
            "lowpass=f=6000",
        ),
    ),
    "birds": (
        "bird birdsong chirp song tweet gull seagull heron",
        (
            f"aevalsrc='0.2*sin(2*PI*t*(2800+700*sin(2*PI*14*t)))"
            f"*gt(sin(2*PI*0.9*t+2*sin(2*PI*0.31*t)),0.55)':{_EVAL}:d={{d}}",
        ),
    ),
    "crickets": (
        "cricket insect cicada",
        (
            f"aevalsrc='0.12*sin(2*PI*4600*t)*gt(sin(2*PI*28*t),0.2)*gt(sin(2*PI*0.7*t),-0.2)'"
            f":{_EVAL}:d={{d}}",
        ),
    ),
    "footsteps": (
        "footstep step walk walking running stride",
        (
            f"aevalsrc='0.7*sin(2*PI*85*t)*exp(-28*mod(t,0.55))+0.3*(2*random(0)-1)"
            f"*exp(-90*mod(t,0.55))':{_EVAL}:d={{d}}",
        ),
    ),
    "bells": (
        "bell church chime toll",
        (
            f"aevalsrc='0.25*(sin(2*PI*392*t)+0.6*sin(2*PI*784*t)+0.4*sin(2*PI*1176*t)"
            f"+0.25*sin(2*PI*1960*t))*exp(-1.4*mod(t,2.4))':{_EVAL}:d={{d}}",
        ),
    ),
    "knocking": (
        "wood knock knocking woodpecker hammer tapping",
        (f"aevalsrc='0.5*sin(2*PI*650*t)*exp(-70*mod(t,0.7))':{_EVAL}:d={{d}}",),
    ),
}
ROOM_TONE = (f"anoisesrc=c=brown:{_SR}:a=0.06:d={{d}}:seed={{s}},lowpass=f=300",)
QUIET = {"gentle", "soft", "quiet", "distant", "light", "faint", "calm", "subtle", "low"}
LOUD = {"loud", "roar", "roaring", "heavy", "strong", "big", "huge", "violent", "booming"}


def words(prompt: str) -> set[str]:
    found = set()
    for word in re.findall(r"[a-z]+", prompt.lower()):
        found.add(word)
        for ending in ("es", "s", "y", "ing"):
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                found.add(word[: -len(ending)])
    return found


def match(prompt: str) -> list[str]:
    """The layers whose trigger words occur in the prompt, in the table's order."""
    found = words(prompt)
    return [name for name, (vocab, _) in LAYERS.items() if not found.isdisjoint(vocab.split())]


def plan(prompt: str, duration: float) -> tuple[list[str], str, int]:
    """(layers, filter graph ending in [out], sample count) for ``prompt`` and ``duration``."""
    found, layers = words(prompt), match(prompt)
    gain = 0.5 if found & QUIET else 1.6 if found & LOUD else 1.0
    samples = round(duration * SAMPLE_RATE)
    chains: list[str] = []
    recipes = [(name, LAYERS[name][1]) for name in layers] or [("room_tone", ROOM_TONE)]
    for index, (name, recipe) in enumerate(recipes):
        seed = zlib.crc32(f"{prompt}\x1f{name}".encode())
        pan = ((seed >> 8) % 61 - 30) / 100  # -0.3 .. 0.3, fixed per prompt and layer
        left, right = 1 - max(0.0, pan), 1 + min(0.0, pan)
        for part, chain in enumerate(recipe):
            source = chain.format(
                d=f"{duration + 0.5:.3f}",
                s=(seed + part) % 2**32,
                t0=f"{min(duration * 0.2, 1.0):.3f}",
            )
            chains.append(
                f"{source},volume={gain / len(recipes) ** 0.5:.3f},"
                f"pan=stereo|c0={left:.2f}*c0|c1={right:.2f}*c0[l{index}_{part}]"
            )
    labels = "".join(f"[{chain.rsplit('[', 1)[1]}" for chain in chains)
    fade = min(0.3, duration / 4)
    tail = (
        f"{labels}amix=inputs={len(chains)}:normalize=0:duration=longest,"
        "alimiter=limit=0.9:level=false,"
        f"atrim=end_sample={samples},apad=whole_len={samples},"
        f"afade=t=in:d={fade:.3f},afade=t=out:st={duration - fade:.3f}:d={fade:.3f},"
        f"aformat=sample_fmts=s16:sample_rates={SAMPLE_RATE}:channel_layouts=stereo[out]"
    )
    return [name for name, _ in recipes], ";".join([*chains, tail]), samples
