"""The geometry of a printed sheet (pure: no ORM, no Mapnik).

Paper sizes, where the map frame sits on the page, the map's extent (the requested area grown to
the frame's shape), the reference grid (square cells of a round ground size, letters across and
numbers down), the scale bar and the limits a print request must respect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PAPERS_MM = {"A4": (210, 297), "A3": (297, 420), "A2": (420, 594), "A1": (594, 841), "A0": (841, 1189)}
# Text grows with the paper, more slowly than the paper itself.
TEXT_SCALE = {"A4": 1.0, "A3": 1.15, "A2": 1.35, "A1": 1.6, "A0": 1.9}
MAX_SIDE_KM = 20.0
MAX_PAGES = 16
EARTH = 6378137.0
PT_PER_MM = 72 / 25.4
NICE_CELLS_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000)
NICE_BARS_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000)


def mercator(lon: float, lat: float) -> tuple[float, float]:
    return math.radians(lon) * EARTH, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * EARTH


def lonlat(x: float, y: float) -> tuple[float, float]:
    return math.degrees(x / EARTH), math.degrees(2 * math.atan(math.exp(y / EARTH)) - math.pi / 2)


def ground_size_km(bbox: tuple[float, float, float, float]) -> tuple[float, float]:
    """(width, height) in km on the ground of a lon/lat bbox (width at its middle latitude)."""
    west, south, east, north = bbox
    mid = math.radians((south + north) / 2)
    return (
        math.radians(east - west) * EARTH * math.cos(mid) / 1000,
        math.radians(north - south) * EARTH / 1000,
    )


def column_label(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    label = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        label = chr(65 + rem) + label
    return label


@dataclass(frozen=True)
class Sheet:
    """Where things go on the first page, in millimetres from the top-left corner."""

    paper: str
    landscape: bool
    width_mm: float
    height_mm: float
    text_scale: float
    margin_mm: float
    header_mm: float
    band_mm: float
    gutter_mm: float

    @classmethod
    def for_paper(cls, paper: str, landscape: bool) -> Sheet:
        w, h = PAPERS_MM[paper]
        if landscape:
            w, h = h, w
        s = TEXT_SCALE[paper]
        return cls(paper, landscape, w, h, s, 10 * s, 20 * s, 62 * s if not landscape else 52 * s, 5 * s)

    @property
    def frame_mm(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) of the map frame; sizes rounded to whole points (Mapnik pixels)."""
        x = self.margin_mm + self.gutter_mm
        y = self.margin_mm + self.header_mm + self.gutter_mm
        w = self.width_mm - 2 * x
        h = self.height_mm - y - self.margin_mm - self.band_mm - self.gutter_mm
        return x, y, round(w * PT_PER_MM) / PT_PER_MM, round(h * PT_PER_MM) / PT_PER_MM

    @property
    def frame_pt(self) -> tuple[int, int]:
        _, _, w, h = self.frame_mm
        return round(w * PT_PER_MM), round(h * PT_PER_MM)


@dataclass(frozen=True)
class Grid:
    """The map extent (EPSG:3857) and its reference grid."""

    extent: tuple[float, float, float, float]
    cell: float  # cell side in EPSG:3857 units
    cell_m: int  # cell side on the ground
    columns: int
    rows: int
    scale: float  # 1 : scale on paper

    def cell_box(self, i: int, j: int) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.extent
        return (
            x0 + i * self.cell,
            max(y0, y1 - (j + 1) * self.cell),
            min(x1, x0 + (i + 1) * self.cell),
            y1 - j * self.cell,
        )

    def label(self, i: int, j: int) -> str:
        return f"{column_label(i)}{j + 1}"

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        x0, _, _, y1 = self.extent
        i = min(self.columns - 1, max(0, int((x - x0) // self.cell)))
        j = min(self.rows - 1, max(0, int((y1 - y) // self.cell)))
        return i, j


def fit_grid(bbox: tuple[float, float, float, float], sheet: Sheet) -> Grid:
    """Grow the lon/lat ``bbox`` to the frame's shape (same centre) and lay a grid over it."""
    west, south, east, north = bbox
    x0, y0 = mercator(west, south)
    x1, y1 = mercator(east, north)
    _, _, fw, fh = sheet.frame_mm
    width, height = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    if width / height < fw / fh:
        width = height * fw / fh
    else:
        height = width * fh / fw
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    extent = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
    ground = math.cos(math.radians(lonlat(cx, cy)[1]))  # metres on the ground per mercator unit
    target_columns = max(3, round(fw / 45))
    cell_m = min(NICE_CELLS_M, key=lambda c: abs(width * ground / c - target_columns))
    cell = cell_m / ground
    return Grid(
        extent=extent,
        cell=cell,
        cell_m=cell_m,
        columns=math.ceil(width / cell - 1e-9),
        rows=math.ceil(height / cell - 1e-9),
        scale=width * ground * 1000 / fw,
    )


def scale_bar(grid: Grid, sheet: Sheet, room_mm: float) -> tuple[int, float]:
    """(length in metres, length in mm) of a round scale bar at most a fifth of the frame wide,
    and never wider than ``room_mm`` (its column below the map)."""
    _, _, fw, _ = sheet.frame_mm
    mm_per_m = 1000 / grid.scale
    longest = min(fw / 5, room_mm)
    metres = max((m for m in NICE_BARS_M if m * mm_per_m <= longest), default=NICE_BARS_M[0])
    return metres, metres * mm_per_m
