"""Record store (forestcarbon.officer.store, ``forestcarbon ops``): round-trips, history, undo,
refusals, and a write killed mid-way. Every test that does not open the GeoPackage file itself
runs on both stores (``store_kind``: GeoPackage, PostgreSQL/PostGIS). Reading a store:
tests/inputs/test_records.py; PostgreSQL only (constraints, concurrency, privileges):
tests/inputs/test_store_postgres.py."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyogrio
import pytest

from forestcarbon.cli.main import main
from forestcarbon.core.exceptions import InputError
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.records import read_records
from forestcarbon.officer import store
from tests.conftest import stand

STORE_TOML = '[inputs]\noperations = "records.gpkg"\n'
JA_HEADERS = ["林班", "小班", "枝番", "施業", "実施日", "面積", "材積", "備考"]


def clock(*stamps):
    """A fake clock returning the given UTC times in turn."""
    times = iter(dt.datetime(*s, tzinfo=dt.UTC) for s in stamps)
    return lambda: next(times)


@pytest.fixture
def officer_program(program, store_kind):
    """Three sugi stands (1 ha, 2 ha, 1 ha; planted FY1993) whose operations live in the record
    store (not created yet): records.gpkg, or a PostgreSQL schema."""
    return program(
        [stand("1-1-1", 1.0), stand("1-2-1", 2.0), stand("1-3-1", 1.0)],
        [],
        extra_toml=store_kind,
    )


@pytest.fixture
def gpkg_program(program):
    """``officer_program`` on the GeoPackage store only (tests that open the file)."""
    return program(
        [stand("1-1-1", 1.0), stand("1-2-1", 2.0), stand("1-3-1", 1.0)],
        [],
        extra_toml=STORE_TOML,
    )


def records_of(folder):
    return read_records(store.program_store(folder))


def write_ja_csv(path, rows):
    """Operations as a Shift_JIS (cp932) CSV with Japanese headers, as 森林簿 systems export."""
    df = pd.DataFrame(rows, columns=JA_HEADERS)
    df.to_csv(path, index=False, encoding="cp932")
    return path


SEED_ROWS = [
    (1, 1, 1, "間伐", "2010-06-01", "1.0", "35.5", "業者A"),
    (1, 2, 1, "下刈", "1995-07-10", "2.0", "", ""),
    (1, 2, 1, "間伐", "2015-11-20", "1.5", "60", ""),
]


def seed(folder, tmp_path, now=None):
    csv = write_ja_csv(tmp_path / "seed.csv", SEED_ROWS)
    return store.import_operations(folder, csv, now=now or clock((2025, 4, 1, 9)))


def snapshot(folder):
    path = store.program_store(folder)
    return read_records(path), store.read_history(path)


def assert_unchanged(folder, before):
    records, history = snapshot(folder)
    pd.testing.assert_frame_equal(records, before[0])
    pd.testing.assert_frame_equal(history, before[1])


# --- round-trips ---------------------------------------------------------------------------------


def test_import_cp932_japanese_headers_round_trip(officer_program, tmp_path):
    result = seed(officer_program, tmp_path)
    assert (result.change, result.action, result.n_added, result.n_removed) == (1, "import", 3, 0)
    records = records_of(officer_program)
    assert records["stand_id"].tolist() == ["1-1-1", "1-2-1", "1-2-1"]
    assert records["operation"].tolist() == ["thinning", "weeding", "thinning"]
    assert records["date"].tolist() == ["2010-06-01", "1995-07-10", "2015-11-20"]
    np.testing.assert_allclose(records["area_ha"], [1.0, 2.0, 1.5])
    np.testing.assert_allclose(records["volume_m3"], [35.5, np.nan, 60.0])
    assert records["note"].tolist() == ["業者A", "", ""]
    # load_program reads the store: the same operations a CSV would give, row = record fid
    ops = load_program(officer_program).operations
    assert ops[["stand_id", "operation"]].values.tolist() == [
        ["1-1-1", "thinning"],
        ["1-2-1", "weeding"],
        ["1-2-1", "thinning"],
    ]
    assert ops["source_row"].tolist() == [1, 2, 3]
    assert ops["date"].tolist() == [
        dt.date(2010, 6, 1),
        dt.date(1995, 7, 10),
        dt.date(2015, 11, 20),
    ]


def test_store_is_a_plain_geopackage(gpkg_program, tmp_path):
    seed(gpkg_program, tmp_path)
    path = gpkg_program / "records.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert {"operations", "history", "history_rows"} <= layers
    table = pyogrio.read_dataframe(path, layer="operations")
    assert len(table) == 3
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
        kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
        geometry = con.execute(
            "SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns "
            "WHERE table_name = 'operations'"
        ).fetchall()
    # operations is a polygon layer (treated areas, QGIS edits it); the history stays attributes
    assert kinds["operations"] == "features"
    assert geometry == [("geometry", "MULTIPOLYGON", 6673)]
    assert kinds["history"] == "attributes"
    assert table.crs.to_epsg() == 6673
    assert table.geometry.isna().all()  # recorded without polygons


def test_add_then_undo_restores_the_previous_state(officer_program, tmp_path):
    seed(officer_program, tmp_path)
    before_records = records_of(officer_program)
    added = store.add_operation(
        officer_program,
        stand_id="1-3-1",
        date="2024-10-15",
        operation="thinning",
        area_ha="0.8",
        volume_m3="20",
        note="試験",
        now=clock((2025, 4, 2, 10)),
    )
    assert (added.change, added.n_added) == (2, 1)
    records = records_of(officer_program)
    assert len(records) == 4
    new = records.iloc[-1]
    assert (new["fid"], new["stand_id"], new["date"], new["operation"]) == (
        4,
        "1-3-1",
        "2024-10-15",
        "thinning",
    )
    assert (new["area_ha"], new["volume_m3"], new["note"]) == (0.8, 20.0, "試験")
    undone = store.undo_last(officer_program, now=clock((2025, 4, 3, 11)))
    assert (undone.change, undone.action, undone.n_added, undone.n_removed) == (3, "undo", 0, 1)
    pd.testing.assert_frame_equal(records_of(officer_program), before_records)


def test_repeated_undo_walks_back_then_stops(officer_program, tmp_path):
    seed(officer_program, tmp_path)
    store.add_operation(officer_program, stand_id="1-3-1", date="2020-05-01", operation="除伐")
    store.undo_last(officer_program)  # undoes the add
    store.undo_last(officer_program)  # undoes the import
    assert records_of(officer_program).empty
    with pytest.raises(InputError, match="nothing to undo"):
        store.undo_last(officer_program)
    history = store.read_history(store.program_store(officer_program))
    assert history["action"].tolist() == ["import", "add", "undo", "undo"]
    assert history["undoes"].tolist()[2:] == [2, 1]
    assert history["undone_by"].tolist()[:2] == [4, 3]


def test_history_is_complete_and_replays_to_the_records(officer_program, tmp_path):
    seed(officer_program, tmp_path, now=clock((2025, 4, 1, 9, 0, 0)))
    store.add_operation(
        officer_program,
        stand_id="1-3-1",
        date="2024-06-01",
        operation="weeding",
        message="下刈 recorded from the field book",
        now=clock((2025, 4, 1, 9, 30, 5)),
    )
    store.undo_last(officer_program, now=clock((2025, 4, 1, 10, 0, 0)))
    store.add_operation(
        officer_program,
        stand_id="1-3-1",
        date="2024-06-02",
        operation="weeding",
        now=clock((2025, 4, 1, 10, 5, 0)),
    )
    path = store.program_store(officer_program)
    history = store.read_history(path)
    assert history["time"].tolist() == [
        "2025-04-01T09:00:00Z",
        "2025-04-01T09:30:05Z",
        "2025-04-01T10:00:00Z",
        "2025-04-01T10:05:00Z",
    ]
    assert history["action"].tolist() == ["import", "add", "undo", "add"]
    assert history["note"].tolist()[:2] == [
        "import seed.csv (3 rows)",
        "下刈 recorded from the field book",
    ]
    assert history["n_added"].tolist() == [3, 1, 0, 1]
    assert history["n_removed"].tolist() == [0, 0, 1, 0]
    table = path.read(lambda session: session.history_rows())
    later = table[table["change"] > 1][["change", "effect", "record", "date"]]
    assert list(later.itertuples(index=False, name=None)) == [
        (2, "added", 4, "2024-06-01"),
        (3, "removed", 4, "2024-06-01"),
        (4, "added", 5, "2024-06-02"),
    ]
    pd.testing.assert_frame_equal(store.replay_history(path), read_records(path))
    ok, text = store.verify_history(path)
    assert ok, text


def test_history_tables_are_append_only(gpkg_program, tmp_path):
    seed(gpkg_program, tmp_path)
    with sqlite3.connect(gpkg_program / "records.gpkg") as con:
        for sql in ("UPDATE history SET note = 'x'", "DELETE FROM history_rows"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                con.execute(sql)


def test_edits_outside_forestcarbon_are_reported(gpkg_program, tmp_path):
    seed(gpkg_program, tmp_path)
    path = gpkg_program / "records.gpkg"
    with sqlite3.connect(path) as con:
        con.execute("UPDATE operations SET area_ha = 0.5 WHERE fid = 1")  # e.g. edited in QGIS
    ok, text = store.verify_history(path)
    assert not ok
    assert "1 record(s) not explained" in text


# --- refusals ------------------------------------------------------------------------------------


def refused(folder, match, **op):
    before = snapshot(folder)
    with pytest.raises(InputError) as err:
        store.add_operation(folder, **op)
    assert_unchanged(folder, before)
    for needle in match:
        assert needle in str(err.value), str(err.value)
    return str(err.value)


def test_refuses_exact_duplicate(officer_program, tmp_path):
    seed(officer_program, tmp_path)
    name = store.program_store(officer_program).name  # records.gpkg, or "schema t_..."
    refused(
        officer_program,
        ["ops add, stand 1-1-1", f"exact duplicate of row 1 of {name}", "already recorded"],
        stand_id="1-1-1",
        date="2010-06-01",
        operation="間伐",
        area_ha="1.0",
        volume_m3="35.5",
        note="a different note does not make it a different record",
    )


def test_refuses_second_final_harvest_without_replanting(officer_program, tmp_path):
    seed(officer_program, tmp_path)
    store.add_operation(
        officer_program, stand_id="1-2-1", date="2023-11-01", operation="主伐", area_ha="2.0"
    )
    refused(
        officer_program,
        ["stand 1-2-1", "final harvest of 2.00 ha exceeds the standing area 0.00 ha"],
        stand_id="1-2-1",
        date="2024-11-01",
        operation="final_harvest",
    )
    # after a replanting the next harvest is fine
    store.add_operation(officer_program, stand_id="1-2-1", date="2024-04-20", operation="再造林")
    store.add_operation(officer_program, stand_id="1-2-1", date="2026-11-01", operation="主伐")


def test_refuses_operation_before_planting(officer_program, tmp_path):
    seed(officer_program, tmp_path)
    refused(
        officer_program,
        ["stand 1-3-1", "column 'date'", "FY1990", "before the stand's planting year 1993"],
        stand_id="1-3-1",
        date="1991-02-01",
        operation="thinning",
    )


def test_operation_of_an_earlier_crop_is_accepted_with_its_harvest(program, store_kind, tmp_path):
    # register crop planted FY2012 after a final harvest in FY2011; a 2005 thinning belongs to
    # the felled crop and is accepted because the harvest is recorded after it
    folder = program([stand("2-1-1", 1.0, planted_year=2012)], [], extra_toml=store_kind)
    csv = write_ja_csv(
        tmp_path / "history.csv",
        [
            (2, 1, 1, "間伐", "2005-10-01", "1.0", "", ""),
            (2, 1, 1, "主伐", "2011-12-01", "1.0", "", ""),
            (2, 1, 1, "再造林", "2012-04-15", "1.0", "", ""),
        ],
    )
    assert store.import_operations(folder, csv).n_added == 3


def test_refuses_area_larger_than_the_stand_and_unknown_stand_at_once(officer_program, tmp_path):
    seed(officer_program, tmp_path)
    before = snapshot(officer_program)
    csv = write_ja_csv(
        tmp_path / "bad.csv",
        [
            (1, 1, 1, "間伐", "2024-06-01", "1.5", "", ""),  # 1-1-1 is 1 ha
            (9, 9, 1, "間伐", "2024-06-01", "1.0", "", ""),  # no such stand
            (1, 3, 1, "下刈", "2024-06-01", "", "", ""),  # fine, but nothing is written
            (1, 3, 1, "下刈", "2024-06-01", "", "", ""),  # the same row twice in the file
        ],
    )
    with pytest.raises(InputError) as err:
        store.import_operations(officer_program, csv)
    text = str(err.value)
    assert "3 problems" in text
    assert "bad.csv, row 2 (1-1-1), column '面積': treated area 1.5 ha is larger than" in text
    assert "bad.csv, row 3, column '林班+小班+枝番': operation for unknown stand '9-9-1'" in text
    assert "bad.csv, row 5 (1-3-1): exact duplicate of row 4 of the same input" in text
    assert_unchanged(officer_program, before)


def test_refuses_bad_values_with_the_column(officer_program, tmp_path):
    seed(officer_program, tmp_path)
    text = refused(
        officer_program,
        [
            "ops add",
            "column 'date': expected a date like 2024-10-15 (this day does not exist), "
            "got '2024-13-40'",
        ],
        stand_id="1-1-1",
        date="2024-13-40",
        operation="thinning",
    )
    assert "row 2" not in text


def test_cli_round_trip_and_errors(officer_program, tmp_path, capsys):
    csv = write_ja_csv(tmp_path / "seed.csv", SEED_ROWS)
    assert main(["ops", "import", str(officer_program), str(csv)]) == 0
    assert "change 1 (import): 3 record(s) added" in capsys.readouterr().out
    args = ["-q", "ops", "add", str(officer_program)]
    args += ["--stand", "1-3-1", "--date", "2024-10-15", "--operation", "thinning"]
    args += ["--area-ha", "0.5", "-m", "field check"]
    assert main(args) == 0
    assert main(args) == 1  # the same record again
    err = capsys.readouterr().err
    assert "exact duplicate" in err and "Traceback" not in err
    assert main(["ops", "history", str(officer_program)]) == 0
    out = capsys.readouterr().out
    assert "field check" in out and "history complete" in out
    assert main(["-q", "ops", "undo", str(officer_program)]) == 0
    assert main(["-q", "ops", "import", str(officer_program), str(tmp_path / "missing.csv")]) == 1
    assert "file not found" in capsys.readouterr().err


# --- a write killed mid-way ----------------------------------------------------------------------

N_KILL_ROWS = 200_000


def big_import(path, n):
    """``n`` distinct thinnings over 20 stands (cp932, Japanese headers)."""
    i = np.arange(n)
    j = i // 20
    dates = pd.Timestamp("2000-01-01") + pd.to_timedelta(j % 5000, unit="D")
    df = pd.DataFrame(
        {
            "林班": 1,
            "小班": i % 20 + 1,
            "枝番": 1,
            "施業": "間伐",
            "実施日": dates.strftime("%Y-%m-%d"),
            "面積": np.where(j < 5000, "0.1", "0.2"),
            "材積": "",
            "備考": "",
        }
    )
    df.to_csv(path, index=False, encoding="cp932")
    return path


def test_import_killed_mid_write_leaves_the_previous_state(program, tmp_path):
    folder = program([stand(f"1-{k}-1", 2.0) for k in range(1, 21)], [], extra_toml=STORE_TOML)
    seed(folder, tmp_path)
    path = folder / "records.gpkg"
    journal = path.with_name(path.name + "-journal")
    before = snapshot(folder)
    csv = big_import(tmp_path / "big.csv", N_KILL_ROWS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "forestcarbon.cli", "-q", "ops", "import", str(folder), str(csv)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    size = path.stat().st_size
    deadline = time.monotonic() + 300
    # wait until the transaction has started (journal) and has already written pages into the
    # store file itself (SQLite spills its 2 MB cache long before 200,000 rows are in)
    while not (journal.exists() and path.stat().st_size != size):
        assert proc.poll() is None, f"import ended before it wrote: {proc.stderr.read()!r}"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert journal.exists(), "the kill must land inside the transaction (hot journal left)"
    assert path.stat().st_size != size  # the store file is half-written
    # the next reader rolls the interrupted write back: exactly the previous state
    assert_unchanged(folder, before)
    assert len(pyogrio.read_dataframe(path, layer="operations")) == len(before[0])
    assert store.verify_history(path)[0]
    # and the store keeps working
    store.add_operation(folder, stand_id="1-5-1", date="2024-05-01", operation="weeding")
    assert len(read_records(path)) == len(before[0]) + 1
    assert not journal.exists()
