"""Camera moves for the local video provider: a motion prompt → an ffmpeg zoompan graph."""

from __future__ import annotations

import re

MOVES = (  # (pattern, move), first match wins
    (r"\b(static|still|locked|fixed|no motion|none)\b", "static"),
    (r"\b(zoom(ing)? out|pull(ing)? (back|out)|dolly out)\b", "zoom_out"),
    (r"\b(pan(ning)?|track(ing)?|move|moving) left\b|\bleft\b", "pan_left"),
    (r"\b(pan(ning)?|track(ing)?|move|moving) right\b|\bright\b", "pan_right"),
    (r"\b(pan(ning)?|tilt(ing)?|move|moving|crane) up\b|\bupwards?\b|\bris(e|ing)\b", "pan_up"),
    (r"\b(pan(ning)?|tilt(ing)?|move|moving|crane) down\b|\bdownwards?\b|\bdescend", "pan_down"),
)


def parse_motion(motion: str) -> tuple[str, float]:
    """The move and its amount (extra zoom, or the zoom that gives a pan room to travel)."""
    text = motion.lower()
    move = next((name for pattern, name in MOVES if re.search(pattern, text)), "zoom_in")
    amount = 0.12 if "slow" in text or "gentle" in text else 0.35 if "fast" in text else 0.2
    return move, amount


def zoompan_filter(move: str, amount: float, frames: int, width: int, height: int, fps: int) -> str:
    """scale (cover + 2x headroom so rounding jitter is half a pixel) → zoompan → yuv420p."""
    up = 2 if width * height <= 1920 * 1080 else 1
    ease = f"(1-cos(PI*on/{max(frames - 1, 1)}))/2"  # 0 → 1, slow at both ends
    centre_x, centre_y = "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
    zoom, x, y = {
        "static": ("1", "0", "0"),
        "zoom_in": (f"1+{amount}*{ease}", centre_x, centre_y),
        "zoom_out": (f"1+{amount}*(1-{ease})", centre_x, centre_y),
        "pan_right": (f"1+{amount}", f"(iw-iw/zoom)*{ease}", centre_y),
        "pan_left": (f"1+{amount}", f"(iw-iw/zoom)*(1-{ease})", centre_y),
        "pan_down": (f"1+{amount}", centre_x, f"(ih-ih/zoom)*{ease}"),
        "pan_up": (f"1+{amount}", centre_x, f"(ih-ih/zoom)*(1-{ease})"),
    }[move]
    big_w, big_h = width * up, height * up
    return (
        f"scale={big_w}:{big_h}:force_original_aspect_ratio=increase:flags=bicubic,"
        f"crop={big_w}:{big_h},"
        f"zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={fps},"
        "format=yuv420p,setsar=1"
    )
