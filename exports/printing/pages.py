"""The pages of a print drawn with ReportLab's canvas: the sheet around the map, the indexes, the changes.

The first page has the title, an empty frame where :func:`exports.printing.compose.compose_pdf`
later places the Mapnik map (a vector Form XObject drawn under everything), the labelled grid over
the frame, and the band below it (legend, scale bar and north arrow, about/attribution/changes/
contributors, QR code to the online map). The following pages are the street and POI indexes,
already flowed into columns and pages by :func:`exports.printing.compose.index_pages`, then the
optional list of changes since the previous edition.

Everything is vector: text in the Noto Sans TrueType fonts from Debian (ReportLab embeds a subset
with a ToUnicode map, so the text stays extractable and searchable), swatches and Maki icons as
paths, the QR code as filled modules. Text is placed at explicit positions (no layout engine): a
line that would not fit is shortened with an ellipsis, never wrapped over its neighbours.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from functools import cache

import segno
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from reportlab.lib.colors import HexColor
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from exports.printing import icons, index, style
from exports.printing.compose import (
    FONT_PT,
    LINE_HEIGHT,
    Page,
    grid_overlay,
    index_geometry,
    index_lines,
    index_pages,
)
from exports.printing.sheet import PT_PER_MM, scale_bar

REGULAR, BOLD, ITALIC = "CartoSans", "CartoSans-Bold", "CartoSans-Italic"
INK = HexColor("#2b2b2b")
GREY = HexColor("#555555")
MUTED = HexColor("#666666")
GRID_LABEL = HexColor("#444444")
GRID_LINE = HexColor("#3b3b6b73", hasAlpha=True)  # 45 % opaque
RULE = HexColor("#cccccc")
ELLIPSIS = "…"


@cache
def register_fonts() -> None:
    """Register Noto Sans (regular, bold, italic) with ReportLab once per process."""
    regular, bold, italic = style.FONT_FILES[:3]
    for name, path in ((REGULAR, regular), (BOLD, bold), (ITALIC, italic)):
        pdfmetrics.registerFont(TTFont(name, path))


def mm(value: float) -> float:
    return value * PT_PER_MM


class Sheet:
    """A canvas in millimetres from the top-left corner (ReportLab's origin is bottom-left, in points)."""

    def __init__(self, canvas: Canvas, height_mm: float):
        self.c = canvas
        self.height_mm = height_mm

    def y(self, top_mm: float) -> float:
        return mm(self.height_mm - top_mm)

    def width(self, text: str, font: str, size: float) -> float:
        """Width of ``text`` in mm."""
        return pdfmetrics.stringWidth(text, font, size) / PT_PER_MM

    def fit(self, text: str, font: str, size: float, width_mm: float) -> str:
        """``text``, shortened with an ellipsis when wider than ``width_mm``."""
        if self.width(text, font, size) <= width_mm:
            return text
        low, high = 0, len(text)
        while low < high:  # the longest prefix that fits with the ellipsis
            middle = (low + high + 1) // 2
            if self.width(text[:middle] + ELLIPSIS, font, size) <= width_mm:
                low = middle
            else:
                high = middle - 1
        return text[:low].rstrip() + ELLIPSIS

    def text(
        self,
        x_mm: float,
        baseline_mm: float,
        text: str,
        font: str,
        size: float,
        color=INK,
        align: str = "left",
        spacing: float = 0.0,
    ) -> None:
        c = self.c
        c.setFillColor(color)
        if spacing:
            t = c.beginText()
            t.setFont(font, size)
            t.setCharSpace(spacing)
            width = (pdfmetrics.stringWidth(text, font, size) + spacing * len(text)) / PT_PER_MM
            start = {"left": x_mm, "right": x_mm - width, "center": x_mm - width / 2}[align]
            t.setTextOrigin(mm(start), self.y(baseline_mm))
            t.textOut(text)
            t.setCharSpace(0)  # Tc outlives the text object: later strings must not inherit it
            c.drawText(t)
            return
        c.setFont(font, size)
        draw = {"left": c.drawString, "right": c.drawRightString, "center": c.drawCentredString}[align]
        draw(mm(x_mm), self.y(baseline_mm), text)

    def rect(self, x_mm, top_mm, w_mm, h_mm, *, fill=None, stroke=None, line_mm: float = 0.0) -> None:
        c = self.c
        if fill is not None:
            c.setFillColor(fill)
        if stroke is not None:
            c.setStrokeColor(stroke)
            c.setLineWidth(mm(line_mm))
        c.rect(
            mm(x_mm),
            self.y(top_mm + h_mm),
            mm(w_mm),
            mm(h_mm),
            fill=fill is not None,
            stroke=stroke is not None,
        )

    def line(self, x0, y0, x1, y1, color, line_mm: float) -> None:
        c = self.c
        c.setStrokeColor(color)
        c.setLineWidth(mm(line_mm))
        c.line(mm(x0), self.y(y0), mm(x1), self.y(y1))


def _ascent(size_pt: float) -> float:
    """Distance in mm from the top of a line box to the baseline (Noto's ascent is about 0.8 em)."""
    return 0.8 * size_pt / PT_PER_MM


def _line_mm(size_pt: float, factor: float = LINE_HEIGHT) -> float:
    return size_pt * factor / PT_PER_MM


def _heading(s: Sheet, x: float, top: float, text: str, size: float) -> float:
    """An uppercase band heading; returns the top of what follows (1 mm below)."""
    s.text(x, top + _ascent(size), text.upper(), BOLD, size, spacing=0.3)
    return top + _line_mm(size, 1.2) + 1


# --- first page ----------------------------------------------------------------------------------


def _header(s: Sheet, page: Page, fs: dict[str, float]) -> None:
    sheet = page.sheet
    left, top = sheet.margin_mm, sheet.margin_mm
    width = sheet.width_mm - 2 * sheet.margin_mm
    date_lines = [
        formats.date_format(page.date, "DATE_FORMAT"),
        f"{_('Scale')} 1:{round(page.grid.scale, -1):.0f}",
    ]
    date_w = max(s.width(t, REGULAR, fs["body"]) for t in date_lines)
    for n, line in enumerate(date_lines):
        s.text(
            left + width,
            top + _ascent(fs["body"]) + n * _line_mm(fs["body"]),
            line,
            REGULAR,
            fs["body"],
            GREY,
            "right",
        )
    title_w = width - date_w - 4
    title_size = fs["title"]
    while title_size > fs["subtitle"] and s.width(page.title, BOLD, title_size) > title_w:
        title_size *= 0.9  # a long title gets smaller before it gets shortened
    s.text(left, top + _ascent(title_size), s.fit(page.title, BOLD, title_size, title_w), BOLD, title_size)
    if page.subtitle:
        sub_top = top + _line_mm(title_size, 1.1) + 0.6
        subtitle = s.fit(page.subtitle, REGULAR, fs["subtitle"], title_w)
        s.text(left, sub_top + _ascent(fs["subtitle"]), subtitle, REGULAR, fs["subtitle"], GREY)


def _grid(s: Sheet, page: Page, fs: dict[str, float]) -> None:
    x, y, w, h = page.sheet.frame_mm
    overlay = grid_overlay(page.grid, page.sheet)
    c = s.c
    c.saveState()
    for column in overlay["columns"][1:]:
        s.line(x + column["line"], y, x + column["line"], y + h, GRID_LINE, 0.25)
    for row in overlay["rows"][1:]:
        s.line(x, y + row["line"], x + w, y + row["line"], GRID_LINE, 0.25)
    c.restoreState()
    s.rect(x, y, w, h, stroke=INK, line_mm=0.4)
    size = fs["grid"]
    ascent = _ascent(size)
    for column in overlay["columns"]:
        for top in (overlay["top"], overlay["bottom"]):
            s.text(column["left"] + 4, top + ascent, column["label"], BOLD, size, GRID_LABEL, "center")
    for row in overlay["rows"]:
        for left in (overlay["left"], overlay["right"]):
            s.text(left + 4, row["top"] + ascent, row["label"], BOLD, size, GRID_LABEL, "center")


def _icon(s: Sheet, name: str, x_mm: float, top_mm: float, size_mm: float, color) -> None:
    k = size_mm / icons.VIEWBOX
    path = s.c.beginPath()
    for op in icons.icon_path_ops(name):
        if op[0] == "M":
            path.moveTo(mm(x_mm + k * op[1]), s.y(top_mm + k * op[2]))
        elif op[0] == "L":
            path.lineTo(mm(x_mm + k * op[1]), s.y(top_mm + k * op[2]))
        elif op[0] == "C":
            path.curveTo(
                mm(x_mm + k * op[1]),
                s.y(top_mm + k * op[2]),
                mm(x_mm + k * op[3]),
                s.y(top_mm + k * op[4]),
                mm(x_mm + k * op[5]),
                s.y(top_mm + k * op[6]),
            )
        else:
            path.close()
    s.c.setFillColor(color)
    s.c.drawPath(path, stroke=0, fill=1, fillMode=1)  # non-zero winding, as in SVG


def _swatch_area(fill: style.Fill) -> Callable[[Sheet, float, float, float], None]:
    def draw(s: Sheet, x: float, top: float, size: float) -> None:
        h = size * 0.55
        s.rect(
            x + 0.1,
            top + (size - h) / 2,
            size - 0.2,
            h,
            fill=HexColor(fill.color),
            stroke=HexColor(fill.outline or fill.color),
            line_mm=0.15,
        )

    return draw


def _swatch_line(line: style.Line) -> Callable[[Sheet, float, float, float], None]:
    def draw(s: Sheet, x: float, top: float, size: float) -> None:
        unit = size / 20  # the swatch is 20 units wide, as the map's pixels in the legend
        width = max(1.0, line.widths[1]) * unit
        c = s.c
        c.saveState()
        c.setLineCap(1)
        mid = top + size / 2
        if line.casing:
            s.line(x + unit, mid, x + 19 * unit, mid, HexColor(line.casing), width + 2.4 * unit)
        if line.dash:
            c.setDash([mm(float(v) * unit) for v in line.dash.split(",")])
        s.line(x + unit, mid, x + 19 * unit, mid, HexColor(line.color), width)
        c.restoreState()

    return draw


def _swatch_icon(icon: str) -> Callable[[Sheet, float, float, float], None]:
    def draw(s: Sheet, x: float, top: float, size: float) -> None:
        _icon(s, icon, x, top, size, HexColor(style.POI_COLOR))

    return draw


def legend_items(page: Page) -> list[tuple[Callable, str]]:
    """(swatch drawer, label) of each legend entry, in drawing order (only what this map shows)."""
    legend = page.legend
    by_kind = {f.kind: f for f in style.LANDUSE}
    items = [(_swatch_area(by_kind[k]), str(by_kind[k].label)) for k in legend.landuse]
    if legend.water:
        items.append((_swatch_area(style.WATER), str(style.WATER.label)))
    if legend.buildings:
        items.append((_swatch_area(style.BUILDING), str(style.BUILDING.label)))
    for layer, classes in (
        (legend.waterways, style.WATERWAYS),
        (legend.roads, style.ROADS),
        (legend.paths, style.PATHS),
        (legend.railways, style.RAILWAYS),
    ):
        lines = {c.kind: c for c in classes}
        items += [(_swatch_line(lines[k]), str(lines[k].label)) for k in layer]
    pois = {p.kind: p for p in style.POIS}
    items += [(_swatch_icon(pois[k].icon), str(pois[k].label)) for k in legend.pois]
    return items


def _legend(s: Sheet, page: Page, fs: dict[str, float], x: float, top: float, width: float) -> None:
    top = _heading(s, x, top, _("Legend"), fs["h3"])
    items = legend_items(page)
    if not items:
        return
    columns = max(3, math.ceil(len(items) / 10))
    per = max(1, math.ceil(len(items) / columns))
    column_w = width / columns
    swatch = 3.6 * page.sheet.text_scale
    size = fs["small"]
    for n, (draw, label) in enumerate(items):
        cx = x + (n // per) * column_w
        cy = top + (n % per) * (swatch + 0.4)
        draw(s, cx, cy, swatch)
        text_x = cx + swatch + 1
        label = s.fit(label, REGULAR, size, column_w - swatch - 2)
        s.text(text_x, cy + swatch / 2 + 0.35 * size / PT_PER_MM, label, REGULAR, size)


def _wrapped(
    s: Sheet, x: float, top: float, text: str, font: str, size: float, width: float, bottom: float, color=INK
) -> float:
    """Draw ``text`` wrapped to ``width``; lines past ``bottom`` are dropped (the last one ends with …)."""
    line_h = _line_mm(size, 1.3)
    lines = simpleSplit(text, font, size, mm(width))
    for n, line in enumerate(lines):
        if top + line_h > bottom and n:
            break
        if n + 1 < len(lines) and top + 2 * line_h > bottom:
            line = s.fit(line + " " + ELLIPSIS, font, size, width)
        s.text(x, top + _ascent(size), line, font, size, color)
        top += line_h
    return top


def _scale(
    s: Sheet, page: Page, fs: dict[str, float], x: float, top: float, width: float, bottom: float
) -> None:
    top = _heading(s, x, top, _("Scale"), fs["h3"])
    metres, bar_mm = scale_bar(page.grid, page.sheet, width)
    half = bar_mm / 2
    top += 1.5
    s.rect(x, top, half, 1.4, fill=HexColor("#ffffff"), stroke=INK, line_mm=0.25)
    s.rect(x + half, top, half, 1.4, fill=INK, stroke=INK, line_mm=0.25)
    top += 1.4 + 0.7
    size = fs["small"]
    length = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres} m"
    top = _wrapped(s, x, top, f"{length} · 1:{round(page.grid.scale, -1):.0f}", REGULAR, size, width, bottom)
    cells = _("Grid squares of %(size)s m") % {"size": page.grid.cell_m}
    top = _wrapped(s, x, top, cells, REGULAR, size, width, bottom)
    # North arrow: 9 × 12 mm, drawn in a 20 × 28 box.
    top += 2
    k = 9 / 20
    path = s.c.beginPath()
    for n, (px, py) in enumerate(((10, 2), (17, 22), (10, 17), (3, 22))):
        (path.lineTo if n else path.moveTo)(mm(x + k * px), s.y(top + k * py))
    path.close()
    s.c.setFillColor(INK)
    s.c.drawPath(path, stroke=0, fill=1)
    s.text(x + k * 10, top + k * 28, pgettext("compass", "N"), REGULAR, 7 * k * PT_PER_MM)


def _about(
    s: Sheet, page: Page, fs: dict[str, float], x: float, top: float, width: float, bottom: float
) -> None:
    top = _heading(s, x, top, _("About this map"), fs["h3"])
    size = fs["small"]
    data_as_of = formats.date_format(timezone.localtime(page.data_as_of), "DATETIME_FORMAT")
    paragraphs = [
        f"{_('Map data')} {page.attribution}. "
        + _(
            "Data as of %(date)s, including the edits reviewed by the town that are not in OpenStreetMap yet."
        )
        % {"date": data_as_of},
    ]
    since = _("Since the previous edition")
    if page.previous_date:
        since += f" ({formats.date_format(timezone.localtime(page.previous_date), 'DATE_FORMAT')})"
    changes = page.changes
    counts = [
        ngettext("%(n)s feature added", "%(n)s features added", changes["created"])
        % {"n": changes["created"]},
        ngettext("%(n)s changed", "%(n)s changed", changes["modified"]) % {"n": changes["modified"]},
        ngettext("%(n)s removed", "%(n)s removed", changes["deleted"]) % {"n": changes["deleted"]},
    ]
    paragraphs.append(_("%(since)s: %(counts)s.") % {"since": since, "counts": ", ".join(counts)})
    for text in paragraphs:
        top = _wrapped(s, x, top, text, REGULAR, size, width, bottom) + 1
    label = _("Contributors:")
    if page.contributors:
        _wrapped(s, x, top, f"{label} {', '.join(page.contributors)}", REGULAR, size, width, bottom)
    else:
        s.text(x, top + _ascent(size), label, REGULAR, size)
        s.text(
            x + s.width(label + " ", REGULAR, size), top + _ascent(size), _("none yet"), ITALIC, size, MUTED
        )


def _qr(s: Sheet, page: Page, fs: dict[str, float], x: float, top: float, width: float) -> None:
    """The QR code to the online map as filled modules (vector), 20 mm wide, centred, and its caption."""
    matrix = segno.make(page.url, error="m").matrix
    side = 20.0
    module = side / len(matrix)
    left = x + (width - side) / 2
    path = s.c.beginPath()
    for j, row in enumerate(matrix):
        i = 0
        while i < len(row):
            if row[i]:
                start = i
                while i < len(row) and row[i]:
                    i += 1
                path.rect(
                    mm(left + start * module),
                    s.y(top + (j + 1) * module),
                    mm((i - start) * module),
                    mm(module),
                )
            else:
                i += 1
    s.c.setFillColor(INK)
    s.c.drawPath(path, stroke=0, fill=1)
    size = fs["small"]
    s.text(x + width / 2, top + side + 0.5 + _ascent(size), _("Online map"), REGULAR, size, INK, "center")


def _first_page(s: Sheet, page: Page, fs: dict[str, float]) -> None:
    sheet = page.sheet
    _header(s, page, fs)
    _grid(s, page, fs)
    x, y, w, h = sheet.frame_mm
    band_top = y + h + sheet.gutter_mm + 1
    band_left = sheet.margin_mm
    band_w = sheet.width_mm - 2 * sheet.margin_mm
    bottom = sheet.height_mm - sheet.margin_mm / 2
    legend_w, scale_w, qr_w = 0.46 * band_w, 0.17 * band_w, 28.0
    about_w = band_w - legend_w - scale_w - qr_w
    _legend(s, page, fs, band_left, band_top, legend_w - 2)
    _scale(s, page, fs, band_left + legend_w + 3, band_top, scale_w - 4, bottom)
    _about(s, page, fs, band_left + legend_w + scale_w + 3, band_top, about_w - 4, bottom)
    _qr(s, page, fs, band_left + band_w - qr_w + 2, band_top, qr_w - 2)


# --- index and changes pages ------------------------------------------------------------------


def _page_number(s: Sheet, page: Page, fs: dict[str, float], number: int) -> None:
    sheet = page.sheet
    size = fs["small"]
    baseline = sheet.height_mm - sheet.margin_mm / 2 + 0.35 * size / PT_PER_MM
    s.text(sheet.width_mm / 2, baseline, str(number), REGULAR, size, INK, "center")


def _index_page(s: Sheet, page: Page, fs: dict[str, float], columns: list[list[dict]], count: int) -> None:
    """One index page: ``columns`` (at most ``count``) of lines of one fixed height."""
    sheet = page.sheet
    size = fs["body"]
    line_h = _line_mm(size)
    width = sheet.width_mm - 2 * sheet.margin_mm
    column_w = width / count
    ascent = (line_h - size / PT_PER_MM) / 2 + _ascent(size)
    for n, column in enumerate(columns):
        left = sheet.margin_mm + n * column_w
        usable = column_w - 3
        for k, line in enumerate(column):
            baseline = sheet.margin_mm + k * line_h + ascent
            kind = line["kind"]
            if kind == "h2":
                s.text(
                    left, baseline, s.fit(line["text"].upper(), BOLD, size, usable), BOLD, size, spacing=0.3
                )
            elif kind == "h3":
                s.text(
                    left,
                    baseline,
                    s.fit(line["text"], BOLD, size, usable),
                    BOLD,
                    size,
                    HexColor(style.POI_COLOR),
                )
            elif kind == "empty":
                s.text(left, baseline, s.fit(line["text"], ITALIC, size, usable), ITALIC, size, MUTED)
            else:
                squares = line["squares"]
                s.text(left + usable, baseline, squares, BOLD, size, INK, "right")
                room = usable - s.width(squares, BOLD, size) - 1.5
                name = s.fit(line["text"], REGULAR, size, room)
                s.text(left, baseline, name, REGULAR, size)
                note = line.get("note")
                if note and name == line["text"]:
                    rest = room - s.width(name + " ", REGULAR, size)
                    if rest > 3:
                        note_x = left + s.width(name + " ", REGULAR, size)
                        s.text(
                            note_x, baseline, s.fit(f"({note})", REGULAR, size, rest), REGULAR, size, MUTED
                        )


def _changes_pages(s: Sheet, page: Page, fs: dict[str, float], first_number: int) -> int:
    """The list of changes since the previous edition, over as many pages as needed; returns the count."""
    sheet = page.sheet
    left, top = sheet.margin_mm, sheet.margin_mm
    width = sheet.width_mm - 2 * sheet.margin_mm
    bottom = sheet.height_mm - sheet.margin_mm
    size = fs["small"]
    row_h = _line_mm(size, 1.3) + 1.2
    headers = [_("Date"), _("Change"), _("Feature"), _("By")]
    widths = [0.14 * width, 0.12 * width, 0.52 * width, 0.22 * width]
    items = page.changes["items"]
    number, y = first_number, top

    def heading() -> float:
        s.text(left, top + _ascent(fs["h2"]), _("What changed since the previous edition"), BOLD, fs["h2"])
        return top + _line_mm(fs["h2"], 1.2) + 2

    def row(y: float, cells: list[str], font: str) -> float:
        x = left
        for cell, w in zip(cells, widths, strict=True):
            s.text(x + 1.5, y + 0.6 + _ascent(size), s.fit(cell, font, size, w - 3), font, size)
            x += w
        s.line(left, y + row_h, left + width, y + row_h, RULE, 0.2)
        return y + row_h

    y = heading()
    if not items:
        s.text(left, y + _ascent(size), _("No change since the previous edition."), ITALIC, size, MUTED)
    else:
        y = row(y, headers, BOLD)
        for item in items:
            if y + row_h > bottom:
                _page_number(s, page, fs, number)
                s.c.showPage()
                number += 1
                y = row(top, headers, BOLD)
            y = row(
                y,
                [item["date"][:10], index.change_label(item), index.feature_label(item), item["author"]],
                REGULAR,
            )
    _page_number(s, page, fs, number)
    s.c.showPage()
    return number - first_number + 1


def layout_pdf(page: Page) -> bytes:
    """Every page of the print as a PDF, with an empty frame on the first page where the map goes."""
    register_fonts()
    buffer = io.BytesIO()
    sheet = page.sheet
    canvas = Canvas(
        buffer,
        pagesize=(mm(sheet.width_mm), mm(sheet.height_mm)),
        pageCompression=1,
        initialFontName=REGULAR,  # no unembedded Helvetica in the resources
    )
    canvas.setTitle(page.title)
    canvas.setCreator("Cartoparty")
    s = Sheet(canvas, sheet.height_mm)
    fs = {k: round(v * sheet.text_scale, 2) for k, v in FONT_PT.items()}
    with translation.override(page.lang):
        _first_page(s, page, fs)
        canvas.showPage()
        number = 2
        columns = index_geometry(sheet)[0]
        for columns_of_page in index_pages(index_lines(page), sheet):
            _index_page(s, page, fs, columns_of_page, columns)
            _page_number(s, page, fs, number)
            canvas.showPage()
            number += 1
        if page.changes_page:
            _changes_pages(s, page, fs, number)
    canvas.save()
    return buffer.getvalue()
