"""`hub generate` from the command line, as the README runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys


def hub(*args: str, cwd=None) -> subprocess.CompletedProcess:
    exe = shutil.which("hub") or [sys.executable, "-m", "dagster_project.cli"]
    cmd = [exe, *args] if isinstance(exe, str) else [*exe, *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600)


def test_generate_then_refuse_then_overwrite(tmp_path):
    args = [
        "generate",
        "--population",
        "1200",
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
    ]
    first = hub(*args)
    assert first.returncode == 0, first.stderr
    assert "Delivered" in first.stdout
    assert (tmp_path / "reference" / "gazetteer.csv").exists()
    again = hub(*args)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert hub(*args, "--overwrite").returncode == 0


def test_refuses_to_delete_what_it_did_not_write(tmp_path):
    precious = tmp_path / "landing" / "police" / "real.csv"
    precious.parent.mkdir(parents=True)
    precious.write_text("real data")
    result = hub(
        "generate",
        "--population",
        "500",
        "--months",
        "2024-01",
        "--out",
        str(tmp_path / "landing"),
        "--truth",
        str(tmp_path / "truth"),
        "--reference",
        str(tmp_path / "reference"),
        "--overwrite",
        "--quiet",
    )
    assert result.returncode == 2 and "refusing" in result.stderr
    assert precious.read_text() == "real data"


def test_bad_arguments_are_named():
    result = hub("generate", "--error-rate", "tyop=0.1")
    assert result.returncode == 2 and "unknown error type 'tyop'" in result.stderr
    result = hub("generate", "--months", "2024-05:2024-01")
    assert result.returncode == 2 and "ends before it starts" in result.stderr


def test_dagster_definitions_load(tmp_path):
    result = subprocess.run(
        [shutil.which("dagster") or "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        capture_output=True,
        text=True,
        timeout=300,
        env={"DAGSTER_HOME": str(tmp_path), "PATH": f"{sys.prefix}/bin:/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
