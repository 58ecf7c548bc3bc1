"""Where each microphone's sound lands on the hearing clock: the anchor, late and partly late frames, drift
both ways, RTP's 32-bit wrap, bursts, untimed sound, and what PyAV hands over (stereo, planar, other rates).

The mixer pulls a 20 ms block when the hearing clock reaches it; a frame is pushed when it arrives. The
tests drive both from a clock of their own, so every arrival is exact and the expected block can be written
down: frame `i` plays the constant `i + 1`, and each block of output names the frame it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import pytest

from hearing_server.media import audio_mixer
from hearing_server.media.audio_mixer import BLOCK, MAX_BUFFER, RATE, AudioMixer, AudioSource, _dbfs

BLOCK_S = BLOCK / RATE
START = 500  # the hearing clock has run 10 s when the source joins: nothing may assume it starts at 0
T0 = 1000.0  # the monotonic time of the hearing clock's zero


@dataclass
class Clock:
    now: float = T0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(audio_mixer, "time", fake)  # the module's own clock, not the process's
    return fake


def at(block: int, ms: float = 0.0) -> float:
    """The monotonic time at which block `block` of the hearing clock is pulled, plus `ms`."""
    return T0 + block * BLOCK_S + ms / 1000


@dataclass
class Arrival:
    when: float
    samples: np.ndarray
    timestamp: int | None


def frames(count: int, start_ts: int = 123_456, first: float = at(START + 5, 3.0),
           interval: float = BLOCK_S) -> list[Arrival]:
    """`count` 20 ms frames, frame i holding the constant i + 1, sent on the sender's clock from `start_ts`
    and arriving every `interval` seconds from `first`."""
    return [Arrival(first + i * interval, np.full(BLOCK, i + 1, dtype=np.int16), start_ts + i * BLOCK)
            for i in range(count)]


def play(clock: Clock, source: AudioSource, arrivals: list[Arrival], blocks: int,
         late: dict[int, float] | None = None) -> list[int]:
    """Run the hearing clock from block START for `blocks` blocks, pushing each frame when it arrives and
    pulling each block when it is due (or `late[block]` seconds after: a busy event loop); the value of
    every block pulled (-1: not one constant)."""
    pending = sorted(arrivals, key=lambda a: a.when)
    heard = []
    for block in range(START, START + blocks):
        due = at(block) + (late or {}).get(block, 0.0)
        while pending and pending[0].when <= due:
            arrival = pending.pop(0)
            clock.now = arrival.when
            source.push(arrival.samples, arrival.timestamp)
        clock.now = due
        out = source.pull(BLOCK, block * BLOCK)
        assert out.dtype == np.int16 and len(out) == BLOCK
        heard.append(int(out[0]) if (out == out[0]).all() else -1)
    return heard


def first_block_of(heard: list[int], value: int) -> int:
    """The block (counted from START) where frame value-1 was heard."""
    return heard.index(value)


def test_a_source_joining_a_running_hearing_plays_20_to_40_ms_after_its_sound_arrives(clock):
    source = AudioSource("ana:mic", "ana")
    heard = play(clock, source, frames(50), 70)
    # Frame 0 arrives 3 ms into block 5; the anchor puts it on the first block boundary at least 20 ms
    # later: block 7, 37 ms after it arrived. Every later frame follows it block by block.
    assert heard[:7] == [0] * 7
    assert heard[7:57] == list(range(1, 51))
    assert heard[57:] == [0] * 13  # the sender stopped: silence, not a repeat


def test_a_frame_arriving_after_its_slot_was_mixed_is_dropped_and_shifts_nothing(clock):
    arrivals = frames(50)
    arrivals[10].when += 0.070  # its slot (block 17) has been mixed by the time it comes
    heard = play(clock, AudioSource("ana:mic", "ana"), arrivals, 60)
    expected = list(range(1, 51))
    expected[10] = 0  # that slot played as silence
    assert heard[7:57] == expected


def test_a_partly_late_frame_keeps_the_part_still_to_come(clock):
    arrivals = frames(50)
    # Frame 10 is 40 ms long (two blocks: 11 then 111) and comes when its first half has been mixed.
    arrivals[10].samples = np.concatenate([np.full(BLOCK, 11, np.int16), np.full(BLOCK, 111, np.int16)])
    arrivals[10].when = at(START + 17, 3.0)
    for later in arrivals[11:]:
        later.timestamp = (later.timestamp or 0) + BLOCK
        later.when += BLOCK_S
    heard = play(clock, AudioSource("ana:mic", "ana"), arrivals, 70)
    assert heard[7:17] == list(range(1, 11))
    assert heard[17] == 0 and heard[18] == 111  # the first half is gone, the second plays in its place
    assert heard[19:58] == list(range(12, 51))


def test_jitter_within_the_allowance_is_absorbed(clock):
    arrivals = frames(50)
    rng = np.random.default_rng(7)
    for arrival in arrivals[1:]:
        arrival.when += float(rng.uniform(0.0, 0.015))  # up to 15 ms later than frame 0's pace
        # and stamped a sample off, as resampled frames are: still seamless (a gap of one sample or an
        # overlap would make a block that is not one constant)
        arrival.timestamp = (arrival.timestamp or 0) + int(rng.integers(-1, 2))
    heard = play(clock, AudioSource("ana:mic", "ana"), arrivals, 60)
    assert heard[7:57] == list(range(1, 51))


def test_the_clock_is_dated_by_its_earliest_pull(clock):
    """The first pull came 15 ms late (the event loop was busy); the hearing clock is not that late, and a
    frame still gets its 20 ms of allowance, not 5."""
    heard = play(clock, AudioSource("ana:mic", "ana"), frames(50), 60, late={START: 0.015})
    assert heard[:7] == [0] * 7 and heard[7:57] == list(range(1, 51))


@pytest.mark.parametrize("drift", [0.002, -0.002])
def test_a_sender_clock_that_drifts_stays_on_a_bounded_delay(clock, drift):
    """0.2 % slow (twenty times a poor phone's crystal, to see it in 30 s): its sound arrives ever later,
    and without a correction every frame would soon be late; 0.2 % fast: ever earlier, and the delay would
    grow without end. Either way a whole block of silence is inserted or of the oldest sound trimmed now
    and then, and the delay stays in the anchor's band."""
    count = 1500  # 30 s
    arrivals = frames(count, interval=BLOCK_S * (1 + drift))
    heard = play(clock, AudioSource("ana:mic", "ana"), arrivals, count + 100)
    delays = []
    for index, arrival in enumerate(arrivals):
        if index + 1 in heard:
            block = START + first_block_of(heard, index + 1)
            delays.append(at(block) - arrival.when)
    assert all(0.0 <= d <= 0.062 for d in delays), (min(delays), max(delays))
    if drift > 0:
        assert len(delays) == count  # a slow sender loses nothing: silence is inserted instead
        assert min(delays) < 0.012  # and it did drift that far: the correction was needed
    else:
        assert count - 3 <= len(delays) < count  # a fast one loses a block now and then, twice in 30 s


@pytest.mark.parametrize("jump", [5 * RATE, -5 * RATE])
def test_a_sender_clock_that_jumps_is_anchored_again(clock, jump):
    arrivals = frames(40, start_ts=10 * RATE)
    for later in arrivals[20:]:  # the phone's app restarted: its RTP clock starts somewhere else
        later.timestamp = (later.timestamp or 0) + jump
    heard = play(clock, AudioSource("ana:mic", "ana"), arrivals, 60)
    assert heard[7:47] == list(range(1, 41))  # no gap, no five seconds of waiting


def test_a_burst_of_stale_sound_is_not_played_behind_the_newest(clock):
    """25 frames (half a second) delivered at once, after a stall: the newest plays at once, the stale
    ones before it are dropped rather than played late, and what follows keeps the newest's pace."""
    arrivals = frames(40)
    for arrival in arrivals[:25]:
        arrival.when = at(START + 29, 3.0)  # a block before frame 25 comes on its own
    heard = play(clock, AudioSource("ana:mic", "ana"), arrivals, 70)
    assert heard[:30] == [0] * 30
    assert heard[30:47] == list(range(24, 41))  # the newest, and the one whose slot is now


def test_sound_pushed_before_the_first_pull_is_bounded(clock):
    """A source not yet in the mixer keeps at most MAX_BUFFER samples, the newest."""
    source = AudioSource("ana:mic", "ana")
    for arrival in frames(100):
        source.push(arrival.samples, arrival.timestamp)
    assert sum(len(frame.samples) for frame in source._pending) <= MAX_BUFFER
    assert source._pending[-1].samples[0] == 100


def test_untimed_sound_resuming_after_a_pause_plays_again_at_once(clock):
    """Frames without a sender timestamp follow one another; after a pause longer than the allowance they
    would all be late, so the source is anchored again instead of going silent for good."""
    arrivals = frames(20) + frames(20, first=at(START + 60, 3.0))
    for index, arrival in enumerate(arrivals):
        arrival.timestamp = None
        arrival.samples = np.full(BLOCK, index + 1, np.int16)
    heard = play(clock, AudioSource("ana:mic", "ana"), arrivals, 100)
    assert heard[7:27] == list(range(1, 21))
    assert heard[62:82] == list(range(21, 41))


def test_a_muted_source_is_pulled_on_the_clock_and_mix_follows_the_position(clock):
    mixer = AudioMixer()
    mixer.sources["ana:mic"] = ana = AudioSource("ana:mic", "ana", muted=True)
    mixer.sources["ben:mic"] = ben = AudioSource("ben:mic", "ben")
    pending = sorted(frames(30), key=lambda a: a.when)
    ben_pending = frames(30, start_ts=9)
    full, minus_ana = [], []
    for block in range(START, START + 40):
        due = at(block)
        for queue, source in ((pending, ana), (ben_pending, ben)):
            while queue and queue[0].when <= due:
                arrival = queue.pop(0)
                clock.now = arrival.when
                source.push(arrival.samples, arrival.timestamp)
        clock.now = due
        mixed = mixer.mix(["ana", "ben"], block * BLOCK)
        assert mixed.full.dtype == np.int16 and all(m.dtype == np.int16 for m in mixed.minus.values())
        full.append(int(mixed.full[0]))
        minus_ana.append(int(mixed.minus["ana"][0]))
        if block == START + 10:
            ana.muted = False  # unmuted mid-sentence: she is heard from where her sound is now
    assert full[7:11] == [1, 2, 3, 4]  # Ben alone while Ana is muted
    assert full[11:37] == [2 * v for v in range(5, 31)]  # both, on the same blocks: Ana kept her place
    assert minus_ana[7:37] == list(range(1, 31))  # Ana always hears Ben, and never herself


def test_rtp_timestamps_carry_across_the_32_bit_wrap(clock):
    source = AudioSource("ana:mic", "ana")
    first = (1 << 32) - 5 * BLOCK
    stamps = []
    for i in range(10):
        frame = av.AudioFrame.from_ndarray(np.full((1, BLOCK), i + 1, np.int16), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = (first + i * BLOCK) % (1 << 32)
        frame.time_base = Fraction(1, RATE)
        stamps.append(source._sender_time(frame))
    assert stamps == [first + i * BLOCK for i in range(10)]  # on past 2**32, not back to 0


def test_frames_in_other_layouts_and_rates_become_48_khz_mono(clock):
    """What PyAV decoders hand over: planar float stereo (Opus), and 16 kHz with its own time base."""
    t = np.arange(4800) / RATE
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    source = AudioSource("ana:mic", "ana")
    frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
    frame.sample_rate = RATE
    source.push_frame(frame)  # no pts: placed after whatever came before
    out = np.concatenate([source.pull(BLOCK) for _ in range(6)])
    assert out.dtype == np.int16
    assert 15000 < np.abs(out[:4000]).max() <= 16384 + 2  # 0.5 full scale, both channels averaged

    slow = AudioSource("ben:mic", "ben")
    narrow = av.AudioFrame.from_ndarray(np.full((1, 320), 1000, np.int16), format="s16", layout="mono")
    narrow.sample_rate = 16000
    narrow.pts = 16000
    narrow.time_base = Fraction(1, 16000)
    assert slow._sender_time(narrow) == RATE  # one second in, on the 48 kHz clock


def test_levels():
    assert _dbfs(np.zeros(BLOCK, np.int16)) == -120.0  # silence, not log(0)
    assert _dbfs(np.zeros(0, np.int16)) == -120.0
    assert _dbfs(np.full(BLOCK, 32767, np.int16)) == pytest.approx(0.0, abs=0.01)
    assert _dbfs(np.full(BLOCK, -3277, np.int16)) == pytest.approx(-20.0, abs=0.01)
    source = AudioSource("ana:mic", "ana")
    source.push(np.zeros(BLOCK, np.int16), 0)
    source.pull(BLOCK)
    assert source.level_dbfs == -120.0
