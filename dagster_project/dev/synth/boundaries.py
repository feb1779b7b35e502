"""The synthetic region's area boundaries: a polygon for every LSOA, ward and district of its
gazetteer, written as `boundaries.geojson` beside `gazetteer.csv` (docs/gazetteer.md, "Area
boundaries"). A real partnership uses the ONS boundary files instead.

The region has no boundaries of its own, only properties labelled with their areas, so each
property's location claims the land nearer to it than to any other (its Voronoi cell, clipped
to the region's convex hull grown by MARGIN) and an LSOA is the union of its properties' cells.
The LSOAs are simplified together as one coverage, so neighbours keep one shared edge (no gaps
or overlaps beyond the 0.1 m grid the file is written on); a property the simplified edge left
outside its LSOA takes its own cell back, so every property lies in its areas' polygons. Wards
and districts are dissolved from the LSOAs, so the three levels nest. It all runs in DuckDB's
spatial extension, loaded from its package: nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.places.boundaries import CRS, FILENAME, GEOGRAPHIES
from dagster_project.platform import warehouse

TOLERANCE = 20.0  # metres: small enough for a ward map, large enough to keep the file small
MARGIN = 1000.0  # metres of land beyond the outermost properties
PRECISION = 0.1  # metres: the grid coordinates are written on
FAR = 1e6  # metres: longer than any cell, for the wedges that split a shared location's cell


def boundaries(
    gazetteer: pd.DataFrame, tolerance: float = TOLERANCE, margin: float = MARGIN
) -> pd.DataFrame:
    """One row per area of the gazetteer (columns of GAZETTEER_COLUMNS; easting, northing and
    the area codes and names are read): geography, code, name, and geometry, a GeoJSON
    Polygon or MultiPolygon in British National Grid metres. Ordered by geography, then code,
    and the same for the same gazetteer. Every property lies in (or on the edge of) the
    polygons of its own LSOA, ward and district."""
    columns = ["easting", "northing"] + [f"{g}_{c}" for g in GEOGRAPHIES for c in ("code", "name")]
    with duckdb.connect(config=warehouse.CONFIG) as con:
        warehouse.load_extension(con, "spatial")
        # One thread: unions and overlays then run in one order, so the output is the same
        # to the last digit every time (it takes seconds at the largest region anyway).
        con.execute("set threads = 1")
        con.execute("set enable_progress_bar = false")
        con.register("gazetteer_frame", gazetteer[columns])
        con.execute("create table gazetteer as select * from gazetteer_frame")
        _check(con)
        _lsoas(con, tolerance, margin)
        return _dissolve(con)


def _check(con: duckdb.DuckDBPyConnection) -> None:
    """Every property needs a point and its areas. Wards and districts are dissolved from
    LSOAs, so each LSOA must lie in one ward and each ward in one district, as the synthetic
    region's do by construction."""
    columns = ["easting", "northing"] + [f"{g}_code" for g in GEOGRAPHIES]
    nulls = con.execute(
        "select "
        + ", ".join(f"count(*) filter (where {c} is null)" for c in columns)
        + " from gazetteer"
    ).fetchone()
    empty = [c for c, n in zip(columns, nulls, strict=True) if n]
    if empty:
        raise ValueError(f"gazetteer: {', '.join(empty)} empty on some properties")
    for small, big in (("lsoa", "ward"), ("ward", "district")):
        bad = con.execute(
            f"select {small}_code from gazetteer group by all "
            f"having count(distinct {big}_code) > 1 order by 1 limit 3"
        ).fetchall()
        if bad:
            codes = ", ".join(code for (code,) in bad)
            raise ValueError(f"gazetteer: {small} {codes} lies in more than one {big}")


def _lsoas(con: duckdb.DuckDBPyConnection, tolerance: float, margin: float) -> None:
    """Table `lsoa` (code, geom): each LSOA's cells, simplified, then mended where the
    simplification moved an edge across one of its properties."""
    con.execute(
        """
        create table sites as
        select row_number() over (order by easting, northing) as site,
               st_point(easting, northing) as geom,
               list(distinct lsoa_code order by lsoa_code) as codes
        from gazetteer group by easting, northing
        """
    )
    con.execute(
        "create table hull as select st_buffer(st_convexhull(st_collect(list(geom order by site)))"
        ", ?) as geom from sites",
        [margin],
    )
    # Voronoi returns its cells in an order of its own: each is matched back to its location.
    con.execute(
        """
        create table cells as
        with diagram as (
            select unnest(st_dump(st_voronoidiagram(st_collect(list(geom order by site)))),
                          recursive := true)
            from sites
        )
        select s.site, case when st_within(d.geom, h.geom) then d.geom
                            else st_intersection(d.geom, h.geom) end as geom
        from diagram d join sites s on st_contains(d.geom, s.geom), hull h
        """
    )
    # A location shared by properties of two LSOAs (two streets' houses on one spot) goes
    # whole to the first here; the mending below splits its cell between them.
    con.execute(
        """
        create table raw as
        select s.codes[1] as code, st_coverageunion_agg(c.geom order by c.site) as geom
        from cells c join sites s using (site) group by all
        """
    )
    con.execute(
        """
        create table simple as
        with together as (
            select list(code order by code) as codes,
                   st_coveragesimplify(list(geom order by code), ?) as geoms
            from raw
        ),
        parts as (select codes, unnest(st_dump(geoms), recursive := true) from together)
        select codes[path[1]] as code, st_union_agg(geom order by path) as geom
        from parts group by all
        """,
        [tolerance],
    )
    _mend(con)


def _mend(con: duckdb.DuckDBPyConnection) -> None:
    """A property the simplified edge has left in its neighbour takes its own cell back from
    whichever LSOAs now hold it. A cell holds no other property, so nothing else moves. A
    shared location's cell is cut into wedges meeting at the location, one per LSOA, so it
    lies on the edge of each of them."""
    con.execute(
        """
        create table pieces as
        with shared as (
            select site, geom, unnest(codes) as code, unnest(range(len(codes))) as k,
                   len(codes) as n
            from sites where len(codes) > 1
        ),
        wedges as (
            select site, code, st_makepolygon(st_makeline([
                geom,
                st_point(st_x(geom) + ? * cos(a), st_y(geom) + ? * sin(a)),
                st_point(st_x(geom) + ? * cos(a + pi() / n), st_y(geom) + ? * sin(a + pi() / n)),
                st_point(st_x(geom) + ? * cos(a + 2 * pi() / n),
                         st_y(geom) + ? * sin(a + 2 * pi() / n)),
                geom
            ])) as wedge
            from (select *, 2 * pi() * k / n as a from shared)
        ),
        strayed as (
            select s.site, s.codes[1] as code
            from sites s join simple p on p.code = s.codes[1]
            where len(s.codes) = 1 and not st_covers(p.geom, s.geom)
        )
        select w.site, w.code, st_intersection(c.geom, w.wedge) as geom
        from wedges w join cells c using (site)
        union all
        select s.site, s.code, c.geom from strayed s join cells c using (site)
        """,
        [FAR] * 6,
    )
    con.execute(
        """
        create table lsoa as
        with taken as (
            select p.code, st_union_agg(x.geom order by x.site, x.code) as geom
            from simple p join pieces x on x.code <> p.code and st_intersects(p.geom, x.geom)
            group by p.code
        ),
        given as (
            select code, st_union_agg(geom order by site) as geom from pieces group by code
        ),
        kept as (
            select p.code, coalesce(st_difference(p.geom, t.geom), p.geom) as geom
            from simple p left join taken t using (code)
        )
        select code, case when g.geom is null then k.geom
                          when k.geom is null then g.geom
                          else st_union(k.geom, g.geom) end as geom
        from kept k full join given g using (code)
        """
    )


def _dissolve(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every level from the LSOAs, on the output grid, as GeoJSON."""
    con.execute(
        """
        create table areas as
        with names as (
            select distinct lsoa_code, ward_code, district_code,
                   min(lsoa_name) over (partition by lsoa_code) as lsoa_name,
                   min(ward_name) over (partition by ward_code) as ward_name,
                   min(district_name) over (partition by district_code) as district_name
            from gazetteer
        ),
        levels as (
            select 1 as level, 'lsoa' as geography, n.lsoa_code as code,
                   any_value(n.lsoa_name) as name, any_value(l.geom) as geom
            from names n join lsoa l on l.code = n.lsoa_code group by all
            union all
            select 2, 'ward', n.ward_code, any_value(n.ward_name),
                   st_union_agg(l.geom order by l.code)
            from names n join lsoa l on l.code = n.lsoa_code group by all
            union all
            select 3, 'district', n.district_code, any_value(n.district_name),
                   st_union_agg(l.geom order by l.code)
            from names n join lsoa l on l.code = n.lsoa_code group by all
        )
        select level, geography, code, name,
               st_normalize(st_collectionextract(st_reduceprecision(geom, ?), 3)) as geom
        from levels
        """,
        [PRECISION],
    )
    return con.execute(
        """
        select geography, code, name,
               st_asgeojson(case when st_numgeometries(geom) = 1 then st_dump(geom)[1].geom
                                 else geom end) as geometry
        from areas order by level, code
        """
    ).df()


def feature_collection(areas: pd.DataFrame) -> str:
    """The boundaries file's text: a FeatureCollection in EPSG:27700, one Feature a line."""
    features = [
        '{"type":"Feature","properties":'
        + json.dumps({"geography": a.geography, "code": a.code, "name": _text(a.name)})
        + ',"geometry":'
        + a.geometry
        + "}"
        for a in areas.itertuples(index=False)
    ]
    head = json.dumps({"type": "FeatureCollection", "crs": CRS})[:-1]
    return head + ',"features":[\n' + ",\n".join(features) + "\n]}\n"


def _text(value) -> str | None:
    return value if isinstance(value, str) else None  # a missing name is null, never NaN


def write(gazetteer: pd.DataFrame, folder: Path) -> Path:
    """Write `boundaries.geojson` for the gazetteer into `folder` (the reference folder)."""
    path = Path(folder) / FILENAME
    path.write_text(feature_collection(boundaries(gazetteer)), encoding="utf-8")
    return path
