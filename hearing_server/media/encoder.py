"""The hearing's one H.264 encoder: constrained baseline, so every phone (Safari included) can decode it."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np

VIDEO_TIME_BASE = Fraction(1, 90000)


class CompositeEncoder:
    """libx264 via PyAV. Packets carry SPS/PPS in-band on every keyframe, which aiortc's packetizer and
    a fragmented-MP4 muxer both need (a receiver joining late must be able to start at any IDR)."""

    def __init__(self, width: int, height: int, fps: int, bitrate: int, keyframe_interval: float,
                 preset: str = "veryfast", threads: int = 1) -> None:
        self.width = width
        self.height = height
        context = av.CodecContext.create("libx264", "w")
        context.width = width
        context.height = height
        context.pix_fmt = "yuv420p"
        context.time_base = VIDEO_TIME_BASE
        context.framerate = Fraction(fps, 1)
        context.bit_rate = bitrate
        context.gop_size = max(1, int(round(keyframe_interval * fps)))
        context.max_b_frames = 0
        context.thread_count = threads
        context.options = {
            "preset": preset,
            "tune": "zerolatency",
            "profile": "baseline",
            "level": "3.1",
            # scenecut off: IDRs come on the fixed cadence or when a receiver asks, never at random.
            "x264-params": f"keyint={context.gop_size}:min-keyint={context.gop_size}:scenecut=0"
                           f":repeat-headers=1:vbv-maxrate={bitrate // 1000}:vbv-bufsize={bitrate // 1000}",
        }
        self._context = context

    def encode(self, bgr: np.ndarray, pts: int, keyframe: bool = False) -> tuple[list[av.Packet], av.VideoFrame]:
        i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        packets = self._context.encode(frame)
        for packet in packets:
            packet.time_base = VIDEO_TIME_BASE
        return packets, frame

    def close(self) -> None:
        try:
            self._context.encode(None)
        except av.error.EOFError:
            pass
