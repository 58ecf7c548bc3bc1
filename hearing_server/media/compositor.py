"""The hearing's picture: a grid of labelled tiles under a bar with the case number and the UTC clock.

Pure OpenCV/numpy, no event loop: it runs in the mixer's worker thread (cv2 releases the GIL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
BAR = 36  # header bar height at 720p; scaled with the canvas
BACKGROUND = (32, 24, 20)
TILE_EMPTY = (70, 60, 55)
WHITE = (255, 255, 255)
RED = (40, 40, 220)
AMBER = (0, 170, 255)
SPEAKING = (80, 200, 80)


@dataclass(frozen=True)
class Tile:
    key: str
    name: str
    role: str
    image: np.ndarray | None  # BGR, any size; None draws the placeholder
    placeholder: str = "camera off"
    muted: bool = False
    speaking: bool = False


@dataclass(frozen=True)
class Caption:
    case_number: str
    clock: str  # UTC, already formatted
    recording: bool
    banner: str = ""  # e.g. "RECESS": drawn across the whole picture


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


class VideoCompositor:
    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.scale = height / 720
        self.bar = int(BAR * self.scale)
        self._canvas = np.empty((height, width, 3), dtype=np.uint8)
        # Filling 2.7 MB from a colour tuple costs numpy ~7 ms a frame; copying a filled one, a memcpy.
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
        if tile.image is not None and tile.image.size:
            ih, iw = tile.image.shape[:2]
            # Letterbox: never stretch a face.
            fit = min(w / iw, h / ih)
            nw, nh = max(1, int(iw * fit)), max(1, int(ih * fit))
            x0, y0 = (w - nw) // 2, (h - nh) // 2
            inner.fill(0)
            # INTER_AREA is ~8x dearer than bilinear and only better when shrinking by more than half.
            interpolation = cv2.INTER_AREA if fit < 0.5 else cv2.INTER_LINEAR
            inner[y0:y0 + nh, x0:x0 + nw] = cv2.resize(tile.image, (nw, nh), interpolation=interpolation)
        else:
            cv2.rectangle(inner, (0, 0), (w - 1, h - 1), TILE_EMPTY, -1)
            initials = "".join(part[0] for part in tile.name.split()[:2]).upper() or "?"
            self._centered(inner, initials, 2.2 * self.scale, WHITE, thickness=3, dy=-int(18 * self.scale))
            self._centered(inner, tile.placeholder, 0.7 * self.scale, (200, 200, 200),
                           dy=int(34 * self.scale))
        if tile.speaking:
            cv2.rectangle(cell, (0, 0), (cell.shape[1] - 1, cell.shape[0] - 1), SPEAKING, pad)
        label = f"{tile.name}  ({tile.role})"
        size = 0.55 * self.scale
        (tw, th), base = cv2.getTextSize(label, FONT, size, 1)
        lh = th + base + int(10 * self.scale)
        cv2.rectangle(inner, (0, h - lh), (min(w, tw + int(16 * self.scale)), h), (0, 0, 0), -1)
        cv2.putText(inner, label, (int(8 * self.scale), h - base - int(5 * self.scale)), FONT, size, WHITE, 1,
                    cv2.LINE_AA)
        if tile.muted:
            mark = "MUTED"
            (mw, mh), mb = cv2.getTextSize(mark, FONT, size, 1)
            cv2.rectangle(inner, (w - mw - int(14 * self.scale), 0), (w, mh + mb + int(10 * self.scale)), RED, -1)
            cv2.putText(inner, mark, (w - mw - int(7 * self.scale), mh + int(5 * self.scale)), FONT, size, WHITE, 1,
                        cv2.LINE_AA)

    def _draw_caption(self, canvas: np.ndarray, caption: Caption) -> None:
        bar = self.bar
        canvas[:bar].fill(0)
        size = 0.6 * self.scale
        baseline = bar - int(12 * self.scale)
        cv2.putText(canvas, f"Case {caption.case_number}", (int(12 * self.scale), baseline), FONT, size, WHITE, 1,
                    cv2.LINE_AA)
        (cw, _), _ = cv2.getTextSize(caption.clock, FONT, size, 1)
        cv2.putText(canvas, caption.clock, (self.width - cw - int(12 * self.scale), baseline), FONT, size, WHITE,
                    1, cv2.LINE_AA)
        if caption.recording:
            cx = self.width // 2 - int(40 * self.scale)
            cv2.circle(canvas, (cx, bar // 2), int(7 * self.scale), RED, -1, cv2.LINE_AA)
            cv2.putText(canvas, "REC", (cx + int(14 * self.scale), baseline), FONT, size, RED, 2, cv2.LINE_AA)

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


def to_bgr(frame: "object") -> np.ndarray:
    """A decoded av.VideoFrame as a BGR array; I420 goes through OpenCV, which is ~2× faster than swscale."""
    import av  # local: keeps this module importable for pure layout tests

    assert isinstance(frame, av.VideoFrame)
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
    return frame.to_ndarray(format="bgr24")
