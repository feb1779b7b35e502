"""Open a month's supply as delivered: its `supply.yml` (the metadata of the Home Office
guidance, section 3.4) checked against the folder it arrived in and the file it describes, and
the data file read strictly in the format and encoding the contract declares (CSV with any
delimiter, a BOM, a legacy code page, or .xlsx).

Values stay text, exactly as delivered (typing belongs to staging); an empty value is NULL.
Anything that cannot be read raises SupplyError naming the file and the reason; nothing is
guessed or silently dropped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
import yaml

from dagster_project.contracts.model import Contract

METADATA = "supply.yml"
MAX_FIELD = 131_072  # characters; a longer field is refused, not read into memory
MAX_METADATA = 65_536  # bytes: supply.yml is a dozen short fields
# What an operating system leaves beside a delivery: ignored, with a warning.
SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


class SupplyError(ValueError):
    """A supply that cannot be accepted; the message names the file and the reason."""


class SupplyChanging(RuntimeError):
    """The supply was replaced while being read: not a refusal; read it again later."""


@dataclass
class Supply:
    contract: Contract
    period: str
    folder: Path
    path: Path  # the data file
    metadata: dict
    sha256: str
    frame: pd.DataFrame  # the contract's columns as delivered, text or None
    warnings: list[str] = field(default_factory=list)
    metadata_sha256: str = ""  # of supply.yml as read

    @property
    def supply_id(self) -> str:
        return f"{self.contract.name}/{self.period}/{self.sha256[:12]}"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _PlainYaml(yaml.SafeLoader):
    """supply.yml without anchors and aliases: a few hundred bytes of nested aliases expand
    into gigabytes, and metadata never needs them."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.YAMLError("anchors and aliases (& and *) are not accepted")
        return super().compose_node(parent, index)


def regular_file(path: Path) -> None:
    """Refuse what is not a plain file: landing is a boundary, and a link would read a file
    from outside it."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise SupplyError(f"{path}: a symbolic link, not a file; refused (deliver the file)")
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise SupplyError(f"{path}: not a regular file; refused")


def read_metadata(folder: Path) -> dict:
    path = folder / METADATA
    regular_file(path)
    try:
        if path.stat().st_size > MAX_METADATA:
            raise SupplyError(f"{path}: supply.yml is over {MAX_METADATA:,} bytes; refused")
        with open(path, encoding="utf-8") as fh:
            meta = yaml.load(fh, Loader=_PlainYaml)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError as e:
        raise SupplyError(f"{path}: no supply.yml was delivered with the data") from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise SupplyError(f"{path}: supply.yml is not valid YAML ({e})") from e
    if not isinstance(meta, dict):
        raise SupplyError(f"{path}: supply.yml is not a mapping of metadata fields")
    return meta


def check_metadata(meta: dict, contract: Contract, period: str, folder: Path) -> str:
    """Check supply.yml against the folder it arrived in; returns the data file's name."""
    where = folder / METADATA
    missing = [k for k in ("feed", "period", "file", "records", "date_supplied") if k not in meta]
    if missing:
        raise SupplyError(f"{where}: supply.yml lacks {', '.join(missing)}")
    if meta["feed"] != contract.name:
        raise SupplyError(
            f"{where}: supply.yml is for feed {meta['feed']!r}, but it was "
            f"delivered in the folder of {contract.name!r}"
        )
    p = meta["period"]
    if (
        not isinstance(p, dict)
        or str(p.get("start", ""))[:7] != period
        or str(p.get("end", ""))[:7] != period
    ):
        raise SupplyError(
            f"{where}: supply.yml covers {p!r}, not the month of its folder, {period}"
        )
    records = meta["records"]
    if not isinstance(records, int) or isinstance(records, bool) or not 0 <= records < 2**31:
        raise SupplyError(f"{where}: records must be a whole number, not {records!r}")
    if not isinstance(meta["date_supplied"], dt.date):
        raise SupplyError(
            f"{where}: date_supplied must be a date written YYYY-MM-DD, not "
            f"{str(meta['date_supplied'])[:20]!r}"
        )
    supplied, starts = meta["date_supplied"], dt.date.fromisoformat(f"{period}-01")
    if not starts <= supplied <= dt.date.today():  # a supply cannot predate what it covers
        raise SupplyError(
            f"{where}: date_supplied {supplied} is "
            + ("in the future" if supplied > dt.date.today() else f"before {period} began")
            + ": a typing slip?"
        )
    f = meta["file"]
    name = f.get("name") if isinstance(f, dict) else None
    if not isinstance(name, str) or not name:
        raise SupplyError(f"{where}: supply.yml names no data file")
    if Path(name).name != name or name in (".", "..") or "\\" in name:
        raise SupplyError(
            f"{where}: the file name {name!r} is a path, not a file in the supply's folder; refused"
        )
    expected = contract.file.filename(period)
    if name != expected:
        raise SupplyError(
            f"{where}: the data file is {name!r}, but {contract.name} supplies "
            f"for {period} are named {expected!r} (a file for another feed?)"
        )
    keys = ("format", "delimiter", "encoding") if contract.file.format == "csv" else ("format",)
    for key in keys:
        declared, agreed = f.get(key), getattr(contract.file, key)
        if declared is not None and declared != agreed:
            raise SupplyError(
                f"{where}: the supply is {key} {declared!r}, but the feed's "
                f"contract says {agreed!r}; if the agency has changed its export, "
                "change the contract"
            )
    others = sorted(p.name for p in folder.iterdir()
                    if p.name not in (METADATA, name, *SYSTEM_FILES))  # fmt: skip
    if others:
        raise SupplyError(
            f"{folder}: unexpected files {others} beside {name} (a file for another feed?)"
        )
    return name


def unreadable(e: OSError) -> str:
    """Why the operating system would not let the hub read a file, as a refusal's sentence."""
    what = (e.strerror or type(e).__name__).lower()
    if isinstance(e, PermissionError):
        todo = "give the hub's account read access to it (chmod a+r), or deliver it again"
    else:
        todo = "deliver it again; if this recurs, check the disk"
    return f"{e.filename}: the hub cannot read this file ({what}); {todo}"


def open_supply(contract: Contract, folder: Path, period: str) -> Supply:
    """Read and check a supply without accepting it (the gate decides that). A file the
    operating system will not let the hub read is a refusal naming it, not a crash."""
    try:
        return _open_supply(contract, folder, period)
    except FileNotFoundError as e:  # checked for before it was read: taken away meanwhile
        raise SupplyChanging(f"{e.filename}: the file went away while it was being read") from e
    except OSError as e:
        raise SupplyError(unreadable(e)) from e


def _open_supply(contract: Contract, folder: Path, period: str) -> Supply:
    meta = read_metadata(folder)
    name = check_metadata(meta, contract, period, folder)
    path = folder / name
    regular_file(path)
    if path.is_dir():
        raise SupplyError(f"{path}: supply.yml names a folder, not a data file")
    if not path.is_file():
        raise SupplyError(f"{path}: supply.yml names this file, but it was not delivered")
    before = path.stat()
    checksum = sha256(path)
    declared = str(meta["file"].get("sha256") or "")
    if not declared:  # without it a truncated file whose count agrees would replace the month
        raise SupplyError(
            f"{folder / METADATA}: gives no checksum for {name}; add `sha256:` under `file:`, "
            f"the 64 hex characters `sha256sum {name}` prints"
        )
    if declared.lower() != checksum:
        raise SupplyError(
            f"{path}: the file's SHA-256 differs from supply.yml's (damaged or replaced in transit)"
        )
    warnings: list[str] = []
    if declared != declared.lower():
        warnings.append("supply.yml's SHA-256 is in capitals (read as the same checksum)")
    junk = sorted(p.name for p in folder.iterdir() if p.name in SYSTEM_FILES)
    if junk:
        warnings.append(f"ignored beside the data file: {', '.join(junk)} (left by a computer)")
    frame = read_data(contract, path, warnings)
    after = path.stat()
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise SupplyChanging(f"{path}: the file changed while it was being read")
    described = sha256(folder / METADATA)
    return Supply(contract, period, folder, path, meta, checksum, frame, warnings, described)


def read_data(contract: Contract, path: Path, warnings: list[str] | None = None) -> pd.DataFrame:
    """Every column as delivered (text, None for empty), in file order."""
    warnings = [] if warnings is None else warnings
    if path.stat().st_size == 0:
        raise SupplyError(f"{path}: the file is empty")
    bounds = _Bounds(path, contract)
    if contract.file.format == "xlsx":
        header, rows = _read_xlsx(path, contract.file.sheet, bounds)
    else:
        f = contract.file
        header, rows = _read_csv(path, f.delimiter, f.encoding, warnings, bounds)
    if len(set(header)) != len(header):
        raise SupplyError(f"{path}: the header repeats a column name")
    if found := control_characters(header, rows):
        listed = ", ".join(f"{c} ({n:,} row{'s' * (n > 1)})" for c, n in found.items())
        raise SupplyError(
            f"{path}: control characters (NUL and the like) in {listed}: staging would store "
            "them as text; an export fault?"
        )
    return pd.DataFrame(rows, columns=header, dtype=object)


class _Bounds:
    """The contract's bounds on reading a file (rows, columns, seconds), checked as it is read."""

    def __init__(self, path: Path, contract: Contract):
        self.path, self.spec, self.columns = path, contract.file, len(contract.columns)
        self.deadline = time.monotonic() + self.spec.read_seconds

    def header(self, width: int) -> None:
        if width > self.columns:
            raise SupplyError(
                f"{self.path}: the header has {width:,} columns, more than the contract's "
                f"{self.columns}; an export of another table?"
            )

    def row(self, records: int) -> None:
        """Called for every row read, with the records read so far."""
        if records > self.spec.max_records:
            raise SupplyError(
                f"{self.path}: more than {self.spec.max_records:,} data rows, the most the "
                "contract allows (file: max_records); if the feed has grown that much, raise "
                "it in the contract"
            )
        if time.monotonic() > self.deadline:
            raise SupplyError(
                f"{self.path}: reading took longer than {self.spec.read_seconds:g} s, the "
                "contract's bound (file: read_seconds); re-save the file, or raise the bound "
                "in the contract if it is genuine"
            )


# What no text field may hold: C0 controls other than tab and line breaks (which a quoted
# field may hold), and DEL. Python's csv module reads NUL into a field without complaint.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_characters(header: list[str], rows: list[list[str | None]]) -> dict[str, int]:
    """For each column holding control characters, how many rows do."""
    found = {}
    for i, name in enumerate(header):
        values = [row[i] for row in rows if row[i]]
        if CONTROL.search("\n".join(values)):  # one search a column; count only if needed
            found[name] = sum(1 for v in values if CONTROL.search(v))
    return found


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf-8-sig", "utf8")


def _lines(path: Path):
    """A file's lines as bytes, numbered (a line longer than 1 MB comes in pieces)."""
    n = 1
    with open(path, "rb") as fh:
        for piece in iter(lambda: fh.readline(1 << 20), b""):
            yield n, piece
            n += piece.endswith(b"\n")


def encoding_fault(lines, encoding: str) -> str | None:
    """Why numbered lines of bytes are not all text in `encoding`, naming the first line at
    fault, or None. In a legacy code page a line whose accents all read as UTF-8 is UTF-8
    (a code page's accented letters almost never do): among lines in the code page, it is a
    file of mixed encodings, and read whole in either one of its lines would be garbled."""
    utf8, first_utf8, first_legacy = _is_utf8(encoding), None, None
    for n, line in lines:
        try:
            line.decode(encoding)
        except UnicodeDecodeError as e:
            return (
                f"not readable as {encoding}: byte {line[e.start]:#04x} on line {n} "
                f"({e.reason}); mixed encodings or binary data?"
            )
        if utf8 or line.isascii():
            continue
        try:
            line.decode("utf-8")
            first_utf8 = first_utf8 or n
        except UnicodeDecodeError:
            first_legacy = first_legacy or n
    if first_utf8 and first_legacy:
        return (
            f"line {first_utf8} is UTF-8, but line {first_legacy} is {encoding} as the "
            "contract says: mixed encodings, whose accents would be stored garbled; ask for "
            "the file exported again in one encoding"
        )
    if first_utf8:
        return f"the file is UTF-8, but the contract says {encoding}; accents would be garbled"
    return None


def _read_csv(path: Path, delimiter: str, encoding: str, warnings: list[str], bounds: _Bounds):
    with open(path, "rb") as fh:
        head = fh.read(4)
    utf8 = _is_utf8(encoding)
    if head.startswith(codecs.BOM_UTF8) and utf8:
        if encoding != "utf-8-sig":  # harmless, common when an agency changes export tool
            warnings.append("the file starts with a byte-order mark the contract does not declare")
        encoding = "utf-8-sig"
    elif not utf8 and head.startswith(codecs.BOM_UTF8):
        raise SupplyError(
            f"{path}: the file is UTF-8, but the contract says {encoding}; accents would be garbled"
        )
    elif not utf8 and (why := encoding_fault(_lines(path), encoding)):
        raise SupplyError(f"{path}: {why}")  # a code page decodes almost anything: look first
    csv.field_size_limit(MAX_FIELD)  # process-wide, and no field the hub reads is longer
    rows: list[list[str | None]] = []
    try:
        with open(path, encoding=encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, strict=True)
            header = next(reader, None)
            if header is None:
                raise SupplyError(f"{path}: the file has no header line")
            width = len(header)
            if width == 1 and any(d in header[0] for d in ",;|\t" if d != delimiter):
                raise SupplyError(
                    f"{path}: the header is one column: the contract says the delimiter is "
                    f"{delimiter!r}"
                )
            blank = 0  # the first blank line: harmless at the end, a fault anywhere else
            for n, row in enumerate(reader, start=1):
                bounds.row(len(rows))
                if not row:
                    blank = blank or n
                    continue
                if blank:
                    raise SupplyError(f"{path}: data row {blank} is blank, and rows follow it")
                if len(row) != width:
                    raise SupplyError(
                        f"{path}: data row {n} has {len(row)} fields but the header has "
                        f"{width} (a truncated line, or a delimiter other than {delimiter!r}?)"
                    )
                rows.append([v if v != "" else None for v in row])
            bounds.row(len(rows))  # the last row too
            if blank:
                warnings.append("the file ends with a blank line, ignored")
    except UnicodeDecodeError as e:  # found line by line, to name the line
        why = encoding_fault(_lines(path), encoding) or f"not readable as {encoding}"
        raise SupplyError(f"{path}: {why}") from e
    except csv.Error as e:
        raise SupplyError(
            f"{path}: not a well-formed CSV file near data row {len(rows) + 1}: {_csv_reason(e)}"
        ) from e
    return header, rows


def _csv_reason(e: csv.Error) -> str:
    text = str(e)
    if "field larger than field limit" in text:
        return f"a field is longer than {MAX_FIELD:,} characters"
    if "unexpected end of data" in text or "EOF" in text:
        return "a quoted field is never closed (unterminated quote or truncated file)"
    if "expected after" in text:
        return "a quotation mark in the middle of a field (an unterminated or unescaped quote)"
    return text


def _cell(v) -> str | None:
    """An xlsx cell as text. Formulas stay as their text (never evaluated); dates become ISO."""
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.strftime("%H:%M")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_xlsx(path: Path, sheet: str | None, bounds: _Bounds):
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as e:  # openpyxl raises many types for a damaged workbook
        raise SupplyError(f"{path}: not a readable .xlsx workbook ({type(e).__name__}: {e})") from e
    try:
        names = wb.sheetnames
        if len(names) != 1:
            raise SupplyError(
                f"{path}: the workbook has {len(names)} sheets ({', '.join(names)}); "
                f"the contract expects one{f', named {sheet!r}' if sheet else ''}"
            )
        if sheet and names[0] != sheet:
            raise SupplyError(f"{path}: the sheet is named {names[0]!r}, not {sheet!r}")
        ws = wb[names[0]]
        # The sheet's own dimension is the writer's claim: "A1:XFD1048576" would make openpyxl
        # fill in 17 billion empty cells. Without it, rows are as wide as their cells.
        ws.reset_dimensions()
        values = ws.iter_rows(values_only=True)
        first = next(values, None)
        if first is None:
            raise SupplyError(f"{path}: the sheet is empty")
        header = [str(h) if h is not None else "" for h in first]
        while header and header[-1] == "":
            header.pop()
        width = len(header)
        bounds.header(width)
        rows, records = [], 0  # records: rows holding a value (formatted empty ones do not count)
        for row in values:
            bounds.row(records)
            if any(_cell(v) is not None for v in row[width:]):
                raise SupplyError(
                    f"{path}: data row {len(rows) + 1} has values beyond the "
                    f"{width} columns of the header"
                )
            rows.append([_cell(v) for v in row[:width]] + [None] * (width - len(row)))
            records += any(c is not None for c in rows[-1])
        bounds.row(records)  # the last row too
        while rows and all(c is None for c in rows[-1]):  # formatted but empty rows at the end
            rows.pop()
    finally:
        wb.close()
    return header, rows
