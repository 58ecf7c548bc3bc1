"""Who hears the shared mix and who gets a mix-minus of their own, and the Opus streams that carry them.

A listener who is not speaking contributes nothing (or sound below QUIET_DBFS) to the mix, so everyone but
them is the full mix: all such listeners are sent the packets of ONE Opus encode of it. Only a listener who
is speaking gets their own encode of everyone but themselves. In a hearing, where mostly one person speaks,
that is two encodes per 20 ms instead of one per participant.

Switching a listener between the two keeps their audio continuous: each sender still numbers its own RTP
packets (its own SSRC and sequence), and both streams stamp their packets with the hearing clock, so the
RTP timestamps run on without a jump. Only the Opus payload changes source, and the receiver's one decoder
carries on across it. An encoder that was idle is started afresh and first fed the last LEAD_IN blocks of
the full mix (its output discarded), which is what the listener has just been hearing: its look-ahead and
its analysis then continue that sound. Measured (a 440 Hz tone, decoded across a switch with one decoder,
against the input): libopus needs about 25 blocks to settle; an encoder started cold stays 3-8x further
from the input than a continuous one for the first 20 blocks at least, one primed with 25 blocks is as
close as the continuous one from the first packet. The lead-in costs 25 encodes per restart (half a second
of one listener's encoding, in one block); a listener is only moved back to the shared mix after a second
of quiet (HOLD_BLOCKS), so turns of speech pay it, not the pauses between words.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Iterable

import av
import numpy as np

from .audio_mixer import BLOCK, RATE

TIME_BASE = Fraction(1, RATE)
# A listener whose own microphones are all below this (RMS of a 20 ms block) hears the shared mix: their
# own sound comes back to them at most this loud, under a headset's noise floor and the browser's echo
# canceller. 5 dB below the speaking gate (mixer.SPEAKING_DBFS), so a voice that lights a tile is always
# taken out of what its speaker hears.
QUIET_DBFS = -50.0
# How long a listener stays on their own encode after their last block above QUIET_DBFS: the pauses
# between words and sentences must not flip them back and forth (each switch restarts an encoder).
HOLD_BLOCKS = 50  # 1 s
LEAD_IN = 25  # blocks of the full mix an encoder that starts afresh is fed before its first packet


def opus_encoder(bitrate: int) -> av.AudioCodecContext:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.bit_rate = bitrate
    encoder.format = "s16"
    encoder.layout = "mono"
    encoder.sample_rate = RATE
    encoder.time_base = TIME_BASE
    # In-band FEC as browsers send it: a phone on a lossy mobile network loses less speech.
    encoder.options = {"application": "voip", "frame_duration": "20", "fec": "1", "packet_loss": "5"}
    return encoder


def block_frame(samples: np.ndarray, position: int) -> av.AudioFrame:
    """One 20 ms block of mono s16 as an AudioFrame at `position` (samples on the hearing clock)."""
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = RATE
    frame.pts = position
    frame.time_base = TIME_BASE
    return frame


class OpusStream:
    """Mono Opus of one mix, one packet per block, stamped with the block's place on the hearing clock
    (the RTP timestamp follows it; libopus itself counts from minus its look-ahead)."""

    def __init__(self, bitrate: int) -> None:
        self.bitrate = bitrate
        self._encoder: av.AudioCodecContext | None = None
        self._next: int | None = None  # the position that continues the last block encoded

    def encode(self, samples: np.ndarray, position: int, lead_in: Iterable[np.ndarray] = ()) -> list[av.Packet]:
        if self._encoder is None or position != self._next:
            # Idle since (or never used, or the mixer skipped ahead): start afresh on what was just heard.
            self._encoder = opus_encoder(self.bitrate)
            history = list(lead_in)
            for index, earlier in enumerate(history):
                self._encoder.encode(block_frame(earlier, position - (len(history) - index) * BLOCK))
        try:
            packets = list(self._encoder.encode(block_frame(samples, position)))
        except Exception:
            self._encoder = None  # start afresh on the next block rather than fail on every one
            raise
        pts = position
        for packet in packets:
            packet.pts, packet.time_base = pts, TIME_BASE
            pts += BLOCK
        self._next = position + BLOCK
        return packets


class SharedMixPlan:
    """Which listeners need their own encode this block: those speaking, and for HOLD_BLOCKS after."""

    def __init__(self) -> None:
        self._held: dict[str, int] = {}  # listener -> blocks left on their own encode
        self.lead_in: deque[np.ndarray] = deque(maxlen=LEAD_IN)  # the last full mixes, oldest first

    def own(self, listeners: Iterable[str], loudest: dict[str, float]) -> set[str]:
        """`loudest`: each participant's loudest microphone heard in this block (dBFS); a participant
        with none heard (muted, a recess, no microphone) is quiet by definition."""
        listeners = list(listeners)
        own = set()
        for listener in listeners:
            if loudest.get(listener, -120.0) > QUIET_DBFS:
                self._held[listener] = HOLD_BLOCKS  # at once, in this very block: never hear yourself
            elif listener in self._held:
                self._held[listener] -= 1
                if self._held[listener] <= 0:
                    del self._held[listener]
                    continue
            else:
                continue
            own.add(listener)
        for gone in set(self._held) - set(listeners):
            del self._held[gone]
        return own

    def heard(self, full: np.ndarray) -> None:
        """The block's full mix, after it was encoded: the next fresh encoder's lead-in."""
        self.lead_in.append(full)
