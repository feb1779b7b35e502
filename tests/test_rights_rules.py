"""The rules of data subjects' rights and retention, one at a time, without a warehouse of
the region: the register's checks and what is in force, each contract's retention as SQL on
rows made here, the fingerprints staging and Level 3 are compared by, and a returning person's
ID."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import pytest

from dagster_project.contracts.model import ContractError, load_contracts, parse_contract
from dagster_project.people import ids
from dagster_project.rights import honour, retention, subject_access
from dagster_project.rights.register import Register, RequestError, active

FEEDS = load_contracts()


def _add(register: Register, **fields):
    return register.add(FEEDS, **{"reason": "asked", "user": "dpo", **fields})


def test_a_request_names_a_person_or_one_record_by_its_whole_key(tmp_path):
    register = Register(tmp_path / "requests.jsonl")
    with pytest.raises(RequestError, match="not both"):
        _add(register, action="erase", person="P000000001", feed="crime_victim", record="a|b")
    with pytest.raises(RequestError, match="2 part"):
        _add(register, action="erase", feed="crime_victim", record="43/000001/24")
    with pytest.raises(RequestError, match="not a person ID"):
        _add(register, action="restrict", person="someone")
    with pytest.raises(RequestError, match="reason"):
        _add(register, action="erase", person="P000000001", reason=" ")
    with pytest.raises(RequestError, match="not a date"):
        _add(register, action="rectify", person="P000000001", field="dob", value="31/12/1999")
    with pytest.raises(RequestError, match="cannot be rectified"):
        _add(register, action="rectify", person="P000000001", field="ethnicity", value="W1")
    with pytest.raises(RequestError, match="nothing to lift"):
        _add(register, action="lift", person="P000000001")
    assert register.requests() == []  # nothing refused was written
    done = _add(register, action="erase", feed="crime_victim", record="43/000001/24|TVP00000001")
    assert done.id == "RQ00001" and oct((tmp_path / "requests.jsonl").stat().st_mode)[-3:] == "600"


def test_a_lift_ends_the_restrictions_it_names_and_nothing_else(tmp_path):
    register = Register(tmp_path / "requests.jsonl")
    first = _add(register, action="restrict", person="P000000001")
    second = _add(register, action="restrict", person="P000000002")
    erased = _add(register, action="erase", person="P000000001")
    _add(register, action="lift", person="P000000001")
    assert [r.id for r in active(register.requests())] == [second.id, erased.id]
    _add(register, action="lift", lifts=second.id)
    assert [r.id for r in active(register.requests())] == [erased.id]
    assert first not in active(register.requests())


@pytest.mark.parametrize(
    ("feed", "row", "kept_until"),
    [
        # from the event: the end of the record's month, plus the years
        ("bus_incidents", {"_partition": "2024-03"}, dt.date(2026, 3, 31)),
        # from the end of the financial year of the record's month (31 March)
        ("crime_victim", {"_partition": "2024-03"}, dt.date(2031, 3, 31)),
        ("crime_victim", {"_partition": "2024-04"}, dt.date(2032, 3, 31)),
        # from a date of the record, else its month
        (
            "prison_releases",
            {"_partition": "2024-03", "RELEASE_DATE": "2024-05-02"},
            dt.date(2026, 5, 2),
        ),
        ("prison_releases", {"_partition": "2024-03", "RELEASE_DATE": None}, dt.date(2026, 3, 31)),
        # at least until the person is 25: the later of the two
        ("yos_assessments", {"_partition": "2024-03", "dob": "2012-01-15"}, dt.date(2037, 1, 15)),
        ("yos_assessments", {"_partition": "2024-03", "dob": "1995-01-15"}, dt.date(2030, 3, 31)),
        # by age alone, and no date of birth: kept, as undated
        ("school_exclusions", {"_partition": "2024-03", "Date Of Birth": None}, None),
    ],
)
def test_each_contract_retention_becomes_the_last_day_a_row_is_kept(feed, row, kept_until):
    from dagster_project.ingest.suites import date_format

    contract = FEEDS[feed]
    con = duckdb.connect()
    columns = {c: None for c in contract.columns} | {"_partition": None}
    for name, value in row.items():
        field = next((f for f in contract.fields if f.name == name), None)
        if value and field is not None and field.type == "date":  # as the agency writes it
            value = dt.date.fromisoformat(value).strftime(date_format(contract, field))
        columns[name] = value
    names = ", ".join(f'?::varchar as "{n}"' for n in columns)
    con.execute(
        f"create schema raw; create table raw.{feed} as select {names}", list(columns.values())
    )
    (got,) = con.execute(f"select {retention.kept_until_sql(contract)} from raw.{feed}").fetchone()
    assert got == kept_until


def test_a_retention_rule_the_hub_cannot_apply_is_refused_with_the_file_named():
    raw = _raw("crime_victim")
    for rule, reason in (
        ("7 years", "retention needs its text"),
        ({"text": "t", "years": 7, "from": "CLOSURE"}, "neither event nor financial_year_end"),
        ({"text": "t"}, "years, until_age or both"),
        ({"text": "t", "years": 7, "per": "x"}, "unknown keys"),
    ):
        with pytest.raises(ContractError, match=reason):
            parse_contract({**raw, "retention": rule}, FEEDS["crime_victim"].path)


def _raw(feed: str) -> dict:
    import yaml

    return yaml.safe_load(FEEDS[feed].path.read_text())


def test_fingerprints_match_one_person_however_their_names_are_written_and_no_one_else():
    con = duckdb.connect()
    con.execute("""
        create table people as select * from (values
            ('JANE', 'DOE', '1990-01-02', 'police', 'TVP1'),
            ('JANE', 'DOE', '1990-01-02', 'health', null),
            ('JOHN', 'DOE', '1990-01-02', 'police', null),
            ('JANE', 'DOE', '1990-01-03', 'police', 'TVP2'),
            (null, 'DOE', '1990-01-02', 'police', null)
        ) as t(forename, surname, date_of_birth, agency, agency_ref)
    """)
    sql = honour._fingerprints("people", "agency")
    rows = con.execute(
        f"select fingerprint, forename, date_of_birth, agency_ref from ({sql})", {"salt": "s"}
    ).fetchall()
    jane = hashlib.sha256(b"s|name|JANE|DOE|1990-01-02").hexdigest()
    assert [r[0] for r in rows].count(jane) == 2  # both of Jane's records, whoever sent them
    assert len({r[0] for r in rows}) == 5  # three names and two references
    salted = con.execute(f"select fingerprint from ({sql})", {"salt": "t"}).fetchall()
    assert not {r[0] for r in rows} & {r[0] for r in salted}  # another salt, other prints


def test_a_person_back_from_a_lifted_restriction_gets_their_id_back_when_it_is_free():
    returning = {"a:victim": "P000000007", "b:victim": "P000000007", "c:victim": "P000000009"}
    assigned = {
        "a:victim": "P000000100",
        "b:victim": "P000000100",
        "c:victim": "P000000101",
        "d:victim": "P000000102",
    }
    kept = ids.keep_returning(assigned, returning, held={"P000000009"})
    assert kept["a:victim"] == kept["b:victim"] == "P000000007"
    assert kept["c:victim"] == "P000000101"  # someone holds P000000009 now
    assert kept["d:victim"] == "P000000102"  # a new person
    mixed = ids.keep_returning({"a:victim": "P1", "d:victim": "P1"}, returning, held=set())
    assert mixed == {"a:victim": "P1", "d:victim": "P1"}  # joined by a newcomer: stays new


def test_a_record_key_is_the_contract_key_as_delivered_and_trimmed():
    contract = FEEDS["crime_victim"]
    con = duckdb.connect()
    (key,) = con.execute(
        f"select {contract.record_key_sql} from (select ' 43/1/24 ' as \"CRIME_REF\", "
        f"'TVP1' as \"VICTIM_REF\")"
    ).fetchone()
    assert key == "43/1/24|TVP1"


def _tiny_sql() -> str:
    """One crime victim, two records in two months, in the tables the register reads: the
    archive, staging, int_person_records and the spine."""
    return """
        create schema raw; create schema staging; create schema intermediate; create schema spine;
        create table raw.crime_victim as select * from (values
            ('43/1/24', 'TVP1', 'S1', 1, '2024-01'), ('43/2/24', 'TVP1', 'S2', 1, '2024-02')
        ) as t("CRIME_REF", "VICTIM_REF", _supply_id, _row_number, _partition);
        create table staging.stg_police__crime_victim as
            select _supply_id || '#' || _row_number as record_id,
                   concat_ws('|', "CRIME_REF", "VICTIM_REF") as record_key, _partition as period,
                   'JANE' as victim_first_name, 'DOE' as victim_surname,
                   date '1990-01-02' as victim_dob, "VICTIM_REF" as victim_ref
            from raw.crime_victim;
        create table intermediate.int_person_records as
            select record_id || ':victim' as person_record_id, record_id, 'police' as agency,
                   victim_first_name as forename, victim_surname as surname,
                   victim_dob as date_of_birth, victim_ref as agency_ref
            from staging.stg_police__crime_victim;
        create table spine.person_ids as
            select person_record_id, 'P000000001' as person_id, 'crime_victim' as source_feed,
                   split_part(split_part(person_record_id, '#', 1), 'S', 2) as period
            from intermediate.int_person_records;
    """


def _tiny_warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(_tiny_sql())
    return con


def test_an_erasure_after_a_restriction_finds_the_records_the_restriction_took_out(tmp_path):
    con, register = _tiny_warehouse(), Register(tmp_path / "requests.jsonl")
    _add(register, action="restrict", person="P000000001")
    honour.apply(con, register.requests(), FEEDS, "run1")
    assert con.execute("select count(*) from ops.withheld_records").fetchone()[0] == 2
    assert con.execute("select count(*) from raw.crime_victim").fetchone()[0] == 2  # kept
    con.execute("delete from spine.person_ids")  # the next spine run withdrew the records
    _add(register, action="erase", person="P000000001")
    done = honour.apply(con, register.requests(), FEEDS, "run2")
    assert done.erased_rows == 2
    assert con.execute("select count(*) from raw.crime_victim").fetchone()[0] == 0
    actions = con.execute("select distinct action from ops.withheld_records").fetchall()
    assert actions == [("erase",)]  # an erasure outranks the restriction
    prints = con.execute("select count(distinct fingerprint) from ops.rights_subjects "
                         "where request_id = 'RQ00002'").fetchone()[0]  # fmt: skip
    assert prints == 2  # her name and date of birth, and her police reference


def test_a_rebuilt_warehouse_gets_back_what_the_register_was_found_to_name(tmp_path):
    from dagster_project.platform import warehouse

    register, kept = Register(tmp_path / "requests.jsonl"), tmp_path / "resolved.duckdb"
    _add(register, action="erase", person="P000000001")
    with warehouse.memory() as con:
        con.execute("attach ':memory:' as old; use old")
        con.execute(_tiny_sql())
        con.execute("create table main.delivered as from raw.crime_victim")
        honour.apply(con, register.requests(), FEEDS, "run1")
        honour.keep(con, kept)
        before = con.execute("select * from ops.rights_records order by all").fetchall()
        # rebuilt from the agencies' files: the archive again, before the spine has run
        con.execute("attach ':memory:' as rebuilt; use rebuilt")
        con.execute("create schema raw; create table raw.crime_victim as from old.main.delivered")
        assert honour.restore(con, kept)
        assert con.execute("select * from ops.rights_records order by all").fetchall() == before
        done = honour.apply(con, register.requests(), FEEDS, "run2")
        assert done.resolved == 0 and done.withheld == 2 and done.erased_rows == 2
        assert not honour.restore(con, kept)  # once applied, never restored over
    assert oct(kept.stat().st_mode)[-3:] == "600"


def test_a_month_past_retention_is_destroyed_and_registered_so(tmp_path):
    from dagster_project.ingest import archive

    contract = FEEDS["school_exclusions"]  # "Until the pupil's 25th birthday": a quote in it
    con = duckdb.connect()
    archive.ensure(con, contract)
    con.execute(
        'insert into raw.school_exclusions ("Date Of Birth", _partition) values '
        "('1990-01-01', '2014-03'), ('2010-01-01', '2024-03'), (null, '2024-03')"
    )
    archive.register(con, {"supply_id": "s1", "feed": contract.name, "period": "2014-03",
                           "status": "loaded"})  # fmt: skip
    gone = retention.destroy(con, contract, dt.date(2025, 1, 31))
    assert (gone.rows, gone.months, gone.undated, gone.oldest_month) == (
        1,
        ("2014-03",),
        1,
        "2024-03",
    )
    status, reason = con.execute("select status, reason from ops.supply_register").fetchone()
    assert status == "destroyed" and "pupil's 25th birthday" in reason


def test_a_subject_access_pack_goes_when_its_person_is_erased_or_its_days_are_up(tmp_path):
    def pack(name: str, person: str, written: str | None) -> None:
        (tmp_path / name).mkdir()
        meta = {"person_id": person, "request": name} | ({"written": written} if written else {})
        (tmp_path / name / subject_access.PACK).write_text(json.dumps(meta))

    pack("SAR1", "P1", "2025-01-01")
    pack("SAR2", "P2", "2025-01-20")
    pack("SAR3", "P3", None)  # written before packs carried their date: treated as old
    pack("SAR4", "P4", "2025-01-25")
    assert subject_access.remove_packs(tmp_path, {"P4"}) == 1
    assert subject_access.remove_packs(tmp_path, written_before=dt.date(2025, 1, 15)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SAR2"]
