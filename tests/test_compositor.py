"""The I420 compositor against the BGR compositor it replaced: the same tiles and caption drawn both ways must
look the same (PSNR over the whole picture and over each name label), and the planes must get from a
decoded camera frame to the encoder without a colour conversion and without being mixed up."""

from __future__ import annotations

import asyncio

import av
import cv2
import numpy as np
import pytest

from hardware.synthetic import synthetic_picture
from hearing_server.config import MediaSettings
from hearing_server.media.compositor import (
    AMBER,
    BACKGROUND,
    BAR,
    FONT,
    RED,
    SPEAKING,
    TILE_EMPTY,
    WHITE,
    Caption,
    Tile,
    VideoCompositor,
    grid,
    label_layout,
    to_i420,
)
from hearing_server.media.encoder import CompositeEncoder
from hearing_server.media.layers import STILL
from hearing_server.media.mixer import HearingMixer, Seat
from hearing_server.media.tracks import CompositeVideoTrack

# -- the BGR compositor as it was (reference only; the same palette) -------------------------------------


class BgrCompositor:
    """The previous VideoCompositor, verbatim: draws a BGR canvas from BGR tiles (Tile.image in BGR)."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.scale = height / 720
        self.bar = int(BAR * self.scale)
        self._canvas = np.empty((height, width, 3), dtype=np.uint8)
        self._background = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)

    def compose(self, tiles: list[Tile], caption: Caption) -> np.ndarray:
        canvas = self._canvas
        np.copyto(canvas, self._background)
        for tile, (x, y, w, h) in zip(tiles, grid(len(tiles), self.width, self.height, self.bar)):
            self._draw_tile(canvas[y:y + h, x:x + w], tile)
        self._draw_caption(canvas, caption)
        if not tiles and not caption.banner:
            self._centered(canvas, "Waiting for participants", 1.0 * self.scale, WHITE)
        if caption.banner:
            self._draw_banner(canvas, caption.banner)
        return canvas

    def _draw_tile(self, cell: np.ndarray, tile: Tile) -> None:
        pad = max(2, int(3 * self.scale))
        inner = cell[pad:-pad, pad:-pad]
        h, w = inner.shape[:2]
        image = tile.image
        if image is not None and image.size:  # type: ignore[union-attr]
            ih, iw = image.shape[:2]  # type: ignore[union-attr]
            fit = min(w / iw, h / ih)
            nw, nh = max(1, int(iw * fit)), max(1, int(ih * fit))
            x0, y0 = (w - nw) // 2, (h - nh) // 2
            inner.fill(0)
            interpolation = cv2.INTER_AREA if fit < 0.5 else cv2.INTER_LINEAR
            inner[y0:y0 + nh, x0:x0 + nw] = cv2.resize(image, (nw, nh), interpolation=interpolation)
        else:
            cv2.rectangle(inner, (0, 0), (w - 1, h - 1), TILE_EMPTY, -1)
            initials = "".join(part[0] for part in tile.name.split()[:2]).upper() or "?"
            self._centered(inner, initials, 2.2 * self.scale, WHITE, thickness=3, dy=-int(18 * self.scale))
            self._centered(inner, tile.placeholder, 0.7 * self.scale, (200, 200, 200),
                           dy=int(34 * self.scale))
        label, size = label_layout(tile.name, tile.role, w, cell.shape[0], self.scale)
        (tw, th), base = cv2.getTextSize(label, FONT, size, 1)
        lh = th + base + int(10 * self.scale)
        if tile.speaking:
            border = max(pad, int(7 * self.scale))
            cv2.rectangle(cell, (0, 0), (cell.shape[1] - 1, cell.shape[0] - 1), SPEAKING, 2 * border - 1)
        box_color, ink = (SPEAKING, (0, 0, 0)) if tile.speaking else ((0, 0, 0), WHITE)
        cv2.rectangle(inner, (0, h - lh), (min(w, tw + int(16 * self.scale)), h), box_color, -1)
        cv2.putText(inner, label, (int(8 * self.scale), h - base - int(5 * self.scale)), FONT, size, ink, 1,
                    cv2.LINE_AA)
        size = max(0.55 * self.scale, 0.8 * size)
        if tile.muted:
            mark = "MUTED"
            (mw, mh), mb = cv2.getTextSize(mark, FONT, size, 1)
            cv2.rectangle(inner, (w - mw - int(14 * self.scale), 0), (w, mh + mb + int(10 * self.scale)), RED, -1)
            cv2.putText(inner, mark, (w - mw - int(7 * self.scale), mh + int(5 * self.scale)), FONT, size, WHITE, 1,
                        cv2.LINE_AA)

    def _draw_caption(self, canvas: np.ndarray, caption: Caption) -> None:
        bar = self.bar
        canvas[:bar].fill(0)
        size = 0.85 * self.scale
        baseline = bar - int(15 * self.scale)
        cv2.putText(canvas, f"Case {caption.case_number}", (int(12 * self.scale), baseline), FONT, size, WHITE, 1,
                    cv2.LINE_AA)
        (cw, _), _ = cv2.getTextSize(caption.clock, FONT, size, 1)
        cv2.putText(canvas, caption.clock, (self.width - cw - int(12 * self.scale), baseline), FONT, size, WHITE,
                    1, cv2.LINE_AA)
        if caption.recording:
            cx = self.width // 2 - int(50 * self.scale)
            cv2.circle(canvas, (cx, bar // 2), int(9 * self.scale), RED, -1, cv2.LINE_AA)
            cv2.putText(canvas, "REC", (cx + int(18 * self.scale), baseline), FONT, size, RED, 2, cv2.LINE_AA)

    def _draw_banner(self, canvas: np.ndarray, text: str) -> None:
        mid = self.height // 2
        half = int(50 * self.scale)
        canvas[mid - half:mid + half] = (canvas[mid - half:mid + half] // 3)
        self._centered(canvas, text, 1.6 * self.scale, AMBER, thickness=3)

    def _centered(self, image: np.ndarray, text: str, size: float, color: tuple[int, int, int],
                  thickness: int = 1, dy: int = 0) -> None:
        (tw, th), _ = cv2.getTextSize(text, FONT, size, thickness)
        h, w = image.shape[:2]
        cv2.putText(image, text, ((w - tw) // 2, (h + th) // 2 + dy), FONT, size, color, thickness, cv2.LINE_AA)


# -- helpers --------------------------------------------------------------------------------------------

PEOPLE = [("Judge Amira Haddad", "judge"), ("Ana Silva", "plaintiff"), ("Ben Okafor", "defendant"),
          ("Chen Wei", "witness"), ("Dora Kovacs", "interpreter"), ("Emil Novak", "clerk"),
          ("Farah Aziz", "expert")]
CAPTION = Caption("CV-2026-0142", "2026-11-27 08:21:51 UTC", True)


def camera(index: int, width: int = 640, height: int = 480) -> av.VideoFrame:
    """A decoded camera frame as the mixer gets one: yuv420p, with sensor noise."""
    name = PEOPLE[index % len(PEOPLE)][0]
    bgr = synthetic_picture(name, width, height, 1.5 + index)
    noise = np.random.default_rng(index).normal(0, 4, bgr.shape)
    bgr = np.clip(bgr + noise, 0, 255).astype(np.uint8)
    return av.VideoFrame.from_ndarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420), format="yuv420p")


def as_bgr(frame: av.VideoFrame) -> np.ndarray:
    """What the BGR path drew from the same frame (its to_bgr: cv2 I420→BGR)."""
    return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def label_boxes(tiles: list[Tile], width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of each tile's name label box, by the compositor's geometry."""
    scale = height / 720
    pad = max(2, int(3 * scale))
    boxes = []
    for tile, (x, y, w, h) in zip(tiles, grid(len(tiles), width, height, int(BAR * scale))):
        iw, ih = w - 2 * pad, h - 2 * pad
        label, size = label_layout(tile.name, tile.role, iw, h, scale)
        (tw, th), base = cv2.getTextSize(label, FONT, size, 1)
        lh = th + base + int(10 * scale)
        x0, y0 = x + pad, y + pad
        boxes.append((x0, y0 + max(0, ih - lh), x0 + min(iw, tw + int(16 * scale) + 1), y0 + ih))
    return boxes


def render(specs: list[dict], caption: Caption, width: int,
           height: int) -> tuple[np.ndarray, np.ndarray, list[Tile]]:
    """The BGR reference and the I420 compositor's picture (converted to BGR) of the same tiles."""
    old, new = [], []
    for index, spec in enumerate(specs):
        frame = camera(index, *spec.get("size", (640, 480))) if spec.get("camera", True) else None
        name, role = PEOPLE[index % len(PEOPLE)]
        common = dict(key=f"cam{index}", name=name, role=role,
                      placeholder=spec.get("placeholder", "camera off"),
                      muted=spec.get("muted", False), speaking=spec.get("speaking", False))
        old.append(Tile(image=as_bgr(frame) if frame is not None else None, **common))
        new.append(Tile(image=to_i420(frame) if frame is not None else None, **common))
    reference = BgrCompositor(width, height).compose(old, caption).copy()
    i420 = VideoCompositor(width, height).compose(new, caption)
    assert i420.shape == (height * 3 // 2, width) and i420.dtype == np.uint8
    return reference, cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420), new


CASES = {
    "four cameras": ([{}, {}, {}, {}], CAPTION),
    "three, one offline, one muted and speaking": (
        [{}, {"camera": False, "placeholder": "camera offline"}, {"muted": True, "speaking": True}], CAPTION),
    "no one yet": ([], CAPTION),
    "recess": ([{}, {"muted": True}], Caption("CV-2026-0142", "2026-11-27 08:21:51 UTC", True, "RECESS")),
    # odd cell positions (a centred short last row), odd sizes, a picture shrunk by more than half
    "seven, mixed": ([{}, {"camera": False}, {"size": (1280, 720)}, {"size": (320, 240), "speaking": True},
                      {"muted": True}, {"size": (642, 362)}, {"camera": False, "muted": True}],
                     Caption("CV-1", "2026-01-01 00:00:00 UTC", False)),
}


@pytest.mark.parametrize("size", [(1280, 720), (640, 360)], ids=["720p", "360p"])
@pytest.mark.parametrize("case", list(CASES))
def test_i420_composite_matches_the_bgr_one(case, size):
    specs, caption = CASES[case]
    width, height = size
    reference, picture, tiles = render(specs, caption, width, height)
    overall = psnr(reference, picture)
    assert overall >= 30.0, f"{case} at {size}: PSNR {overall:.1f} dB"
    # The names must read as before: each label box on its own, and the caption bar.
    for tile, (x0, y0, x1, y1) in zip(tiles, label_boxes(tiles, width, height)):
        label = psnr(reference[y0:y1, x0:x1], picture[y0:y1, x0:x1])
        # A speaker's label is black on green: at 360p its small letters' edges fall within one 2×2 chroma
        # sample, which I420 cannot hold as the BGR picture does (the luma below must still match).
        least = 28.0 if tile.speaking else 30.0
        assert label >= least, f"{case} at {size}: label of {tile.name}: PSNR {label:.1f} dB"
        luma = psnr(cv2.cvtColor(reference[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY),
                    cv2.cvtColor(picture[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY))
        assert luma >= 40.0, f"{case} at {size}: label of {tile.name}: luma PSNR {luma:.1f} dB"
    bar = int(BAR * height / 720)
    assert psnr(reference[:bar], picture[:bar]) >= 30.0


def test_layout_does_not_move():
    """Every tile's picture sits where the BGR compositor put it (the tests that find names rely on it)."""
    reference, picture, _ = render([{}, {}, {}], CAPTION, 1280, 720)
    gray_ref = cv2.cvtColor(reference, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gray_new = cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY).astype(np.float32)
    for x, y, w, h in grid(3, 1280, 720, BAR):
        cell, ref = gray_new[y:y + h, x:x + w], gray_ref[y:y + h, x:x + w]

        def error(shift: tuple[int, int]) -> float:
            return float(np.abs(np.roll(cell, shift, (1, 0)) - ref)[4:-4, 4:-4].mean())

        assert min(((dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)), key=error) == (0, 0)


def test_to_i420_views_the_decoded_planes():
    frame = camera(0)
    y, u, v = to_i420(frame)
    assert (y.shape, u.shape, v.shape) == ((480, 640), (240, 320), (240, 320))
    assert np.array_equal(np.concatenate([y.ravel(), u.ravel(), v.ravel()]), frame.to_ndarray().ravel())
    # no copy: the planes are the frame's own memory
    assert np.shares_memory(y, np.frombuffer(frame.planes[0], np.uint8))
    # another pixel format is converted first; an odd size loses its last row and column
    rgb = av.VideoFrame.from_ndarray(np.full((241, 321, 3), (200, 30, 30), np.uint8), format="rgb24")
    y, u, v = to_i420(rgb)
    assert (y.shape, u.shape, v.shape) == ((240, 320), (120, 160), (120, 160))
    i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(360, 320)
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    assert np.abs(bgr[120, 160].astype(int) - (30, 30, 200)).max() <= 6


def test_tile_pictures_in_other_shapes():
    """One I420 buffer, or (for callers that still hold one) a BGR image, draw like the planes."""
    frame = camera(1)
    compositor = VideoCompositor(640, 360)
    planes = compositor.compose([Tile("a", "Ana Silva", "plaintiff", to_i420(frame))], CAPTION).copy()
    buffer = compositor.compose([Tile("a", "Ana Silva", "plaintiff", frame.to_ndarray())], CAPTION).copy()
    assert np.array_equal(planes, buffer)
    bgr = compositor.compose([Tile("a", "Ana Silva", "plaintiff", as_bgr(frame))], CAPTION)
    assert psnr(planes, bgr) >= 40.0


def test_encoder_takes_the_i420_buffer_and_still_takes_bgr():
    width, height = 640, 360
    reference, _, _ = render([{}, {"muted": True}], CAPTION, width, height)
    i420 = cv2.cvtColor(reference, cv2.COLOR_BGR2YUV_I420)
    for picture in (i420, reference):
        encoder = CompositeEncoder(width, height, 15, 2_000_000, 2.0)
        decoder = av.CodecContext.create("h264", "r")
        decoded = []
        for n in range(3):
            packets, frame = encoder.encode(picture, n * 6000, keyframe=n == 0)
            assert np.array_equal(frame.to_ndarray(), i420)  # what x264 got: the planes as given
            for packet in packets:
                decoded += decoder.decode(packet)
        for packet in encoder._context.encode(None):
            decoded += decoder.decode(packet)
        encoder.close()
        assert decoded
        assert psnr(decoded[-1].to_ndarray(format="bgr24"), reference) >= 30.0
    with pytest.raises(ValueError):
        CompositeEncoder(width, height, 15, 600_000, 2.0).encode(np.zeros((height, width), np.uint8), 0)


def test_mixer_renders_decoded_frames_without_converting_them_twice():
    settings = MediaSettings()
    settings.width, settings.height = 640, 360
    mixer = HearingMixer(settings, "CV-1")
    mixer._encoder = CompositeEncoder(640, 360, settings.fps, 600_000, 2.0)
    seats = [Seat("cam0", "p0", "Ana Silva", "plaintiff"), Seat("cam1", "p1", "Ben Okafor", "defendant")]
    frame = camera(0)
    packets, out, low = mixer._render([(seats[0], frame), (seats[1], None)], CAPTION, 0, True)
    assert packets and packets[0].is_keyframe and (out.width, out.height) == (640, 360)
    assert low is None  # nobody on the lower layer: it is not encoded
    planes = mixer._pictures["cam0"][1]
    mixer._render([(seats[0], frame), (seats[1], None)], CAPTION, 6000, False)
    assert mixer._pictures["cam0"][1] is planes  # the same frame again: its planes are reused
    expected = VideoCompositor(640, 360).compose(
        [Tile("cam0", "Ana Silva", "plaintiff", to_i420(frame)),
         Tile("cam1", "Ben Okafor", "defendant", None)], CAPTION)
    assert np.array_equal(out.to_ndarray(), expected)
    mixer._render([(seats[0], None)], CAPTION, 12000, False)
    assert mixer._pictures == {}
    mixer._encoder.close()


def test_the_lower_layer_is_the_same_picture_at_half_size_made_only_while_needed():
    settings = MediaSettings()
    settings.width, settings.height = 640, 360
    mixer = HearingMixer(settings, "CV-1")
    mixer._encoder = CompositeEncoder(640, 360, settings.fps, 600_000, 2.0)
    seats = [Seat("cam0", "p0", "Ana Silva", "plaintiff")]
    decoder = av.CodecContext.create("h264", "r")
    pictures = []
    for index in range(3):
        _, out, low = mixer._render([(seats[0], camera(index))], CAPTION, index * 6000, index == 0, low=True)
        assert low is not None and (index > 0 or low[0].is_keyframe)  # its own encoder starts on a keyframe
        for packet in low:
            pictures += decoder.decode(packet)
    assert pictures and (pictures[-1].width, pictures[-1].height) == (320, 180)
    # the same picture: the main frame scaled down, within coding noise
    main_small = out.reformat(width=320, height=180).to_ndarray()[:180]
    assert np.abs(pictures[-1].to_ndarray()[:180].astype(int) - main_small.astype(int)).mean() < 8
    assert mixer._render([(seats[0], camera(3))], CAPTION, 18000, False)[2] is None
    assert mixer._low_encoder is None  # nobody needs it any more: closed
    mixer._encoder.close()


def test_a_receiver_on_the_still_layer_gets_a_new_picture_every_second():
    """The still layer is the low layer's keyframes: while someone is on it they come once a second, not at
    the 2 s cadence (a picture at least every 2 s on a 300 kbit/s link, issue 17)."""

    async def main() -> list[float]:
        settings = MediaSettings()
        settings.width, settings.height, settings.keyframe_interval_seconds = 320, 180, 2.0
        mixer = HearingMixer(settings, "CV-1")
        track = CompositeVideoTrack("p1")
        track._waiting_for_keyframe, track.layer = False, STILL
        mixer.attach("p1", track, None)
        mixer.start()
        seen: list[float] = []
        loop = asyncio.get_running_loop()
        try:
            started = loop.time()
            while loop.time() - started < 4.5:
                packet = await asyncio.wait_for(track.recv(), 3.0)
                assert packet.is_keyframe  # the still layer carries nothing else
                seen.append(loop.time() - started)
        finally:
            await mixer.stop()
        return seen

    seen = asyncio.run(main())
    gaps = [later - earlier for earlier, later in zip(seen, seen[1:])]
    assert len(seen) >= 4 and max(gaps) < 1.5, seen


@pytest.mark.parametrize("size", [(640, 360), (650, 366)], ids=["640x360", "padded rows"])
def test_compose_into_the_encoders_frame_draws_the_same_picture(size):
    """What the mixer does: draw straight into the frame x264 gets (its rows may be padded), no copy."""
    width, height = size
    tiles = [Tile("a", "Ana Silva", "plaintiff", to_i420(camera(2)), muted=True, speaking=True),
             Tile("b", "Ben Okafor", "defendant", None, "camera offline")]
    caption = Caption("CV-1", "2026-01-01 00:00:00 UTC", True, "RECESS")
    compositor = VideoCompositor(width, height)
    expected = compositor.compose(tiles, caption).copy()
    encoder = CompositeEncoder(width, height, 15, 600_000, 2.0)
    frame = encoder.frame()
    compositor.compose_into(to_i420(frame), tiles, caption)
    assert np.array_equal(frame.to_ndarray(), expected)
    assert np.array_equal(compositor.compose(tiles, caption), expected)  # its own canvas is unaffected
    packets, encoded = encoder.encode(frame, 0, keyframe=True)
    assert encoded is frame and packets and packets[0].is_keyframe
    with pytest.raises(ValueError):
        compositor.compose_into(to_i420(av.VideoFrame(320, 180, "yuv420p")), tiles, caption)
    with pytest.raises(ValueError):
        encoder.encode(av.VideoFrame(320, 180, "yuv420p"), 6000)
    encoder.close()
