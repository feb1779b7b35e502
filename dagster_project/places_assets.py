"""The place spine in Dagster. So far its reference: the gazetteer, loaded from
`data/reference/gazetteer.csv` (the synthetic region's, or a partnership's own extract in the
same format) into `reference.gazetteer`, refused whole when it breaks the format."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from .config import paths
from .places import gazetteer


@dg.asset(
    key=["reference", "gazetteer"], group_name="places", kinds={"duckdb"},
    description="Every property of the gazetteer (AddressBase-style: UPRN, address parts, "
                "coordinates, LSOA, ward, district), checked against docs/gazetteer.md.",
)  # fmt: skip
def gazetteer_table(duckdb: DuckDBResource) -> dg.MaterializeResult:
    path = paths().reference / "gazetteer.csv"
    with duckdb.get_connection() as con:
        con.execute("create schema if not exists reference")
        con.execute("begin")
        try:
            n = gazetteer.load(con, path, "reference.gazetteer")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        postcodes, districts = con.execute(
            "select count(distinct postcode), count(distinct district_code) "
            "from reference.gazetteer"
        ).fetchone()
    return dg.MaterializeResult(metadata={
        "properties": n, "postcodes": postcodes, "districts": districts,
        "file": dg.MetadataValue.path(str(path)),
    })  # fmt: skip
