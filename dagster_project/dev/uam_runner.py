"""The Ministry of Justice's uk-address-matcher (uam) on the hub's gazetteer and mentions, for
the place benchmark. Run by the python of uam's own venv (it needs splink<5, the hub splink 5),
so it imports nothing of the hub's: `python uam_runner.py GAZ.parquet MENTIONS.parquet
OUT.parquet`. Writes one row per mention (mention_id, uprn: null where uam accepts none) and
prints `uam gazetteer seconds: Y` and `uam matching seconds: X`."""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from uk_address_matcher import (
    AddressMatcher,
    ExactMatchStage,
    PeeledAddressStage,
    SplinkStage,
    UniqueTrigramStage,
    prepare_canonical_folder,
)

# The gazetteer's address in AddressBase order, postcode apart (uam prefers its own column).
CANONICAL = """
select uprn::varchar as unique_id,
       concat_ws(', ', organisation, sub_building, building_name,
                 nullif(concat_ws(' ', building_number, street), ''), locality, town)
           as address_concat,
       postcode
from read_parquet(?)
"""

MESSY = """
select mention_id::varchar as unique_id, text as address_concat, postcode
from read_parquet(?)
"""


def stages() -> list:
    # uam's "Choosing a matching threshold" page (docs/site, 1.5.x): its recommended starting
    # point, these four stages with Splink's matches kept at match weight >= 10 and
    # distinguishability >= 1 (or null: one candidate only). The deterministic stages have no
    # scores and are accepted as uam emits them.
    return [
        ExactMatchStage(),
        PeeledAddressStage(),
        UniqueTrigramStage(),
        SplinkStage(final_match_weight_threshold=10.0, final_distinguishability_threshold=1.0),
    ]


def main(gaz: Path, mentions: Path, out: Path) -> None:
    logging.getLogger("uk_address_matcher").setLevel(logging.WARNING)
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        clock = time.perf_counter()
        # Prepared once to a folder, as uam advises for reuse: only loading it is matching.
        prepare_canonical_folder(
            con.sql(CANONICAL, params=[str(gaz)]),
            output_folder=tmp,
            con=con,
            show_progress="off",
        )
        print(f"uam gazetteer seconds: {time.perf_counter() - clock:.3f}", flush=True)
        clock = time.perf_counter()
        con.execute(f"create table messy as {MESSY}", [str(mentions)])
        result = AddressMatcher(
            canonical_addresses=tmp,
            addresses_to_match=con.table("messy"),
            con=con,
            stages=stages(),
            show_progress="off",
        ).match()
        con.execute(
            "create table answers as select unique_id, resolved_canonical_id from ("
            + result.matches().sql_query()
            + ")"
        )
        seconds = time.perf_counter() - clock
    rows, ids = con.execute("select count(*), count(distinct unique_id) from answers").fetchone()
    if rows != ids:
        raise SystemExit(f"uam gave {rows} answers for {ids} mentions")
    # uam gives one row per mention, unmatched ones with no canonical id; the join keeps
    # every mention whatever it gives.
    con.execute(
        f"""copy (select m.unique_id as mention_id, a.resolved_canonical_id::bigint as uprn
                  from messy m left join answers a using (unique_id) order by m.unique_id)
            to '{out}' (format parquet)"""
    )
    print(f"uam matching seconds: {seconds:.3f}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: python uam_runner.py GAZ.parquet MENTIONS.parquet OUT.parquet")
    main(*(Path(a).resolve() for a in sys.argv[1:]))
