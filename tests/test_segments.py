"""The segment writer in process: a pause closes what is open, and recording resumes on the next keyframe in
a segment of its own that holds both picture and sound from the moment it resumes, not before."""

from __future__ import annotations

import math

import av
import numpy as np

from hearing_server.media.encoder import CompositeEncoder
from recorder.segments import SegmentWriter, WrittenSegment

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
