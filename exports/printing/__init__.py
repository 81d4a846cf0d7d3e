"""Printed maps and base tiles: one Mapnik style, page layout, street index, editions."""
