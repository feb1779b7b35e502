"""`hub link` on people files the region's generator did not make (people_files.py): each
shape links, says what it used and left out, and keeps precision."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import call_hub
from people_files import SHAPES, pairwise, shaped

# What the model leaves out of each shape, beyond the agency references none of them has.
LEFT_OUT = {"no sex": "comparison sex: sex has no values",
            "no address": "comparison home: uprn has no values"}  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES)
def test_hub_link_links_a_file_of_another_shape_and_says_what_it_used(shape, tmp_path):
    frame, truth = shaped(shape)
    src, out = tmp_path / "people.csv", tmp_path / "clusters.parquet"
    frame.to_csv(src, index=False)

    done = call_hub("link", "--input", str(src), "--output", str(out))

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    used = done.stdout
    assert f"read {len(frame):,} records" in used
    assert "compared: forename, surname, date_of_birth" in used
    assert "left out: comparison agency_ref: agency_ref has no values" in used
    assert LEFT_OUT.get(shape, "left out") in used
    assert "trained: m by expectation maximisation" in used
    assert any(line.strip().startswith("blocking rule") and line.endswith(" pairs")
               for line in used.splitlines())  # fmt: skip
    # no personal data in what the command prints
    names = frame["surname"] if "surname" in frame else frame["name"]
    assert not any(name in used + done.stderr for name in names)

    clusters = pd.read_parquet(out).set_index("record_id").person_id
    precision, recall = pairwise(truth, clusters)
    assert precision >= 0.98
    assert recall >= 0.8


def test_hub_link_counts_the_dates_it_cannot_read(tmp_path):
    frame, _ = shaped("foreign postcodes", n=200)
    frame.loc[frame.index[:7], "date_of_birth"] = ["31/02/1990", "unknown", "1990-13-01",
                                                   "2190-01-01", "0", "--", "19xx"]  # fmt: skip
    src = tmp_path / "people.csv"
    frame.to_csv(src, index=False)

    done = call_hub("link", "--input", str(src), "--output", str(tmp_path / "c.parquet"))

    assert done.returncode == 0, done.stderr
    assert "dates of birth read as %Y-%m-%d" in done.stdout
    assert "7 dates of birth could not be read as a plausible date" in done.stdout
    assert f"{len(frame):,} postcodes are not UK postcodes" in done.stdout


def test_hub_link_refuses_a_file_with_nothing_to_link_on(tmp_path):
    frame, _ = shaped("foreign postcodes", n=50)
    src = tmp_path / "people.csv"
    frame.drop(columns=["forename", "surname"]).to_csv(src, index=False)

    done = call_hub("link", "--input", str(src), "--output", str(tmp_path / "c.parquet"))

    assert done.returncode == 2
    assert f"{src}: too little to link on: no first names or surnames" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "c.parquet").exists()
