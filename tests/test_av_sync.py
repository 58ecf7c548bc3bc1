"""Lip sync in the court record: sound is placed on the hearing clock by its RTP timestamps, so a network
jitter burst costs the late sound (its slot already played) instead of shifting everything after it."""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import time

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from hearing_server.media import audio_mixer
from hearing_server.media.audio_mixer import BLOCK, PLAYOUT_DELAY, RATE, AudioSource

from .helpers import Participant
from .marks import FlashTrack, find_flash

# -- AudioSource on a simulated clock -------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(audio_mixer, "time", fake)
    return fake


def frame(k: int, size: int = BLOCK) -> np.ndarray:
    """Frame k of a sender: every sample k + 1, so the output shows where each frame landed."""
    return np.full(size, k + 1, dtype=np.int16)


def play(source: AudioSource, clock: FakeClock, frames: list[tuple[float, int | None, np.ndarray]],
         seconds: float) -> np.ndarray:
    """Each (arrival s, timestamp, samples) is pushed when it arrives; a block is pulled whenever the hearing
    clock reaches it, as the mixer does. The sound pulled."""
    frames = sorted(frames, key=lambda f: f[0])
    out, i = [], 0
    for position in range(0, int(seconds * RATE), BLOCK):
        while i < len(frames) and frames[i][0] < position / RATE:
            clock.now, timestamp, samples = frames[i]
            source.push(samples, timestamp)
            i += 1
        clock.now = position / RATE
        out.append(source.pull(BLOCK, position))
    return np.concatenate(out)


def slot(out: np.ndarray, k: int) -> int | None:
    """Where frame k starts in the output (None: not heard)."""
    found = np.flatnonzero(out == k + 1)
    return int(found[0]) if found.size else None


TS0 = 123_456  # the sender's clock starts anywhere


def test_late_frames_are_dropped_and_what_follows_keeps_its_place(clock):
    def arrival(k: int) -> float:  # 5 ms of network; frames 50-59 held back 200 ms, then all at once
        return (60 if 50 <= k < 60 else k) * 0.02 + 0.005

    out = play(AudioSource("a", "p"), clock, [(arrival(k), TS0 + k * BLOCK, frame(k)) for k in range(100)], 2.3)
    latency = slot(out, 10) - 10 * BLOCK
    assert PLAYOUT_DELAY <= latency - 0.005 * RATE < PLAYOUT_DELAY + BLOCK
    assert [slot(out, k) - k * BLOCK for k in (49, 59, 60, 99)] == [latency] * 4
    # Frames 50-58 came after their slots were mixed: those 180 ms are silence, not a delay of what follows.
    assert [k for k in range(50, 60) if slot(out, k) is None] == list(range(50, 59))
    assert not out[slot(out, 49) + BLOCK:slot(out, 59)].any()


def test_a_gap_stays_silent(clock):
    frames = [(k * 0.02 + 0.003, TS0 + k * BLOCK, frame(k)) for k in range(60) if not 20 <= k < 25]
    out = play(AudioSource("a", "p"), clock, frames, 1.5)
    latency = slot(out, 0)
    assert slot(out, 25) - 25 * BLOCK == latency  # lost frames leave their 100 ms silent, nothing shifts
    assert not out[latency + 20 * BLOCK:latency + 25 * BLOCK].any()
    assert np.count_nonzero(out) == 55 * BLOCK


def test_a_backlog_is_trimmed(clock):
    # The first frames come 120 ms late (a slow start) and the anchor with them; then the network recovers.
    def arrival(k: int) -> float:
        return k * 0.02 + (0.120 if k < 10 else 0.002)

    out = play(AudioSource("a", "p"), clock, [(arrival(k), TS0 + k * BLOCK, frame(k)) for k in range(150)], 3.2)
    assert slot(out, 0) - 0 >= 0.120 * RATE  # anchored on a late frame
    latency = slot(out, 140) - 140 * BLOCK
    assert PLAYOUT_DELAY <= latency - 0.002 * RATE < PLAYOUT_DELAY + BLOCK  # trimmed within about a second


@pytest.mark.parametrize("ppm", [2000, -2000])
def test_clock_drift_is_followed(clock, ppm):
    # A sender 0.2% slow or fast (twenty times worse than a poor sound card, to see it in 40 s of sound): 80 ms
    # of drift, taken up a block at a time.
    def arrival(k: int) -> float:
        return k * 0.02 * (1 + ppm / 1e6) + 0.004

    count = 2000
    out = play(AudioSource("a", "p"), clock, [(arrival(k), TS0 + k * BLOCK, frame(k)) for k in range(count)],
               count * 0.02 + 0.3)
    values, firsts = np.unique(out, return_index=True)
    starts = dict(zip(values.tolist(), firsts.tolist()))  # frame k + 1 -> where it starts
    margins = [starts[k + 1] - arrival(k) * RATE for k in range(count) if k + 1 in starts]
    assert min(margins) >= 0 and max(margins) < PLAYOUT_DELAY + 3 * BLOCK  # trimmed at a block of backlog
    # A slow sender loses nothing (a block of silence is let in); a fast one a block per 20 ms of backlog.
    assert len(margins) == count if ppm > 0 else len(margins) >= count - 5


def test_the_rtp_wrap_is_seamless_and_a_restart_is_anchored_again(clock):
    source = AudioSource("a", "p")

    def rtp_frame(k: int, timestamp: int) -> av.AudioFrame:
        # What aiortc decodes from Opus: 48 kHz stereo s16, pts = the RTP timestamp.
        out = av.AudioFrame.from_ndarray(np.full((1, 2 * BLOCK), k + 1, dtype=np.int16), format="s16",
                                         layout="stereo")
        out.sample_rate, out.pts, out.time_base = RATE, timestamp % (1 << 32), fractions.Fraction(1, RATE)
        return out

    near_wrap = (1 << 32) - 30 * BLOCK
    timestamps = [near_wrap + k * BLOCK for k in range(60)] + [2_900_000_000 + k * BLOCK for k in range(60, 120)]
    out = []
    for position in range(0, int(2.6 * RATE), BLOCK):
        k = position // BLOCK - 1
        if 0 <= k < 120:
            clock.now = position / RATE - 0.01
            source.push_frame(rtp_frame(k, timestamps[k]))
        clock.now = position / RATE
        out.append(source.pull(BLOCK, position))
    heard = np.concatenate(out)
    latency = slot(heard, 0)
    assert [slot(heard, k) - k * BLOCK for k in (29, 30, 59)] == [latency] * 3  # across 2³² → 0
    # The sender restarted with a new clock (frame 60 on): heard again at once, about as late as before.
    assert abs(slot(heard, 61) - 61 * BLOCK - latency) <= BLOCK
    assert all(slot(heard, k) is not None for k in range(120))


def test_a_resampled_sender_keeps_its_positions(clock):
    source = AudioSource("a", "p")
    rate, size = 44100, 441  # 10 ms frames of a 44.1 kHz sender, a tone with a 100 ms hole at 0.5 s
    out = []
    k = 0
    for position in range(0, int(1.3 * RATE), BLOCK):
        while k * size / rate < position / RATE - 0.015 and k < 100:
            if not 50 <= k < 60:
                t = (k * size + np.arange(size)) / rate
                samples = (8000 * np.sin(2 * math.pi * 440 * t)).astype(np.int16).reshape(1, -1)
                sent = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
                sent.sample_rate, sent.pts, sent.time_base = rate, 9_000 + k * size, fractions.Fraction(1, rate)
                clock.now = k * size / rate + 0.002
                source.push_frame(sent)
            k += 1
        clock.now = position / RATE
        out.append(source.pull(BLOCK, position))
    heard = np.flatnonzero(np.abs(np.concatenate(out)) > 200)
    holes = np.flatnonzero(np.diff(heard) > RATE // 1000)
    assert len(holes) == 1  # one hole, the sender's: no seams between resampled frames
    gap = (heard[holes[0] + 1] - heard[holes[0]]) / RATE
    assert abs(gap - 0.100) < 0.002, gap
    assert abs((heard[-1] - heard[0]) / RATE - 1.0) < 0.002  # 1 s of sound still spans 1 s


def test_sound_without_timestamps_plays_in_arrival_order(clock):
    # Pushed without timestamps, then nothing for half a second: sound after the pause is heard, not late.
    frames = [(k * 0.02 + (0.5 if k >= 30 else 0.0) + 0.004, None, frame(k)) for k in range(60)]
    out = play(AudioSource("a", "p"), clock, frames, 2.0)
    assert all(slot(out, k) is not None for k in range(60))
    assert slot(out, 29) - slot(out, 0) == 29 * BLOCK
    assert abs(slot(out, 30) - slot(out, 29) - (0.5 * RATE + BLOCK)) <= BLOCK


def test_a_source_not_yet_mixed_starts_with_fresh_sound(clock):
    # A microphone heard before its owner is admitted: only the last instants are kept, then on the clock.
    source = AudioSource("a", "p")
    for k in range(100):
        clock.now = k * 0.02
        source.push(frame(k), TS0 + k * BLOCK)
    clock.now = 100 * 0.02
    first = source.pull(BLOCK, 100 * BLOCK)
    clock.now = 100 * 0.02 + 0.02
    second = source.pull(BLOCK, 101 * BLOCK)
    assert (first == 100).all() and not second.any()  # the newest frame, on time; nothing stale


def test_pulled_without_a_clock_sound_plays_in_timestamp_order(clock):
    # An offline caller (bench/recorder.py) decodes ahead and pulls with no hearing clock: nothing is late.
    mixer = audio_mixer.AudioMixer()
    mixer.sources["a"] = source = AudioSource("a", "p")
    out = []
    for k in range(50):
        source.push(frame(k, 1024), TS0 + k * 1024)  # AAC-sized frames, pushed all at once
        if k % 3 == 2:
            out += [mixer.mix([]).full for _ in range(3)]
    heard = np.concatenate(out)
    assert slot(heard, 0) == 0 and all(slot(heard, k) == k * 1024 for k in range(45))


# -- end to end: a real server, an aiortc party, the finalised MP4 ----------------------------------------


class BurstyBeeps(MediaStreamTrack):
    """Silence with 1 kHz beeps at wall-clock instants `beeps`. At `hold_at` the network holds `hold`
    seconds of frames back and then delivers them all at once, timestamps unchanged (the sender's clock
    never stopped): a jitter burst. Times are set once the party is in."""

    kind = "audio"

    def __init__(self, hold: float) -> None:
        super().__init__()
        self.beeps: list[float] = []
        self.hold_at, self.hold = math.inf, hold
        self._start: float | None = None
        self._samples = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        due = self._start + self._samples / 48000
        if due >= self.hold_at:
            self.hold_at = math.inf
            await asyncio.sleep(self.hold)  # the frames due meanwhile then go out back to back
        if due > time.time():
            await asyncio.sleep(due - time.time())
        t = due + np.arange(960) / 48000
        on = np.zeros(960, dtype=bool)
        for at in self.beeps:
            on |= (t >= at) & (t < at + 0.4)
        samples = np.where(on, 0.5 * 32767 * np.sin(2 * math.pi * 1000 * t), 0).astype(np.int16)
        out = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        out.sample_rate, out.pts, out.time_base = 48000, self._samples, fractions.Fraction(1, 48000)
        self._samples += 960
        return out


def beeps_in(path: str, threshold: float = 0.1) -> list[tuple[float, float]]:
    """(start, end) in seconds of each beep in the file (beeps are at least 200 ms apart)."""
    loud: list[np.ndarray] = []
    with av.open(path) as container:
        for decoded in container.decode(audio=0):
            found = np.flatnonzero(np.abs(decoded.to_ndarray()[0]) > threshold)
            loud.append(float(decoded.pts * decoded.time_base) + found / decoded.sample_rate)
    times = np.concatenate(loud)
    cuts = np.flatnonzero(np.diff(times) > 0.2)
    return [(float(times[a]), float(times[b])) for a, b in zip([0, *(cuts + 1)], [*cuts, len(times) - 1])]


async def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


@pytest.mark.media
async def test_a_jitter_burst_leaves_sound_on_picture(api, server, settings):
    judge = await api.login("judge")
    hearing = await api.new_hearing(judge)
    hid = hearing["id"]
    audio, video = BurstyBeeps(hold=0.2), FlashTrack(math.inf)
    party = Participant(api.base, (await api.invite(judge, hid, "Ana Jitter", "plaintiff"))["token"],
                        audio_track=audio, video_track=video)
    try:
        await party.connect()
        await party.start_media()
        pid = party.of_type("welcome")[0]["participant"]["id"]
        await api.ok("POST", f"/api/hearings/{hid}/participants/{pid}/admit", token=judge)
        await party.expect("admitted")
        # Sound and picture on the same (wall) clock: a beep before the burst, then beep + flash together.
        start = time.time()
        audio.beeps = [start + 1.3, start + 5.3]  # the first after the first second's drift check
        audio.hold_at = start + 2.5
        video.at = start + 5.3
        await asyncio.sleep(6.1)
    finally:
        await party.close()
    await api.ok("POST", f"/api/hearings/{hid}/close", token=judge)
    folder = settings.recordings_path / hid
    await _wait_for(lambda: (folder / "manifest.json").exists())
    assert json.loads((folder / "manifest.json").read_text())["status"] == "final"

    mp4 = str(folder / "hearing.mp4")
    beeps, flash = beeps_in(mp4), find_flash(mp4)
    assert len(beeps) == 2 and flash is not None, (beeps, flash)
    (start1, end1), (start2, end2) = beeps
    print(f"beeps at {start1:.3f} s and {start2:.3f} s (sent 4.000 s apart), flash at {flash:.3f} s: "
          f"sound − picture {1000 * (start2 - flash):+.0f} ms")
    # The burst moved nothing: the beep after it is where the sender's clock puts it (a FIFO: +140-180 ms).
    # Either edge will do: a loop stall on this busy machine may cost a beep a frame at one edge.
    assert min(abs(start2 - start1 - 4.0), abs(end2 - end1 - 4.0)) <= 0.025, beeps
    # And sound is on picture, to the resolution of the composite (the flash shows on its next frame).
    assert abs(start2 - flash) <= 1 / settings.media.fps + 0.040, (beeps, flash)
