"""The presence boundary, as a table: cities on either side of each border, coast and open sea.

Coordinates are (latitude, longitude) of city centres, as a phone would report them. If a row
fails, the polygon in portal/presence/data/france.geojson is wrong, not the row.
"""

from __future__ import annotations

import itertools
import json
import math
from importlib import resources
from pathlib import Path

import pytest

from portal.presence.territory import Territory, load_territory

INSIDE = [
    # near a land border
    ("Lille", 50.6292, 3.0573),
    ("Strasbourg", 48.5734, 7.7521),
    ("Mulhouse", 47.7508, 7.3359),
    ("Annecy", 45.8992, 6.1294),
    ("Nice", 43.7102, 7.2620),
    ("Menton", 43.7747, 7.4975),
    ("Perpignan", 42.6887, 2.8948),
    ("Bayonne", 43.4929, -1.4748),
    ("Hendaye", 43.3589, -1.7742),
    # on the coast
    ("Dunkirk", 51.0344, 2.3768),
    ("Calais", 50.9513, 1.8587),
    ("Boulogne-sur-Mer", 50.7264, 1.6139),
    ("Le Havre", 49.4944, 0.1079),
    ("Cherbourg", 49.6337, -1.6222),
    ("Brest", 48.3904, -4.4861),
    ("Nantes", 47.2184, -1.5536),
    ("La Rochelle", 46.1603, -1.1511),
    ("Bordeaux", 44.8378, -0.5792),
    ("Biarritz", 43.4832, -1.5586),
    ("Montpellier", 43.6108, 3.8767),
    ("Marseille", 43.2965, 5.3698),
    ("Toulon", 43.1242, 5.9280),
    # inland, as a sanity check
    ("Paris", 48.8566, 2.3522),
    ("Lyon", 45.7640, 4.8357),
    # Corsica
    ("Ajaccio", 41.9192, 8.7386),
    ("Bastia", 42.6977, 9.4509),
]

OUTSIDE = [
    # across a land border
    ("Mons", 50.4542, 3.9523),
    ("Brussels", 50.8503, 4.3517),
    ("Luxembourg", 49.6116, 6.1319),
    ("Saarbrücken", 49.2402, 6.9969),
    ("Karlsruhe", 49.0069, 8.4037),
    ("Freiburg im Breisgau", 47.9990, 7.8421),
    ("Basel", 47.5596, 7.5886),
    ("Lausanne", 46.5197, 6.6323),
    ("Turin", 45.0703, 7.6869),
    ("San Remo", 43.8159, 7.7761),
    ("Girona", 41.9794, 2.8214),
    ("San Sebastián", 43.3183, -1.9812),
    ("Andorra la Vella", 42.5063, 1.5218),
    ("Olbia, Sardinia", 40.9236, 9.4964),
    # across the water
    ("Dover", 51.1279, 1.3134),
    ("Strait of Dover, halfway from Calais to Dover", 51.04, 1.58),
    ("Bay of Biscay west of Bordeaux", 44.80, -2.00),
    ("Gulf of Lion south of Montpellier", 43.10, 3.90),
    ("Ligurian Sea between Nice and Corsica", 43.20, 8.10),
]


@pytest.fixture(scope="module")
def france() -> Territory:
    return load_territory()


@pytest.fixture(scope="module")
def geometry() -> dict:
    text = resources.files("portal.presence").joinpath("data/france.geojson").read_text("utf-8")
    document = json.loads(text)
    assert document["type"] == "FeatureCollection"
    assert len(document["features"]) == 1
    return document["features"][0]["geometry"]


@pytest.mark.parametrize(("place", "latitude", "longitude"), INSIDE)
def test_inside(france, place, latitude, longitude):
    assert france.contains(latitude, longitude), place


@pytest.mark.parametrize(("place", "latitude", "longitude"), OUTSIDE)
def test_outside(france, place, latitude, longitude):
    assert not france.contains(latitude, longitude), place


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        (math.nan, 2.35),
        (48.85, math.nan),
        (math.inf, 2.35),
        (48.85, -math.inf),
        (91.0, 2.35),
        (-91.0, 2.35),
        (48.85, 181.0),
        (48.85, -181.0),
    ],
)
def test_invalid_coordinates_are_outside(france, latitude, longitude):
    assert not france.contains(latitude, longitude)


def test_swapped_coordinates_are_outside(france):
    # Paris with latitude and longitude the wrong way round lands in the Gulf of Aden.
    assert not france.contains(2.3522, 48.8566)


def test_geojson_is_a_multipolygon_of_mainland_and_corsica(geometry):
    assert geometry["type"] == "MultiPolygon"
    mainland, corsica = geometry["coordinates"]
    assert len(mainland) == 1 and len(corsica) == 1, "no holes expected"
    assert 60 <= len(mainland[0]) - 1 <= 150
    assert 15 <= len(corsica[0]) - 1 <= 30


def test_geojson_names_its_source():
    text = resources.files("portal.presence").joinpath("data/france.geojson").read_text("utf-8")
    properties = json.loads(text)["features"][0]["properties"]
    assert "not for legal boundaries" in properties["source"]


def rings(geometry):
    for polygon in geometry["coordinates"]:
        yield from polygon


def test_rings_are_closed_and_in_range(geometry):
    for ring in rings(geometry):
        assert len(ring) >= 4
        assert ring[0] == ring[-1]
        for longitude, latitude in ring:
            # [longitude, latitude] order: France and Corsica lie within these bounds.
            assert -5.5 < longitude < 10.0
            assert 41.0 < latitude < 51.5


def signed_area(ring):
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring)) / 2


def test_exterior_rings_are_counter_clockwise(geometry):
    for polygon in geometry["coordinates"]:
        assert signed_area(polygon[0]) > 0


def orientation(a, b, c):
    value = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return (value > 0) - (value < 0)


def within_box(a, b, c):
    return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])


def segments_intersect(p1, p2, q1, q2):
    o1, o2 = orientation(p1, p2, q1), orientation(p1, p2, q2)
    o3, o4 = orientation(q1, q2, p1), orientation(q1, q2, p2)
    if o1 != o2 and o3 != o4:
        return True
    return (
        (o1 == 0 and within_box(p1, p2, q1))
        or (o2 == 0 and within_box(p1, p2, q2))
        or (o3 == 0 and within_box(q1, q2, p1))
        or (o4 == 0 and within_box(q1, q2, p2))
    )


def self_intersections(ring):
    edges = list(itertools.pairwise(ring))
    count = len(edges)
    found = []
    for i in range(count):
        for j in range(i + 1, count):
            if j == i + 1 or (i == 0 and j == count - 1):
                continue  # adjacent edges share a vertex by construction
            if segments_intersect(*edges[i], *edges[j]):
                found.append((edges[i], edges[j]))
    return found


def test_self_intersection_check_catches_a_bow_tie():
    bow_tie = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]
    assert self_intersections(bow_tie)
    square = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    assert not self_intersections(square)


def test_polygons_do_not_intersect_themselves(geometry):
    for ring in rings(geometry):
        assert len({tuple(p) for p in ring[:-1]}) == len(ring) - 1, "repeated vertex"
        assert self_intersections(ring) == []


def test_shipped_territory_loads_once_through_the_package(france):
    assert resources.files("portal.presence").joinpath("data/france.geojson").is_file()
    assert load_territory() is load_territory()
    assert len(france.polygons) == 2


def test_explicit_path_gives_the_same_territory(france):
    traversable = resources.files("portal.presence").joinpath("data/france.geojson")
    with resources.as_file(traversable) as path:
        assert load_territory(Path(path)) == france


def square_with_hole(tmp_path):
    outer = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]]
    path = tmp_path / "square.geojson"
    path.write_text(json.dumps({"type": "Polygon", "coordinates": [outer, hole]}), "utf-8")
    return load_territory(path)


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        (0.5, 0.5, True),  # in the frame
        (2.0, 2.0, False),  # in the hole
        (0.0, 0.0, True),  # on a vertex
        (4.0, 4.0, True),  # on the opposite vertex
        (0.0, 2.0, True),  # on the bottom edge
        (2.0, 4.0, True),  # on the right edge
        (1.0, 2.0, True),  # on the hole's edge
        (1.0, 1.0, True),  # on the hole's corner
        (0.0, 5.0, False),  # level with the bottom edge, beyond it
        (4.0, -1.0, False),  # level with the top edge, before it
        (-1e-6, 2.0, False),  # just below
        (0.5, 4.000001, False),  # just right
    ],
)
def test_boundary_points_are_decided_the_same_way_every_time(
    tmp_path, latitude, longitude, expected
):
    territory = square_with_hole(tmp_path)
    assert territory.contains(latitude, longitude) is expected
    assert territory.contains(latitude, longitude) is expected


def test_diagonal_edge_points_count_as_inside(tmp_path):
    path = tmp_path / "triangle.geojson"
    path.write_text(
        json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [3, 0], [0, 3], [0, 0]]]})
    )
    triangle = load_territory(path)
    assert triangle.contains(1.5, 1.5)  # on the hypotenuse
    assert triangle.contains(0.1 * 3, 3 - 0.1 * 3)  # on it, up to rounding
    assert not triangle.contains(1.5, 1.5001)


def test_vertices_of_the_shipped_boundary_are_inside(france, geometry):
    for ring in rings(geometry):
        for longitude, latitude in ring:
            assert france.contains(latitude, longitude)


@pytest.mark.parametrize(
    "document",
    [
        {"type": "Point", "coordinates": [2.35, 48.85]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
        {"type": "FeatureCollection", "features": []},
    ],
)
def test_unusable_geojson_is_refused(tmp_path, document):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(ValueError):
        load_territory(path)
