"""`hub link`: the person linker on any file in the person-record schema (features.py), for
data from anywhere; the spine's model and rules, without the warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
from splink import DuckDBAPI, Linker

from dagster_project.config import memory_limit
from dagster_project.people import features, ids, model
from dagster_project.platform import input_file


@dataclass(frozen=True)
class Linked:
    records: int
    persons: int
    pairs_scored: int
    links: int
    model: str
    used: list[str]  # what was read, compared, left out and trained, one line each


def _from_plan(trained: model.Trained) -> list[str]:
    chosen = trained.plan
    return [
        "compared: " + ", ".join(model.output_name(c) for c in chosen.comparisons),
        *(f"left out: {why}" for why in chosen.left_out),
        *(f"trained: {step}" for step in trained.steps if not step.startswith("left out")),
        *(f"blocking rule {rule}: {n:,} pairs" for rule, n in chosen.pairs.items()),
    ]


def _from_model(con: duckdb.DuckDBPyConnection, settings: dict) -> list[str]:
    rules = [r["blocking_rule"] for r in settings["blocking_rules_to_generate_predictions"]]
    return [
        "compared: " + ", ".join(c["output_column_name"] for c in settings["comparisons"]),
        *(f"blocking rule {rule}: {n:,} pairs"
          for rule, n in zip(rules, model.pairs_added(con, "person_features", rules),
                             strict=True)),
    ]  # fmt: skip


def link_file(
    input_path: Path, output: Path, model_path: Path | None = None, pairs: Path | None = None
) -> Linked:
    """Cluster the records of `input_path` into persons; write `record_id, person_id` to
    `output` and, if asked, the scored pairs to `pairs`. Without a model, one is trained on
    the input itself."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(f"set memory_limit = '{memory_limit()}'")
    try:
        input_file.read(con, input_path, "input_records")
        try:
            prepared = features.prepare(con, "input_records", "person_features")
            used = [f"read {prepared.records:,} records", *prepared.notes()]
            api = DuckDBAPI(con)
            if model_path:
                body = model.load(model_path)
                settings, name = body["splink"], f"{model_path} ({body['version']})"
                used += _from_model(con, settings)
            else:
                trained = model.train(con, "person_features")
                settings, name = trained.splink, "trained on the input"
                used += _from_plan(trained)
        except ValueError as e:
            raise ValueError(f"{input_path}: {e}") from None
        linker = Linker(api.register("person_features"), settings, log_level=None)
        scored = linker.inference.predict(threshold_match_probability=model.REVIEW)
        con.execute(
            f"create table scored as {model.scored_sql(scored.physical_name, 'person_features')}"
        )
        links = con.execute(
            f"select record_id_l, record_id_r from scored where {model.LINKED}"
        ).fetchall()
        records = [
            r[0] for r in con.execute("select unique_id from person_features order by 1").fetchall()
        ]
        roots = ids.components(records, links)
        # IDs numbered in order of each cluster's first record, so a rerun gives the same IDs.
        number = {root: ids.format_id(i) for i, root in enumerate(sorted(set(roots.values())), 1)}
        con.execute("create table clusters (record_id varchar, person_id varchar)")
        con.executemany("insert into clusters values (?, ?)",
                        [(r, number[roots[r]]) for r in records])  # fmt: skip
        output.parent.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"copy (select * from clusters order by record_id) to '{output}' (format parquet)"
        )
        if pairs:
            pairs.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"""
                copy (select record_id_l, record_id_r, match_probability, match_weight,
                             conflict from scored order by 1, 2)
                to '{pairs}' (format parquet)""")
        return Linked(prepared.records, len(number),
                      con.execute("select count(*) from scored").fetchone()[0], len(links),
                      name, used)  # fmt: skip
    finally:
        con.close()
