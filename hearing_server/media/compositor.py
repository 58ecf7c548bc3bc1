"""The hearing's picture: a grid of labelled tiles under a bar with the case number and the court's clock.

Drawn straight in I420 (yuv420p: one contiguous (H*3/2, W) uint8 buffer, Y then U then V, the layout of
cv2's COLOR_YUV2BGR_I420 and of PyAV's VideoFrame.from_ndarray(format="yuv420p")): the cameras arrive in
yuv420p and the encoder wants yuv420p, so no picture is ever converted to BGR and back. Each plane of a
camera is resized straight into its place; white text is drawn on the Y plane only where the chroma under
it is neutral (the black label boxes and the caption bar); coloured marks go on all three planes with the
colour's BT.601 limited-range Y/U/V, as cv2's COLOR_BGR2YUV_I420 computes it, so the picture matches what
the BGR compositor it replaces gave after that conversion.

Pure OpenCV/numpy, no event loop: it runs in the mixer's worker thread (cv2 releases the GIL).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Callable, Union

import cv2
import numpy as np

from .lettering import FONT, drawable, fit

BAR = 48  # header bar height at 720p; scaled with the canvas (its text still legible on a phone)
# The palette, in BGR (as OpenCV spells colours); converted once to Y/U/V below.
BACKGROUND = (32, 24, 20)
TILE_EMPTY = (70, 60, 55)
BLACK = (0, 0, 0)
WHITE = (255, 255, 255)
GREY = (200, 200, 200)
RED = (40, 40, 220)
AMBER = (0, 176, 255)
AMBER = (0, 170, 255)
SPEAKING = (80, 200, 80)

# Y (h, w), U (h/2, w/2), V (h/2, w/2): uint8, rows may be padded (a frame's line size)
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]
# A camera picture: its yuv420p planes, one I420 buffer (h*3/2, w), or (compatibility) a BGR image (h, w, 3).
Picture = Union[Planes, np.ndarray]


def yuv(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    """A BGR colour's limited-range BT.601 Y, U, V: by cv2's own BGR→I420 matrix, so both paths agree."""
    i420 = cv2.cvtColor(np.full((2, 2, 3), bgr, np.uint8), cv2.COLOR_BGR2YUV_I420).ravel()
    return int(i420[0]), int(i420[4]), int(i420[5])


def i420_planes(buffer: np.ndarray, width: int, height: int) -> Planes:
    """Views of the three planes of a contiguous I420 buffer of shape (height*3/2, width)."""
    flat = buffer.reshape(-1)
    luma, chroma = width * height, (width // 2) * (height // 2)
    return (flat[:luma].reshape(height, width),
            flat[luma:luma + chroma].reshape(height // 2, width // 2),
            flat[luma + chroma:luma + 2 * chroma].reshape(height // 2, width // 2))


def picture_planes(image: Picture | None) -> Planes | None:
    """A tile's picture as (Y, U, V) planes of even size; None for no picture (the placeholder)."""
    if image is None:
        return None
    if isinstance(image, tuple):
        y, u, v = image
    elif image.ndim == 3:  # BGR: converted here (costs what the I420 path saves; kept for callers with BGR)
        h, w = image.shape[0] & ~1, image.shape[1] & ~1
        if not h or not w:
            return None
        buffer = cv2.cvtColor(np.ascontiguousarray(image[:h, :w]), cv2.COLOR_BGR2YUV_I420)
        y, u, v = i420_planes(buffer, w, h)
    else:
        h, w = image.shape[0] * 2 // 3 & ~1, image.shape[1] & ~1
        if image.shape[0] != h * 3 // 2 or image.shape[1] != w:
            raise ValueError(f"not an even-sized I420 buffer: {image.shape}")
        y, u, v = i420_planes(np.ascontiguousarray(image), w, h)
    if not y.size or not u.size:
        return None
    return y, u, v


def to_i420(frame: "object") -> Planes:
    """A decoded av.VideoFrame's yuv420p planes, without copying them (views of the frame's own buffers,
    which they keep alive); any other format goes through swscale first. An odd last row/column is dropped."""
    import av  # local: keeps this module importable for pure layout tests

    assert isinstance(frame, av.VideoFrame)
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    w, h = frame.width & ~1, frame.height & ~1
    out = []
    for index, plane in enumerate(frame.planes):
        rows, cols = (h, w) if index == 0 else (h // 2, w // 2)
        out.append(np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)[:rows, :cols])
    return out[0], out[1], out[2]


@dataclass(frozen=True)
class Tile:
    key: str
    name: str
    role: str
    image: Picture | None  # yuv420p planes (see to_i420), any even size; None draws the placeholder
    placeholder: str = "camera off"
    muted: bool = False
    speaking: bool = False
    poor: bool = False  # the picture is the last good one: the camera's connection is losing packets


@dataclass(frozen=True)
class Caption:
    case_number: str
    clock: str  # the court's local time with its offset, already formatted
    recording: bool
    banner: str = ""  # e.g. "RECESS": drawn across the whole picture


@dataclass(frozen=True)
class Wording:
    """The words the picture says by itself, in the court's language (hearing_server.i18n gives them)."""

    case: str = "Case {number}"
    recording: str = "REC"
    muted: str = "MUTED"
    poor: str = "POOR CONNECTION"
    waiting: str = "Waiting for participants"


def grid(count: int, width: int, height: int, top: int) -> list[tuple[int, int, int, int]]:
    """Tile rectangles (x, y, w, h) for `count` tiles, as square a grid as the canvas allows."""
    if count <= 0:
        return []
    area_h = height - top
    best = (1, count)
    best_size = 0.0
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        # Tiles are 16:9; pick the grid that makes them largest.
        tile_w = min(width / cols, (area_h / rows) * 16 / 9)
        if tile_w > best_size:
            best_size, best = tile_w, (cols, rows)
    cols, rows = best
    cell_w, cell_h = width // cols, area_h // rows
    rects = []
    for index in range(count):
        row, col = divmod(index, cols)
        in_row = min(cols, count - row * cols)
        # Centre a short last row.
        offset = (width - in_row * cell_w) // 2
        rects.append((offset + col * cell_w, top + row * cell_h, cell_w, cell_h))
    return rects


Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), canvas pixels


@functools.lru_cache(maxsize=256)  # every frame asks again for the same few tiles
def label_layout(name: str, role: str, inner_width: int, cell_height: int, scale: float) -> tuple[str, float]:
    """A tile's label ("name  (role)", the name cut to fit, the role always whole) and its font size.

    Read on a phone 390 px wide the whole picture is shrunk to a third, so the label grows with its tile
    (≈ 9 % of the tile's height: ≥ 10 CSS px on such a phone for up to four tiles), capped for a lone tile."""
    size = max(0.55 * scale, min(1.4 * scale, 0.09 * cell_height / 27))
    room = inner_width - int(16 * scale)
    suffix = f"  ({role})" if role else ""
    suffix_w = cv2.getTextSize(suffix, FONT, size, 1)[0][0]
    shown = fit(name, room - suffix_w, size) if suffix_w < room else ""
    return fit(shown + suffix if shown else role, room, size), size


@dataclass(frozen=True)
class _Mask:
    """An anti-aliased mark (255 = the colour), at an even canvas position, with its chroma-sized half."""

    x: int
    y: int
    luma: np.ndarray  # float32 alpha 0..1, even height and width
    chroma: np.ndarray  # the same, averaged over 2×2


class VideoCompositor:
    def __init__(self, width: int, height: int, wording: Wording | None = None) -> None:
        if width % 2 or height % 2:
            raise ValueError("an I420 picture needs an even width and height")
        self.width = width
        self.height = height
        self.wording = wording or Wording()
        self.scale = height / 720
        self.bar = int(BAR * self.scale)
        self.pad = max(2, int(3 * self.scale))
        self._canvas = np.empty((height * 3 // 2, width), dtype=np.uint8)
        self._own = i420_planes(self._canvas, width, height)
        self._y, self._u, self._v = self._own  # the planes being drawn (compose_into draws in others)
        # Filling from a colour tuple costs numpy ~7 ms a 720p frame; copying a filled buffer, a memcpy.
        self._background = np.empty_like(self._canvas)
        self._background_planes = i420_planes(self._background, width, height)
        for plane, value in zip(self._background_planes, yuv(BACKGROUND)):
            plane.fill(value)
        self._colors = {c: yuv(c) for c in (BACKGROUND, TILE_EMPTY, BLACK, WHITE, GREY, RED, AMBER, SPEAKING)}
        # cv2.rectangle's outline of thickness `pad` covers this many pixels inside the rectangle.
        probe = np.zeros((8 * self.pad, 8 * self.pad), np.uint8)
        cv2.rectangle(probe, (0, 0), (probe.shape[1] - 1, probe.shape[0] - 1), 255, self.pad)
        self._border = int(np.count_nonzero(probe[:, probe.shape[1] // 2])) // 2
        # The banner darkens a band to a third (of the colour, as BGR // 3 did): Y toward black, U/V to grey.
        values = np.arange(256, dtype=np.float64)
        self._dark_luma = np.clip(np.round(16 + (values - 16) / 3), 0, 255).astype(np.uint8)
        self._dark_chroma = np.clip(np.round(128 + (values - 128) / 3), 0, 255).astype(np.uint8)
        self._masks: dict[tuple, _Mask] = {}

    # -- the picture --------------------------------------------------------------------------------

    def compose(self, tiles: list[Tile], caption: Caption) -> np.ndarray:
        """The composite as one I420 buffer (height*3/2, width); reused: valid until the next compose."""
        self.compose_into(self._own, tiles, caption)
        return self._canvas

    def compose_into(self, planes: Planes, tiles: list[Tile], caption: Caption) -> None:
        """The composite drawn into given Y, U, V planes (e.g. those of the av.VideoFrame about to be
        encoded, which spares copying the picture once more)."""
        half = (self.height // 2, self.width // 2)
        if planes[0].shape != (self.height, self.width) or planes[1].shape != half or planes[2].shape != half:
            raise ValueError(f"planes of another size than {self.width}x{self.height}")
        self._y, self._u, self._v = planes
        # Whatever a name holds, the picture is drawn: OpenCV's putText takes only what drawable() gives.
        tiles = [replace(t, name=drawable(t.name), role=drawable(t.role), placeholder=drawable(t.placeholder))
                 for t in tiles]
        caption = replace(caption, case_number=drawable(self.wording.case.replace("{number}", caption.case_number)),
                          clock=drawable(caption.clock), banner=drawable(caption.banner))
        try:
            for plane, background in zip(planes, self._background_planes):
                np.copyto(plane, background)
            for tile, rect in zip(tiles, grid(len(tiles), self.width, self.height, self.bar)):
                self._draw_tile(rect, tile)
            self._draw_caption(caption)
            everything = (0, 0, self.width, self.height)
            if not tiles and not caption.banner:
                self._centered(everything, drawable(self.wording.waiting), 1.0 * self.scale, WHITE)
            if caption.banner:
                self._draw_banner(caption.banner)
        finally:
            self._y, self._u, self._v = self._own

    def _draw_tile(self, cell: tuple[int, int, int, int], tile: Tile) -> None:
        x, y, cw, ch = cell
        pad, s = self.pad, self.scale
        inner = (x + pad, y + pad, x + cw - pad, y + ch - pad)
        ix, iy = inner[0], inner[1]
        w, h = inner[2] - ix, inner[3] - iy
        picture = picture_planes(tile.image)
        if picture is not None:
            self._fill(inner, BLACK)  # the letterbox
            self._draw_picture(inner, picture)
        else:
            self._fill(inner, TILE_EMPTY)
            initials = "".join(part[0] for part in tile.name.split()[:2]).upper() or "?"
            self._centered(inner, initials, 2.2 * s, WHITE, thickness=3, dy=-int(18 * s))
            self._centered(inner, tile.placeholder, 0.7 * s, GREY, dy=int(34 * s))
        label, size = label_layout(tile.name, tile.role, w, ch, s)
        (tw, th), base = cv2.getTextSize(label, FONT, size, 1)
        lh = th + base + int(10 * s)
        box = (ix, iy + max(0, h - lh), ix + min(w, tw + int(16 * s) + 1), iy + h)
        if tile.speaking:
            # Who is speaking is plain at a glance: a thick green frame and the label itself in green.
            self._outline((x, y, x + cw, y + ch), max(self._border, int(7 * s)), SPEAKING)
            self._fill(box, SPEAKING)
            self._text(inner, label, (ix + int(8 * s), iy + h - base - int(5 * s)), size, BLACK, 1)
        else:
            self._fill(box, BLACK)
            # White on a black box: Y only, the chroma under it is already neutral.
            cv2.putText(self._y[iy:iy + h, ix:ix + w], label, (int(8 * s), h - base - int(5 * s)), FONT, size,
                        self._yuv(WHITE)[0], 1, cv2.LINE_AA)
        marks = []
        if tile.poor and picture is not None:
            marks.append((drawable(self.wording.poor), AMBER, BLACK, False))
        if tile.muted:
            marks.append((drawable(self.wording.muted), RED, WHITE, True))
        size = max(0.55 * s, 0.8 * size)
        for mark, fill_color, ink, right in marks:
            (mw, mh), mb = cv2.getTextSize(mark, FONT, size, 1)
            box_h = min(h, mh + mb + int(10 * s) + 1)
            if right:
                self._fill((ix + max(0, w - mw - int(14 * s)), iy, ix + w, iy + box_h), fill_color)
                self._text(inner, mark, (ix + w - mw - int(7 * s), iy + mh + int(5 * s)), size, ink, 1)
            else:
                self._fill((ix, iy, ix + min(w, mw + int(14 * s)), iy + box_h), fill_color)
                self._text(inner, mark, (ix + int(7 * s), iy + mh + int(5 * s)), size, ink, 1)

    def _draw_picture(self, inner: Rect, picture: Planes) -> None:
        """Letterboxed (never stretch a face) into the inner rectangle, each plane resized into its place."""
        luma, cb, cr = picture
        ih, iw = luma.shape
        w, h = inner[2] - inner[0], inner[3] - inner[1]
        if w < 2 or h < 2:
            return
        fit = min(w / iw, h / ih)
        nw, nh = max(1, int(iw * fit)), max(1, int(ih * fit))
        x0, y0 = inner[0] + (w - nw) // 2, inner[1] + (h - nh) // 2
        # INTER_AREA is ~8x dearer than bilinear and only better when shrinking by more than half.
        interpolation = cv2.INTER_AREA if fit < 0.5 else cv2.INTER_LINEAR
        # Luma exactly where the BGR compositor put the picture (the layout does not move); the chroma
        # over the chroma samples that cover it, rounded outwards when it starts or ends on an odd pixel.
        dst = self._y[y0:y0 + nh, x0:x0 + nw]
        cv2.resize(luma, (nw, nh), dst=dst, interpolation=interpolation)
        cx0, cy0, cx1, cy1 = x0 // 2, y0 // 2, (x0 + nw + 1) // 2, (y0 + nh + 1) // 2
        for src, plane in ((cb, self._u), (cr, self._v)):
            cv2.resize(src, (cx1 - cx0, cy1 - cy0), dst=plane[cy0:cy1, cx0:cx1], interpolation=interpolation)

    def _draw_caption(self, caption: Caption) -> None:
        bar, s = self.bar, self.scale
        self._fill((0, 0, self.width, bar), BLACK)
        size = 0.85 * s
        baseline = bar - int(15 * s)
        white = self._yuv(WHITE)[0]
        cv2.putText(self._y, caption.case_number, (int(12 * s), baseline), FONT, size, white, 1, cv2.LINE_AA)
        (cw, _), _ = cv2.getTextSize(caption.clock, FONT, size, 1)
        cv2.putText(self._y, caption.clock, (self.width - cw - int(12 * s), baseline), FONT, size, white, 1,
                    cv2.LINE_AA)
        if caption.recording:
            everything = (0, 0, self.width, self.height)
            cx, radius = self.width // 2 - int(50 * s), int(9 * s)
            reach = radius + 2
            circle = self._mask(("circle", radius), cx, bar // 2, (-reach, -reach, reach + 1, reach + 1),
                                lambda m, ox, oy: cv2.circle(m, (ox, oy), radius, 255, -1, cv2.LINE_AA))
            self._paint(circle, RED, everything)
            self._text(everything, drawable(self.wording.recording), (cx + int(18 * s), baseline), size, RED, 2)

    def _draw_banner(self, text: str) -> None:
        mid = self.height // 2
        half = int(50 * self.scale)
        y0, y1 = max(0, mid - half), min(self.height, mid + half)
        band = self._y[y0:y1]
        cv2.LUT(band, self._dark_luma, dst=band)
        for plane in (self._u, self._v):
            band = plane[y0 // 2:(y1 + 1) // 2]
            cv2.LUT(band, self._dark_chroma, dst=band)
        self._centered((0, 0, self.width, self.height), text, 1.6 * self.scale, AMBER, thickness=3)

    # -- drawing in three planes --------------------------------------------------------------------

    def _yuv(self, color: tuple[int, int, int]) -> tuple[int, int, int]:
        value = self._colors.get(color)
        if value is None:
            value = self._colors[color] = yuv(color)
        return value

    def _fill(self, rect: Rect, color: tuple[int, int, int]) -> None:
        """A filled rectangle, clipped to the canvas; its chroma covers every sample the rectangle touches."""
        x0, y0, x1, y1 = max(0, rect[0]), max(0, rect[1]), min(self.width, rect[2]), min(self.height, rect[3])
        if x1 <= x0 or y1 <= y0:
            return
        value_y, value_u, value_v = self._yuv(color)
        self._y[y0:y1, x0:x1] = value_y
        self._u[y0 // 2:(y1 + 1) // 2, x0 // 2:(x1 + 1) // 2] = value_u
        self._v[y0 // 2:(y1 + 1) // 2, x0 // 2:(x1 + 1) // 2] = value_v

    def _outline(self, rect: Rect, thickness: int, color: tuple[int, int, int]) -> None:
        x0, y0, x1, y1 = rect
        self._fill((x0, y0, x1, y0 + thickness), color)
        self._fill((x0, y1 - thickness, x1, y1), color)
        self._fill((x0, y0, x0 + thickness, y1), color)
        self._fill((x1 - thickness, y0, x1, y1), color)

    def _centered(self, rect: Rect, text: str, size: float, color: tuple[int, int, int], thickness: int = 1,
                  dy: int = 0) -> None:
        (tw, th), _ = cv2.getTextSize(text, FONT, size, thickness)
        w, h = rect[2] - rect[0], rect[3] - rect[1]
        org = (rect[0] + (w - tw) // 2, rect[1] + (h + th) // 2 + dy)
        self._text(rect, text, org, size, color, thickness)

    def _text(self, clip: Rect, text: str, org: tuple[int, int], size: float, color: tuple[int, int, int],
              thickness: int) -> None:
        """Anti-aliased text in any colour over anything, on all three planes, clipped to `clip`."""
        (tw, th), base = cv2.getTextSize(text, FONT, size, thickness)
        margin = thickness + 2
        def draw(mask: np.ndarray, x: int, y: int) -> None:
            cv2.putText(mask, text, (x, y), FONT, size, 255, thickness, cv2.LINE_AA)

        mask = self._mask(("text", text, size, thickness), org[0], org[1],
                          (-margin, -th - margin, tw + margin, base + margin), draw)
        self._paint(mask, color, clip)

    def _mask(self, key: tuple, x: int, y: int, box: tuple[int, int, int, int],
              draw: Callable[[np.ndarray, int, int], object]) -> _Mask:
        """A mark drawn at (x, y) whose ink lies within `box` (offsets from it), as an alpha mask at an even
        position; cached by what it is and the parity of where it goes (marks repeat every frame)."""
        full = key + (x & 1, y & 1)
        cached = self._masks.get(full)
        if cached is None:
            x0, y0 = (x + box[0]) & ~1, (y + box[1]) & ~1
            w, h = (x + box[2] - x0 + 1) & ~1, (y + box[3] - y0 + 1) & ~1
            canvas = np.zeros((h, w), np.uint8)
            draw(canvas, x - x0, y - y0)
            chroma = cv2.resize(canvas, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            if len(self._masks) > 256:  # text that changes (names come and go): never grow without bound
                self._masks.clear()
            cached = self._masks[full] = _Mask(x0 - x, y0 - y, canvas.astype(np.float32) / 255,
                                               chroma.astype(np.float32) / 255)
        # Stored relative to (x, y): the same mask serves wherever the same parity puts it.
        return _Mask(x + cached.x, y + cached.y, cached.luma, cached.chroma)

    def _paint(self, mask: _Mask, color: tuple[int, int, int], clip: Rect) -> None:
        """Blend `color` into the picture through `mask`, clipped to `clip` and the canvas."""
        cx0, cy0 = max(0, clip[0]), max(0, clip[1])
        cx1, cy1 = min(self.width, clip[2]), min(self.height, clip[3])
        value_y, value_u, value_v = self._yuv(color)
        mh, mw = mask.luma.shape
        x0, y0, x1, y1 = max(mask.x, cx0), max(mask.y, cy0), min(mask.x + mw, cx1), min(mask.y + mh, cy1)
        if x1 <= x0 or y1 <= y0:
            return
        _blend(self._y[y0:y1, x0:x1], mask.luma[y0 - mask.y:y1 - mask.y, x0 - mask.x:x1 - mask.x], value_y)
        hx, hy = mask.x // 2, mask.y // 2
        x0, y0, x1, y1 = max(hx, cx0 // 2), max(hy, cy0 // 2), min(hx + mw // 2, (cx1 + 1) // 2), \
            min(hy + mh // 2, (cy1 + 1) // 2)
        alpha = mask.chroma[y0 - hy:y1 - hy, x0 - hx:x1 - hx]
        _blend(self._u[y0:y1, x0:x1], alpha, value_u)
        _blend(self._v[y0:y1, x0:x1], alpha, value_v)


def _blend(plane: np.ndarray, alpha: np.ndarray, value: int) -> None:
    """plane += (value - plane) * alpha, in place (what LINE_AA drawing does to each BGR channel)."""
    if not plane.size:
        return
    mixed = plane.astype(np.float32)
    mixed += (value - mixed) * alpha
    mixed += 0.5
    np.copyto(plane, mixed, casting="unsafe")
