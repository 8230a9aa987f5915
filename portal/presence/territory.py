"""Is a position in metropolitan France or Corsica? Checked against a boundary drawn by hand.

The boundary is simplified to about 5 km and leans seaward on the coast, so that someone on a
beach is not turned away; it answers "is this phone in France?", not where a legal border runs.
No geometry library: an even-odd ray cast over a couple of hundred vertices is quick and easy to
audit, and keeps the dependency list short.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

Position = tuple[float, float]
"""(longitude, latitude) in degrees, WGS84: GeoJSON's order, kept so the data reads as shipped."""

Ring = tuple[Position, ...]
BoundingBox = tuple[float, float, float, float]
"""(west, south, east, north), as GeoJSON writes a bbox."""

# A point this close to an edge (in degrees, about 0.1 mm) counts as on it, so a position that
# lies on the boundary in exact arithmetic does not flip with floating-point rounding.
_ON_EDGE = 1e-9


@dataclass(frozen=True)
class Polygon:
    """One piece of the territory: an exterior ring and any holes, without repeated closing point.

    Holes are not special-cased: the even-odd rule over every ring leaves them outside.
    """

    rings: tuple[Ring, ...]
    bbox: BoundingBox

    def contains(self, longitude: float, latitude: float) -> bool:
        """Even-odd ray cast eastward; the boundary itself counts as inside.

        Counting the boundary in keeps the answer stable for points on a vertex or an edge, and
        the benefit of the doubt goes to the applicant rather than to rounding.
        """
        west, south, east, north = self.bbox
        if not (west <= longitude <= east and south <= latitude <= north):
            return False
        inside = False
        for ring in self.rings:
            previous = ring[-1]
            for current in ring:
                if _on_segment(longitude, latitude, previous, current):
                    return True
                (x1, y1), (x2, y2) = previous, current
                # Half-open in latitude: a vertex exactly at the ray's latitude is counted once.
                if (y1 > latitude) != (y2 > latitude):
                    crossing = x1 + (latitude - y1) * (x2 - x1) / (y2 - y1)
                    if longitude < crossing:
                        inside = not inside
                previous = current
        return inside


@dataclass(frozen=True)
class Territory:
    """The places where a presence check passes: metropolitan France and Corsica."""

    polygons: tuple[Polygon, ...]
    bbox: BoundingBox

    def contains(self, latitude: float, longitude: float) -> bool:
        """Whether the position is in the territory; nonsense positions are never in it.

        Latitude comes first, as browsers' Geolocation API gives it. NaN, infinities and
        out-of-range values say nothing about where a phone is, so they are outside rather than
        an error that the caller might let through.
        """
        if not _is_position(latitude, longitude):
            return False
        west, south, east, north = self.bbox
        if not (west <= longitude <= east and south <= latitude <= north):
            return False
        return any(polygon.contains(longitude, latitude) for polygon in self.polygons)


def load_territory(path: Path | None = None) -> Territory:
    """The territory from a GeoJSON file; by default the one shipped with the package, read once.

    A path is for tests and for trying another boundary; it is read on every call.
    """
    if path is None:
        return _shipped_territory()
    return parse_territory(path.read_text(encoding="utf-8"))


@cache
def _shipped_territory() -> Territory:
    # Through importlib.resources so that it works from a wheel as well as from a checkout.
    data = resources.files("portal.presence").joinpath("data/france.geojson")
    return parse_territory(data.read_text(encoding="utf-8"))


def parse_territory(text: str) -> Territory:
    """Build a territory from GeoJSON text: a FeatureCollection, Feature or bare geometry.

    Only Polygon and MultiPolygon geometries make sense for an area; anything else, or a ring
    that is not closed, is refused loudly, because a silently broken boundary would let everyone
    in or no one.
    """
    polygons: list[Polygon] = []
    for geometry in _geometries(json.loads(text)):
        kind = geometry.get("type")
        coordinates: Any = geometry.get("coordinates")
        if kind == "Polygon":
            polygons.append(_polygon(coordinates))
        elif kind == "MultiPolygon":
            polygons.extend(_polygon(part) for part in coordinates)
        else:
            raise ValueError(f"a territory is made of polygons, not {kind!r}")
    if not polygons:
        raise ValueError("the territory has no polygons")
    return Territory(polygons=tuple(polygons), bbox=_union(p.bbox for p in polygons))


def _geometries(document: dict[str, Any]) -> list[dict[str, Any]]:
    kind = document.get("type")
    if kind == "FeatureCollection":
        return [feature["geometry"] for feature in document["features"]]
    if kind == "Feature":
        return [document["geometry"]]
    return [document]


def _polygon(rings: list[list[list[float]]]) -> Polygon:
    if not rings:
        raise ValueError("a polygon needs an exterior ring")
    parsed = tuple(_ring(ring) for ring in rings)
    exterior = parsed[0]
    bbox = (
        min(x for x, _ in exterior),
        min(y for _, y in exterior),
        max(x for x, _ in exterior),
        max(y for _, y in exterior),
    )
    return Polygon(rings=parsed, bbox=bbox)


def _ring(positions: list[list[float]]) -> Ring:
    points = tuple((float(p[0]), float(p[1])) for p in positions)
    if len(points) < 4 or points[0] != points[-1]:
        raise ValueError("a ring needs at least four positions, the last repeating the first")
    if not all(_is_position(lat, lon) for lon, lat in points):
        raise ValueError("a ring has a position outside the range of longitude and latitude")
    # The repeated closing position would only add a zero-length edge.
    return points[:-1]


def _union(boxes: Iterable[BoundingBox]) -> BoundingBox:
    wests, souths, easts, norths = zip(*boxes, strict=True)
    return (min(wests), min(souths), max(easts), max(norths))


def _is_position(latitude: float, longitude: float) -> bool:
    return (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and -90.0 <= latitude <= 90.0
        and -180.0 <= longitude <= 180.0
    )


def _on_segment(x: float, y: float, start: Position, end: Position) -> bool:
    (x1, y1), (x2, y2) = start, end
    if not (
        min(x1, x2) - _ON_EDGE <= x <= max(x1, x2) + _ON_EDGE
        and min(y1, y2) - _ON_EDGE <= y <= max(y1, y2) + _ON_EDGE
    ):
        return False
    cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
    return abs(cross) <= _ON_EDGE * math.hypot(x2 - x1, y2 - y1)
