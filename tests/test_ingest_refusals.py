"""Every kind of bad supply is refused cleanly: a clear error naming the file and the reason,
the supply moved to quarantine with its validation result and report, and nothing in the
archive changed. Each case spoils one month of a real generated supply."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re

import openpyxl
import pytest
import yaml

from dagster_project.ingest.supplies import sha256

FEED, MONTH = "crime_offence", "2024-02"


def rows(path, delimiter=","):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, delimiter=delimiter))


def write_rows(path, data, delimiter=","):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\n").writerows(data)


def meta_of(hub, feed=FEED, month=MONTH):
    return yaml.safe_load((hub.folder(feed, month) / "supply.yml").read_text(encoding="utf-8"))


def set_meta(hub, meta, feed=FEED, month=MONTH):
    (hub.folder(feed, month) / "supply.yml").write_text(yaml.safe_dump(meta), encoding="utf-8")


def edit(hub, fn, feed=FEED, month=MONTH, keep_count=True):
    """Apply fn to the data rows (header first); supply.yml's checksum is recomputed, as an
    agency re-exporting would, so the gate sees the edit, and its count follows the rows if
    asked."""
    path = hub.data_file(feed, month)
    data = fn(rows(path))
    write_rows(path, data)
    meta = meta_of(hub, feed, month)
    meta["file"]["sha256"] = sha256(path)
    if keep_count:
        meta["records"] = len(data) - 1
    set_meta(hub, meta, feed, month)


def checksum_again(hub, feed=FEED, month=MONTH):
    """As an agency re-exporting would: supply.yml's checksum is that of the spoilt file, so the
    refusal is for the spoiling, not for a checksum that no longer agrees."""
    try:
        meta = meta_of(hub, feed, month)
    except (FileNotFoundError, yaml.YAMLError):
        return
    if not (isinstance(meta, dict) and isinstance(meta.get("file"), dict)):
        return
    path = hub.folder(feed, month) / str(meta["file"].get("name"))
    if path.is_file() and not path.is_symlink():  # a link's target is never read
        meta["file"]["sha256"] = sha256(path)
        set_meta(hub, meta, feed, month)


def damaged_in_transit(hub):
    path = hub.data_file(FEED, MONTH)
    path.write_bytes(path.read_bytes().replace(b"N,N", b"N,Y", 1))


def column(data, name):
    return data[0].index(name)


def set_cells(name, values):
    def fn(data):
        i = column(data, name)
        for row, v in zip(data[1:], values, strict=False):
            row[i] = v
        return data

    return fn


def empty_file(hub):
    hub.data_file(FEED, MONTH).write_bytes(b"")


def header_only(hub):
    path = hub.data_file(FEED, MONTH)
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    meta = meta_of(hub)
    meta["file"]["sha256"] = sha256(path)
    set_meta(hub, meta)


def missing_column(hub):
    edit(hub, lambda d: [r[:3] + r[4:] for r in d])


def extra_column(hub):
    edit(hub, lambda d: [r + (["NOTES"] if i == 0 else ["x"]) for i, r in enumerate(d)])


def renamed_column(hub):
    edit(hub, lambda d: [["Crime Ref" if c == "CRIME_REF" else c for c in d[0]], *d[1:]])


def wrong_delimiter(hub):
    path = hub.data_file(FEED, MONTH)
    write_rows(path, rows(path), delimiter=";")
    meta = meta_of(hub)
    meta["file"]["sha256"] = sha256(path)
    meta["file"].pop("delimiter")
    set_meta(hub, meta)


def mixed_encodings(hub):
    path = hub.data_file(FEED, MONTH)
    raw = path.read_bytes()
    last = raw.rstrip(b"\n").rsplit(b"\n", 1)[1]
    path.write_bytes(raw + last.replace(b"N,N", "Café,N".encode("cp1252"), 1) + b"\n")


def truncated_last_line(hub):
    path = hub.data_file(FEED, MONTH)
    raw = path.read_bytes().rstrip(b"\n")
    path.write_bytes(raw[: raw.rfind(b",")])


def unterminated_quote(hub):
    path = hub.data_file(FEED, MONTH)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",", ',"', 1)
    path.write_text("".join(lines), encoding="utf-8")


def nul_in_a_text_field(hub):
    """A NUL and an escape inside fields: Python's csv module reads both without complaint."""
    edit(hub, set_cells("LOCATION", ["10 High\x00 Street", "2 Mill\x1b Lane"]))


def keys_apart_by_a_space(hub):
    """Two records whose references differ only by a trailing space: one key to staging."""

    def fn(data):
        i = column(data, "CRIME_REF")
        data[2][i] = data[1][i] + " "
        return data

    edit(hub, fn)


def thirty_digit_easting(hub):
    edit(hub, set_cells("EASTING", ["4" * 30]))


def supplied_in_the_future(hub):
    meta = meta_of(hub)
    meta["date_supplied"] = dt.date.today() + dt.timedelta(days=30)
    set_meta(hub, meta)


def supplied_before_the_month(hub):
    meta = meta_of(hub)
    meta["date_supplied"] = dt.date(2023, 12, 31)
    set_meta(hub, meta)


def binary_garbage(hub):
    hub.data_file(FEED, MONTH).write_bytes(bytes(range(256)) * 40)


def huge_field(hub):
    """A 200 MB field: refused without reading it into memory."""
    path = hub.data_file(FEED, MONTH)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(header + "\n43/000001/24,008/01,")
        chunk = "x" * (1 << 20)
        for _ in range(200):
            fh.write(chunk)
        fh.write("\n")


def three_date_formats(hub):
    edit(hub, set_cells("COMMITTED_FROM_DATE", ["03/02/2024", "2024-02-04", "Feb 5 2024"]))


def future_dates(hub):
    edit(hub, set_cells("COMMITTED_FROM_DATE", ["03/02/2031"]))


def dates_outside_the_period(hub):
    edit(hub, set_cells("COMMITTED_FROM_DATE", ["28/01/2024"]))


def non_numeric_counts(hub):
    edit(hub, set_cells("EASTING", ["-451000", "four hundred"]))


def duplicate_references(hub):
    def fn(data):
        i = column(data, "CRIME_REF")
        data[2][i] = data[1][i]  # another record under the first one's reference
        return data

    edit(hub, fn)


def record_count_differs(hub):
    meta = meta_of(hub)
    meta["records"] += 3
    set_meta(hub, meta)


def missing_supply_yml(hub):
    (hub.folder(FEED, MONTH) / "supply.yml").unlink()


def malformed_supply_yml(hub):
    (hub.folder(FEED, MONTH) / "supply.yml").write_text("feed: [crime_offence\nrecords: 3:\n")


def file_for_another_feed(hub):
    other = hub.data_file("crime_victim", MONTH)
    (hub.folder(FEED, MONTH) / other.name).write_bytes(other.read_bytes())


def path_traversal_name(hub):
    meta = meta_of(hub)
    meta["file"]["name"] = "../../../../etc/passwd"
    set_meta(hub, meta)


def date_supplied_not_a_date(hub):
    meta = meta_of(hub)
    meta["date_supplied"] = "05/02/2024"
    set_meta(hub, meta)


def no_header_line(hub):
    path = hub.data_file(FEED, MONTH)
    path.write_text(
        "".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[1:]), encoding="utf-8"
    )
    meta = meta_of(hub)
    meta["records"] -= 1
    set_meta(hub, meta)


CASES = {
    empty_file: "the file is empty",
    header_only: r"holds 0 records but supply.yml says \d+",
    missing_column: "missing 'COMMITTED_FROM_TIME'",
    extra_column: "the columns differ from the contract's: 1 column not in the contract",
    renamed_column: "missing 'CRIME_REF'; 1 column not in the contract",
    wrong_delimiter: "the contract says the delimiter is ','",
    mixed_encodings: r"not readable as utf-8: byte 0xe9 on line \d+ ",
    truncated_last_line: r"data row \d+ has 17 fields but the header has 18",
    unterminated_quote: "unterminated or unescaped quote|quoted field is never closed",
    binary_garbage: "not readable as utf-8",
    nul_in_a_text_field: r"control characters \(NUL and the like\) in LOCATION \(2 rows\)",
    huge_field: "a field is longer than 131,072 characters",
    three_date_formats: r"holds dates written %d/%m/%Y, but 2 of \d+ rows do not",
    future_dates: "falls in the month the supply covers, but 1 of",
    dates_outside_the_period: "falls in the month the supply covers, but 1 of",
    non_numeric_counts: "EASTING holds whole numbers, not negative, but 2 of",
    thirty_digit_easting: r"EASTING fits staging's whole-number type .*, but 1 of",
    duplicate_references: "CRIME_REF identifies a record within a supply, but 2 of",
    keys_apart_by_a_space: "CRIME_REF identifies a record within a supply, but 2 of",
    record_count_differs: r"the file holds \d+ records but supply.yml says \d+",
    damaged_in_transit: "the file's SHA-256 differs from supply.yml's",
    missing_supply_yml: "no supply.yml was delivered",
    malformed_supply_yml: "supply.yml is not valid YAML",
    file_for_another_feed: r"unexpected files \['TVP_CRIME_VICTIMS_202402.csv'\]",
    path_traversal_name: "is a path, not a file in the supply's folder",
    date_supplied_not_a_date: "date_supplied must be a date written YYYY-MM-DD",
    supplied_in_the_future: r"date_supplied \d{4}-\d\d-\d\d is in the future",
    supplied_before_the_month: "date_supplied 2023-12-31 is before 2024-02 began",
    no_header_line: "header repeats a column name|columns differ from the contract's: missing",
}


@pytest.mark.parametrize("spoil", list(CASES), ids=lambda f: f.__name__)
def test_bad_supply_is_refused_and_the_archive_is_untouched(hub, spoil):
    assert hub.ingest(FEED, "2024-01").status == "loaded"
    before = hub.archive(FEED)
    folder = hub.folder(FEED, MONTH)
    spoil(hub)
    if spoil is not damaged_in_transit:
        checksum_again(hub)

    outcome = hub.ingest(FEED, MONTH)

    assert outcome.status == "quarantined" and not outcome.passed
    assert re.search(CASES[spoil], outcome.sentence), outcome.sentence
    named = str(folder) in outcome.sentence or "supply.yml" in outcome.sentence
    assert named or FEED in outcome.sentence, "the error names the file"
    assert hub.archive(FEED) == before, "the archive changed"
    assert not folder.exists(), "the supply stayed in landing"
    dest = outcome.quarantine_path
    assert dest.is_relative_to(hub.where.quarantine / "police" / FEED / MONTH)
    record = json.loads((dest / "validation.json").read_text())
    assert record["reason"] and record["advice"]
    report = (dest / "report.html").read_text()
    assert "<script" not in report and "http" not in report.replace("http://", "")
    register = hub.register(FEED)
    assert register["status"].tolist() == ["loaded", "quarantined"]


def test_a_corrected_supply_loads_after_a_refusal(hub, pristine):
    import shutil

    good = pristine.landing / "police" / FEED / MONTH
    duplicate_references(hub)
    assert hub.ingest(FEED, MONTH).status == "quarantined"
    shutil.copytree(good, hub.folder(FEED, MONTH))
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "loaded", outcome.sentence
    assert hub.archive(FEED)[0] == outcome.rows


def test_embedded_newlines_in_a_quoted_field_load(hub):
    def fn(data):
        i = column(data, "LOCATION")
        data[1][i] = "Flat 2,\n10 High Street"
        return data

    edit(hub, fn)
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "loaded", outcome.sentence
    assert hub.first_value(FEED, "LOCATION") == "Flat 2,\n10 High Street"


def test_exact_duplicate_rows_load_as_delivered(hub):
    edit(hub, lambda d: [*d, d[1]])
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "loaded", outcome.sentence
    assert outcome.gate_result.exact_duplicates >= 1 and "exact duplicate" in outcome.sentence
    assert hub.archive(FEED)[0] == meta_of(hub)["records"]


def test_a_bom_the_contract_does_not_declare_is_read_past_and_noted(hub):
    path = hub.data_file(FEED, MONTH)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    meta = meta_of(hub)
    meta["file"]["sha256"] = sha256(path)
    set_meta(hub, meta)
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "loaded", outcome.sentence
    assert any("byte-order mark" in w for w in outcome.warnings)
    with hub.connect() as con:
        names = [r[0] for r in con.execute("DESCRIBE raw.crime_offence").fetchall()]
    assert names[0] == "CRIME_REF"


XLSX_FEED, XLSX_MONTH = "school_exclusions", "2024-01"


def _xlsx(hub, change):
    path = hub.data_file(XLSX_FEED, XLSX_MONTH)
    wb = openpyxl.load_workbook(path)
    change(wb)
    wb.save(path)
    meta = meta_of(hub, XLSX_FEED, XLSX_MONTH)
    meta["file"]["sha256"] = sha256(path)
    set_meta(hub, meta, XLSX_FEED, XLSX_MONTH)


def test_a_workbook_with_two_sheets_is_refused(hub):
    _xlsx(hub, lambda wb: wb.create_sheet("Notes"))
    before = hub.archive(XLSX_FEED)
    outcome = hub.ingest(XLSX_FEED, XLSX_MONTH)
    assert outcome.status == "quarantined"
    assert "the workbook has 2 sheets (Exclusions, Notes)" in outcome.sentence
    assert hub.archive(XLSX_FEED) == before


def test_formula_cells_are_stored_as_text_never_evaluated(hub):
    formula = '=HYPERLINK("http://example.invalid/x","click")'

    def change(wb):
        ws = wb.active
        header = [c.value for c in ws[1]]
        ws.cell(row=2, column=header.index("Forename") + 1, value=formula)

    _xlsx(hub, change)
    outcome = hub.ingest(XLSX_FEED, XLSX_MONTH)
    assert outcome.status == "loaded", outcome.sentence
    assert hub.first_value(XLSX_FEED, "Forename") == formula


def test_the_one_sentence_holds_no_personal_data(hub, pristine):
    """Refusal messages reach logs: they give counts and column names, never values."""
    feed = "crime_victim"
    original = rows(pristine.landing / "police" / feed / MONTH / hub.data_file(feed, MONTH).name)
    edit(hub, set_cells("DOB", ["1990-01-01", "not a date"]), feed=feed)
    outcome = hub.ingest(feed, MONTH)
    assert outcome.status == "quarantined"
    values = {v for r in original[1:] for v in r if len(v) > 3} | {"1990-01-01", "not a date"}
    assert not [v for v in values if v in outcome.sentence]


def test_utf8_text_in_a_cp1252_feed_is_refused(hub):
    feed, month = "asb", "2024-01"
    path = hub.data_file(feed, month)
    text = path.read_bytes().decode("cp1252")
    path.write_bytes(text.replace("Road", "Rüe", 1).encode("utf-8"))
    meta = meta_of(hub, feed, month)
    meta["file"]["sha256"] = sha256(path)
    set_meta(hub, meta, feed, month)
    outcome = hub.ingest(feed, month)
    assert outcome.status == "quarantined"
    assert "the file is UTF-8, but the contract says cp1252" in outcome.sentence


def test_blank_formatted_rows_at_the_end_of_a_workbook_are_ignored(hub):
    def change(wb):
        wb.active.cell(row=wb.active.max_row + 40, column=1).number_format = "0.00"

    _xlsx(hub, change)
    outcome = hub.ingest(XLSX_FEED, XLSX_MONTH)
    assert outcome.status == "loaded", outcome.sentence


def test_a_file_without_its_header_leaks_nothing_into_the_message(hub, pristine):
    feed, month = "ae_assaults", "2024-01"
    path = hub.data_file(feed, month)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first_row = lines[1].rstrip("\n").split("\t")
    path.write_text("".join(lines[1:]), encoding="utf-8")
    checksum_again(hub, feed, month)
    outcome = hub.ingest(feed, month)
    assert outcome.status == "quarantined"
    leaked = [v for v in first_row if len(v) > 2 and v in outcome.sentence]
    assert not leaked, leaked


def test_a_data_file_that_is_a_link_is_refused_and_its_target_never_read(hub, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("CRIME_REF,TEXT-FROM-OUTSIDE-LANDING\n1,x\n", encoding="utf-8")
    path = hub.data_file(FEED, MONTH)
    path.unlink()
    path.symlink_to(outside)
    checksum_again(hub)
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "quarantined" and "symbolic link" in outcome.sentence
    for name in ("validation.json", "report.html"):
        assert "TEXT-FROM-OUTSIDE" not in (outcome.quarantine_path / name).read_text()
    assert outside.read_text(encoding="utf-8").startswith("CRIME_REF")


def test_a_supply_yml_of_nested_aliases_is_refused_unexpanded(hub):
    meta = meta_of(hub)
    text = yaml.safe_dump({k: v for k, v in meta.items() if k != "feed"})
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 5)
    )
    (hub.folder(FEED, MONTH) / "supply.yml").write_text(bomb + "feed: *a4\n" + text)
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "quarantined"
    assert "anchors and aliases" in outcome.sentence and len(outcome.sentence) < 1_000
    dest = outcome.quarantine_path
    assert (dest / "validation.json").stat().st_size < 20_000
    assert (dest / "report.html").stat().st_size < 200_000


def test_a_supply_yml_over_its_size_limit_is_refused(hub):
    from dagster_project.ingest.supplies import MAX_METADATA

    path = hub.folder(FEED, MONTH) / "supply.yml"
    path.write_text(path.read_text(encoding="utf-8") + "#" * MAX_METADATA + "\n")
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "quarantined" and "bytes; refused" in outcome.sentence


def test_an_upper_case_checksum_is_accepted_with_a_warning(hub):
    meta = meta_of(hub)
    meta["file"]["sha256"] = meta["file"]["sha256"].upper()
    set_meta(hub, meta)
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "loaded", outcome.sentence
    assert any("in capitals" in w for w in outcome.warnings)


@pytest.mark.parametrize("junk", [".DS_Store", "Thumbs.db"])
def test_files_an_operating_system_leaves_are_ignored_with_a_warning(hub, junk):
    (hub.folder(FEED, MONTH) / junk).write_bytes(b"\x00\x05\x16\x07")
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "loaded", outcome.sentence
    assert any(junk in w for w in outcome.warnings)


def test_a_trailing_blank_line_is_accepted_with_a_warning_and_one_inside_is_refused(hub):
    path = hub.data_file(FEED, MONTH)
    rows_before = len(rows(path)) - 1
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    checksum_again(hub)
    outcome = hub.ingest(FEED, MONTH)
    assert outcome.status == "loaded" and outcome.rows == rows_before, outcome.sentence
    assert "the file ends with a blank line, ignored" in outcome.warnings

    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines[:3], "\n", *lines[3:]]), encoding="utf-8")
    checksum_again(hub)
    refused = hub.ingest(FEED, MONTH)
    assert refused.status == "quarantined"
    assert "data row 3 is blank, and rows follow it" in refused.sentence


def test_two_unreadable_refusals_of_a_month_are_two_supplies_in_the_register(hub, pristine):
    import shutil

    good = pristine.landing / "police" / FEED / MONTH
    ids = []
    for spoil in (empty_file, missing_supply_yml):
        spoil(hub)
        outcome = hub.ingest(FEED, MONTH)
        assert outcome.status == "quarantined", outcome.sentence
        ids.append(outcome.supply_id)
        shutil.copytree(good, hub.folder(FEED, MONTH))
    assert ids[0] != ids[1] and all(i.startswith(f"{FEED}/{MONTH}/unreadable-") for i in ids)
    assert sorted(hub.register(FEED)["supply_id"].tolist()) == sorted(ids)


def test_a_workbook_claiming_the_whole_sheet_is_read_in_seconds(hub):
    """A formatted empty cell at XFD1048576 makes the sheet's dimension the whole sheet: read
    by it, the supply would take about 25 minutes (17 billion empty cells)."""
    import subprocess
    import sys
    from pathlib import Path

    _xlsx(hub, lambda wb: setattr(wb.active.cell(row=1_048_576, column=16_384),
                                  "number_format", "0.00"))  # fmt: skip
    hub_exe = Path(sys.executable).with_name("hub")
    env = {**os.environ, "DAGSTER_HOME": str(hub.root.parent / "dagster_home")}
    done = subprocess.run(
        [str(hub_exe), "refresh", "--month", XLSX_MONTH, "--feed", XLSX_FEED],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


def as_the_hubs_account(args: list[str]) -> list[str]:
    """Root reads a file whatever its permissions: the command runs without the capabilities
    that let it (as root without them, and any other account, is refused a chmod 000 file)."""
    import shutil

    if os.geteuid() != 0:
        return args
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv (util-linux): a chmod 000 file stays readable")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *args]


@pytest.mark.parametrize("which", ["data file", "supply.yml"])
def test_an_unreadable_file_is_a_refusal_that_names_it_not_a_crash(hub, which):
    import subprocess
    import sys
    from pathlib import Path

    path = (
        hub.data_file(FEED, MONTH)
        if which == "data file"
        else hub.folder(FEED, MONTH) / "supply.yml"
    )
    path.chmod(0)
    hub_exe = Path(sys.executable).with_name("hub")
    env = {**os.environ, "DAGSTER_HOME": str(hub.root.parent / "dagster_home")}
    done = subprocess.run(
        as_the_hubs_account([str(hub_exe), "refresh", "--month", MONTH, "--feed", FEED]),
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    said = done.stdout + done.stderr
    assert done.returncode == 0 and "0 passed, 1 refused, 0 failed" in done.stdout, said
    assert "Traceback" not in said
    assert f"{path.name}: the hub cannot read this file (permission denied)" in done.stdout, said
    register = hub.register(FEED)
    assert register["status"].tolist() == ["quarantined"]
    assert "cannot read this file" in register["reason"][0]
    dest = hub.where.root / register["quarantine_path"][0]
    assert (dest / "report.html").is_file() and not hub.folder(FEED, MONTH).exists()


def test_quarantines_a_crash_left_incomplete_are_repaired_by_the_next_run(hub, pristine):
    """The register is written before the supply is moved and its report written: a process
    killed between them leaves a row whose folder or report is missing."""
    import shutil

    def refuse(month):
        def fn(data):
            i = column(data, "CRIME_REF")
            data[2][i] = data[1][i]
            return data

        edit(hub, fn, month=month)
        outcome = hub.ingest(FEED, month)
        assert outcome.status == "quarantined", outcome.sentence
        shutil.copytree(pristine.landing / "police" / FEED / month, hub.folder(FEED, month))
        return outcome

    no_report, nothing_but_data = (refuse("2024-01").quarantine_path for _ in range(2))
    lost = refuse(MONTH).quarantine_path
    (no_report / "report.html").unlink()
    (nothing_but_data / "report.html").unlink()
    (nothing_but_data / "validation.json").unlink()
    shutil.rmtree(lost)

    outcome = hub.ingest(FEED, MONTH)

    assert outcome.status == "loaded", outcome.sentence
    assert len([w for w in outcome.warnings if "quarantine" in w]) == 3, outcome.warnings
    for dest in (no_report, nothing_but_data):
        report = (dest / "report.html").read_text(encoding="utf-8")
        assert "CRIME_REF identifies a record within a supply" in report
        assert json.loads((dest / "validation.json").read_text())["advice"]
    assert "NOT MET" in (no_report / "report.html").read_text(encoding="utf-8")
    register = hub.register(FEED)
    row = register.loc[register["quarantine_path"].isna() & (register["status"] == "quarantined")]
    assert len(row) == 1 and row["period"].iloc[0] == MONTH
    assert "its quarantine folder was never written" in row["reason"].iloc[0]
    assert not [w for w in hub.ingest(FEED, "2024-01").warnings if "quarantine" in w]


@pytest.mark.parametrize(
    "bound, expected",
    [
        ({"max_records": 2}, "more than 2 data rows, the most the contract allows"),
        ({"read_seconds": 0}, "reading took longer than 0 s, the contract's bound"),
    ],
    ids=["rows", "seconds"],
)
def test_a_workbook_beyond_the_contracts_bounds_is_refused(hub, bound, expected):
    import dataclasses

    from dagster_project.ingest.load import ingest

    contract = hub.contract(XLSX_FEED)
    bounded = dataclasses.replace(contract, file=dataclasses.replace(contract.file, **bound))
    outcome = ingest(bounded, XLSX_MONTH, hub.connect, hub.where)
    assert outcome.status == "quarantined" and expected in outcome.sentence, outcome.sentence


def test_a_workbook_wider_than_its_contract_is_refused_by_its_columns(hub):
    columns = len(hub.contract(XLSX_FEED).columns)

    def change(wb):
        ws = wb.active
        for c in range(columns + 1, columns + 4):
            ws.cell(row=1, column=c, value=f"Extra {c}")

    _xlsx(hub, change)
    outcome = hub.ingest(XLSX_FEED, XLSX_MONTH)
    assert outcome.status == "quarantined"
    assert f"the header has {columns + 3} columns, more than the contract's {columns}" in (
        outcome.sentence
    )


def test_a_cp1252_file_with_one_utf8_line_is_refused_naming_the_line(hub):
    """Read as cp1252, the UTF-8 line would be stored garbled ("RÃ¼e"): refused instead."""
    feed, month = "asb", "2024-01"
    path = hub.data_file(feed, month)
    lines = path.read_bytes().split(b"\n")
    first, second = [i for i, line in enumerate(lines) if b"Road" in line][:2]
    lines[first] = lines[first].replace(b"Road", "Rüe".encode("cp1252"), 1)
    lines[second] = lines[second].replace(b"Road", "Rüe".encode(), 1)
    path.write_bytes(b"\n".join(lines))
    checksum_again(hub, feed, month)
    outcome = hub.ingest(feed, month)
    assert outcome.status == "quarantined", outcome.sentence
    assert f"line {second + 1} is UTF-8, but line {first + 1} is cp1252" in outcome.sentence


def test_a_supply_yml_correction_is_checked_again_though_the_data_file_is_unchanged(hub):
    assert hub.ingest(FEED, MONTH).status == "loaded"
    before = hub.archive(FEED)
    meta = meta_of(hub)
    meta["date_supplied"] = dt.date(2024, 3, 8)
    set_meta(hub, meta)

    corrected = hub.ingest(FEED, MONTH)
    assert corrected.status == "unchanged" and "supply.yml was corrected" in corrected.sentence
    register = hub.register(FEED)
    assert register["date_supplied"].dt.date.tolist() == [dt.date(2024, 3, 8)]
    assert hub.archive(FEED) == before

    meta["records"] += 3
    set_meta(hub, meta)
    refused = hub.ingest(FEED, MONTH)
    assert refused.status == "quarantined", refused.sentence
    assert re.search(r"the file holds \d+ records but supply.yml says \d+", refused.sentence)
    assert hub.archive(FEED) == before
    assert hub.register(FEED)["status"].tolist() == ["loaded", "quarantined"]


@pytest.mark.parametrize(
    "feed, dob, rule",
    [
        ("stop_search", "03/02/2030", "SUBJECT_DOB is not after SEARCH_DATE, but 1 of"),
        ("crime_victim", "03/02/2030", "DOB is not before 1900 and not after the end of the "
                                       "supply's month, but 1 of"),
        ("crime_victim", "03/02/1850", "DOB is not before 1900 and not after the end of the "
                                       "supply's month, but 1 of"),
    ],
    ids=["birth-after-the-event", "birth-in-the-future", "birth-before-1900"],
)  # fmt: skip
def test_an_implausible_date_of_birth_is_refused_naming_the_rule(hub, feed, dob, rule):
    column = "SUBJECT_DOB" if feed == "stop_search" else "DOB"
    edit(hub, set_cells(column, [dob]), feed=feed)
    outcome = hub.ingest(feed, MONTH)
    assert outcome.status == "quarantined" and rule in outcome.sentence, outcome.sentence
    assert dob not in outcome.sentence
