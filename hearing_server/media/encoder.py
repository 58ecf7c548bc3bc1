"""The hearing's one H.264 encoder: constrained baseline, so every phone (Safari included) can decode it."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np

from .compositor import i420_planes, to_i420

VIDEO_TIME_BASE = Fraction(1, 90000)

# The stream says how its colours are to be read (the SPS's VUI), so that every decoder shows the same
# picture: BT.601 (SMPTE 170M) primaries, transfer and matrix, limited ("TV") range — what the compositor
# draws in (cv2's BGR→I420 is limited-range BT.601) and what browsers' cameras arrive in. Without it decoders
# guess: ffprobe says color_space=unknown, and GStreamer read the composite's greens as BT.709.
COLOUR_DESCRIPTION = "colorprim=smpte170m:transfer=smpte170m:colormatrix=smpte170m:range=tv"


class CompositeEncoder:
    """libx264 via PyAV. Packets carry SPS/PPS in-band on every keyframe, which aiortc's packetizer and
    a fragmented-MP4 muxer both need (a receiver joining late must be able to start at any IDR)."""

    def __init__(self, width: int, height: int, fps: int, bitrate: int, keyframe_interval: float,
                 preset: str = "superfast", threads: int = 1, vbv_seconds: float = 1.0) -> None:
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
                           f":repeat-headers=1:vbv-maxrate={bitrate // 1000}"
                           f":vbv-bufsize={max(1, int(bitrate * vbv_seconds) // 1000)}"
                           f":{COLOUR_DESCRIPTION}",
        }
        # Opened now, not at the first frame: a setting libx264 refuses fails the hearing's start (which
        # says so) instead of every frame of it in the mixer's thread.
        context.open()
        self._context = context

    def frame(self) -> av.VideoFrame:
        """A new yuv420p frame of the encoder's size, for VideoCompositor.compose_into to draw in (one per
        picture: the previous one may still be queued for a VP8 receiver)."""
        return av.VideoFrame(self.width, self.height, "yuv420p")

    def encode(self, picture: np.ndarray | av.VideoFrame, pts: int,
               keyframe: bool = False) -> tuple[list[av.Packet], av.VideoFrame]:
        """Encode one composite: a yuv420p frame from frame() (as is), or an I420 buffer ((height*3/2,
        width) uint8, Y then U then V, as VideoCompositor.compose draws it), copied into a new frame. A BGR
        image (height, width, 3) is still accepted and converted here (cv2, ~1 ms at 720p)."""
        w, h = self.width, self.height
        if isinstance(picture, av.VideoFrame):
            if (picture.width, picture.height, picture.format.name) != (w, h, "yuv420p"):
                raise ValueError(f"expected a {w}x{h} yuv420p frame, got {picture.width}x{picture.height} "
                                 f"{picture.format.name}")
            frame = picture
        else:
            if picture.ndim == 3:
                picture = cv2.cvtColor(picture, cv2.COLOR_BGR2YUV_I420)
            if picture.shape != (h * 3 // 2, w):
                raise ValueError(f"expected an I420 picture of {(h * 3 // 2, w)}, got {picture.shape}")
            # Three plane copies: VideoFrame.from_ndarray costs ~7x more for the same bytes.
            frame = self.frame()
            for dst, src in zip(to_i420(frame), i420_planes(np.ascontiguousarray(picture), w, h)):
                np.copyto(dst, src)
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
