"""The hub's configuration: where it keeps its data, its dbt project and suites, its keys and
how far back its months go. Every environment variable the hub reads is read here, for every
stage (Dagster, the CLI, the tests)."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PRIVATE = 0o077  # the umask of every hub process: its files 0600, its folders 0700


@dataclass(frozen=True)
class Paths:
    root: Path

    def shown(self, text: str) -> str:
        """`text` with the paths inside the data folder written relative to it, so that a
        message or report reads the same on every machine and names no one's home folder."""
        for root in dict.fromkeys((str(self.root), str(self.root.resolve()))):
            text = text.replace(f"{root}{os.sep}", "")
        return text

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def reference(self) -> Path:
        return self.root / "reference"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "hub.duckdb"

    @property
    def landing_state(self) -> Path:
        """What the sensor has already seen, kept outside DuckDB so a sensor never waits on
        the warehouse's write lock."""
        return self.root / "warehouse" / "landing_state"

    @property
    def marts(self) -> Path:
        return self.root / "marts"

    @property
    def staged_marts(self) -> Path:
        """Where a release is written and checked before it becomes one of `releases`."""
        return self.marts / ".next"

    @property
    def releases(self) -> Path:
        """A folder per release kept (its three tiers and release.json); `marts/current` links
        to the one published last (tiers/publish.py)."""
        return self.marts / "releases"

    @property
    def person_models(self) -> Path:
        return self.root / "models" / "person"

    @property
    def person_decisions(self) -> Path:
        return self.root / "review" / "person_decisions.csv"

    @property
    def place_decisions(self) -> Path:
        return self.root / "review" / "place_decisions.csv"

    @property
    def truth_records(self) -> Path:
        """The synthetic region's truth per record, read only to evaluate the spines."""
        return self.truth / "records"

    @property
    def audit(self) -> Path:
        """The audit trail of governed access: append-only, outlives every release."""
        return self.root / "audit"

    @property
    def exports(self) -> Path:
        """Outputs waiting in the airlock, and those released from it."""
        return self.root / "exports"

    @property
    def access(self) -> Path:
        """The query service's own files: the token hashes, its pid and its log."""
        return self.root / "access"

    @property
    def policy(self) -> Path:
        """The access policy (HUB_POLICY): kept outside git; `make demo` writes a demo one."""
        return Path(os.environ.get("HUB_POLICY") or self.access / "policy.yml")

    @property
    def rights(self) -> Path:
        """The requests register of data subjects' rights, and subject access packs."""
        return self.root / "rights"

    @property
    def reports(self) -> Path:
        """The pages people look at: the strategic profile, the data-quality scorecard and the
        linkage report (docs/reports.md)."""
        return self.root / "reports"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.root / "dagster")

    @property
    def uam_venv(self) -> Path:
        """The venv the place benchmark runs uk-address-matcher in (HUB_UAM_VENV): its own, as
        it needs splink<5."""
        return Path(os.environ.get("HUB_UAM_VENV") or self.root / "bench" / "uam-venv")


def paths() -> Paths:
    """HUB_DATA_DIR, or ./data when unset."""
    return Paths(Path(os.environ.get("HUB_DATA_DIR", "data")).absolute())


def secrets_dir() -> Path:
    """Where the hub's keys live when the environment does not hold them (HUB_SECRETS_DIR):
    outside the repository by default, so a key can never be committed with the code."""
    default = Path.home() / ".config" / "partnership-data-hub"
    return Path(os.environ.get("HUB_SECRETS_DIR") or default).absolute()


def months_given() -> bool:
    """Whether the months are configured (HUB_MONTHS), not found from what was delivered."""
    return bool(os.environ.get("HUB_MONTHS"))


def months(where: Paths) -> tuple[str, str | None]:
    """The months the hub holds, its partitions (HUB_MONTHS, `YYYY-MM:YYYY-MM`; either side may
    be left empty): the first and the last, or None for the last complete month, which moves on
    as time passes. Unset, the first is the earliest month any supply was delivered for (a
    month folder in landing, or one the hub has already read) and the last moves on."""
    given = os.environ.get("HUB_MONTHS", "")
    first, _, last = given.partition(":")
    for month in (first, last):
        if month and not MONTH.match(month):
            raise ValueError(f"HUB_MONTHS={given!r}: {month!r} is not a month (YYYY-MM)")
    if first and last and last < first:
        raise ValueError(f"HUB_MONTHS={given!r}: the last month is before the first")
    # Dagster's monthly partitions run in UTC: so does the last complete month here.
    last_complete = f"{dt.datetime.now(dt.UTC).date().replace(day=1) - dt.timedelta(days=1):%Y-%m}"
    if not first:
        delivered = [p.name for p in where.landing.glob("*/*/*")] + [
            p.stem for p in where.landing_state.glob("*/*.json")
        ]
        held = sorted(m for m in delivered if MONTH.match(m) and m <= last_complete)
        first = min(held[0] if held else last_complete, last or last_complete)
    if not last and first > last_complete:
        raise ValueError(
            f"HUB_MONTHS={given!r}: {first} is after the last complete month, {last_complete}"
        )
    return first, last or None


def memory_limit() -> str:
    """How much memory the linker's DuckDB may hold before it spills to disk
    (HUB_MEMORY_LIMIT, a DuckDB size such as 4GB); DuckDB's own default is 80 % of the machine,
    too much for a laptop that is doing anything else."""
    return os.environ.get("HUB_MEMORY_LIMIT", "4GB")


def dbt_dir() -> Path:
    """The dbt project (HUB_DBT_DIR, default ./dbt)."""
    return Path(os.environ.get("HUB_DBT_DIR", "dbt")).absolute()


def suites_dir() -> Path:
    """The expectation suites (HUB_EXPECTATIONS_DIR, default ./expectations)."""
    return Path(os.environ.get("HUB_EXPECTATIONS_DIR", "expectations")).absolute()


def key_variable(name: str) -> str:
    """The environment variable that may hold one of the hub's keys: HUB_<NAME>_KEY."""
    return f"HUB_{name.upper()}_KEY"


def key_from_environment(name: str) -> str | None:
    """A key given in the environment, if any (else the key file in secrets_dir() holds it)."""
    return os.environ.get(key_variable(name)) or None


def service_url() -> str:
    """Where the query service listens (HUB_SERVICE_URL): on this machine only, by default."""
    return os.environ.get("HUB_SERVICE_URL", "http://127.0.0.1:8765")


def token_from_environment() -> str | None:
    """A user's token for the query service (HUB_TOKEN), else their file in
    secrets_dir()/tokens."""
    return os.environ.get("HUB_TOKEN") or None


def query_limits() -> tuple[float, str, int]:
    """What one governed query may take: seconds (HUB_QUERY_SECONDS), memory
    (HUB_QUERY_MEMORY, a DuckDB size) and rows returned (HUB_QUERY_ROWS)."""
    return (
        float(os.environ.get("HUB_QUERY_SECONDS", "60")),
        os.environ.get("HUB_QUERY_MEMORY", "2GB"),
        int(os.environ.get("HUB_QUERY_ROWS", "100000")),
    )


def releases_kept() -> int:
    """How many releases stay readable, the current one with those before it
    (HUB_RELEASES_KEPT, default 3); older ones are removed when a release is published."""
    kept = int(os.environ.get("HUB_RELEASES_KEPT", "3"))
    if kept < 1:
        raise ValueError(f"HUB_RELEASES_KEPT={kept}: at least the current release is kept")
    return kept


def retention_as_of() -> dt.date:
    """The day retention is measured on (HUB_RETENTION_AS_OF, YYYY-MM-DD): today unless set, as
    to replay a past release, or to measure the synthetic region (dated 2024) as of its own
    time."""
    given = os.environ.get("HUB_RETENTION_AS_OF")
    return dt.date.fromisoformat(given) if given else dt.datetime.now(dt.UTC).date()


def shrink_share() -> float:
    """The share of a loaded month's records a replacement may remove before it is held for
    an engineer's confirmation (HUB_SHRINK_SHARE, default 0.1; `hub refresh --accept-shrink`)."""
    return float(os.environ.get("HUB_SHRINK_SHARE", "0.1"))


def quiet_seconds() -> float:
    """How long every file of a month's supply must have been still before the hub reads it
    (HUB_QUIET_SECONDS, default 120): a supply still being copied into landing is waited for,
    not refused as malformed."""
    return float(os.environ.get("HUB_QUIET_SECONDS", "120"))
