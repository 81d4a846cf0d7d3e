"""Drawing a print: the Mapnik map as a vector PDF, the page laid out around it by WeasyPrint.

``mapnik.has_pycairo()`` is False in the PyPI wheel, so the map cannot be drawn into a page that
Python owns. Instead the page (title, grid labels and lines, legend, scale bar, north arrow, QR
code, attribution, indexes, changes) is an HTML document printed by WeasyPrint with an empty,
transparent frame, and the map's own PDF page is merged *under* that frame with pypdf. Both stay
vector, and both embed their fonts (Cairo and WeasyPrint embed font subsets).
"""

from __future__ import annotations

import io
import math
import os
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import segno
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from exports.printing import style
from exports.printing.index import Entry, Legend
from exports.printing.sheet import PT_PER_MM, Grid, Sheet, column_label, scale_bar

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


@cache
def _icon_svg(icon: str) -> str:
    text = (style.icon_dir() / f"{icon}.svg").read_text()
    inner = re.search(r"<svg[^>]*>(.*)</svg>", text, re.S)
    return inner.group(1) if inner else ""


def icon(icon_name: str, color: str, size_mm: float) -> str:
    return mark_safe(  # noqa: S308 (vendored Maki files, not user input)
        f'<svg class="icon" viewBox="0 0 15 15" width="{size_mm}mm" height="{size_mm}mm" '
        f'fill="{color}">{_icon_svg(icon_name)}</svg>'
    )


def _swatch_area(fill: style.Fill) -> str:
    outline = fill.outline or fill.color
    return (
        f'<svg class="swatch" viewBox="0 0 20 12"><rect x="0.5" y="0.5" width="19" height="11" '
        f'fill="{fill.color}" stroke="{outline}" stroke-width="0.8"/></svg>'
    )


def _swatch_line(line: style.Line) -> str:
    width = max(1.0, line.widths[1])
    parts = []
    if line.casing:
        parts.append(
            f'<line x1="1" y1="6" x2="19" y2="6" stroke="{line.casing}" stroke-width="{width + 2.4}" '
            'stroke-linecap="round"/>'
        )
    dash = f' stroke-dasharray="{line.dash.replace(",", " ")}"' if line.dash else ""
    parts.append(
        f'<line x1="1" y1="6" x2="19" y2="6" stroke="{line.color}" stroke-width="{width}"{dash} '
        'stroke-linecap="round"/>'
    )
    return f'<svg class="swatch" viewBox="0 0 20 12">{"".join(parts)}</svg>'


def legend_items(legend: Legend, text_scale: float) -> list[dict]:
    """(swatch SVG, label) pairs for the legend, in drawing order."""
    items = []
    by_kind = {f.kind: f for f in style.LANDUSE}
    items += [{"swatch": _swatch_area(by_kind[k]), "label": by_kind[k].label} for k in legend.landuse]
    if legend.water:
        items.append({"swatch": _swatch_area(style.WATER), "label": style.WATER.label})
    if legend.buildings:
        items.append({"swatch": _swatch_area(style.BUILDING), "label": style.BUILDING.label})
    for layer, classes in (
        (legend.waterways, style.WATERWAYS),
        (legend.roads, style.ROADS),
        (legend.paths, style.PATHS),
        (legend.railways, style.RAILWAYS),
    ):
        lines = {c.kind: c for c in classes}
        items += [{"swatch": _swatch_line(lines[k]), "label": lines[k].label} for k in layer]
    pois = {p.kind: p for p in style.POIS}
    items += [
        {"swatch": icon(pois[k].icon, style.POI_COLOR, 3.4 * text_scale), "label": pois[k].label}
        for k in legend.pois
    ]
    for item in items:
        item["swatch"] = mark_safe(item["swatch"])  # noqa: S308 (built here from style constants)
    return items


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
        lines.append({"kind": "h3", "text": style.POI_CATEGORIES[category]})
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
    date: object
    data_as_of: object
    legend: Legend
    streets: list[Entry]
    pois: dict[str, list[Entry]]
    changes: dict
    previous_date: object
    contributors: list[str]
    url: str
    changes_page: bool
    attribution: str


def _split(items: list, columns: int) -> list[list]:
    per = max(1, math.ceil(len(items) / columns))
    return [items[i : i + per] for i in range(0, len(items), per)]


def page_html(page: Page) -> str:
    sheet, grid = page.sheet, page.grid
    metres, bar_mm = scale_bar(grid, sheet)
    qr = segno.make(page.url, error="m")
    x, y, w, h = sheet.frame_mm
    legend = legend_items(page.legend, sheet.text_scale)
    return render_to_string(
        "exports/print_sheet.html",
        {
            "p": page,
            "frame": {"x": x, "y": y, "w": w, "h": h},
            "overlay": grid_overlay(grid, sheet),
            "fs": {k: round(v * sheet.text_scale, 2) for k, v in FONT_PT.items()},
            "swatch_mm": round(3.6 * sheet.text_scale, 2),
            "legend": _split(legend, max(3, math.ceil(len(legend) / 10))),
            "band_w": sheet.width_mm - 2 * sheet.margin_mm,
            "band_top": y + h + sheet.gutter_mm + 1,
            "bar": {"metres": metres, "km": metres / 1000, "mm": bar_mm, "half": bar_mm / 2},
            "qr": mark_safe(qr.svg_inline(scale=1, border=0, svgclass="qr")),  # noqa: S308 (segno's SVG)
            "scale": round(grid.scale, -1),
            "index_pages": index_pages(index_lines(page), sheet),
            "line_height": LINE_HEIGHT,
        },
    )


@contextmanager
def drawing_map(m, map_pdf: Path, png: Path) -> Iterator[None]:
    """Draw the map PDF and the PNG preview in a forked child while the body lays out the pages.

    The Mapnik binding holds the GIL while it renders, so a thread would not overlap with
    WeasyPrint; a child process does. The child only renders to the two files (no database, no
    Django) and leaves with ``os._exit``. Raises if the child failed; always reaps it.
    """
    if not hasattr(os, "fork"):
        render_map_pdf(m, map_pdf)
        render_map_png(m, png)
        yield
        return
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            render_map_pdf(m, map_pdf)
            render_map_png(m, png)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    try:
        yield
    finally:
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(_("The map could not be drawn."))


def layout_pdf(page: Page) -> bytes:
    """The pages laid out by WeasyPrint, with an empty frame where the map goes."""
    import weasyprint

    with translation.override(page.lang):
        html = page_html(page)
    return weasyprint.HTML(string=html).write_pdf()


def compose_pdf(page: Page, layout: bytes, map_pdf: Path, out: Path) -> int:
    """Put the map under the first page's frame and write the PDF; returns the page count.

    The map page becomes a Form XObject drawn first on the first page (its content stream is
    copied as is, never parsed: Mapnik's streams are large).
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(layout)))
    map_page = PdfReader(map_pdf).pages[0]
    contents = map_page["/Contents"].get_object()
    streams = contents if isinstance(contents, ArrayObject) else [contents]
    form = DecodedStreamObject()
    form.set_data(b"\n".join(stream.get_object().get_data() for stream in streams))
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(v) for v in map_page.mediabox]),
            NameObject("/Resources"): map_page["/Resources"].get_object().clone(writer),
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
    existing_list = (
        list(existing.get_object()) if isinstance(existing.get_object(), ArrayObject) else [existing]
    )
    first[NameObject("/Contents")] = ArrayObject([writer._add_object(draw), *existing_list])
    writer.add_metadata({"/Title": page.title, "/Creator": "Cartoparty", "/Subject": page.attribution})
    with open(out, "wb") as fh:
        writer.write(fh)
    return len(writer.pages)
