"""Offline instrumental music for generate_music: a bed composed and rendered here.

Composition (pure Python, deterministic for a seed): a mood (named, or found in the prompt)
picks a mode, a tempo range, chord progressions and candidate keys; the seed picks among
them. The piece is bars of one chord each (two at slow tempos), in sections: pads alone,
then pads and bass, then pads, bass, an arpeggio over the chord tones and a slow bell
melody on chord tones (two phrases taking turns), thinning out again before the end, which
comes home to the key's own chord.

Rendering: every tone comes from a wavetable of a few soft harmonics holding a whole number
of periods (so repeating it is exact and costs nothing in Python), shaped by envelopes (soft
attack and release for the pads, plucked decay for the arpeggio and the bells). Each layer's
material is rendered once per chord, at 8 kHz (pads, bass) or 16 kHz (arpeggio, melody),
and the layers are those pieces joined (the pads on two alternating layers, so a chord's
release overlaps the next): no per-sample loop over the piece in Python. ffmpeg does the
rest: mixing into stereo at 16 kHz, a gentle low-pass, a reverb (convolution with decaying
stereo pink noise made by ``anoisesrc`` from the seed), resampling to 48 kHz, fades in and
out, and the exact length.
"""

from __future__ import annotations

import hashlib
import math
import random
from array import array
from dataclasses import dataclass
from functools import cache
from operator import add, mul
from pathlib import Path

OUT_RATE = 48_000
LOW_RATE, HIGH_RATE = 8_000, 16_000  # pads and bass / arpeggio and melody
MIX_RATE = 16_000  # ffmpeg mixes and reverberates here (all is low-passed at 5.2 kHz), then
# resamples once to OUT_RATE: a third of the work of mixing at 48 kHz
MAJOR, MINOR, DORIAN = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 2, 3, 5, 7, 9, 10)
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True)
class Mood:
    name: str
    words: tuple[str, ...]
    mode: tuple[int, ...]
    tempo: tuple[int, int]
    progressions: tuple[tuple[int, ...], ...]  # scale degrees, 0-based
    keys: tuple[int, ...]  # pitch classes
    sevenths: bool
    pulse: int  # bass notes per bar


# fmt: off
MOODS = (
    # name, words that suggest it, mode, tempo range, progressions (degrees), keys, sevenths,
    # bass notes per bar
    Mood("calm", _words("calm peace serene gentle relax soft quiet nature ambient river ocean "
                        "forest meditat slow"),
         MAJOR, (66, 76), ((0, 4, 5, 3), (0, 3, 5, 4), (0, 5, 3, 4)), (2, 7, 9, 0), True, 1),
    Mood("happy", _words("happy joy upbeat bright cheer fun playful energetic sunny summer"),
         MAJOR, (100, 116), ((0, 4, 5, 3), (0, 3, 4, 3), (0, 5, 3, 4)), (0, 7, 2, 5), False, 2),
    Mood("hopeful", _words("hope inspir uplift wonder dawn sunrise triumph discover warm"),
         MAJOR, (82, 94), ((3, 0, 4, 5), (0, 4, 3, 3), (5, 3, 0, 4)), (0, 5, 10, 3), True, 2),
    Mood("sad", _words("sad melanchol sorrow loss lonely grief rain winter nostalg memory"),
         MINOR, (60, 70), ((0, 5, 2, 6), (0, 3, 5, 4), (0, 5, 3, 6)), (9, 4, 2, 11), True, 1),
    Mood("dramatic", _words("dramatic epic tense tension action storm battle power intense war"),
         MINOR, (88, 100), ((0, 5, 6, 0), (0, 3, 5, 6), (0, 6, 5, 4)), (2, 7, 0, 4), False, 4),
    Mood("mysterious", _words("myster dark night space secret eerie deep cave unknown strange"),
         DORIAN, (64, 74), ((0, 3, 0, 6), (0, 5, 3, 4), (0, 6, 3, 0)), (4, 9, 2, 6), True, 1),
)
# fmt: on
DEFAULT_MOOD = MOODS[0]


@dataclass(frozen=True)
class Piece:
    """The composition: everything the rendering needs, decided by the seed."""

    mood: Mood
    key: int
    tempo: int
    progression: tuple[int, ...]
    bars: tuple[tuple[int, str], ...]  # (chord index into progression, texture)
    bar_out: int  # samples of a bar at OUT_RATE: a multiple of 6, so whole at every layer rate
    arpeggio: tuple[int, ...]
    seed: int
    melody: tuple[tuple[tuple[int, ...], ...], ...] = ()  # [phrase][chord]: chord-tone picks

    @property
    def key_name(self) -> str:
        mode = (
            "minor"
            if self.mood.mode == MINOR
            else "dorian"
            if self.mood.mode == DORIAN
            else ("major")
        )
        return f"{NOTE_NAMES[self.key]} {mode}"


def find_mood(prompt: str, mood: str | None) -> Mood:
    """The mood named (or described) by ``mood``, else found in the prompt, else calm."""
    for text in (mood or "", prompt):
        lowered = text.lower()
        for candidate in MOODS:
            if candidate.name == lowered.strip():
                return candidate
        hits = [(sum(lowered.count(w) for w in m.words), -i) for i, m in enumerate(MOODS)]
        best, index = max(hits)
        if best > 0:
            return MOODS[-index]
    return DEFAULT_MOOD


def default_seed(prompt: str, mood: str | None, duration: float) -> int:
    """The seed when the request gives none: a hash of what it asks for."""
    digest = hashlib.sha256(f"{prompt}\x00{mood or ''}\x00{duration:.3f}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def compose(prompt: str, mood_text: str | None, duration: float, seed: int) -> Piece:
    """Decide key, tempo, progression, sections and arpeggio for ``duration`` seconds."""
    mood = find_mood(prompt, mood_text)
    rng = random.Random(seed)
    tempo = rng.randint(*mood.tempo)
    beats = 8 if tempo < 72 else 4  # slow pieces hold each chord for two bars of 4/4
    bar_out = round(OUT_RATE * 60 / tempo * beats / 6) * 6
    count = max(2, math.ceil(duration * OUT_RATE / bar_out) + 1)  # one spare for the tail
    progression = rng.choice(mood.progressions)
    arpeggio = rng.choice(((0, 1, 2, 3, 2, 1, 2, 3), (0, 2, 1, 3, 0, 2, 1, 2),
                           (0, 1, 2, 1, 3, 2, 1, 0)))  # fmt: skip
    textures = _sections(count, rng)
    tonic = progression.index(0) if 0 in progression else 0
    chords = [i % len(progression) for i in range(count)]
    chords[-2:] = [tonic] * len(chords[-2:])  # the end comes home to the key's own chord
    bars = tuple(zip(chords, textures, strict=True))
    key = rng.choice(mood.keys)
    notes = 4 if beats == 8 else 2  # a melody note every two beats
    melody = tuple(tuple(_motif(rng, notes) for _ in progression) for _ in range(2))
    return Piece(mood, key, tempo, progression, bars, bar_out, arpeggio, seed, melody)


def _motif(rng: random.Random, notes: int) -> tuple[int, ...]:
    """One bar of melody: chord tones (indices, 0 the root) with a rest now and then, the
    first note never a rest."""
    picks = [rng.choice((0, 1, 2, 2, 3))]
    for _ in range(notes - 1):
        step = rng.choice((-1, 0, 1, 1, None))
        picks.append(-1 if step is None else max(0, min(3, picks[-1] % 4 + step)))
    return tuple(picks)


def _sections(count: int, rng: random.Random) -> list[str]:
    """Textures bar by bar: an intro of pads, pads and bass, the full texture with a quieter
    passage every so often, and pads alone at the end."""
    textures = []
    for i in range(count):
        from_end = count - 1 - i
        if i < 1 or from_end < 2:
            textures.append("pad")
        elif i < 3 or from_end < 3:
            textures.append("bass")
        else:
            textures.append("bass" if (i - 3) % 8 in (6, 7) else "full")
    if count > 12 and rng.random() < 0.5:  # sometimes a longer build
        textures[3] = "bass"
    return textures


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def chord_notes(piece: Piece, index: int) -> list[int]:
    """MIDI notes of chord ``index``: a triad (or seventh) on its degree, around middle C."""
    mode, degree = piece.mood.mode, piece.progression[index]
    steps = (0, 2, 4, 6) if piece.mood.sevenths else (0, 2, 4)
    notes = []
    for step in steps:
        position = degree + step
        notes.append(48 + piece.key + mode[position % 7] + 12 * (position // 7))
    while min(notes) < 52:  # keep the pads in a warm, not muddy, register
        notes = [n + 12 for n in notes]
    return notes


# --- rendering -------------------------------------------------------------------------------

PAD = (1.0, 0.35, 0.12, 0.05)  # harmonic weights: soft, warm tones
PLUCK = (1.0, 0.45, 0.15)
BASS = (1.0, 0.25)
LAYERS = ("pad_a", "pad_b", "bass", "arp_even", "arp_odd", "lead")
BELL = (1.0, 0.25, 0.08)
# How each layer sits in the stereo picture: (left gain, right gain).
PANS = {"pad_a": (0.5, 0.5), "pad_b": (0.5, 0.5), "bass": (0.15, 0.15),
        "arp_even": (0.3, 0.15), "arp_odd": (0.15, 0.3), "lead": (0.2, 0.2)}  # fmt: skip
REVERB, GAIN = 8.0, 0.46  # the reverb (its IR normalised to unit norm) against the dry mix; output
RATES = {"pad_a": LOW_RATE, "pad_b": LOW_RATE, "bass": LOW_RATE, "arp_even": HIGH_RATE,
         "arp_odd": HIGH_RATE, "lead": HIGH_RATE}  # fmt: skip


@cache
def _cycle(hz: float, harmonics: tuple[float, ...], rate: int) -> array[float]:
    """A whole number of periods of a tone with these harmonic weights, as close to ``hz``
    as a cycle of at most 4096 samples allows (a small fraction of a cent)."""
    most = max(1, int(4096 * hz / rate))
    periods = min(range(1, most + 1), key=lambda k: abs(k * rate / hz - round(k * rate / hz)) / k)
    length = max(2, round(periods * rate / hz))
    step = 2 * math.pi * periods / length
    weights = [w for h, w in enumerate(harmonics) if (h + 1) * hz < rate / 2.2] or [1.0]
    values = [sum(w * math.sin((h + 1) * step * n) for h, w in enumerate(weights))
              for n in range(length)]  # fmt: skip
    scale = 1.0 / (max(map(abs, values)) or 1.0)
    return array("f", [v * scale for v in values])


def tone(hz: float, samples: int, harmonics: tuple[float, ...], rate: int, phase: int = 0
         ) -> array[float]:  # fmt: skip
    """``samples`` of a steady tone (the cycle repeated: no per-sample work in Python)."""
    cycle = _cycle(round(hz, 4), harmonics, rate)
    start = phase % len(cycle)
    repeats = (start + samples) // len(cycle) + 1
    return (cycle * repeats)[start : start + samples]


@cache
def _envelope(samples: int, attack: int, release: int, gain: float = 1.0) -> array[float]:
    """Raised-cosine attack and release around a flat sustain at ``gain``."""
    values = array("f", [gain]) * samples
    for n in range(min(attack, samples)):
        values[n] = gain * (0.5 - 0.5 * math.cos(math.pi * n / attack))
    for n in range(min(release, samples)):
        values[samples - 1 - n] *= 0.5 - 0.5 * math.cos(math.pi * n / release)
    return values


@cache
def _pluck(samples: int, rate: int, decay: float) -> array[float]:
    """A plucked note: 4 ms attack, exponential decay, a short taper to silence at the end."""
    attack, taper = round(0.004 * rate), max(1, samples // 8)
    return array("f", (min(1.0, n / attack) * math.exp(-n / (decay * rate))
                       * min(1.0, (samples - n) / taper) for n in range(samples)))  # fmt: skip


def _silence(samples: int) -> array[float]:
    return array("f", bytes(4 * samples))


def _shaped(wave: array[float], shape: array[float]) -> array[float]:
    return array("f", map(mul, wave, shape))


class _Renderer:
    """Each layer's material for each chord, rendered once and reused bar after bar."""

    def __init__(self, piece: Piece) -> None:
        self.piece = piece
        self.low = piece.bar_out * LOW_RATE // OUT_RATE
        self.high = piece.bar_out * HIGH_RATE // OUT_RATE

    @cache  # noqa: B019 - one renderer per piece, dropped with it
    def pad(self, index: int) -> array[float]:
        """The chord held for a bar plus a quarter-bar release ringing into the next."""
        length = self.low + self.low // 4
        notes = chord_notes(self.piece, index)
        total = tone(midi_hz(notes[0] - 12), length, PAD, LOW_RATE)
        for number, note in enumerate(notes):
            wave = tone(midi_hz(note), length, PAD, LOW_RATE, phase=97 * number)
            total = array("f", map(add, total, wave))
        shape = _envelope(length, self.low // 4, self.low // 4, 1.0 / (len(notes) + 1))
        return _shaped(total, shape)

    @cache  # noqa: B019
    def bass(self, index: int) -> array[float]:
        piece = self.piece
        pitch = (piece.key + piece.mood.mode[piece.progression[index] % 7]) % 12
        hz = midi_hz(36 + pitch + (12 if pitch < 4 else 0))
        pulse = self.low // piece.mood.pulse
        note = _shaped(
            tone(hz, pulse, BASS, LOW_RATE), _envelope(pulse, LOW_RATE // 50, pulse // 2)
        )
        return _fit(note * piece.mood.pulse, self.low)

    @cache  # noqa: B019
    def arpeggio(self, index: int, parity: int) -> array[float]:
        """The arpeggio's even (or odd) steps: each note rings two steps, so notes of one
        parity never overlap and are simply placed."""
        piece = self.piece
        notes = [n + 12 for n in chord_notes(piece, index)]
        steps = len(piece.arpeggio) * (2 if piece.bar_out > OUT_RATE * 4 else 1)
        step = self.high // steps
        ring = 2 * step
        out = _silence(self.high)
        for number in range(parity, steps, 2):
            pick = piece.arpeggio[number % len(piece.arpeggio)] % len(notes)
            wave = self._pluck(midi_hz(notes[pick]), ring)
            at = number * step
            out[at : at + ring] = wave[: self.high - at]
        return out

    @cache  # noqa: B019
    def melody(self, index: int, phrase: int) -> array[float]:
        """A bar of the melody: soft bell notes on chord tones an octave over the pads, each
        ringing until the next."""
        notes = [n + 12 for n in chord_notes(self.piece, index)]
        motif = self.piece.melody[phrase][index]
        length = self.high // len(motif)
        out = _silence(self.high)
        for number, pick in enumerate(motif):
            if pick >= 0:
                hz = midi_hz(notes[pick % len(notes)])
                wave = _shaped(tone(hz, length, BELL, HIGH_RATE), _pluck(length, HIGH_RATE, 0.7))
                out[number * length : (number + 1) * length] = wave
        return out

    @cache  # noqa: B019
    def _pluck(self, hz: float, ring: int) -> array[float]:
        return _shaped(tone(hz, ring, PLUCK, HIGH_RATE), _pluck(ring, HIGH_RATE, 0.35))


def _fit(samples: array[float], length: int) -> array[float]:
    return samples[:length] if len(samples) >= length else samples + _silence(length - len(samples))


def render(piece: Piece) -> dict[str, array[float]]:
    """Every layer at its rate, the whole piece long, built by joining per-chord material
    (the two pad layers take alternate bars so a chord's release overlaps the next)."""
    r = _Renderer(piece)
    layers: dict[str, array[float]] = {name: array("f") for name in LAYERS}
    for number, (index, texture) in enumerate(piece.bars):
        pads = ("pad_a", "pad_b") if number % 2 == 0 else ("pad_b", "pad_a")
        _place(layers[pads[0]], r.pad(index), number * r.low)
        layers["bass"].extend(r.bass(index) if texture in ("bass", "full") else _silence(r.low))
        for parity, name in enumerate(("arp_even", "arp_odd")):
            layers[name].extend(r.arpeggio(index, parity) if texture == "full"
                                else _silence(r.high))  # fmt: skip
        phrase = (number // len(piece.progression)) % 2  # two phrases, taking turns
        layers["lead"].extend(r.melody(index, phrase) if texture == "full" else _silence(r.high))
    total = len(piece.bars) * r.low
    for name in ("pad_a", "pad_b"):
        layers[name] = _fit(layers[name], total)
    return layers


def _place(layer: array[float], material: array[float], at: int) -> None:
    """Put ``material`` at ``at`` in a layer that is silent from there on."""
    if len(layer) < at:
        layer.extend(_silence(at - len(layer)))
    del layer[at:]
    layer.extend(material)


def write_layers(layers: dict[str, array[float]], paths: dict[str, Path]) -> None:
    """Each layer as raw little-endian 32-bit float samples (ffmpeg's f32le)."""
    for name, samples in layers.items():
        with paths[name].open("wb") as out:
            samples.tofile(out)


def ffmpeg_inputs(paths: dict[str, Path]) -> list[str]:
    args: list[str] = []
    for name in LAYERS:
        args += ["-f", "f32le", "-ar", str(RATES[name]), "-ac", "1", "-i", str(paths[name])]
    return args


def finish_graph(piece: Piece, duration: float) -> str:
    """ffmpeg filter graph from the layers (inputs in LAYERS order) to [out]: resample to
    MIX_RATE, pan into stereo, low-pass, reverb, resample to OUT_RATE, fades and the exact
    length."""
    frames = round(duration * OUT_RATE)
    fade_in, fade_out = min(2.0, duration / 4), min(3.0, duration / 3)
    resampled = "".join(
        f"[{i}:a]aresample={MIX_RATE},aformat=sample_fmts=fltp:channel_layouts=mono[l{i}];"
        for i in range(len(LAYERS))
    )
    left = "+".join(f"{PANS[name][0]}*c{i}" for i, name in enumerate(LAYERS))
    right = "+".join(f"{PANS[name][1]}*c{i}" for i, name in enumerate(LAYERS))
    ir = "anoisesrc=d=2.2:c=pink:r={r}:a=0.5:seed={s},afade=t=out:st=0:d=2.2:curve=exp"
    seed = piece.seed % 2_000_000_000
    return (
        resampled
        + "".join(f"[l{i}]" for i in range(len(LAYERS)))
        + f"amerge=inputs={len(LAYERS)},pan=stereo|c0={left}|c1={right},"
        "lowpass=f=5200,highpass=f=35,asplit[dry][send];"
        f"{ir.format(r=MIX_RATE, s=seed)}[irl];{ir.format(r=MIX_RATE, s=seed + 1)}[irr];"
        "[irl][irr]join=inputs=2:channel_layout=stereo[ir];"
        "[send][ir]afir=gtype=none:irnorm=1,lowpass=f=3500[wet];"
        f"[dry][wet]amix=inputs=2:weights=1 {REVERB}:normalize=0,volume={GAIN},"
        f"aresample={OUT_RATE},apad=whole_len={frames},atrim=end_sample={frames},"
        f"afade=t=in:d={fade_in:.3f}:curve=qsin,"
        f"afade=t=out:st={duration - fade_out:.3f}:d={fade_out:.3f}:curve=qsin[out]"
    )
