"""The dbt project on disk: which executable runs it, and its manifest, parsed again whenever
the project has changed (dagster-dbt reads the manifest when definitions load, so they load on a
fresh clone, not only under `dagster dev`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def executable() -> Path:
    """dbt of the environment the hub runs in."""
    return Path(sys.executable).with_name("dbt")


def sources(project_dir: Path) -> list[Path]:
    """The files whose change makes the manifest stale."""
    return [
        project_dir / "dbt_project.yml",
        *project_dir.glob("models/**/*"),
        *project_dir.glob("macros/**/*"),
        *(project_dir / "seeds").glob("**/*"),
    ]


def is_stale(manifest: Path, project_dir: Path) -> bool:
    if not manifest.exists():
        return True
    newest = max(f.stat().st_mtime for f in sources(project_dir) if f.is_file())
    return manifest.stat().st_mtime < newest


def parse_if_stale(manifest: Path, project_dir: Path, profiles_dir: Path) -> Path:
    if is_stale(manifest, project_dir):
        subprocess.run(
            [str(executable()), "parse", "--quiet",
             "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)],
            check=True,
        )  # fmt: skip
    return manifest
