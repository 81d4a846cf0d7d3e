"""Drawing a print: the Mapnik map as a vector PDF, the pages around it, and merging the two.

``mapnik.has_pycairo()`` is False in the PyPI wheel, so the map cannot be drawn into a page that
Python owns. Instead the pages (title, grid labels and lines, legend, scale bar, north arrow, QR
code, attribution, indexes, changes) are drawn by :mod:`exports.printing.pages` (ReportLab) with an
empty frame, and the map's own PDF page is placed *under* that frame as a Form XObject with pypdf.
Both stay vector, and both embed their fonts (Cairo and ReportLab embed font subsets).

This module holds what the layout and the merge share: the map's size in pixels, the grid overlay,
the index flowed into columns and pages, the :class:`Page` data, the forked map drawing and the merge.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from exports.printing import style
from exports.printing.index import Entry, Legend
from exports.printing.sheet import PT_PER_MM, Grid, Sheet, column_label

# Mapnik's scale rules assume 0.28 mm pixels: the print map is drawn with pixels of that size (so
# its rules follow the true paper scale) and scaled from Mapnik's 1 px = 1 pt when placed.
PIXEL_MM = 0.28


def map_pixels(sheet: Sheet) -> tuple[int, int]:
    """Size in Mapnik pixels of the frame."""
    _, _, w, h = sheet.frame_mm
    return round(w / PIXEL_MM), round(h / PIXEL_MM)


def render_map_pdf(m, path: Path) -> None:
    """The map alone as one vector PDF page (1 Mapnik pixel = 1 pt; scaled to the frame when placed)."""
    import mapnik

    mapnik.render_to_file(m, str(path), "pdf")


def render_map_png(m, path: Path, width_px: int = 1200) -> None:
    """A PNG preview of the same map (same extent and style), ``width_px`` wide."""
    import mapnik

    factor = width_px / m.width
    extent = m.envelope()
    m.resize(width_px, round(m.height * factor))
    m.zoom_to_box(extent)
    image = mapnik.Image(m.width, m.height)
    mapnik.render(m, image, factor)
    image.save(str(path), "png32:z=1")  # fast compression: the preview is a working copy


def grid_overlay(grid: Grid, sheet: Sheet) -> dict:
    """Grid lines over the frame and the labels around it, in millimetres (labels are 8 mm boxes)."""
    x, y, w, h = sheet.frame_mm
    mm_per_unit = w / (grid.extent[2] - grid.extent[0])
    cell_mm = grid.cell * mm_per_unit
    label_h = 3.2 * sheet.text_scale
    columns = [
        {
            "label": column_label(i),
            "left": x + min((i + 0.5) * cell_mm, (i * cell_mm + w) / 2) - 4,
            "line": i * cell_mm,
        }
        for i in range(grid.columns)
        if i * cell_mm < w
    ]
    rows = [
        {
            "label": str(j + 1),
            "top": y + min((j + 0.5) * cell_mm, (j * cell_mm + h) / 2) - label_h / 2,
            "line": j * cell_mm,
        }
        for j in range(grid.rows)
        if j * cell_mm < h
    ]
    return {
        "columns": columns,
        "rows": rows,
        "w": w,
        "h": h,
        "top": y - label_h - 0.6,
        "bottom": y + h + 0.6,
        "left": x - 8,
        "right": x + w,
    }


def index_geometry(sheet: Sheet) -> tuple[int, int]:
    """(columns, lines per column) of an index page: every line has the same height."""
    columns = 3 if sheet.width_mm < 300 else (4 if sheet.width_mm < 450 else 5)
    line_mm = FONT_PT["body"] * sheet.text_scale * LINE_HEIGHT * 25.4 / 72
    usable_mm = sheet.height_mm - 2 * sheet.margin_mm - 8 * sheet.text_scale  # page number at the bottom
    return columns, int(usable_mm / line_mm)


def index_pages(lines: list[dict], sheet: Sheet) -> list[list[list[dict]]]:
    """Flow index lines into columns and pages here (fixed line height), not in the layout engine.

    Paging in Python keeps WeasyPrint's work linear and gives the exact page count.
    A heading never ends a column.
    """
    columns, per_column = index_geometry(sheet)
    cols: list[list[dict]] = [[]]
    for line in lines:
        column = cols[-1]
        needs = 2 if line["kind"] != "entry" else 1
        if len(column) + needs > per_column:
            cols.append([])
        cols[-1].append(line)
    return [cols[i : i + columns] for i in range(0, len(cols), columns)]


def index_lines(page: Page) -> list[dict]:
    lines: list[dict] = [{"kind": "h2", "text": _("Street index")}]
    if not page.streets:
        lines.append({"kind": "empty", "text": _("No named street on this map.")})
    lines += [{"kind": "entry", "text": e.name, "squares": ", ".join(e.squares)} for e in page.streets]
    lines.append({"kind": "h2", "text": _("Points of interest")})
    if not page.pois:
        lines.append({"kind": "empty", "text": _("No named point of interest on this map.")})
    for category, entries in page.pois.items():
        lines.append({"kind": "h3", "text": str(style.POI_CATEGORIES[category])})
        lines += [
            {"kind": "entry", "text": e.name, "note": e.kind, "squares": ", ".join(e.squares)}
            for e in entries
        ]
    return lines


LINE_HEIGHT = 1.35
FONT_PT = {"title": 22, "subtitle": 11, "body": 7.5, "small": 6.2, "grid": 8, "h2": 12, "h3": 9}


@dataclass
class Page:
    """Everything the template needs."""

    sheet: Sheet
    grid: Grid
    lang: str
    title: str
    subtitle: str
    date: dt.date  # the print's day, local
    data_as_of: dt.datetime
    legend: Legend
    streets: list[Entry]
    pois: dict[str, list[Entry]]
    changes: dict
    previous_date: dt.datetime | None  # the previous edition's data_as_of
    contributors: list[str]
    url: str
    changes_page: bool
    attribution: str


def _fork(draw: Callable[[], None]) -> int:
    """Run ``draw`` in a forked child that leaves with ``os._exit`` (0 on success); returns its pid."""
    pid = os.fork()
    if pid == 0:  # the child: renders to a file, never touches the database or Django
        code = 1
        try:
            draw()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


@contextmanager
def drawing_map(m, map_pdf: Path, png: Path) -> Iterator[None]:
    """Draw the map PDF and the PNG preview in two forked children while the body goes on.

    The Mapnik binding holds the GIL while it renders, so threads would not overlap with each
    other or with the layout; child processes do (the PDF, the preview and the parent's index
    queries and layout run side by side on the cores there are). The children inherit ``m``
    (copy-on-write), render to their file and leave with ``os._exit``: they never use the
    parent's database connection. Raises if a child failed; always reaps both.
    """
    if not hasattr(os, "fork"):
        render_map_pdf(m, map_pdf)
        render_map_png(m, png)
        yield
        return
    pids = [_fork(lambda: render_map_pdf(m, map_pdf)), _fork(lambda: render_map_png(m, png))]
    try:
        yield
    finally:
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    if any(codes):
        raise RuntimeError(_("The map could not be drawn."))


def compose_pdf(page: Page, layout: bytes, map_pdf: Path, out: Path) -> int:
    """Put the map under the first page's frame and write the PDF; returns the page count.

    The map page becomes a Form XObject drawn first on the first page (its content stream is
    copied as is, never parsed: Mapnik's streams are large).
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        StreamObject,
    )

    def stream_data(item: Any) -> bytes:
        """A content stream's bytes (the stream, or a reference to it in the page's array)."""
        stream = item.get_object()
        assert isinstance(stream, StreamObject)  # what a page's /Contents holds
        return stream.get_data()

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(layout)))
    map_page = PdfReader(map_pdf).pages[0]
    contents = map_page["/Contents"].get_object()
    streams = contents if isinstance(contents, ArrayObject) else [contents]
    map_resources = map_page["/Resources"].get_object()
    assert map_resources is not None  # Mapnik's page has its resources (fonts, images)
    form = DecodedStreamObject()
    form.set_data(b"\n".join(stream_data(stream) for stream in streams))
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(v) for v in map_page.mediabox]),
            NameObject("/Resources"): map_resources.clone(writer),
        }
    )
    form_ref = writer._add_object(form)
    first = writer.pages[0]
    resources = first.setdefault(NameObject("/Resources"), DictionaryObject())
    xobjects = resources.setdefault(NameObject("/XObject"), DictionaryObject())
    xobjects[NameObject("/CartopartyMap")] = form_ref
    x, y, w, h = page.sheet.frame_mm
    tx, ty = x * PT_PER_MM, float(first.mediabox.height) - (y + h) * PT_PER_MM
    draw = DecodedStreamObject()
    k = w * PT_PER_MM / float(map_page.mediabox.width)
    draw.set_data(f"q {k:.6f} 0 0 {k:.6f} {tx:.3f} {ty:.3f} cm /CartopartyMap Do Q\n".encode())
    existing = first["/Contents"]
    existing_obj = existing.get_object()
    existing_list = list(existing_obj) if isinstance(existing_obj, ArrayObject) else [existing]
    first[NameObject("/Contents")] = ArrayObject([writer._add_object(draw), *existing_list])
    writer.add_metadata({"/Title": page.title, "/Creator": "Cartoparty", "/Subject": page.attribution})
    with open(out, "wb") as fh:
        writer.write(fh)
    return len(writer.pages)
