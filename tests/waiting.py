"""Waiting in tests: poll until something holds or a deadline passes, instead of sleeping a fixed time.

A fixed sleep is a guess at how long the server takes; on a loaded machine the guess is wrong and the test
fails for nothing. A poll returns as soon as the condition holds and gives up, naming what it waited for,
only after a deadline far longer than the condition ever needs.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from typing import Any, Awaitable, Callable, TypeVar

T = TypeVar("T")

AUDIO_FRAME_SECONDS = 0.020  # the server sends one 20 ms Opus packet per mixer block; aiortc decodes each


async def until(condition: Callable[[], T | Awaitable[T]], timeout: float = 10.0, interval: float = 0.05,
                what: str | Callable[[], str] = "the condition") -> T:
    """Evaluate `condition` (a plain or an async callable) until it returns something true, and return that.

    Bounded in time and in count: after `timeout` seconds (or at most timeout/interval + 2 evaluations) an
    AssertionError names `what` (a string, or a callable giving one then) and the last value. The condition
    is evaluated once more at the deadline, so a slow evaluation does not cost the wait its last chance."""
    deadline = time.monotonic() + timeout
    value: Any = None
    for _ in range(math.ceil(timeout / interval) + 2):
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await asyncio.sleep(min(interval, remaining))
    described = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout:g} s waiting for {described} (last: {repr(value)[:200]})")


async def wait_audio(person: Any, seconds: float, timeout: float = 30.0) -> None:
    """Until `person` (a tests.helpers.Participant) has received `seconds` more of the hearing's sound.

    Sound arrives in real time, so this takes at least `seconds`; a loaded machine only makes it longer.
    Use it where a test would sleep to let a window of audio build up before judging it."""
    start = person.audio_frames
    frames = math.ceil(seconds / AUDIO_FRAME_SECONDS)
    await until(lambda: person.audio_frames - start >= frames, timeout, 0.05,
                lambda: f"{seconds:g} s of audio (got {(person.audio_frames - start) * AUDIO_FRAME_SECONDS:.2f} s)")
