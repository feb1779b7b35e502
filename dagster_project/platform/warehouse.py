"""Opening the hub's encrypted DuckDB files: the warehouse, and Level 3 through `attach`.
Every stage (Dagster, dbt's plugin, the spines, the CLI, the tests) opens them here.

DuckDB cannot open an encrypted file with `duckdb.connect(path)`: a connection starts in
memory and the file is attached with its key (docs/keys.md). DuckDB writes encrypted files
only with the httpfs extension loaded (without it, its crypto module is read-only), and it
would download that extension at run time: it is loaded instead from the installed package
`duckdb-extension-httpfs`, and every download and autoload is switched off, so the hub never
reaches the network (docs/keys.md)."""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb

from dagster_project.config import memory_limit, paths
from dagster_project.platform import keys

ALIAS = "hub"  # the warehouse's catalog name, as dbt names it in the views it writes
CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
T = TypeVar("T")
LOCKED = "Could not set lock on file"  # DuckDB's words when another process holds a file
NO_SPACE = "No space left on device"  # the system's words for ENOSPC, which DuckDB quotes


@functools.cache
def extension_file(name: str) -> str:
    """The file of DuckDB's extension `name` in the installed package `duckdb-extension-<name>`
    (the package is only the extension's file), for LOAD: DuckDB would otherwise download it."""
    package = importlib.import_module(f"duckdb_extension_{name}")
    folder = Path(package.__file__).parent
    [path] = folder.glob(f"extensions/**/{name}.duckdb_extension")
    return str(path)


class FileProblem(RuntimeError):
    """A hub file that cannot be read, told apart by cause: the message names the file, what
    is wrong and what to do."""


def no_space(error: BaseException, path: Path | str) -> FileProblem | None:
    """A write that met a full disk (the system's error, or DuckDB's), as a sentence naming
    the file; `path` (the file, or the folder it is in) stands in when the error names none,
    as a write to a file already open does not."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        file = error.filename or path
    elif isinstance(error, duckdb.Error) and NO_SPACE in str(error):
        found = re.search(r'file "([^"]+)": ' + NO_SPACE, str(error))
        file = found[1] if found else path
    else:
        return None
    return FileProblem(
        f"{file} could not be written because the disk holding {Path(file).parent} is full: "
        "free space on that disk, then run again (what was written before is kept)"
    )


@contextlib.contextmanager
def room(path: Path | str) -> Iterator[None]:
    """Raise no_space()'s sentence in place of the error a write under `path` met on a full
    disk, which would otherwise reach the operator as a traceback or DuckDB's words."""
    try:
        yield
    except (OSError, duckdb.Error) as e:
        problem = no_space(e, path)
        if problem is None:
            raise
        raise problem from None


def explain(error: Exception, path: Path | str, key_name: str) -> FileProblem | None:
    """DuckDB's errors for an encrypted file, in words that send the operator the right way.
    A wrong key fails at ATTACH, where DuckDB checks it against the file's header; once that
    has passed, a block whose tag does not match is damage, whatever DuckDB's message says."""
    text = str(error)
    if full := no_space(error, path):
        return full
    if "Wrong encryption key" in text:
        return FileProblem(
            f"{path} was written with another {key_name} key than the one in use "
            f"(fingerprint {keys.fingerprint(key_name)}): give the hub the key it was written "
            f"with (docs/keys.md); the file is not damaged"
        )
    if "AES tag differs" in text or "stored checksum" in text:  # encrypted, or not
        return FileProblem(
            f"{path} is damaged: part of it fails its integrity check (the key is right: the "
            "file opened with it). Restore it from its backup or rebuild it; `hub check` "
            "names every damaged table"
        )
    return None


@contextlib.contextmanager
def explained(path: Path | str, key_name: str = "warehouse") -> Iterator[None]:
    """Raise a FileProblem in place of DuckDB's error where explain() has words for it."""
    try:
        yield
    except duckdb.Error as e:
        problem = explain(e, path, key_name)
        if problem is None:
            raise
        raise problem from None  # DuckDB's words would send the operator after the key


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load extension `name` from its package into a connection opened with CONFIG."""
    con.execute(f"LOAD {quote(extension_file(name))}")


def quote(text: str) -> str:
    """A SQL string literal: DuckDB takes no parameters in ATTACH, LOAD or COMMENT ON."""
    return "'" + text.replace("'", "''") + "'"


def load_encryption(con: duckdb.DuckDBPyConnection) -> None:
    """Let the connection write encrypted files (the httpfs extension, from its file), and
    encrypt what it spills to disk when memory runs short (records, during linkage)."""
    load_extension(con, "httpfs")
    con.execute("SET temp_file_encryption = true")


def memory() -> duckdb.DuckDBPyConnection:
    """An in-memory connection that can attach encrypted files and never downloads anything:
    for work whose scratch tables must not land in the files it attaches (the spines)."""
    con = duckdb.connect(config=CONFIG)
    load_encryption(con)
    return con


def attach(
    con: duckdb.DuckDBPyConnection,
    path: Path | str,
    alias: str,
    key_name: str,
    read_only: bool = False,
) -> None:
    """Attach an encrypted file under `alias` with the hub's key `key_name` (keys.py); a file
    opened for writing is created, encrypted, if it does not exist. DuckDB takes no
    parameters in ATTACH, so the key is quoted into the statement, which is never logged; the
    path and alias are quoted too, so no parser error can echo the statement, key and all."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    options = f"ENCRYPTION_KEY {quote(keys.key(key_name))}" + (", READ_ONLY" if read_only else "")
    name = '"' + alias.replace('"', '""') + '"'
    with explained(path, key_name):
        con.execute(f"ATTACH {quote(str(path))} AS {name} ({options})")


def connect(read_only: bool = False, path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The warehouse (HUB_DATA_DIR's, or the one at `path`), attached as `hub` and made the
    connection's default, so unqualified names such as `raw.asb` resolve in it."""
    con = memory()
    try:
        attach(con, path or paths().warehouse, ALIAS, "warehouse", read_only)
        con.execute(f"USE {ALIAS}")
    except BaseException:
        con.close()
        raise
    return con


def workspace(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the warehouse attached as `wh`, for work whose scratch
    tables must not land in the warehouse (the spines); capped at HUB_MEMORY_LIMIT, beyond
    which DuckDB spills to disk, encrypted."""
    con = memory()
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(f"set memory_limit = {quote(memory_limit())}")
        attach(con, path or paths().warehouse, "wh", "warehouse")
    except BaseException:
        con.close()
        raise
    return con


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All of the block's writes, or none of them: a table replaced from a file that turns
    out bad stays as it was."""
    con.execute("begin")
    try:
        yield con
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def holder(error: duckdb.Error) -> str:
    """Who holds a DuckDB file, from DuckDB's lock error ("held in <program> (PID n)")."""
    found = re.search(r"held in (.+?) \(PID (\d+)\)", str(error))
    return f"process {found[2]} ({Path(found[1]).name})" if found else "another process"


def wait_for_lock(
    open_: Callable[[], T], retries: int = 10, on_wait: Callable[[str], None] | None = None
) -> T:
    """`open_()`, tried again while another process holds the file (DuckDB allows one writer
    per file): after 0.1 s, then twice as long each time, about 100 s in all, the wait of
    dagster-duckdb's own resource. `on_wait` hears once that it is waiting, and for whom; if
    the file is still held at the end, the error says who holds it."""
    delay, began, told = 0.1, time.monotonic(), False
    for attempt in range(retries + 1):
        try:
            return open_()
        except duckdb.IOException as e:
            if LOCKED not in str(e):
                raise
            if attempt == retries:
                raise FileProblem(
                    f"the warehouse is still held by {holder(e)} after "
                    f"{time.monotonic() - began:.0f} s: a reader (`hub sql`, a notebook) or "
                    "another run; wait for it to finish or stop it, then run again"
                ) from None
            if on_wait and not told:
                on_wait(f"waiting for {holder(e)}, which holds the warehouse")
                told = True
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable: the last attempt returns or raises")
