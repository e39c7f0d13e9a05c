"""forestcarbon verify: re-run from provenance and report differences file by file, number by
number."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

import forestcarbon.run as run_module
from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.core.files import COMPLETION_FILE, csv_bytes, file_sha256, json_bytes
from forestcarbon.inputs.program import load_program
from forestcarbon.officer import ledger, store
from forestcarbon.officer.reviews import add_review
from forestcarbon.outputs.provenance import describe_inputs
from tests import energy_fixtures as ef
from tests.conftest import THIN, ops_for, stand, write_program
from tests.energy_fixtures import energy_program
from tests.officer.ledger_fixtures import BANK_ROW, clock


@pytest.fixture
def sample_run(tmp_path):
    program = tmp_path / "program"
    shutil.copytree(SAMPLE_PROGRAM, program)
    out = tmp_path / "run"
    assert main(["-q", "run", str(program), "--out", str(out)]) == 0
    return program, out


def test_unchanged_run_verifies(sample_run, capsys):
    _, out = sample_run
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert "identical" in capsys.readouterr().out


def test_one_changed_input_byte_is_reported_with_the_numbers_it_changes(sample_run, capsys):
    program, out = sample_run
    ops = program / "operations.csv"
    data = ops.read_bytes()
    old = b"2,8,1,\x8a\xd4\x94\xb0,2012-02-27,0.17,"  # 間伐 in cp932, stand 2-8-1's last thinning
    assert data.count(old) == 1
    ops.write_bytes(data.replace(old, old.replace(b"0.17", b"0.27")))  # one byte: '1' -> '2'
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 1
    text = capsys.readouterr().out
    assert "operations.csv (operations): changed" in text
    assert [line for line in text.splitlines() if line.startswith("inputs:")] == [
        next(line for line in text.splitlines() if "operations.csv (operations)" in line)
    ]
    fo_lines = [line for line in text.splitlines() if line.startswith("  stand_id")]
    assert fo_lines and all(line.startswith("  stand_id 2-8-1,") for line in fo_lines)
    # treated area 0.18 + 0.17 = 0.35 ha -> 0.45 ha: the counted area and removals change
    assert any(", eligible_area_ha: " in line for line in fo_lines)
    assert any(", removals_tco2: " in line for line in fo_lines)
    assert "program_summary.csv" in text and "methodology FO-001" in text
    assert "1 input(s) changed" in text


def test_modified_output_is_reported(sample_run, capsys):
    _, out = sample_run
    csv = out / "program_summary.csv"
    data = csv.read_bytes()
    csv.write_bytes(data[:-2] + (b"9" if data[-2:-1] != b"9" else b"8") + data[-1:])
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 1
    assert "program_summary.csv: modified after the run" in capsys.readouterr().out


def test_not_a_run_folder(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 1
    assert "run_complete.json" in capsys.readouterr().err


# --- tamper tests: every output kind, every field of provenance (issue #11 items 9-10) ---------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A two-stand program and its run folder (copied per test: tests may tamper with it)."""
    base = tmp_path_factory.mktemp("tamper")
    program = write_program(
        base / "program", [stand("A", 2.0), stand("B", 1.0)], [{"stand_id": "A", **THIN}]
    )
    out = base / "run"
    assert main(["-q", "run", str(program), "--out", str(out)]) == 0
    return program, out


def _reseal(out: Path, name: str) -> None:
    """Update the sha of ``name`` in run_complete.json and provenance.json (a careful forger)."""
    sha = file_sha256(out / name)
    record = json.loads((out / COMPLETION_FILE).read_text(encoding="utf-8"))
    prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    if name in prov["outputs_sha256"]:
        prov["outputs_sha256"][name] = sha
        (out / "provenance.json").write_bytes(json_bytes(prov))
    record["files"][name] = sha
    record["files"]["provenance.json"] = file_sha256(out / "provenance.json")
    (out / COMPLETION_FILE).write_bytes(json_bytes(record))


def _xlsx_number(out: Path) -> None:
    path = out / "monitoring_report.xlsx"
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, float) and cell.value > 1:
                    cell.value += 1
                    wb.save(path)
                    return
    raise AssertionError("no number in the report")


def _text_number(name: str):
    def tamper(out: Path) -> None:
        path = out / name
        text = path.read_text(encoding="utf-8")
        i = next(i for i, ch in enumerate(text) if ch in "123456789" and i > 200)
        path.write_text(text[:i] + str((int(text[i]) % 9) + 1) + text[i + 1 :], encoding="utf-8")

    return tamper


def _gpkg_number(out: Path) -> None:
    path = out / "fo001_stands.gpkg"
    gdf = gpd.read_file(path)
    gdf.loc[0, "net_tco2"] = gdf.loc[0, "net_tco2"] + 1
    gdf.to_file(path, layer="fo001_stands")


def _duplicate_summary_row(out: Path) -> None:
    path = out / "program_summary.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines, lines[1]]))


def _drop_column(out: Path) -> None:
    path = out / "fo001_stands.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    path.write_bytes(csv_bytes(df.drop(columns=["removals_tco2"])))


def _provenance(edit):
    def tamper(out: Path) -> None:
        prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
        edit(prov)
        (out / "provenance.json").write_bytes(json_bytes(prov))

    return tamper


def _drop_output_record(prov):
    del prov["outputs_sha256"]["fo001_stands.csv"]


def _edit_settings(prov):
    prov["settings"]["fo001"]["buffer_rate"] = 0.5


def _edit_revision(prov):
    prov["code_revision"] = "0" * 40


TAMPERS = {
    "xlsx-number": (_xlsx_number, "monitoring_report.xlsx", "monitoring_report.xlsx"),
    "summary-md-number": (_text_number("summary.md"), "summary.md", "summary.md"),
    "map-number": (_text_number("maps/program.html"), "maps/program.html", "maps/program.html"),
    "gpkg-number": (_gpkg_number, "fo001_stands.gpkg", "net_tco2"),
    "summary-row-twice": (_duplicate_summary_row, "program_summary.csv", "program_summary.csv"),
    "column-dropped": (_drop_column, "fo001_stands.csv", "removals_tco2"),
    "output-unlisted": (_provenance(_drop_output_record), "provenance.json", "outputs_sha256"),
    "settings-edited": (_provenance(_edit_settings), "provenance.json", "buffer_rate"),
    "revision-edited": (_provenance(_edit_revision), "provenance.json", "code_revision"),
}


@pytest.mark.parametrize("name", list(TAMPERS))
@pytest.mark.parametrize("resealed", [False, True])
def test_every_tampered_output_is_found(tiny_run, tmp_path, capsys, name, resealed):
    _, run = tiny_run
    out = tmp_path / "run"
    shutil.copytree(run, out)
    tamper, file, needle = TAMPERS[name]
    tamper(out)
    if resealed:  # hashes updated: only the re-run can tell
        _reseal(out, file)
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 1
    text = capsys.readouterr().out
    assert needle in text, text
    assert "identical" not in text


@pytest.mark.parametrize(
    "name", ["monitoring_report.xlsx", "maps/program.html", "fo001_stands.gpkg", "summary.md"]
)
def test_deleted_and_extra_outputs_are_listed(tiny_run, tmp_path, capsys, name):
    _, run = tiny_run
    out = tmp_path / "run"
    shutil.copytree(run, out)
    (out / name).unlink()
    (out / "extra.csv").write_text("a\n")
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 1
    text = capsys.readouterr().out
    assert f"{name}: missing" in text and "extra.csv: extra file" in text, text


def test_corrupt_provenance_is_a_message(tiny_run, tmp_path, capsys):
    _, run = tiny_run
    out = tmp_path / "run"
    shutil.copytree(run, out)
    (out / "provenance.json").write_text('{"inputs": ', encoding="utf-8")
    assert main(["verify", str(out)]) == 1
    err = capsys.readouterr().err
    assert "provenance.json" in err and "not valid JSON" in err and "Traceback" not in err


def test_provenance_records_the_bytes_the_run_read(tmp_path, monkeypatch):
    """An input changed during the run (``ops add`` while computing): nothing is written, since
    provenance could not describe the bytes the outputs came from."""
    program = write_program(tmp_path / "program", [stand("A", 2.0)], [{"stand_id": "A", **THIN}])
    real = run_module.compute

    def compute_while_someone_edits(inputs, **kw):
        result = real(inputs, **kw)
        ops = program / "operations.csv"
        ops.write_text(ops.read_text() + "A,2016-06-01,thinning,\n")
        return result

    monkeypatch.setattr(run_module, "compute", compute_while_someone_edits)
    with pytest.raises(InputError, match="changed while the run was reading it"):
        run_module.run_program(program, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_provenance_hash_is_of_the_bytes_read_not_of_the_file_later(tmp_path):
    program = write_program(tmp_path / "program", [stand("A", 2.0)], [{"stand_id": "A", **THIN}])
    ops = program / "operations.csv"
    inputs = load_program(program)
    read = hashlib.sha256(ops.read_bytes()).hexdigest()
    ops.write_text(ops.read_text() + "A,2016-06-01,thinning,\n")
    described = describe_inputs(inputs.files, program)
    assert described["operations"]["sha256"] == read


def test_energy_run_folder_is_verified(tmp_path, capsys):
    program = energy_program(
        tmp_path / "energy",
        solar=ef.csv(ef.SITES, ef.site("H1"), ef.site("H2", kw=3.0)),
        solar_readings=ef.csv(
            ef.READINGS, ef.reading("H1", 5000, 3000), ef.reading("H2", 3000, 2000)
        ),
    )
    out = tmp_path / "run"
    assert main(["-q", "energy", str(program), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert "identical" in capsys.readouterr().out
    path = out / "solar_sites.csv"
    path.write_bytes(path.read_bytes().replace(b"H2", b"H9"))
    _reseal(out, "solar_sites.csv")
    assert main(["-q", "verify", str(out)]) == 1
    text = capsys.readouterr().out
    assert "site_id H9" in text and "site_id H2" in text, text


def test_tampered_credit_ledger_fails_verify(program, tmp_path, capsys):
    folder = program([stand("1-1-1", 10.0)], ops_for("1-1-1"))
    (folder / "buyers.csv").write_text("名称,種別,住所,経度,緯度,公開\n" + BANK_ROW, "utf-8")
    out = tmp_path / "run"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    period = "2023-04-01/2024-03-31"
    ledger.issue(
        folder,
        methodology="FO-001",
        period=period,
        tonnes=10,
        certified="2024-10-15",
        run_dir=out,
        now=clock,
    )
    ledger.sell(
        folder, buyer="つやま信金", tonnes=4, price_yen=40_000, date="2024-11-01", now=clock
    )
    # the run's report and maps show the ledger as it was: verify the run made after the sale
    out = tmp_path / "run2"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 0
    con = sqlite3.connect(folder / "records.gpkg")
    con.execute("DROP TRIGGER credit_entries_append_only_update")
    con.execute("UPDATE credit_entries SET tonnes = 1 WHERE action = 'sell'")  # one row
    con.commit()
    con.close()
    assert main(["-q", "verify", str(out)]) == 1
    text = capsys.readouterr().out
    assert "credit ledger: records.gpkg: entry 2: contents do not match its hash" in text
    assert (
        "credit_balances differ from the entries" in text and "1 credit ledger problem" not in text
    )


def test_verify_names_the_store_state_the_run_was_made_from(stored_program, tmp_path, capsys):
    """provenance.json records the ledger's head, the reviews and (PostgreSQL) content hashes of
    the operations and stands; verify names each part that changed since the run."""
    folder = stored_program([stand("1-1-1", 10.0), stand("1-2-1", 5.0)], ops_for("1-1-1"))
    (folder / "buyers.csv").write_text("名称,種別,住所,経度,緯度,公開\n" + BANK_ROW, "utf-8")
    first = tmp_path / "first"
    assert main(["-q", "run", str(folder), "--out", str(first)]) == 0
    ledger.issue(
        folder,
        methodology="FO-001",
        period="2023-04-01/2024-03-31",
        tonnes=10,
        certified="2024-10-15",
        run_dir=first,
        now=clock,
    )
    add_review(folder, "1-2-1", "standing", "seen 'standing'; --", now=clock)
    out = tmp_path / "run"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    recorded = json.loads((out / "provenance.json").read_text(encoding="utf-8"))["record_store"]
    head = ledger.read_ledger(folder)[1][-1]["hash"]
    assert recorded["ledger"] == {"entries": 1, "head": head}
    assert recorded["reviews"]["reviews"] == 1 and recorded["reviews"]["latest"] == 1
    if "[store]" in (folder / "program.toml").read_text(encoding="utf-8"):
        assert recorded["kind"] == "postgresql"
        assert recorded["operations"]["records"] == 1
        assert len(recorded["operations"]["sha256"]) == 64
        assert recorded["stands"]["stands"] == 2
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 0
    # the first run was made before the review and the ledger: named
    assert main(["-q", "verify", str(first)]) == 1
    text = capsys.readouterr().out
    if recorded["kind"] == "postgresql":
        empty = "0 entries, head 000000000000…"
        assert f"record store, credit ledger: the run was made from {empty}; now 1 entries" in text
    else:
        assert "record store: the run recorded no store state" in text
        assert "ledger 1 entries, head" in text and "reviews 1 reviews, latest #1" in text
    ledger.sell(folder, buyer="つやま信金", tonnes=4, price_yen=4, date="2024-11-01", now=clock)
    assert main(["-q", "verify", str(out)]) == 1
    text = capsys.readouterr().out
    new_head = ledger.read_ledger(folder)[1][-1]["hash"]
    assert (
        f"record store, credit ledger: the run was made from 1 entries, head {head[:12]}…; "
        f"now 2 entries, head {new_head[:12]}…"
    ) in text, text
    if recorded["kind"] == "postgresql":  # an operation recorded since: named too
        store.add_operation(folder, stand_id="1-2-1", date="2024-01-10", operation="weeding")
        assert main(["-q", "verify", str(out)]) == 1
        text = capsys.readouterr().out
        assert "record store, operations: the run was made from 1 records" in text
        assert "now 2 records" in text


def test_verify_never_reads_the_users_cache(tmp_path, monkeypatch, capsys):
    """A run's canopy statistics may come from the user's cache; verify re-derives them from the
    rasters. A cache entry edited by hand (every canopy height 0 m: every stand looks felled, so
    its removals are held) changes what `run` writes, and verify finds the difference."""
    monkeypatch.setenv("FORESTCARBON_CACHE_DIR", str(tmp_path / "cache"))
    program = tmp_path / "program"
    shutil.copytree(SAMPLE_PROGRAM, program)
    assert main(["-q", "run", str(program), "--out", str(tmp_path / "honest")]) == 0
    (entry,) = (tmp_path / "cache" / "canopy_zonal").glob("*.json")
    data = json.loads(entry.read_text())
    stats = data["value"]["stats"]
    for i, name in enumerate(stats["columns"]):
        if name.startswith("canopy_") and name.endswith("_m"):
            stats["data"][i] = [0.0 if v is not None else None for v in stats["data"][i]]
    entry.write_text(json.dumps(data))
    out = tmp_path / "tampered"
    assert main(["-q", "run", str(program), "--out", str(out)]) == 0
    honest = pd.read_csv(tmp_path / "honest" / "program_summary.csv")
    tampered = pd.read_csv(out / "program_summary.csv")
    assert tampered["credits_t"].sum() < honest["credits_t"].sum()  # the edited entry was used
    capsys.readouterr()
    assert main(["-q", "verify", str(out)]) == 1
    assert "program_summary.csv" in capsys.readouterr().out
    assert main(["-q", "verify", str(tmp_path / "honest")]) == 0
