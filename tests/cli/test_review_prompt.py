"""The review prompt of ``reelflow run``, typed into a real terminal: bad answers are asked
again naming what is allowed; a gate answered from another shell ends the prompt."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, Configure
from tests.factories import TINY

REELFLOW = str(Path(sys.executable).with_name("reelflow"))
PROMPT = "approve, reject or changes? [approve]: "

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture
def prompt_settings(configure: Configure) -> None:
    configure(scripts_dir=PROJECT_ROOT / "scripts", retry_delay_seconds="0.05")


class Terminal:
    """A command whose stdin is a terminal (a pty) we type into; stdout and stderr kept."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO  # what we type is not echoed back
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.process = subprocess.Popen(
            [REELFLOW, *args], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=os.environ.copy(), text=True,
        )  # fmt: skip
        os.close(slave)
        self.master = master
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.seen = 0
        for stream, into in (
            (self.process.stdout, self.stdout),
            (self.process.stderr, self.stderr),
        ):
            threading.Thread(target=self._drain, args=(stream, into), daemon=True).start()

    @staticmethod
    def _drain(stream, into: list[str]) -> None:  # type: ignore[no-untyped-def]
        for chunk in iter(lambda: stream.read(1), ""):
            into.append(chunk)

    @property
    def output(self) -> str:
        return "".join(self.stdout)

    def expect(self, text: str, timeout: float = 120) -> None:
        """Wait until ``text`` is printed after what was expected before."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.output.find(text, self.seen)
            if found >= 0:
                self.seen = found + len(text)
                return
            if self.process.poll() is not None and self.output.find(text, self.seen) < 0:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"never printed {text!r}; stdout: {self.output[self.seen :]!r}; "
            f"stderr: {''.join(self.stderr)[-2000:]}"
        )

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def answer(self, prompt: str, line: str) -> None:
        self.expect(prompt)
        self.type(line)

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self.process.kill()
            os.close(self.master)


@pytest.mark.usefixtures("prompt_settings")
def test_bad_answers_are_asked_again_naming_what_is_allowed() -> None:
    cli = Terminal("run", str(TINY), "--reviewer", "ada")
    cli.answer(PROMPT, "maybe")
    cli.expect("please answer approve, reject or changes (not 'maybe')")
    cli.answer(PROMPT, "changes")
    cli.answer("scene id: ", "lake")
    cli.expect("no scene 'lake'; the plan's scenes: dawn, forest, storm")
    cli.answer("scene id: ", "forest")
    field = "field (title, background, foreground, motion, narration, sfx): "
    cli.answer(field, "narraton")  # the typo that hung the prompt
    cli.expect("unknown field 'narraton'; one of: title, background, foreground, motion")
    cli.answer(field, "narration")
    cli.answer("new text: ", "   ")
    cli.expect("the new text must not be blank")
    cli.answer("new text: ", "In the forest, an owl calls at dusk.")
    cli.answer(PROMPT, "approve")  # round 2: the changed narration and the assembly again
    cli.answer("notes (optional): ", "")
    assert cli.wait() == 0, "".join(cli.stderr)
    assert "review: approve" in cli.output


@pytest.mark.usefixtures("prompt_settings")
def test_a_gate_answered_from_another_shell_ends_the_prompt() -> None:
    cli = Terminal("run", str(TINY))
    cli.expect(PROMPT)
    other = subprocess.run(
        [REELFLOW, "review", "approve", "1", "--reviewer", "grace"],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
    cli.expect("answered elsewhere: approved by grace", timeout=30)
    assert cli.wait(60) == 0, "".join(cli.stderr)  # nothing typed: it ends by itself
    assert "review: approve" in cli.output
