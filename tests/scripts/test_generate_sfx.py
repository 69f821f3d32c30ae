"""generate_sfx: stereo 44.1 kHz WAVs of exactly the asked length, shaped by the prompt."""

from __future__ import annotations

from pathlib import Path

from tests.scripts.conftest import leftovers, ok, rms, run_script, wav_samples


def _sfx(tmp_path: Path, prompt: str, duration: float = 1.3) -> tuple[dict, Path]:
    out = tmp_path / f"{prompt.replace(' ', '_')}.wav"
    result = ok("generate_sfx", {"prompt": prompt, "duration": duration, "output": str(out)})
    return result, out


def test_the_effect_is_a_stereo_44k_wav_of_the_exact_length_and_audible(tmp_path: Path) -> None:
    result, out = _sfx(tmp_path, "rain on a roof", 1.3)
    samples, rate, channels = wav_samples(out)
    assert (rate, channels) == (44100, 2)
    assert len(samples) // 2 == round(1.3 * 44100)
    assert result["duration"] == round(1.3 * 44100) / 44100
    assert (result["model"], result["layers"]) == ("ffmpeg-lavfi", ["rain"])
    assert rms(samples) > 300
    assert leftovers(tmp_path) == []


def test_it_fades_in_and_out(tmp_path: Path) -> None:
    _, out = _sfx(tmp_path, "wind", 2.0)
    samples, _, _ = wav_samples(out)
    middle = len(samples) // 2
    assert rms(samples[:200]) < 0.2 * rms(samples[middle - 4000 : middle + 4000])
    assert rms(samples[-200:]) < 0.2 * rms(samples[middle - 4000 : middle + 4000])


def test_keywords_choose_the_layers_and_the_sound(tmp_path: Path) -> None:
    layers = {
        prompt: _sfx(tmp_path, prompt)[0]["layers"]
        for prompt in (
            "rain and thunder",
            "ocean waves",
            "birds",
            "crowd chatter and church bells",
            "an engine hum",
            "fire crackling",
            "footsteps",
            "something unheard of",
        )
    }
    assert layers == {
        "rain and thunder": ["rain", "thunder"],
        "ocean waves": ["waves"],
        "birds": ["birds"],
        "crowd chatter and church bells": ["crowd", "bells"],
        "an engine hum": ["engine"],
        "fire crackling": ["fire"],
        "footsteps": ["footsteps"],
        "something unheard of": ["room_tone"],
    }
    sounds = {(tmp_path / f"{p.replace(' ', '_')}.wav").read_bytes() for p in layers}
    assert len(sounds) == len(layers)


def test_the_default_room_tone_is_quieter_than_an_effect(tmp_path: Path) -> None:
    quiet, _, _ = wav_samples(_sfx(tmp_path, "nothing in particular")[1])
    loud, _, _ = wav_samples(_sfx(tmp_path, "heavy rain")[1])
    assert 0 < rms(quiet) < 0.5 * rms(loud)


def test_the_same_prompt_gives_the_same_bytes(tmp_path: Path) -> None:
    first = ok(
        "generate_sfx",
        {"prompt": "wind and waves", "duration": 1, "output": str(tmp_path / "a.wav")},
    )
    second = ok(
        "generate_sfx",
        {"prompt": "wind and waves", "duration": 1, "output": str(tmp_path / "b.wav")},
    )
    assert Path(first["output"]).read_bytes() == Path(second["output"]).read_bytes()


def test_bad_input_exits_2_naming_the_field(tmp_path: Path) -> None:
    out = str(tmp_path / "s.wav")
    for request, field in [
        ({"duration": 1, "output": out}, "'prompt'"),
        ({"prompt": "rain", "output": out}, "'duration'"),
        ({"prompt": "rain", "duration": -2, "output": out}, "'duration'"),
        ({"prompt": "rain", "duration": 1}, "'output'"),
    ]:
        code, result, _ = run_script("generate_sfx", request)
        assert code == 2 and field in result["error"]["message"], result
    assert list(tmp_path.iterdir()) == []
