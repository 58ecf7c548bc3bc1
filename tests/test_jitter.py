"""A camera's jitter buffer gives up on a lost packet after MAX_WAIT, not after 512 newer packets
(hearing_server.media.jitter)."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from hearing_server.media.jitter import MAX_WAIT, GivingUpJitterBuffer, give_up_on_lost_packets


class Clock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def rtp(sequence_number: int, frame: int) -> RtpPacket:
    packet = RtpPacket(payload_type=102, sequence_number=sequence_number, timestamp=frame * 6000)
    packet._data = bytes([frame % 256, sequence_number % 256])  # type: ignore[attr-defined]
    packet.marker = sequence_number % 2  # two packets a frame: the second ends it
    return packet


def feed(buffer: GivingUpJitterBuffer, clock: Clock, packets: list[tuple[int, int]]) -> list[tuple[bool, int]]:
    """Packets (sequence number, frame) one frame time apart; what came out: (PLI asked, frame number)."""
    out = []
    for sequence_number, frame in packets:
        clock.now += 1 / 15 / 2  # two packets a frame
        pli, jitter_frame = buffer.add(rtp(sequence_number, frame))
        if jitter_frame is not None:
            out.append((pli, jitter_frame.timestamp // 6000))
        elif pli:
            out.append((pli, -1))
    return out


def test_frames_come_out_in_order_when_nothing_is_lost():
    clock = Clock()
    buffer = GivingUpJitterBuffer(clock=clock)
    out = feed(buffer, clock, [(seq, seq // 2) for seq in range(20)])
    assert out == [(False, frame) for frame in range(9)] and buffer.gave_up == 0


def test_a_packet_lost_for_good_costs_at_most_max_wait_then_a_keyframe_is_asked_for():
    clock = Clock()
    buffer = GivingUpJitterBuffer(clock=clock)
    packets = [(seq, seq // 2) for seq in range(200) if seq != 21]  # frame 10 loses its second packet
    out = feed(buffer, clock, packets)
    frames = [frame for _, frame in out if frame >= 0]
    assert frames[:10] == list(range(10))
    resumed = frames[10]
    # frame 10 (incomplete) is dropped; at two packets a frame, MAX_WAIT is about MAX_WAIT * 15 frames
    assert 10 < resumed <= 11 + int(MAX_WAIT * 15) + 1, frames
    assert frames[10:] == list(range(resumed, 99)), frames
    assert buffer.gave_up == 1 and any(pli for pli, _ in out)
    # aiortc's own buffer would still be waiting: 199 packets is far fewer than its 512
    plain = JitterBuffer(capacity=512, is_video=True)
    stuck = [plain.add(rtp(seq, frame))[1] for seq, frame in packets]
    assert sum(frame is not None for frame in stuck) == 10


def test_a_retransmission_in_time_is_waited_for():
    clock = Clock()
    buffer = GivingUpJitterBuffer(clock=clock)
    packets = [(seq, seq // 2) for seq in range(30) if seq != 21]
    packets.insert(24, (21, 10))  # arrives three packets later (0.1 s): within MAX_WAIT
    frames = [frame for _, frame in feed(buffer, clock, packets)]
    assert frames == list(range(14)) and buffer.gave_up == 0


def test_a_lost_first_packet_drops_its_frame_too():
    clock = Clock()
    buffer = GivingUpJitterBuffer(clock=clock)
    packets = [(seq, seq // 2) for seq in range(100) if seq != 20]  # frame 10's first packet
    frames = [frame for _, frame in feed(buffer, clock, packets) if frame >= 0]
    assert 10 not in frames and frames[:10] == list(range(10)) and buffer.gave_up == 1


def test_installed_on_a_real_aiortc_receiver():
    async def main() -> None:
        pc = RTCPeerConnection()
        receiver = pc.addTransceiver("video").receiver
        give_up_on_lost_packets(receiver)
        assert isinstance(receiver._RTCRtpReceiver__jitter_buffer, GivingUpJitterBuffer)  # type: ignore[attr-defined]
        audio = pc.addTransceiver("audio").receiver
        give_up_on_lost_packets(audio)  # sound keeps aiortc's own (short, no waiting for video frames)
        assert not isinstance(audio._RTCRtpReceiver__jitter_buffer, GivingUpJitterBuffer)  # type: ignore[attr-defined]
        await pc.close()

    asyncio.run(main())
