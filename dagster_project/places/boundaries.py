"""The area boundaries the reports map by: `boundaries.geojson` in the reference folder, the
synthetic region's (dev/synth/boundaries.py) or a partnership's own, converted from the ONS
boundary files, in one documented format (docs/gazetteer.md, "Area boundaries"). A file that
breaks it is refused whole, naming the file and the reason.

Reading needs no spatial extension: the file is checked as JSON, and each geometry is kept as
its GeoJSON text for whatever draws or queries it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from dagster_project.places.gazetteer import GB_EASTING, GB_NORTHING

FILENAME = "boundaries.geojson"
CRS_NAME = "urn:ogc:def:crs:EPSG::27700"
CRS = {"type": "name", "properties": {"name": CRS_NAME}}
GEOGRAPHIES = ("lsoa", "ward", "district")
COLUMNS = ["geography", "code", "name", "geometry"]
# The spellings of EPSG:27700 that GDAL, QGIS and the OGC write in a GeoJSON `crs` member.
BNG = re.compile(
    r"(urn:ogc:def:crs:)?EPSG:[0-9.]*:?27700|https?://www\.opengis\.net/def/crs/EPSG/[0-9.]+/27700",
    re.IGNORECASE,
)


class BoundaryError(ValueError):
    pass


def read(path: Path | str) -> pd.DataFrame:
    """The areas of a boundaries file: geography ('lsoa', 'ward' or 'district'), code, name
    (None where the file has none) and geometry (a Polygon or MultiPolygon, as GeoJSON text in
    British National Grid metres), in the file's order. BoundaryError if it breaks the format."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BoundaryError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BoundaryError(f"{path}: cannot be read ({e})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise BoundaryError(f"{path}: is not JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise BoundaryError(f"{path}: is not a GeoJSON FeatureCollection")
    _check_crs(path, doc.get("crs"))
    features = doc.get("features")
    if not isinstance(features, list):
        raise BoundaryError(f"{path}: has no list of features")
    if not features:
        raise BoundaryError(f"{path}: holds no areas")
    rows, seen = [], {}
    for number, feature in enumerate(features, start=1):
        row = _area(path, number, feature)
        key = (row[0], row[1])
        if key in seen:
            raise BoundaryError(
                f"{path}: {row[0]} {row[1]} appears more than once "
                f"(features {seen[key]} and {number})"
            )
        seen[key] = number
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _check_crs(path: Path, crs) -> None:
    """A file that names no CRS is taken to be in EPSG:27700, as the format says; one that names
    another (RFC 7946's default, WGS 84, most often) is refused rather than drawn in the sea."""
    if crs is None:
        return
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    if not isinstance(name, str) or not BNG.fullmatch(name.strip()):
        raise BoundaryError(
            f"{path}: its crs is {json.dumps(crs)}, not EPSG:27700 (British National Grid)"
        )


def _area(path: Path, number: int, feature) -> tuple[str, str, str | None, str]:
    where = f"{path}: feature {number}"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise BoundaryError(f"{where} is not a GeoJSON Feature")
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise BoundaryError(f"{where} has no properties")
    geography, code, name = props.get("geography"), props.get("code"), props.get("name")
    if geography is None:
        raise BoundaryError(f"{where} has no geography")
    if geography not in GEOGRAPHIES:
        raise BoundaryError(
            f"{where}: geography {geography!r} is not one of {', '.join(GEOGRAPHIES)}"
        )
    if not isinstance(code, str) or not code.strip():
        raise BoundaryError(f"{where} ({geography}) has no code")
    if name is not None and not isinstance(name, str):
        raise BoundaryError(f"{where} ({geography} {code}): name is not text")
    where = f"{where} ({geography} {code})"
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise BoundaryError(f"{where} has no geometry")
    _check_geometry(where, geometry)
    return geography, code, name, json.dumps(geometry, separators=(",", ":"))


def _check_geometry(where: str, geometry: dict) -> None:
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        raise BoundaryError(f"{where}: geometry is a {kind}, not a Polygon or MultiPolygon")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise BoundaryError(f"{where}: the {kind} has no coordinates")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise BoundaryError(f"{where}: the {kind} has a polygon with no rings")
        for ring in polygon:
            _check_ring(where, ring)


def _check_ring(where: str, ring) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise BoundaryError(f"{where}: a ring has fewer than 4 positions")
    for position in ring:
        if (
            not isinstance(position, list)
            or len(position) not in (2, 3)
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in position)
        ):
            raise BoundaryError(f"{where}: {json.dumps(position)} is not a position")
        e, n = position[0], position[1]
        # Grid points this close to the origin are all at sea: these are degrees (RFC 7946's
        # WGS 84), from a file saved without reprojecting, whether or not it names a crs.
        if abs(e) <= 180 and abs(n) <= 90:
            raise BoundaryError(f"{where}: point {e}, {n} is in degrees, not grid metres")
        if not (GB_EASTING[0] <= e <= GB_EASTING[1] and GB_NORTHING[0] <= n <= GB_NORTHING[1]):
            raise BoundaryError(
                f"{where}: point {e}, {n} is outside Great Britain on the British National Grid"
            )
    if ring[0] != ring[-1]:
        raise BoundaryError(f"{where}: a ring is not closed (its first and last positions differ)")
