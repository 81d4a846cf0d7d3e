"""The bundled Maki icons as vector paths for the page layout (legend of the printed map).

Maki icons are single-colour SVGs made only of ``<path d="...">`` elements in a 15 × 15 box (no
transform, no stroke). :func:`icon_path_ops` reads one once and turns its path data into absolute
drawing operations (move, line, cubic curve, close), arcs converted to cubic Béziers, so the layout
can draw it with any PDF library without an SVG renderer.
"""

from __future__ import annotations

import html
import math
import re
from functools import cache

from exports.printing import style

VIEWBOX = 15.0
_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtAaZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARGS = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}

Op = tuple  # ("M", x, y) | ("L", x, y) | ("C", x1, y1, x2, y2, x, y) | ("Z",)


@cache
def icon_path_ops(name: str) -> tuple[Op, ...]:
    """Absolute drawing operations of icon ``name`` (coordinates in the 15 × 15 box, y down)."""
    text = (style.icon_dir() / f"{name}.svg").read_text()
    ops: list[Op] = []
    for d in re.findall(r'<path\b[^>]*\sd="([^"]*)"', text):
        ops += parse_path(html.unescape(d))
    return tuple(ops)


def _arc_to_curves(x0, y0, rx, ry, angle, large, sweep, x, y) -> list[Op]:
    """SVG elliptical arc (endpoint form) as cubic Béziers (SVG 1.1 implementation notes, F.6)."""
    if rx == 0 or ry == 0 or (x0, y0) == (x, y):
        return [("L", x, y)]
    rx, ry = abs(rx), abs(ry)
    phi = math.radians(angle)
    cos_phi, sin_phi = math.cos(phi), math.sin(phi)
    dx, dy = (x0 - x) / 2, (y0 - y) / 2
    x1p, y1p = cos_phi * dx + sin_phi * dy, -sin_phi * dx + cos_phi * dy
    lam = (x1p / rx) ** 2 + (y1p / ry) ** 2
    if lam > 1:
        rx, ry = rx * math.sqrt(lam), ry * math.sqrt(lam)
    num = rx * rx * ry * ry - rx * rx * y1p * y1p - ry * ry * x1p * x1p
    den = rx * rx * y1p * y1p + ry * ry * x1p * x1p
    coef = math.sqrt(max(0.0, num / den)) if den else 0.0
    if large == sweep:
        coef = -coef
    cxp, cyp = coef * rx * y1p / ry, -coef * ry * x1p / rx
    cx = cos_phi * cxp - sin_phi * cyp + (x0 + x) / 2
    cy = sin_phi * cxp + cos_phi * cyp + (y0 + y) / 2

    def angle_of(ux, uy, vx, vy) -> float:
        return math.atan2(ux * vy - uy * vx, ux * vx + uy * vy)

    theta = angle_of(1, 0, (x1p - cxp) / rx, (y1p - cyp) / ry)
    delta = angle_of((x1p - cxp) / rx, (y1p - cyp) / ry, (-x1p - cxp) / rx, (-y1p - cyp) / ry)
    if not sweep and delta > 0:
        delta -= 2 * math.pi
    elif sweep and delta < 0:
        delta += 2 * math.pi
    segments = max(1, math.ceil(abs(delta) / (math.pi / 2)))
    step = delta / segments
    k = 4 / 3 * math.tan(step / 4)

    def point(t: float) -> tuple[float, float]:
        px, py = rx * math.cos(t), ry * math.sin(t)
        return cos_phi * px - sin_phi * py + cx, sin_phi * px + cos_phi * py + cy

    def tangent(t: float) -> tuple[float, float]:
        tx, ty = -rx * math.sin(t), ry * math.cos(t)
        return cos_phi * tx - sin_phi * ty, sin_phi * tx + cos_phi * ty

    curves: list[Op] = []
    t = theta
    for _ in range(segments):
        (ax, ay), (bx, by) = point(t), point(t + step)
        (tax, tay), (tbx, tby) = tangent(t), tangent(t + step)
        curves.append(("C", ax + k * tax, ay + k * tay, bx - k * tbx, by - k * tby, bx, by))
        t += step
    last = curves[-1]
    curves[-1] = (*last[:5], x, y)  # land exactly on the end point
    return curves


def parse_path(d: str) -> list[Op]:
    """SVG path data to absolute M/L/C/Z operations (H, V, S, Q, T and arcs converted)."""
    tokens = _TOKEN.findall(d)
    ops: list[Op] = []
    i, command = 0, ""
    x = y = start_x = start_y = 0.0
    last_ctrl: tuple[float, float] | None = None  # second control point of the previous C/S
    last_quad: tuple[float, float] | None = None
    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            if command in "Zz":
                ops.append(("Z",))
                x, y = start_x, start_y
                last_ctrl = last_quad = None
                continue
        elif not command:
            raise ValueError(f"Path data must start with a command: {d[:40]!r}")
        upper = command.upper()
        n = _ARGS[upper]
        args = [float(v) for v in tokens[i : i + n]]
        if len(args) < n:
            raise ValueError(f"Path data ends inside a command: {d[-40:]!r}")
        i += n
        rel = command.islower()
        ox, oy = (x, y) if rel else (0.0, 0.0)
        ctrl, quad = None, None
        if upper == "M":
            x, y = ox + args[0], oy + args[1]
            start_x, start_y = x, y
            ops.append(("M", x, y))
            command = "l" if rel else "L"  # extra pairs after a move are lines
        elif upper == "L":
            x, y = ox + args[0], oy + args[1]
            ops.append(("L", x, y))
        elif upper == "H":
            x = (x if rel else 0.0) + args[0]
            ops.append(("L", x, y))
        elif upper == "V":
            y = (y if rel else 0.0) + args[0]
            ops.append(("L", x, y))
        elif upper in "CS":
            if upper == "C":
                x1, y1 = ox + args[0], oy + args[1]
                rest = args[2:]
            else:
                x1, y1 = (2 * x - last_ctrl[0], 2 * y - last_ctrl[1]) if last_ctrl else (x, y)
                rest = args
            x2, y2 = ox + rest[0], oy + rest[1]
            x, y = ox + rest[2], oy + rest[3]
            ops.append(("C", x1, y1, x2, y2, x, y))
            ctrl = (x2, y2)
        elif upper in "QT":
            if upper == "Q":
                qx, qy = ox + args[0], oy + args[1]
                ex, ey = ox + args[2], oy + args[3]
            else:
                qx, qy = (2 * x - last_quad[0], 2 * y - last_quad[1]) if last_quad else (x, y)
                ex, ey = ox + args[0], oy + args[1]
            ops.append(
                (
                    "C",
                    x + 2 / 3 * (qx - x),
                    y + 2 / 3 * (qy - y),
                    ex + 2 / 3 * (qx - ex),
                    ey + 2 / 3 * (qy - ey),
                    ex,
                    ey,
                )
            )
            x, y, quad = ex, ey, (qx, qy)
        else:  # A
            ex, ey = ox + args[5], oy + args[6]
            ops += _arc_to_curves(x, y, args[0], args[1], args[2], bool(args[3]), bool(args[4]), ex, ey)
            x, y = ex, ey
        last_ctrl, last_quad = ctrl, quad
    return ops
