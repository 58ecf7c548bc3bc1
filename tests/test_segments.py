"""The segment writer in process: a pause closes what is open, and recording resumes on the next keyframe in
a segment of its own that holds both picture and sound from the moment it resumes, not before. Segments begin
on the first keyframe after their length and tile the hearing clock; every AAC packet lands in the segment
whose span holds it; a gap in the sound is silence, sound given twice is encoded once; the closed segment's
callback says where it begins and ends, to the tick. The MP4 header's parameter sets are the keyframe's own."""

from __future__ import annotations

import math

import av
import numpy as np
import pytest

from hearing_server.media.encoder import CompositeEncoder
from recorder.segments import SegmentWriter, WrittenSegment, split_parameter_sets

WIDTH, HEIGHT, FPS = 320, 180, 15


def feed(writer: SegmentWriter, encoder: CompositeEncoder, start: float, seconds: float, tone: float) -> None:
    """`seconds` of picture and of a tone at `tone` Hz, on the hearing clock from `start`."""
    image = np.full((HEIGHT, WIDTH, 3), 90, dtype=np.uint8)
    first = round(start * FPS)
    position = round(start * 48000)
    for index in range(first, first + round(seconds * FPS)):
        packets, _ = encoder.encode(image, index * 90000 // FPS, keyframe=index == first)
        for packet in packets:
            writer.write_video(packet)
        while position < (index + 1) * 48000 // FPS:
            t = (np.arange(960) + position) / 48000
            writer.write_audio((8000 * np.sin(2 * math.pi * tone * t)).astype(np.int16), position)
            position += 960


def sound_of(path) -> tuple[float, float, float]:
    """(first audio timestamp, seconds of sound, the strongest frequency) of a segment's AAC track."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
    first = float(frames[0].pts * frames[0].time_base)
    samples = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    spectrum = np.abs(np.fft.rfft(samples[4800:]))
    return first, len(samples) / 48000, float(np.argmax(spectrum) * 48000 / len(samples[4800:]))


class CountingWriter(SegmentWriter):
    """Counts the samples it encodes: a pause must not be paid for in encoded silence on resuming."""

    encoded = 0

    def _encode(self, samples: np.ndarray, position: int) -> None:
        self.encoded += len(samples)
        super()._encode(samples, position)


def test_a_pause_closes_the_segment_and_the_next_one_has_its_own_sound(tmp_path):
    written: list[WrittenSegment] = []
    writer = CountingWriter(tmp_path, WIDTH, HEIGHT, FPS, 60.0, 64000, 1, written.append)
    encoder = CompositeEncoder(WIDTH, HEIGHT, FPS, 300_000, 2.0)
    feed(writer, encoder, 0.0, 3.0, 440.0)
    writer.pause()
    assert [s.index for s in written] == [1]  # closed at the pause, on disk before anyone is told
    feed(writer, encoder, 10.0, 3.0, 880.0)  # resumed seven seconds later on the hearing clock
    writer.close()
    # Six seconds of sound encoded, not thirteen: the seven of the pause (a recess may be an hour, all
    # encoded at once on resuming) are nobody's.
    assert writer.encoded == 6 * 48000
    assert [s.index for s in written] == [1, 2]
    before, after = written
    assert before.start == 0.0 and 2.9 <= before.end <= 3.1
    assert after.start == 10.0 and 12.9 <= after.end <= 13.1
    first, seconds, pitch = sound_of(before.path)
    assert first < 0.1 and seconds > 2.8 and abs(pitch - 440) < 10
    first, seconds, pitch = sound_of(after.path)
    # The resumed segment's sound starts where its picture does (no silence filled in for the pause, no
    # sound from before it) and is the new tone, from a fresh encoder.
    assert 10.0 <= first < 10.1 and 2.7 < seconds < 3.2 and abs(pitch - 880) < 10


# -- helpers for the tests below -------------------------------------------------------------------------------


class RoutingWriter(CountingWriter):
    """Also keeps the first sample (48 kHz) of every AAC packet the encoder makes, before it is routed: what
    each segment should hold is worked out from these, not from the routing under test."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.made: list[int] = []

    def _route_audio(self, packet: av.Packet) -> None:
        if packet.pts is not None:
            self.made.append(int(packet.pts))
        super()._route_audio(packet)


def picture(writer: SegmentWriter, encoder: CompositeEncoder, index: int, fps: int = FPS,
            keyframe: bool = False, write: bool = True) -> list[av.Packet]:
    """Frame `index` of the hearing clock, encoded (and written, unless `write` is false: a lost picture)."""
    image = np.full((HEIGHT, WIDTH, 3), index * 7 % 255, dtype=np.uint8)
    packets, _ = encoder.encode(image, index * 90000 // fps, keyframe=keyframe)
    for packet in packets if write else []:
        writer.write_video(packet)
    return packets


def sound(writer: SegmentWriter, begin: int, end: int, tone: float = 440.0) -> None:
    """The tone from sample `begin` to `end` of the hearing clock, in the mixer's 20 ms blocks."""
    for position in range(begin, end, 960):
        t = np.arange(position, min(position + 960, end)) / 48000
        writer.write_audio((8000 * np.sin(2 * math.pi * tone * t)).astype(np.int16), position)


def packets_of(path, kind: str) -> list[tuple[int, int, bool]]:
    """(pts, duration, keyframe) of every packet of a segment's video or audio track, in its time base."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return [(int(p.pts), int(p.duration), p.is_keyframe) for p in container.demux(stream) if p.size]


def boxes(path) -> list[str]:
    """The top-level MP4 boxes of a file, in order."""
    data = path.read_bytes()
    kinds, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        kinds.append(data[at + 4:at + 8].decode("ascii"))
        at += size
    return kinds


def ticks(seconds: float) -> int:
    return round(seconds * 90000)


# -- the parameter sets for the MP4 header ---------------------------------------------------------------------

SPS = bytes.fromhex("6742c01fda05067e79a830303200000300020000030058")  # nal_ref_idc 3, type 7; ends in 'X'
PPS = bytes.fromhex("68ce3c20")  # type 8; its last byte is a space
SEI = bytes.fromhex("0605ff00")
IDR = bytes.fromhex("65888400ff")
AUD = bytes.fromhex("09f0")


@pytest.mark.timeout(5)  # a search that never moves on fails here instead of filling the memory
def test_parameter_sets_are_the_sps_and_pps_at_the_front_of_a_keyframe():
    long, short = b"\x00\x00\x00\x01", b"\x00\x00\x01"
    want = long + SPS + long + PPS
    # Three-byte start code at the very front, a short one after the SPS, trailing zero bytes after the PPS.
    assert split_parameter_sets(short + SPS + short + PPS + b"\x00" + long + SEI + short + IDR) == want
    # The PPS last but one: it ends where the picture's NAL unit begins, not at the end of the data.
    assert split_parameter_sets(long + AUD + long + SPS + long + PPS + short + IDR) == want
    assert split_parameter_sets(short + IDR) == b""  # not a keyframe with headers: nothing
    assert split_parameter_sets(b"") == b""


@pytest.mark.timeout(5)
def test_parameter_sets_of_the_encoder_s_own_keyframes():
    encoder = CompositeEncoder(WIDTH, HEIGHT, FPS, 300_000, 2.0)
    image = np.full((HEIGHT, WIDTH, 3), 90, dtype=np.uint8)
    keyframes = [bytes(p) for index in range(61) for p in encoder.encode(image, index * 6000)[0] if p.is_keyframe]
    first, later = keyframes[0], keyframes[1]
    # libx264 writes SPS and PPS with four-byte start codes, then (first keyframe only) an SEI, then the
    # picture, each of those with a three-byte one: the answer is the keyframe's own front, as it is.
    assert split_parameter_sets(first) == first[:first.index(b"\x00\x00\x01\x06")]
    assert split_parameter_sets(later) == later[:later.index(b"\x00\x00\x01\x65")]
    assert split_parameter_sets(first).count(b"\x00\x00\x00\x01") == 2


def avcc_parameter_sets(extradata: bytes) -> bytes:
    """An avcC box's SPS and PPS, in Annex B."""
    out, at = bytearray(), 5
    for _ in range(2):  # the SPS, then the PPS
        count = extradata[at] & 0x1F
        at += 1
        for _ in range(count):
            size = int.from_bytes(extradata[at:at + 2], "big")
            out += b"\x00\x00\x00\x01" + extradata[at + 2:at + 2 + size]
            at += 2 + size
    return bytes(out)


def test_a_segment_s_header_carries_the_stream_s_own_parameter_sets(tmp_path):
    """PyAV opens the output stream's own libx264 encoder at the first mux (OutputContainer.start_encoding);
    unless opened beforehand, its parameter sets (High profile, no colour description) replaced the
    keyframe's in every segment's avcC, and the final remux copied them into hearing.mp4."""
    written: list[WrittenSegment] = []
    writer = SegmentWriter(tmp_path, WIDTH, HEIGHT, FPS, 60.0, 64000, 1, written.append)
    encoder = CompositeEncoder(WIDTH, HEIGHT, FPS, 300_000, 2.0)
    keyframe = bytes(picture(writer, encoder, 0, keyframe=True)[0])
    writer.close()
    with av.open(str(written[0].path)) as container:
        extradata = bytes(container.streams.video[0].codec_context.extradata)
    assert avcc_parameter_sets(extradata) == split_parameter_sets(keyframe)


# -- segments: where they begin and end, and what they hold ----------------------------------------------------


def test_segments_begin_on_the_first_keyframe_after_their_length(tmp_path):
    written: list[WrittenSegment] = []
    writer = SegmentWriter(tmp_path, WIDTH, HEIGHT, FPS, 4.0, 64000, 7, written.append)
    encoder = CompositeEncoder(WIDTH, HEIGHT, FPS, 300_000, 2.0)  # a keyframe every 2 s
    feed(writer, encoder, 0.0, 9.0, 440.0)
    writer.close()
    assert [(s.index, s.path.name, s.start, s.end) for s in written] == [
        (7, "segment-000007.mp4", 0.0, 4.0), (8, "segment-000008.mp4", 4.0, 8.0),
        (9, "segment-000009.mp4", 8.0, 9.0)]
    for segment in written:
        assert segment.size == segment.path.stat().st_size
        video = packets_of(segment.path, "video")
        # Every picture of its span, once, on the hearing clock's own timestamps, each lasting one frame
        # (the last one too); the first is the keyframe it begins on.
        assert [pts for pts, _, _ in video] == list(range(ticks(segment.start), ticks(segment.end), 6000))
        assert {duration for _, duration, _ in video} == {6000}
        assert [key for _, _, key in video] == [i % 30 == 0 for i in range(len(video))]
        # Fragmented: the header up front, then fragments of at most a second, each playable once written.
        kinds = boxes(segment.path)
        assert kinds[:2] == ["ftyp", "moov"] and kinds.index("mdat") > kinds.index("moof")
        assert kinds.count("moof") >= math.ceil(segment.duration)


def test_sound_lands_in_the_segment_of_its_instant(tmp_path):
    """An hour into the hearing (where a rounding error on the clock has grown), sound ahead of the first
    picture, and a picture lost just before a keyframe: every AAC packet from the first picture on is in
    exactly one segment, the one whose span holds its first sample, and the segments tile the clock."""
    written: list[WrittenSegment] = []
    writer = RoutingWriter(tmp_path, WIDTH, HEIGHT, FPS, 4.0, 64000, 1, written.append)
    encoder = CompositeEncoder(WIDTH, HEIGHT, FPS, 300_000, 2.0)
    start = 3600 * FPS  # the first picture's frame index: 3600 s
    # Sound from 10 AAC frames before the first picture to 200 ms after it comes before that picture: what
    # is before the picture is nobody's, what is after it belongs to the first segment. (On 1024-sample
    # frames from there, one AAC packet begins exactly at the first picture and one at 3608 s.)
    written_up_to = 3600 * 48000 + 9600
    sound(writer, 3600 * 48000 - 10 * 1024, written_up_to)
    for index in range(start, start + 9 * FPS):
        # The picture before the keyframe at 3608 s is lost: the second segment still ends at 3608 s.
        picture(writer, encoder, index, keyframe=index == start, write=index != start + 8 * FPS - 1)
        frame_end = (index + 1) * 48000 // FPS
        if frame_end > written_up_to:
            sound(writer, written_up_to, frame_end)
            written_up_to = frame_end
    writer.close()
    assert [(s.start, s.end) for s in written] == [(3600.0, 3604.0), (3604.0, 3608.0), (3608.0, 3609.0)]
    held = []
    for number, segment in enumerate(written):
        audio = [pts for pts, _, _ in packets_of(segment.path, "audio")]
        begin = ticks(segment.start) * 48000
        end = ticks(segment.end) * 48000 if number + 1 < len(written) else math.inf
        # The last segment keeps the sound that follows its last picture, up to the close.
        assert audio and all(begin <= pts * 90000 < end for pts in audio)
        held += audio
    assert 3600 * 48000 in held and 3608 * 48000 in held
    assert held == [pts for pts in writer.made if pts * 90000 >= ticks(3600.0) * 48000]


def test_a_gap_in_the_sound_is_silence_and_sound_given_twice_is_encoded_once(tmp_path):
    written: list[WrittenSegment] = []
    writer = CountingWriter(tmp_path, WIDTH, HEIGHT, FPS, 60.0, 64000, 1, written.append)
    encoder = CompositeEncoder(WIDTH, HEIGHT, FPS, 300_000, 2.0)
    for index in range(3 * FPS):
        picture(writer, encoder, index, keyframe=index == 0)
    sound(writer, 0, 48000)
    sound(writer, 72000, 96000)  # the mixer stalled for half a second: 48000-72000 never came
    sound(writer, 96000 - 480, 96000 + 480)  # a block that begins 10 ms back: half of it is given again
    sound(writer, 96000 + 480, 3 * 48000)
    writer.close()
    assert writer.encoded == 3 * 48000  # the gap once, as silence; the repeated 10 ms not at all
    with av.open(str(written[0].path)) as container:
        frames = list(container.decode(container.streams.audio[0]))
    first = frames[0].pts
    samples = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]) * 32768

    def at(begin: int, end: int) -> np.ndarray:
        return samples[begin - first:end - first]

    assert np.abs(at(50400, 69600)).max() < 100  # silence in the gap
    # The tone before the gap, after it, in the new half of the block given again, and after that: each
    # where it was on the clock, not shifted.
    for begin, end in ((12000, 21600), (76800, 86400), (96000, 96480), (100800, 110400)):
        t = np.arange(begin, end) / 48000
        assert np.corrcoef(at(begin, end), np.sin(2 * math.pi * 440 * t))[0, 1] > 0.95


def test_segments_are_closed_even_when_no_sound_comes(tmp_path):
    # The mixer stalled: no sound at all. A segment waits for the sound up to its end, but not beyond the
    # next keyframe that begins a segment: then it is closed anyway.
    written: list[WrittenSegment] = []
    writer = SegmentWriter(tmp_path, WIDTH, HEIGHT, FPS, 4.0, 64000, 1, written.append)
    encoder = CompositeEncoder(WIDTH, HEIGHT, FPS, 300_000, 2.0)
    for index in range(8 * FPS + 1):
        picture(writer, encoder, index, keyframe=index == 0)
    assert [(s.index, s.start, s.end) for s in written] == [(1, 0.0, 4.0)]  # on the keyframe at 8 s
    for index in range(8 * FPS + 1, 9 * FPS):
        picture(writer, encoder, index)
    writer.close()
    assert [(s.index, s.start, s.end) for s in written] == [(1, 0.0, 4.0), (2, 4.0, 8.0), (3, 8.0, 9.0)]
    assert [len(packets_of(s.path, "video")) for s in written] == [60, 60, 15]


@pytest.mark.parametrize("fps", [1, 7, 15])
def test_the_last_segment_ends_one_frame_after_its_last_picture(tmp_path, fps):
    written: list[WrittenSegment] = []
    writer = SegmentWriter(tmp_path, WIDTH, HEIGHT, fps, 60.0, 64000, 1, written.append)
    encoder = CompositeEncoder(WIDTH, HEIGHT, fps, 300_000, 2.0)
    for index in range(3 * fps):
        picture(writer, encoder, index, fps, keyframe=index == 0)
    writer.close()
    # A frame lasts 90000 // fps ticks of the 90 kHz clock (the 7 fps frame: 12857 ticks, not 12857.14).
    assert written[0].end == ((3 * fps - 1) * 90000 // fps + 90000 // fps) / 90000


def test_a_picture_given_twice_at_one_instant_is_written_once(tmp_path):
    written: list[WrittenSegment] = []
    writer = SegmentWriter(tmp_path, WIDTH, HEIGHT, FPS, 60.0, 64000, 1, written.append)
    encoder = CompositeEncoder(WIDTH, HEIGHT, FPS, 300_000, 2.0)
    for index in range(5):
        for packet in picture(writer, encoder, index, keyframe=index == 0):
            writer.write_video(packet)  # the same packet again: the muxer would refuse it
    writer.close()
    assert [pts for pts, _, _ in packets_of(written[0].path, "video")] == [0, 6000, 12000, 18000, 24000]


@pytest.mark.parametrize("lag", [0.5, 5.0, 7.0], ids=["lag 0.5 s", "lag 5 s (more than a segment)", "lag 7 s"])
def test_sound_that_lags_its_picture_still_lands_in_its_own_segment(tmp_path, lag):
    """The mixer's sound behind its picture by more than a whole segment: each segment waits, open, for the
    sound of its own span (before, sound 5 s late was put into the next segment, before its picture). Sound
    that has not come at all since the previous segment began is not waited for (the mixer stalled: see
    test_segments_are_closed_even_when_no_sound_comes)."""
    written: list[WrittenSegment] = []
    writer = SegmentWriter(tmp_path, WIDTH, HEIGHT, FPS, 4.0, 64000, 1, written.append)
    encoder = CompositeEncoder(WIDTH, HEIGHT, FPS, 300_000, 2.0)  # a keyframe every 2 s
    position = 0
    for index in range(13 * FPS):
        picture(writer, encoder, index, keyframe=index == 0)
        until = int((index + 1) * 48000 / FPS - lag * 48000)
        if until > position:
            sound(writer, position, until - until % 960)
            position = until - until % 960
    sound(writer, position, 13 * 48000)
    writer.close()
    assert [(s.start, s.end) for s in written] == [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0), (12.0, 13.0)]
    for segment in written:
        audio = packets_of(segment.path, "audio")
        first, last = audio[0][0] / 48000, (audio[-1][0] + audio[-1][1]) / 48000
        # its own span, give or take one AAC frame (1024 samples, 21 ms) at either end
        assert segment.start - 0.025 <= first <= segment.start + 0.025, (segment.index, first)
        assert segment.end - 0.025 <= last <= segment.end + 0.025, (segment.index, last)
