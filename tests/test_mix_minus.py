"""One shared encode of the full mix for listeners who are quiet, a mix-minus of their own for those who
speak: who gets which, and that a listener's sound stays continuous across a switch."""

from __future__ import annotations

import av
import numpy as np

from hearing_server.media.audio_mixer import BLOCK, RATE
from hearing_server.media.mix_minus import HOLD_BLOCKS, LEAD_IN, QUIET_DBFS, OpusStream, SharedMixPlan


def test_a_speaker_gets_their_own_mix_at_once_and_keeps_it_through_pauses():
    plan = SharedMixPlan()
    people = ["ana", "ben", "chen"]
    assert plan.own(people, {"ana": -80.0, "ben": -90.0}) == set()  # all quiet: one shared encode
    assert plan.own(people, {"ana": QUIET_DBFS + 10}) == {"ana"}  # the very block she speaks
    for _ in range(HOLD_BLOCKS - 1):  # a pause between sentences: still her own mix
        assert plan.own(people, {"ana": -90.0}) == {"ana"}
    assert plan.own(people, {"ana": -90.0}) == set()  # a second of quiet: back on the shared mix
    assert plan.own(people, {"ben": -20.0, "chen": -30.0}) == {"ben", "chen"}
    assert plan.own(["chen"], {}) == {"chen"}  # ben left: forgotten


def _decode(packets: list[av.Packet]) -> np.ndarray:
    """Mono, as the listener's one decoder plays it (PyAV gives packed or planar stereo)."""
    decoder = av.CodecContext.create("libopus", "r")
    frames = [f.to_ndarray() for p in packets for f in decoder.decode(p)]
    return np.concatenate([f.reshape(-1, 2).mean(axis=1) if f.shape[0] == 1 else f.mean(axis=0)
                           for f in frames]).astype(float)


def test_switching_streams_keeps_the_sound_continuous():
    blocks = 100
    t = np.arange(blocks * BLOCK) / RATE
    tone = (np.sin(2 * np.pi * 440 * t) * 6000).astype(np.int16)
    shared, own, continuous = OpusStream(32000), OpusStream(32000), OpusStream(32000)
    switched: list[av.Packet] = []
    reference: list[av.Packet] = []
    history: list[np.ndarray] = []
    for index in range(blocks):
        block = tone[index * BLOCK:(index + 1) * BLOCK]
        stream = own if 40 <= index < 70 else shared  # the listener speaks from block 40 to 70
        switched += stream.encode(block, index * BLOCK, history[-LEAD_IN:])
        reference += continuous.encode(block, index * BLOCK)
        history.append(block)
    assert [p.pts for p in switched] == [p.pts for p in reference]  # the RTP timestamps run on, no jump
    heard, expected = _decode(switched), _decode(reference)
    signal = np.sqrt(np.mean(expected[10 * BLOCK:] ** 2))
    for at in (40, 70):  # around each switch, as close to the continuous encode as a tenth of the signal
        window = slice((at - 1) * BLOCK, (at + 3) * BLOCK)
        assert np.sqrt(np.mean((heard[window] - expected[window]) ** 2)) < 0.1 * signal
