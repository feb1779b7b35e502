"""`hub generate` from the command line, as the README runs it (in this process: `main`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import call_hub


def hub(*args: str) -> subprocess.CompletedProcess:
    return call_hub(*args)


def generate_into(tmp_path, population: int, *extra: str) -> subprocess.CompletedProcess:
    return hub(
        "generate",
        "--population",
        str(population),
        "--months",
        "2024-01",
        "--seed",
        "5",
        "--out",
        str(tmp_path / "landing"),
        "--truth",
        str(tmp_path / "truth"),
        "--reference",
        str(tmp_path / "reference"),
        "--quiet",
        *extra,
    )


def test_generate_then_refuse_then_overwrite(tmp_path):
    first = generate_into(tmp_path, 1200)
    assert first.returncode == 0, first.stderr
    assert "Delivered" in first.stdout
    assert (tmp_path / "reference" / "gazetteer.csv").exists()
    again = generate_into(tmp_path, 1200)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert generate_into(tmp_path, 1200, "--overwrite").returncode == 0


def test_refuses_to_delete_what_it_did_not_write(tmp_path):
    precious = tmp_path / "landing" / "police" / "real.csv"
    precious.parent.mkdir(parents=True)
    precious.write_text("real data")
    result = generate_into(tmp_path, 500, "--overwrite")
    assert result.returncode == 2 and "refusing" in result.stderr
    assert precious.read_text() == "real data"


def test_bad_arguments_are_named():
    result = hub("generate", "--error-rate", "tyop=0.1")
    assert result.returncode == 2 and "unknown error type 'tyop'" in result.stderr
    result = hub("generate", "--months", "2024-05:2024-01")
    assert result.returncode == 2 and "ends before it starts" in result.stderr


@pytest.mark.e2e
def test_dagster_definitions_load(tmp_path):
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"DAGSTER_HOME": str(tmp_path), "PATH": f"{sys.prefix}/bin:/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_truth_must_not_be_inside_landing(tmp_path):
    result = hub(
        "generate",
        "--population",
        "500",
        "--months",
        "2024-01",
        "--out",
        str(tmp_path / "landing"),
        "--truth",
        str(tmp_path / "landing" / "t"),
        "--reference",
        str(tmp_path / "reference"),
        "--quiet",
    )
    assert result.returncode == 2 and "must not be inside" in result.stderr
    assert not (tmp_path / "landing").exists()


def test_population_must_be_sensible(tmp_path):
    result = generate_into(tmp_path, -5)
    assert result.returncode == 2 and "--population must be at least" in result.stderr
