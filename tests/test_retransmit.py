"""Which lost packets a receiver of the composite is sent again (hearing_server.media.retransmit): only its
own layer's, each at most twice, and within what its link's estimate leaves room for."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import av
from aiortc import RTCPeerConnection
from aiortc.rtcrtpsender import RTP_HISTORY_SIZE
from aiortc.rtp import RtpPacket

from hearing_server.media.retransmit import (
    MAX_TRIES,
    MIN_INTERVAL,
    RTX_FLOOR,
    RTX_SHARE,
    RetransmitBudget,
    RetransmitGate,
    budget_bps,
)
from hearing_server.media.tracks import CompositeVideoTrack


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_only_the_layer_the_receiver_is_on_is_sent_again():
    budget = RetransmitBudget(Clock())
    assert budget.allow(1, 9000, 1000, 1e6)  # no move yet: everything is its layer
    budget.moved(9000)  # the last frame before the move had RTP timestamp 9000
    assert not budget.allow(2, 9000, 1000, 1e6)
    assert not budget.allow(3, 3000, 1000, 1e6)
    assert budget.allow(4, 9006, 1000, 1e6)
    assert (budget.sent, budget.refused) == (2, 2)


def test_the_rtp_clock_wrapping_round_is_still_later():
    budget = RetransmitBudget(Clock())
    budget.moved(0xFFFFFF00)
    assert budget.current(0x00000100)  # after the wrap
    assert not budget.current(0xFFFFF000)
    assert not budget.current(0xFFFFFF00)  # the boundary frame itself is the old layer's


def test_a_packet_is_sent_again_at_most_twice_and_not_twice_within_a_round_trip():
    clock = Clock()
    budget = RetransmitBudget(clock)
    assert budget.allow(7, 100, 1000, 1e6)
    assert not budget.allow(7, 100, 1000, 1e6)  # the browser asked again before the first could arrive
    clock.now += MIN_INTERVAL
    assert budget.allow(7, 100, 1000, 1e6)
    clock.now += 1.0
    assert MAX_TRIES == 2 and not budget.allow(7, 100, 1000, 1e6)
    assert budget.allow(8, 100, 1000, 1e6)  # another packet is its own count


def test_what_is_sent_again_stays_within_the_budget():
    clock = Clock()
    budget = RetransmitBudget(clock)
    sent = 0
    for step in range(400):  # two seconds, a NACK of a fresh 1000-byte packet every 5 ms
        clock.now += 0.005
        if budget.allow(step, 100, 1000, 80_000):  # 10 kB a second
            sent += 1000
    # 2 s at 10 kB/s, plus at most the burst the bucket starts with (a quarter second, at least a packet)
    assert 19_000 <= sent <= 20_000 + 2_500, sent


def test_a_slow_layers_packet_still_fits_the_bucket():
    budget = RetransmitBudget(Clock())
    assert budget.allow(1, 100, 1250, 8_000)  # 1 kB a second: a quarter second is less than one packet


def test_the_budget_follows_the_estimate():
    assert budget_bps(300_000, None) == RTX_SHARE * 300_000  # no estimate: a share of the layer
    assert budget_bps(300_000, 450_000) == 150_000  # the room the estimate leaves
    assert budget_bps(300_000, 250_000) == RTX_FLOOR * 300_000  # a full link: still a single loss repaired
    assert budget_bps(40_000, 190_000) == 150_000  # the still layer on a link with room


def _sent_packet(sequence_number: int, timestamp: int) -> RtpPacket:
    packet = RtpPacket(payload_type=102, sequence_number=sequence_number, timestamp=timestamp)
    packet.payload = bytes(900)
    return packet


def test_the_gate_reads_aiortcs_history_and_answers_only_what_the_budget_allows():
    """On a real aiortc sender: the names the gate reads in aiortc's private state must still be there."""

    async def main() -> None:
        pc = RTCPeerConnection()
        sender = pc.addTransceiver("video").sender
        answered: list[int] = []

        async def retransmit(sequence_number: int) -> None:  # stands in for the send on a connection
            answered.append(sequence_number)

        sender._retransmit = retransmit  # type: ignore[method-assign]
        clock = Clock()
        gate = RetransmitGate(sender, lambda: 1e6, clock)
        history = sender._RTCRtpSender__rtp_history  # type: ignore[attr-defined]
        for sequence_number, timestamp in ((10, 1000), (11, 1000), (12, 7000), (13, 7000)):
            history[sequence_number % RTP_HISTORY_SIZE] = _sent_packet(sequence_number, timestamp)
        sender._RTCRtpSender__packet_count = 2  # type: ignore[attr-defined]
        sender._RTCRtpSender__rtp_timestamp = 1000  # type: ignore[attr-defined]
        gate.layer_moving()  # the next packet is the new layer's keyframe: 10 and 11 are the old layer's
        assert gate.current([10, 11, 12, 99]) == 1  # 99 was never sent (or is gone from the history)
        assert gate.current([12, 13]) == 1  # 12 asked again is not a new loss
        for sequence_number in (10, 11, 12, 13, 99):
            await sender._retransmit(sequence_number)
        assert answered == [12, 13]
        await pc.close()

    asyncio.run(main())


def packet(keyframe: bool, size: int) -> av.Packet:
    p = av.Packet(bytes(size))
    p.is_keyframe = keyframe
    p.pts, p.time_base = 0, Fraction(1, 90000)
    return p


def test_the_track_says_when_the_new_layers_first_packet_goes_to_the_sender():
    async def main() -> None:
        track = CompositeVideoTrack("p1")
        moving: list[int] = []
        track.on_moving = lambda: moving.append(1)
        frame = av.VideoFrame(16, 16, "yuv420p")
        track.deliver([packet(True, 1000)], frame, None)
        track._next_layer = "low"
        track.deliver([packet(False, 1001)], frame, [packet(True, 500), packet(False, 501)])
        assert (await track.recv()).size == 1000 and moving == []  # the first picture is not a move
        assert (await track.recv()).size == 500 and moving == [1]  # the sender gets the low keyframe now
        assert (await track.recv()).size == 501 and moving == [1]

    asyncio.run(main())
