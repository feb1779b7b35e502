"""The gazetteer loads through its documented format, and a file that breaks it is refused
with the file's name and the reason (issue 5, requirement 1)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from dagster_project.places import gazetteer


@pytest.fixture
def gazetteer_csv(pristine, tmp_path):
    """A copy of the synthetic region's gazetteer, as text, to spoil."""
    df = pd.read_csv(pristine.reference / "gazetteer.csv", dtype=str, keep_default_na=False)
    return df, tmp_path / "gazetteer.csv"


def test_the_synthetic_gazetteer_loads_typed(pristine):
    con = duckdb.connect()
    n = gazetteer.load(con, pristine.reference / "gazetteer.csv", "gaz")
    assert n == len(pd.read_csv(pristine.reference / "gazetteer.csv"))
    types = dict(con.execute("select column_name, data_type from information_schema.columns "
                             "where table_name = 'gaz'").fetchall())  # fmt: skip
    assert types["uprn"] == "BIGINT" and types["easting"] == "INTEGER"
    assert list(types) == [name for name, *_ in gazetteer.COLUMNS]


def test_an_extract_with_only_the_required_columns_loads(gazetteer_csv):
    df, path = gazetteer_csv
    required = [name for name, _, req, _ in gazetteer.COLUMNS if req]
    df[required].to_csv(path, index=False)
    con = duckdb.connect()
    assert gazetteer.load(con, path, "gaz") == len(df)
    assert con.execute("select count(sub_building) from gaz").fetchone()[0] == 0


def _spoil(df: pd.DataFrame, column: str, value: str, row: int = 3) -> pd.DataFrame:
    df = df.copy()
    df.loc[row, column] = value
    return df


@pytest.mark.parametrize("spoil, reason", [
    (lambda df: _spoil(df, "uprn", df.loc[0, "uprn"]), "UPRN is not unique"),
    (lambda df: _spoil(df, "uprn", "10000000005"), "UPRN is not 12 digits on 1 row"),
    (lambda df: _spoil(df, "postcode", "OX3 XX1"), "postcode is not a valid UK postcode"),
    (lambda df: _spoil(df, "postcode", "ox3 1xx"), "postcode is not a valid UK postcode"),
    (lambda df: _spoil(df, "easting", "951429"), "coordinates are outside Great Britain"),
    (lambda df: _spoil(df, "northing", "-5"), "coordinates are outside Great Britain"),
    (lambda df: _spoil(df, "easting", "451429.5"), "not a whole number"),
    (lambda df: _spoil(df, "street", ""), "required column(s) street have empty values"),
    (lambda df: df.drop(columns="lsoa_code"), "missing required column(s) lsoa_code"),
    (lambda df: df.head(0), "holds no properties"),
])  # fmt: skip
def test_a_bad_gazetteer_is_refused_with_the_file_and_the_reason(gazetteer_csv, spoil, reason):
    df, path = gazetteer_csv
    spoil(df).to_csv(path, index=False)
    with pytest.raises(gazetteer.GazetteerError) as refused:
        gazetteer.load(duckdb.connect(), path, "gaz")
    assert str(refused.value).startswith(f"{path}: ")
    assert reason in str(refused.value)


def test_a_refusal_names_the_line(gazetteer_csv):
    df, path = gazetteer_csv
    _spoil(df, "postcode", "NOT A POSTCODE", row=4).to_csv(path, index=False)
    with pytest.raises(gazetteer.GazetteerError, match="the first at line 6"):
        gazetteer.load(duckdb.connect(), path, "gaz")


def test_the_gazetteer_asset_loads_the_reference_file_and_refuses_a_bad_one(hub, pristine):
    import shutil

    import dagster as dg

    from dagster_project.defs.resources import WarehouseResource
    from dagster_project.defs.spine.places import gazetteer_table

    shutil.copytree(pristine.reference, hub.where.reference)
    resources = {"duckdb": WarehouseResource(database=str(hub.where.warehouse))}
    result = dg.materialize([gazetteer_table], resources=resources)
    (m,) = result.asset_materializations_for_node("reference__gazetteer")
    warehouse = resources["duckdb"]  # its own settings: a failed run may still hold a connection
    with warehouse.get_connection() as con:
        n = con.execute("select count(*) from reference.gazetteer").fetchone()[0]
    assert m.metadata["properties"].value == n > 0

    bad = hub.where.reference / "gazetteer.csv"
    df = pd.read_csv(bad, dtype=str, keep_default_na=False)
    _spoil(df, "postcode", "0X3 1XX").to_csv(bad, index=False)
    failed = dg.materialize([gazetteer_table], resources=resources, raise_on_error=False)
    assert not failed.success
    [error] = [e.step_failure_data.error for e in failed.all_events if e.is_step_failure]
    assert "gazetteer.csv: postcode is not a valid UK postcode" in error.cause.message
    with warehouse.get_connection() as con:  # the table loaded before is untouched
        assert con.execute("select count(*) from reference.gazetteer").fetchone()[0] == n


def test_the_format_page_lists_every_column():
    from pathlib import Path

    page = Path("docs/gazetteer.md").read_text()  # tests run from the repository's root
    for name, kind, required, meaning in gazetteer.COLUMNS:
        assert f"| `{name}` | {kind} | {'yes' if required else 'no'} | {meaning} |" in page
