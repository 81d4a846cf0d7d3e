"""The one spatial reference of the project: every geometry, column and SQL query is in WGS84
longitude/latitude, as OpenStreetMap data is, so nothing is ever reprojected on write.

Models use :data:`SRID`; SQL takes it as a parameter or builds from it (:data:`ENVELOPE`), and the
importer's EWKB headers are derived from it (:func:`ewkb_header`), so no other module writes the number.
"""

from __future__ import annotations

SRID = 4326


def ewkb_header(wkb_type: int) -> str:
    """Little-endian hex EWKB header of ``wkb_type`` (1 point, 2 linestring, 3 polygon) with SRID."""
    return (
        "01"
        + (wkb_type | 0x20000000).to_bytes(4, "little").hex().upper()
        + SRID.to_bytes(4, "little").hex().upper()
    )
