"""The area boundaries: the synthetic region's `boundaries.geojson` (dev/synth/boundaries.py)
and the reader that checks a partnership's own (places/boundaries.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dagster_project.dev.synth import boundaries as synth
from dagster_project.places import boundaries
from dagster_project.places.boundaries import GEOGRAPHIES, BoundaryError
from dagster_project.platform import warehouse


def spatial() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config=warehouse.CONFIG)
    warehouse.load_extension(con, "spatial")
    return con


def misplaced(areas: pd.DataFrame, gazetteer: pd.DataFrame) -> dict[str, int]:
    """Per geography, the properties that are not in (nor on the edge of) their own area's
    polygon, counting one whose area has no polygon (or that has no point) as misplaced too."""
    with spatial() as con:
        con.register("areas_frame", areas)
        con.register("gazetteer", gazetteer)
        con.execute(
            "create table areas as select geography, code, st_geomfromgeojson(geometry) as geom "
            "from areas_frame"
        )
        return {
            geography: con.execute(
                f"select count(*) from gazetteer g left join areas a "
                f"on a.geography = '{geography}' and a.code = g.{geography}_code "
                "where not coalesce(st_covers(a.geom, st_point(g.easting, g.northing)), false)"
            ).fetchone()[0]
            for geography in GEOGRAPHIES
        }


@pytest.fixture(scope="module")
def gazetteer(region) -> pd.DataFrame:
    return region.gazetteer()


@pytest.fixture(scope="module")
def areas(region) -> pd.DataFrame:
    return boundaries.read(region.reference / boundaries.FILENAME)


def test_the_extension_comes_from_its_package():
    import duckdb_extension_spatial

    path = Path(warehouse.extension_file("spatial"))
    assert path.name == "spatial.duckdb_extension"
    assert path.is_relative_to(Path(duckdb_extension_spatial.__file__).parent)


def test_generate_writes_one_polygon_per_area(region, gazetteer, areas):
    assert (region.reference / "boundaries.geojson").exists()
    assert not areas.duplicated(["geography", "code"]).any()
    for geography in GEOGRAPHIES:
        expected = (
            gazetteer[[f"{geography}_code", f"{geography}_name"]]
            .drop_duplicates()
            .set_axis(["code", "name"], axis=1)
            .sort_values("code", ignore_index=True)
        )
        got = areas[areas["geography"] == geography][["code", "name"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
    kinds = {json.loads(g)["type"] for g in areas["geometry"]}
    assert kinds <= {"Polygon", "MultiPolygon"}


def test_the_file_states_british_national_grid(region):
    doc = json.loads((region.reference / "boundaries.geojson").read_text())
    assert doc["type"] == "FeatureCollection"
    assert doc["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}


def test_every_property_lies_in_its_own_areas(areas, gazetteer):
    assert misplaced(areas, gazetteer) == {"lsoa": 0, "ward": 0, "district": 0}


def test_areas_of_one_level_do_not_overlap(areas):
    """Neighbours share their edges, so what two areas have in common is the width of the
    output grid at most: measured at 0 here and 3e-12 of the region at 250,000 people."""
    with spatial() as con:
        con.register("areas_frame", areas)
        con.execute(
            "create table areas as select geography, code, st_geomfromgeojson(geometry) as geom "
            "from areas_frame"
        )
        for geography in GEOGRAPHIES:
            overlap, total, valid = con.execute(
                """
                select (select coalesce(sum(st_area(st_intersection(a.geom, b.geom))), 0)
                        from areas a join areas b on a.geography = b.geography
                        and a.code < b.code and st_intersects(a.geom, b.geom)
                        where a.geography = $1),
                       sum(st_area(geom)), bool_and(st_isvalid(geom))
                from areas where geography = $1
                """,
                [geography],
            ).fetchone()
            assert valid, geography
            assert overlap < 1e-6 * total, geography


def test_the_same_gazetteer_gives_the_same_file(region, gazetteer):
    again = synth.feature_collection(synth.boundaries(gazetteer))
    assert again == (region.reference / "boundaries.geojson").read_text()


def test_coarse_simplification_still_keeps_every_property_in_its_areas(gazetteer, areas):
    """At 1 km the simplified edges cross some 200 of the test region's properties (none at
    the 20 m it is written with), each of which takes its own Voronoi cell back."""
    coarse = synth.boundaries(gazetteer, tolerance=1000)
    assert coarse["geometry"].str.len().sum() < areas["geometry"].str.len().sum()
    assert misplaced(coarse, gazetteer) == {"lsoa": 0, "ward": 0, "district": 0}


def test_a_location_shared_by_three_lsoas_is_on_the_edge_of_each(gazetteer):
    """Two streets' houses can round to one spot: the spot's cell is split between them."""
    moved = gazetteer.copy()
    firsts = moved.drop_duplicates("lsoa_code").index[:3]
    assert len(firsts) == 3
    spot = moved.loc[firsts[0], ["easting", "northing"]].to_numpy()
    moved.loc[firsts[1:], ["easting", "northing"]] = spot
    assert len(moved.merge(pd.DataFrame([spot], columns=["easting", "northing"]))) >= 3
    shared = synth.boundaries(moved)
    assert misplaced(shared, moved) == {"lsoa": 0, "ward": 0, "district": 0}


def test_a_gazetteer_whose_lsoa_spans_two_wards_is_refused(gazetteer):
    bad = gazetteer.copy()
    lsoa = bad["lsoa_code"].iloc[0]
    bad.loc[bad.index[bad["lsoa_code"] == lsoa][0], "ward_code"] = "E05999999"
    with pytest.raises(ValueError, match=f"lsoa {lsoa} lies in more than one ward"):
        synth.boundaries(bad)


def test_a_gazetteer_with_a_property_off_the_map_is_refused(gazetteer):
    bad = gazetteer.astype({"easting": float})
    bad.loc[bad.index[0], "easting"] = None
    with pytest.raises(ValueError, match="easting empty on some properties"):
        synth.boundaries(bad)


# The reader, on the generated file and on each way a partnership's own can be wrong.


@pytest.fixture(scope="module")
def document(region) -> dict:
    return json.loads((region.reference / "boundaries.geojson").read_text())


def write(folder: Path, doc) -> Path:
    path = folder / "boundaries.geojson"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def first_feature(change):
    def spoil(doc):
        change(doc["features"][0])
        return doc

    return spoil


def point(feature):
    feature["geometry"] = {"type": "Point", "coordinates": [450000, 200000]}


def degrees(doc):
    del doc["crs"]
    ring = [[-1.2, 51.7], [-1.1, 51.7], [-1.1, 51.8], [-1.2, 51.7]]
    doc["features"][0]["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    return doc


def unclosed(feature):
    feature["geometry"]["coordinates"] = [[[450000, 200000], [451000, 200000], [451000, 201000],
                                           [450000, 201000]]]  # fmt: skip
    feature["geometry"]["type"] = "Polygon"


BAD = {
    "not JSON": (lambda doc: '{"type": "FeatureCollection", "features": [', "is not JSON"),
    "a list": (lambda doc: doc["features"], "is not a GeoJSON FeatureCollection"),
    "a Feature": (lambda doc: doc["features"][0], "is not a GeoJSON FeatureCollection"),
    "no features": (lambda doc: {**doc, "features": []}, "holds no areas"),
    "WGS 84": (
        lambda doc: {**doc, "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}},
        "not EPSG:27700",
    ),
    "no geography": (first_feature(lambda f: f["properties"].pop("geography")), "no geography"),
    "no code": (first_feature(lambda f: f["properties"].pop("code")), "has no code"),
    "no geometry": (first_feature(lambda f: f.update(geometry=None)), "has no geometry"),
    "an MSOA": (
        first_feature(lambda f: f["properties"].update(geography="msoa")),
        "geography 'msoa' is not one of lsoa, ward, district",
    ),
    "a duplicate": (
        lambda doc: {**doc, "features": doc["features"] + doc["features"][:1]},
        "appears more than once",
    ),
    "a point": (first_feature(point), "geometry is a Point, not a Polygon or MultiPolygon"),
    "degrees": (degrees, "is in degrees"),
    "an open ring": (first_feature(unclosed), "a ring is not closed"),
}


@pytest.mark.parametrize("case", BAD)
def test_read_refuses_a_bad_file_naming_it_and_the_reason(case, document, tmp_path):
    spoil, reason = BAD[case]
    path = write(tmp_path, spoil(copy.deepcopy(document)))
    with pytest.raises(BoundaryError) as refused:
        boundaries.read(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert reason in str(refused.value)


def test_read_refuses_a_missing_file(tmp_path):
    with pytest.raises(BoundaryError, match="no such file"):
        boundaries.read(tmp_path / "boundaries.geojson")


@pytest.mark.parametrize("crs", [None, "EPSG:27700", "urn:ogc:def:crs:EPSG:8.9:27700"])
def test_read_accepts_the_ways_british_national_grid_is_stated(crs, document, tmp_path):
    doc = copy.deepcopy(document)
    if crs is None:
        del doc["crs"]
    else:
        doc["crs"]["properties"]["name"] = crs
    areas = boundaries.read(write(tmp_path, doc))
    assert list(areas.columns) == ["geography", "code", "name", "geometry"]
    assert len(areas) == len(document["features"])
