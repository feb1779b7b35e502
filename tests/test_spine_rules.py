"""The person spine's rules, each on its own: IDs, reviewers' decisions, the linker's features
and the evaluation arithmetic."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.people import evaluation, features, ids, model, review


def test_components_join_everything_connected():
    roots = ids.components(["a", "b", "c", "d", "e"], [("b", "a"), ("c", "b"), ("e", "d")])
    assert roots == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "d"}


def test_a_new_record_joins_the_id_of_the_cluster_it_links_to():
    existing = {"old1": ids.format_id(7)}
    assigned, changes = ids.assign_incremental(
        ["new1", "new2", "new3"],
        [("old1", "new1"), ("new1", "new2")],
        existing,
        ids.Minter(["P000000009"]),
    )
    assert assigned == {"new1": "P000000007", "new2": "P000000007", "new3": "P000000010"}
    assert changes == []


def test_a_record_bridging_two_clusters_merges_them_under_the_older_id():
    existing = {"a": "P000000005", "b": "P000000003", "c": "P000000008"}
    assigned, changes = ids.assign_incremental(
        ["n"], [("a", "n"), ("n", "b"), ("c", "n")], existing, ids.Minter(existing.values())
    )
    assert assigned == {"n": "P000000003"}
    assert sorted((c.old_id, c.new_id) for c in changes) == [
        ("P000000005", "P000000003"), ("P000000008", "P000000003")]  # fmt: skip
    assert all(c.reason.startswith("merged") for c in changes)


def test_ids_are_never_reused():
    mint = ids.Minter(["P000000002", "P000000011"])
    assert [mint(), mint()] == ["P000000012", "P000000013"]


def test_a_split_keeps_the_id_on_the_larger_part():
    assigned, changes = ids.split(["a", "b", "c", "d"], [("a", "b"), ("b", "c")], "P000000004",
                                  ids.Minter(["P000000009"]))  # fmt: skip
    assert assigned == {"a": "P000000004", "b": "P000000004", "c": "P000000004", "d": "P000000010"}
    assert [(c.old_id, c.new_id, c.records) for c in changes] == [("P000000004", "P000000010", 1)]


def test_a_full_relink_keeps_ids_by_largest_overlap_and_logs_every_change():
    previous = {"a": "P1", "b": "P1", "c": "P1", "d": "P2", "e": "P3"}
    previous = {k: ids.format_id(int(v[1:])) for k, v in previous.items()}
    # a, b stay together; c moves to d's cluster; e is now alone with a new record f
    clusters = {"a": "x", "b": "x", "c": "y", "d": "y", "e": "z", "f": "z"}
    assigned, changes = ids.map_to_previous(clusters, previous, ids.Minter(previous.values()))
    assert assigned["a"] == assigned["b"] == ids.format_id(1)
    assert assigned["c"] == assigned["d"] == ids.format_id(2)
    assert assigned["e"] == assigned["f"] == ids.format_id(3)
    assert [(c.old_id, c.new_id, c.records) for c in changes] == [
        (ids.format_id(1), ids.format_id(2), 1)]  # fmt: skip


def test_a_full_relink_retires_an_id_no_cluster_keeps():
    previous = {"a": ids.format_id(1), "b": ids.format_id(2)}
    assigned, changes = ids.map_to_previous(
        {"a": "x", "b": "x"}, previous, ids.Minter(previous.values())
    )
    assert set(assigned.values()) == {ids.format_id(1)}
    assert (ids.format_id(2), None, 1) in [(c.old_id, c.new_id, c.records) for c in changes]


def test_decisions_are_read_last_one_winning(tmp_path):
    path = tmp_path / "decisions.csv"
    review.ensure_file(path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("r2,r1,match,AB,2024-05-01,\nr1,r2,Not a match,CD,2024-05-02,second look\n")
    assert review.read(path) == [review.Decision("r1", "r2", False)]


@pytest.mark.parametrize("row, reason", [
    ("r1,r2,maybe,,,", "decision must be"),
    ("r1,r1,match,,,", "person_record_id_l and person_record_id_r must both be given"),
    (",r2,match,,,", "person_record_id_l and person_record_id_r must both be given"),
])  # fmt: skip
def test_a_bad_decision_is_refused_naming_the_file_and_line(tmp_path, row, reason):
    path = tmp_path / "decisions.csv"
    review.ensure_file(path)
    path.write_text(path.read_text() + row + "\n")
    with pytest.raises(review.DecisionsError, match=rf"decisions.csv line 2: {reason}"):
        review.read(path)


def _features(rows: list[dict]) -> list[dict]:
    con = duckdb.connect()
    columns = sorted({k for r in rows for k in r})
    con.execute("create table src (" + ", ".join(f"{c} varchar" for c in columns) + ")")
    con.executemany(f"insert into src values ({', '.join('?' * len(columns))})",
                    [[r.get(c) for c in columns] for r in rows])  # fmt: skip
    features.prepare(con, "src", "f")
    cur = con.execute("select * from f order by unique_id")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_features_degrade_what_they_cannot_parse_to_null():
    rows = _features([
        {"record_id": "1", "source": "x", "forename": "Zoë-Ann", "surname": "O'Brien-Smith",
         "date_of_birth": "1990-02-31", "sex": "female", "postcode": "75008",
         "address": "2/10 High St"},
        {"record_id": "2", "source": "x", "forename": "Bill", "surname": None,
         "date_of_birth": "1985-07-04", "sex": "X", "postcode": "rg12ab",
         "address": "Flat 2, 10 High Street"},
    ])  # fmt: skip
    a, b = rows
    assert (a["forename"], a["surname"]) == ("ZOE ANN", "OBRIEN SMITH")
    assert a["date_of_birth"] is None and a["sex"] == "F"
    assert (a["postcode"], a["postcode_district"]) == ("75008", "750")  # compared as written
    assert str(b["date_of_birth"]) == "1985-07-04" and b["postcode"] == "RG1 2AB"
    assert b["sex"] is None and b["forename_std"] == "WILLIAM"
    assert set(a["address_tokens"]) == set(b["address_tokens"]) == {"2", "10", "HIGH", "STREET"}


def test_features_refuse_repeated_record_ids():
    with pytest.raises(ValueError, match="1 repeated"):
        _features([{"record_id": "1", "source": "x"}, {"record_id": "1", "source": "y"}])


def test_pairwise_figures_count_pairs_from_cluster_sizes():
    con = duckdb.connect()
    # truth: t1 = {1,2,3}, t2 = {4,5}; clusters: c1 = {1,2}, c2 = {3,4,5}
    con.execute("create table clusters as select * from (values ('1','c1','f','a'), "
                "('2','c1','g','a'), ('3','c2','f','a'), ('4','c2','g','b'), ('5','c2','g','b')) "
                "t(unique_id, cluster_id, source, agency)")  # fmt: skip
    con.execute("create table truth as select * from (values ('1','t1',true), ('2','t1',true), "
                "('3','t1',true), ('4','t2',true), ('5','t2',false)) t(unique_id, true_id, "
                "identifiable)")  # fmt: skip
    con.execute("create table truth_errors as select * from (values ('3', 'typo')) "
                "t(unique_id, error)")  # fmt: skip
    f = evaluation.overall(con)
    # true pairs: 3 + 1 = 4; predicted: 1 + 3 = 4; true positives: (1,2) and (4,5) = 2
    assert (f["true_positives"], f["false_positives"], f["false_negatives"]) == (2, 2, 2)
    assert f["precision"] == f["recall"] == 0.5
    assert (f["split_persons"], f["merged_clusters"]) == (1, 1)
    pairs = {(p["feed_a"], p["feed_b"]): p for p in evaluation.by_feed_pair(con)}
    assert pairs[("f", "g")]["true_positives"] == 1  # (1,2)
    assert pairs[("g", "g")]["true_positives"] == 1  # (4,5)
    assert pairs[("f", "g")]["false_positives"] == 2  # (3,4), (3,5)
    typo = evaluation.by_error(con)[0]
    # pairs with record 3: true (1,3), (2,3); predicted (3,4), (3,5); none right
    assert (typo["true_positives"], typo["false_positives"], typo["false_negatives"]) == (0, 2, 2)
    assert evaluation.overall(con, identifiable_only=True)["true_positives"] == 1


def test_twins_and_a_father_and_son_of_one_name_conflict_however_strong_the_rest():
    con = duckdb.connect()
    people = [
        {"record_id": "twin1", "source": "x", "forename": "Daniel", "surname": "Wilson",
         "date_of_birth": "2007-11-04", "postcode": "SL3 1EX"},
        {"record_id": "twin2", "source": "y", "forename": "Riley", "surname": "Wilson",
         "date_of_birth": "2007-11-04", "postcode": "SL3 1EX"},
        {"record_id": "father", "source": "x", "forename": "Oliver", "surname": "Jarvis",
         "age": "43", "period": "2024-03", "postcode": "OX14 2ZS"},
        {"record_id": "son", "source": "y", "forename": "Oliver", "surname": "Jarvis",
         "date_of_birth": "2001-01-21", "postcode": "OX14 2ZS"},
        {"record_id": "bill", "source": "y", "forename": "Bill", "surname": "Wilson",
         "date_of_birth": "2007-11-04", "postcode": "SL3 1EX"},
        {"record_id": "william", "source": "x", "forename": "William", "surname": "Wilson",
         "date_of_birth": "2007-11-04", "postcode": "SL3 1EX"},
    ]  # fmt: skip
    columns = sorted({k for p in people for k in p})
    con.execute("create table src (" + ", ".join(f"{c} varchar" for c in columns) + ")")
    for p in people:
        con.execute(f"insert into src values ({', '.join('?' * len(columns))})",
                    [p.get(c) for c in columns])  # fmt: skip
    features.prepare(con, "src", "f")
    con.execute("create table predictions as select * from (values ('twin2', 'twin1', 0.9999, "
                "20.0), ('father', 'son', 0.9999, 20.0), ('william', 'bill', 0.9999, 20.0)) "
                "t(unique_id_l, unique_id_r, match_probability, match_weight)")  # fmt: skip
    scored = model.scored_sql("predictions", "f")
    pairs = f"select record_id_l || '/' || record_id_r, conflict from ({scored})"
    conflicts = dict(con.execute(pairs).fetchall())
    assert conflicts == {"twin1/twin2": True, "father/son": True, "bill/william": False}


def test_each_way_two_records_agree_lands_in_its_own_level():
    """Each pair lands in the level for the way it agrees; where several levels hold, in the
    first (Splink tries them in order), so exact names are not counted as a nickname."""
    con = duckdb.connect()
    people = [
        {"record_id": "william", "source": "x", "forename": "William", "surname": "Wilson",
         "date_of_birth": "2007-11-04", "postcode": "SL3 1EX", "address": "10 High Street",
         "agency_ref": "A:1"},
        {"record_id": "bill", "source": "y", "forename": "Bill", "surname": "Wilson",
         "date_of_birth": "2007-11-04", "postcode": "SL3 1EX", "address": "2/10 High St",
         "agency_ref": "B:1"},
        {"record_id": "flat", "source": "z", "forename": "Bill", "surname": "Wilson",
         "address": "Flat 2, 10 High Street", "agency_ref": "B:1"},
        {"record_id": "swapped", "source": "y", "forename": "Wilson", "surname": "William",
         "date_of_birth": "2007-04-11"},
        {"record_id": "father", "source": "x", "forename": "Oliver", "surname": "Jarvis",
         "age": "43", "period": "2024-03"},
        {"record_id": "aged", "source": "x", "forename": "Oliver", "surname": "Jarvys",
         "age": "23", "period": "2024-03"},
        {"record_id": "son", "source": "y", "forename": "Oliver", "surname": "Smith-Jarvis",
         "date_of_birth": "2001-01-21"},
        {"record_id": "older", "source": "x", "forename": "Oliver", "surname": "Jarvis",
         "age": "24", "period": "2024-03"},
        {"record_id": "amy", "source": "x", "forename": "Amy", "surname": "Lee"},
        {"record_id": "abroad", "source": "z", "forename": "William", "surname": "Wilson",
         "postcode": "75008", "address": "10 High St"},
        {"record_id": "ami", "source": "y", "forename": "Ami", "surname": "Lee"},
    ]  # fmt: skip
    columns = sorted({k for p in people for k in p})
    con.execute("create table src (" + ", ".join(f"{c} varchar" for c in columns) + ")")
    con.executemany(f"insert into src values ({', '.join('?' * len(columns))})",
                    [[p.get(c) for c in columns] for p in people])  # fmt: skip
    features.prepare(con, "src", "f")
    names = [r[0] for r in con.execute("describe f").fetchall()]
    side = ", ".join(f'{s}."{c}" as "{c}_{s}"' for s in "lr" for c in names)
    con.execute(f"create table pairs as select {side} from f l, f r")
    settings = model.settings().get_settings("duckdb").as_dict()
    levels = {c["output_column_name"]: c["comparison_levels"] for c in settings["comparisons"]}

    def level(comparison: str, left: str, right: str) -> str:
        *conditions, _ = [lv["sql_condition"] for lv in levels[comparison]]  # the last is ELSE
        case = " ".join(f"when {c} then {i}" for i, c in enumerate(conditions))
        sql = f"select case {case} else {len(conditions)} end from pairs where unique_id_l = ? "
        (i,) = con.execute(sql + "and unique_id_r = ?", [left, right]).fetchone()
        return levels[comparison][i]["label_for_charts"]

    assert level("forename", "bill", "flat") == "Exact match on forename"
    assert level("forename", "william", "bill") == "same formal name (nickname)"
    assert level("forename", "swapped", "william") == (
        "Match on reversed cols: forename and surname (one direction)")  # fmt: skip
    assert level("surname", "william", "swapped") == (
        "Match on reversed cols: surname and forename (one direction)")  # fmt: skip
    assert level("surname", "father", "aged") == "Jaro-Winkler distance of surname >= 0.92"
    assert level("surname", "son", "father") == "shares a part (double-barrelled)"
    assert level("date_of_birth", "swapped", "william") == "day and month swapped"
    # aged 23 in March 2024: born from 2 March 2000 to 31 March 2001
    assert level("date_of_birth", "aged", "son") == "birth date fits the age given"
    assert level("date_of_birth", "older", "son") == "birth years within one (age)"
    # one slip in a short name is far from Jaro-Winkler's 0.92
    assert level("forename", "amy", "ami") == "Damerau-Levenshtein distance of forename <= 1"
    assert level("date_of_birth", "father", "son") == "born more than five years apart"
    assert level("home", "flat", "bill") == "same address"  # a postcode missing is no conflict
    assert level("home", "william", "bill") == "same postcode, most words"
    # a postcode from elsewhere is another way of writing the place, not a disagreement
    assert level("home", "william", "abroad") == "same address"
    assert level("home", "william", "swapped") == "missing on either side"
    assert level("agency_ref", "william", "bill") == "not comparable"  # issued by two agencies
    assert level("agency_ref", "bill", "flat") == "Exact match on agency_ref"


def test_one_name_column_is_split_and_dates_are_read_in_the_columns_own_format():
    rows = _features([
        {"record_id": "1", "source": "x", "name": "KOWALSKA, Anna Maria",
         "date_of_birth": "04.11.2007 00:00:00", "sex": "2", "postcode": "D02 X285"},
        {"record_id": "2", "source": "x", "name": "Jan  de Vries", "date_of_birth": "31.12.1990",
         "sex": "1", "postcode": "1012 AB"},
        {"record_id": "3", "source": "x", "name": "Ola", "date_of_birth": "1990-01-01"},
    ])  # fmt: skip
    a, b, c = rows
    assert (a["forename"], a["surname"], a["sex"]) == ("ANNA", "KOWALSKA", "F")
    assert (b["forename"], b["surname"], b["sex"]) == ("JAN", "VRIES", "M")
    assert (c["forename"], c["surname"]) == (None, "OLA")
    # most of the column is day.month.year, so an ISO date in it is not read
    assert [str(r["date_of_birth"]) for r in rows] == ["2007-11-04", "1990-12-31", "None"]
    assert [r["postcode_district"] for r in rows] == ["D02", "1012", None]


def test_the_plan_leaves_out_what_the_data_cannot_support_and_says_why():
    con = duckdb.connect()
    con.execute("""
        create table src as select 'r' || i as record_id, 'x' as source,
            ['ANNA', 'JAN', 'EVA', 'LARS'][i % 4 + 1] as forename,
            chr((65 + i // 2)::integer) || 'SON' as surname, 'M' as sex,
            '1990-01-' || lpad((i // 2 % 28 + 1)::varchar, 2, '0') as date_of_birth,
            'ref' || i as agency_ref
        from range(40) t(i)""")  # fmt: skip
    features.prepare(con, "src", "f")

    chosen = model.plan(con, "f")

    names = [model.output_name(c) for c in chosen.comparisons]
    assert names == ["forename", "surname", "date_of_birth"]
    assert (
        "comparison home: uprn has no values; postcode has no values; address_tokens has no "
        "values" in chosen.left_out
    )
    assert "comparison sex: sex has one value throughout" in chosen.left_out
    assert "comparison agency_ref: agency_ref has no value twice" in chosen.left_out
    assert all("postcode" not in model._sql(r) for r in chosen.blocking)
    assert sum(chosen.pairs.values()) > 0
    assert any(why.startswith('training session on l."postcode"') for why in chosen.left_out)
    trained = model.train(con, "f", chosen)
    assert trained.plan is chosen and trained.steps[0].startswith("left out: comparison home")

    con.execute("create or replace table f as select * exclude (forename, surname, forename_std),"
                " null::varchar as forename, null::varchar as surname,"
                " null::varchar as forename_std from f")  # fmt: skip
    with pytest.raises(ValueError, match="too little to link on: no first names or surnames"):
        model.plan(con, "f")
