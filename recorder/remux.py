"""One downloadable MP4 from the segments, by remuxing the very same packets (no re-encode)."""

from __future__ import annotations

from pathlib import Path

import av

from .files import touch_private


def remux(segments: list[Path], target: Path) -> None:
    """Concatenate segments that share one timeline (the hearing clock) into a fast-start MP4.

    Timestamps are kept as they are: a pause in the recording stays a jump in time, so an offset in the
    transcript is the same instant in the file.
    """
    if not segments:
        raise ValueError("no segments to join")
    tmp = target.with_suffix(".partial.mp4")
    output = av.open(str(touch_private(tmp)), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        streams: dict[str, av.stream.Stream] = {}
        last_dts: dict[str, int] = {}
        for path in segments:
            with av.open(str(path)) as source:
                for stream in source.streams:
                    if stream.type in ("video", "audio") and stream.type not in streams:
                        streams[stream.type] = output.add_stream_from_template(stream)
                for packet in source.demux():
                    kind = packet.stream.type
                    if packet.dts is None or kind not in streams:
                        continue
                    if packet.dts <= last_dts.get(kind, -1):
                        continue  # overlap at a segment seam: the first copy wins
                    last_dts[kind] = packet.dts
                    packet.stream = streams[kind]
                    output.mux(packet)
    finally:
        output.close()
    tmp.replace(target)
