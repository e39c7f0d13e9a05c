"""The catalogue of attacks of issue #11: each hostile or broken input is refused with exit 1, a
one-line message naming the culprit, no traceback, and nothing written (the output folder absent
or empty). Every case here gave wrong credits with exit 0, a traceback or a lost file before."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.cli.main import main
from forestcarbon.core.runfolder import require_complete
from tests.canopy.conftest import tiny_canopy_program, write_raster
from tests.conftest import ORIGIN, THIN, _problem_lines, stand

X0, Y0 = ORIGIN


def _toml(folder, old, new):
    path = folder / "program.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _base(program, **kw):
    return program([stand("A", 2.0), stand("B", 1.0)], [{"stand_id": "A", **THIN}], **kw)


def _crs(value):
    def attack(folder):
        _toml(folder, 'crs = "EPSG:6673"', f'crs = "{value}"')

    return attack


def _metres_as_degrees(folder):
    gdf = gpd.read_file(folder / "stands.gpkg")
    gdf.set_crs("EPSG:4326", allow_override=True).to_file(folder / "stands.gpkg", layer="stands")


def _scaled(folder):
    gdf = gpd.read_file(folder / "stands.gpkg")
    gdf.geometry = gdf.geometry.scale(30, 30, origin=(X0, Y0))  # 2 ha x 900 = 1800 ha
    gdf.to_file(folder / "stands.gpkg", layer="stands")


def _tiny(folder):
    gdf = gpd.read_file(folder / "stands.gpkg")
    geoms = list(gdf.geometry)
    geoms[1] = box(X0 + 5000, Y0, X0 + 5000 + 1e-4, Y0 + 1e-4)  # 0.1 mm across
    gdf.set_geometry(gpd.GeoSeries(geoms, crs=gdf.crs)).to_file(
        folder / "stands.gpkg", layer="stands"
    )


def _future_period(folder):
    _toml(
        folder,
        "end = 2024-03-31\n",
        "end = 2024-03-31\n\n[[periods]]\nstart = 2030-04-01\nend = 2031-03-31\n",
    )


def _ops(text):
    def attack(folder):
        (folder / "operations.csv").write_text(text, encoding="utf-8")

    return attack


def _outside_path(folder):
    _toml(folder, "[fo001]", '[inputs]\noperations = "/etc/passwd"\n\n[fo001]')


def _outside_allowed(folder):
    (folder.parent / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash\nb\n")
    _toml(
        folder,
        "[fo001]",
        '[inputs]\noperations = "../secret.txt"\nallow_outside_paths = true\n\n[fo001]',
    )


def _wide_header(folder):
    header = ",".join(f"c{i}" for i in range(100_000))
    (folder / "operations.csv").write_text(header + "\n" + "," * 99_999 + "\n", encoding="utf-8")


ATTACKS = {
    # 1. a working CRS not in metres: areas were computed in feet or km
    "crs-us-feet": (_crs("EPSG:2227"), ["[program] crs", "not the metre"]),
    "crs-km": (
        _crs("+proj=tmerc +lat_0=36 +lon_0=133.5 +k=0.9999 +ellps=GRS80 +units=km"),
        ["[program] crs", "kilometre"],
    ),
    "crs-unknown": (_crs("EPSG:999999"), ["[program] crs", "not a CRS"]),
    # 2. metres tagged as EPSG:4326: an empty area and -3.2e12 t before
    "metres-tagged-4326": (_metres_as_degrees, ["stands.gpkg", "feature 1 (A)", "not degrees"]),
    # 3. a stand scaled x 1e6: 8.5e11 ha and a wrapped negative total before
    "absurd-area": (_scaled, ["stands.gpkg", "A", "largest plausible stand (1000 ha)"]),
    # 13. a stand 0.1 mm across: KeyError 'arcs' in the map before
    "stand-0.1mm": (_tiny, ["stands.gpkg", "B", "smaller than the smallest plausible stand"]),
    # 5. a future monitoring period: credited 4,557 t before
    "future-period": (_future_period, ["2030-04-01/2031-03-31", "ends after the run date"]),
    "record-dated-9999": (
        _ops("stand_id,date,operation,area_ha\nA,9999-12-31,thinning,\n"),
        ["operations.csv", "row 2", "implausible date 9999-12-31"],
    ),
    # 6. a second 面積 column was ignored; 面積 and area_ha together too
    "header-twice": (
        _ops("stand_id,date,operation,面積,面積\nA,2015-06-01,thinning,1.0,0.5\n"),
        ["operations.csv", "column '面積'", "columns 4 and 5"],
    ),
    "headers-colliding": (
        _ops("stand_id,date,operation,面積,area_ha\nA,2015-06-01,thinning,1.0,0.5\n"),
        ["operations.csv", "'面積' and 'area_ha' both mean area_ha"],
    ),
    # 12. inputs confined to the program folder; a wrong file's content never echoed
    "outside-path": (_outside_path, ["[inputs] operations", "outside the program folder"]),
    "wrong-file-not-echoed": (_outside_allowed, ["secret.txt", "is this the right file?"]),
    # 14. a 100,000-column header took 467 s and 8.6 GB
    "wide-header": (_wide_header, ["operations.csv", "more than 1000 columns"]),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_refused_and_nothing_is_written(name, program, tmp_path, capsys):
    attack, needles = ATTACKS[name]
    folder = _base(program)
    attack(folder)
    start = time.perf_counter()
    code = main(["run", str(folder), "--out", str(tmp_path / "out")])
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    assert "root:" not in err  # the content of /etc/passwd is never printed
    assert not (tmp_path / "out").exists()
    assert elapsed < 30
    # validate is the gate: it reports exactly the problems run reports
    assert main(["validate", str(folder)]) == 1
    checked = capsys.readouterr().err
    assert _problem_lines(checked) == _problem_lines(err), checked


def test_wide_header_is_refused_in_well_under_a_second(program, capsys):
    folder = _base(program)
    _wide_header(folder)
    start = time.perf_counter()
    assert main(["validate", str(folder)]) == 1
    assert time.perf_counter() - start < 1.0
    assert "more than 1000 columns" in capsys.readouterr().err


# --- 4. canopy rasters outside physics ---------------------------------------------------------

RASTER_ATTACKS = {
    "height-3e38": ("canopy_height.tif", 3e38, "stand s0", "outside the plausible range -1..100 m"),
    "height-minus-50": ("canopy_height.tif", -50.0, "stand s0", "-50"),
    "height-inf": ("canopy_height.tif", np.inf, "stand s0", "inf"),
    "cover-26": ("cover_2024.tif", 26.0, "stand s0", "a percentage? divide by 100"),
}


@pytest.mark.parametrize("name", list(RASTER_ATTACKS))
def test_raster_values_outside_physics_are_refused(name, program, tmp_path, capsys):
    file, value, where, needle = RASTER_ATTACKS[name]
    folder = tiny_canopy_program(program)
    base = np.zeros((12, 320)) if file == "canopy_height.tif" else np.full((12, 320), 0.9)
    base[1:11, 1:11] = value  # inside stand s0
    write_raster(folder / file, base, left=X0 - 10, top=Y0 + 110)
    code = main(["run", str(folder), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err and file in err and where in err and needle in err, err
    assert not (tmp_path / "out").exists()
    assert main(["validate", str(folder)]) == 1  # validate reports the same problems
    assert _problem_lines(capsys.readouterr().err) == _problem_lines(err)


def test_heights_within_the_tolerance_are_accepted(program, tmp_path):
    folder = tiny_canopy_program(program)
    heights = np.zeros((12, 320))
    heights[1:11, 1:11] = -2.0  # DEM noise: -1 m minus less than the 5 m tolerance
    write_raster(folder / "canopy_height.tif", heights, left=X0 - 10, top=Y0 + 110)
    assert main(["-q", "run", str(folder), "--out", str(tmp_path / "out")]) == 0


# --- 5. fiscal years and forecast lengths out of range -----------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["register", "update", "{p}", "--to-fy", "1800"], "--to-fy"),
        (["register", "update", "{p}", "--to-fy", "99999"], "--to-fy"),
        (["plan", "forecast", "{p}", "--years", "100000"], "--years"),
    ],
)
def test_absurd_years_are_refused_with_a_message(args, needle, program, tmp_path, capsys):
    folder = _base(program)
    before = sorted(p.name for p in folder.iterdir())
    args = [a.replace("{p}", str(folder)) for a in args]
    assert main([*args, "--out", str(tmp_path / "x.gpkg" if "register" in args else tmp_path)]) == 1
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err, err
    assert sorted(p.name for p in folder.iterdir()) == before


# --- 3. exact sums never wrap ---------------------------------------------------------------------


def test_exact_sum_does_not_wrap_beyond_int64():
    from decimal import Decimal

    from forestcarbon.methods.totals import exact_sum

    # 2 x 6e9 t = 1.2e10 t = 1.2e19 nano-tonnes > int64 max 9.22e18: wrapped negative before
    assert exact_sum([6e9, 6e9]) == Decimal("12000000000")
    with pytest.raises(ValueError, match="not finite"):
        exact_sum([1.0, float("inf")])


# --- 13. environment problems: one line, no traceback ------------------------------------------


def test_disk_full_while_writing_is_a_message(program, tmp_path, capsys, monkeypatch):
    folder = _base(program)
    import forestcarbon.core.runfolder as runfolder

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runfolder, "file_sha256", full)
    code = main(["run", str(folder), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_interrupt_exits_130_without_traceback(program, tmp_path, capsys, monkeypatch):
    folder = _base(program)
    import forestcarbon.run as run

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "compute", interrupted)
    assert main(["run", str(folder), "--out", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_bom_in_program_toml_is_accepted(program, tmp_path):
    folder = _base(program)
    path = folder / "program.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert main(["-q", "validate", str(folder)]) == 0


def test_summary_escapes_the_program_name(program, tmp_path):
    folder = _base(program)
    _toml(folder, 'name = "test program"', 'name = "<script>x</script> [a](javascript:b) # *c*"')
    assert main(["-q", "run", str(folder), "--out", str(tmp_path / "out")]) == 0
    first = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8").splitlines()[0]
    assert "<script>" not in first and "](" not in first
    escaped = "# &lt;script&gt;x&lt;/script&gt; \\[a\\]\\(javascript:b\\) \\# \\*c\\*"
    assert first.startswith(escaped)


def test_custom_tiles_with_attribution_and_no_tiles(program, tmp_path, capsys):
    folder = _base(program)
    _toml(
        folder,
        "[fo001]",
        '[map]\ntiles = "https://tiles.city.local/{z}/{x}/{y}.png"\n'
        'tiles_attribution = "© 津山市"\n\n[fo001]',
    )
    assert main(["-q", "map", str(folder), "--out", str(tmp_path / "m")]) == 0
    html = next((tmp_path / "m" / "maps").glob("*_internal.html")).read_text(encoding="utf-8")
    assert "tiles.city.local" in html
    assert "© 津山市" in html or json.dumps("© 津山市") in html
    # without an attribution the host name is shown (the intranet option works as documented)
    _toml(folder, 'tiles_attribution = "© 津山市"\n', "")
    assert main(["-q", "map", str(folder), "--out", str(tmp_path / "m2")]) == 0
    # --tiles none: the map still has a maximum zoom (Leaflet needs one for clustering)
    assert main(["-q", "map", str(folder), "--out", str(tmp_path / "m3"), "--tiles", "none"]) == 0
    html = next((tmp_path / "m3" / "maps").glob("*_internal.html")).read_text(encoding="utf-8")
    assert '"maxZoom": 18' in html
    assert "Traceback" not in capsys.readouterr().err


def test_unknown_tiles_is_a_message(program, tmp_path, capsys):
    folder = _base(program)
    assert main(["map", str(folder), "--out", str(tmp_path / "m"), "--tiles", "google"]) == 1
    err = capsys.readouterr().err
    assert "[map] tiles" in err and "Traceback" not in err


# --- 11. never overwrite or delete what the user has ---------------------------------------------


def test_run_into_the_program_folder_is_refused(program, capsys):
    folder = _base(program)
    (folder / "solar_sites.csv").write_text("site_id\n", encoding="utf-8")  # named like an output
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["run", str(folder), "--out", str(folder), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "holds an input of the program" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_register_update_never_replaces_the_input_register(program, capsys):
    folder = _base(program)
    before = (folder / "stands.gpkg").read_bytes()
    args = ["register", "update", str(folder), "--to-fy", "2024"]
    assert main([*args, "--out", str(folder / "stands.gpkg"), "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "is an input of the program; it is never overwritten" in err
    assert (folder / "stands.gpkg").read_bytes() == before


def test_a_folder_named_like_an_output_is_never_deleted(program, tmp_path, capsys):
    folder = _base(program)
    out = tmp_path / "out"
    (out / "summary.md").mkdir(parents=True)
    (out / "summary.md" / "notes.txt").write_text("mine", encoding="utf-8")
    for command in ("run", "report"):
        assert main([command, str(folder), "--out", str(out), "--overwrite"]) == 1
        err = capsys.readouterr().err
        assert "summary.md" in err or "not a run folder" in err, err
    assert (out / "summary.md" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_output_paths_that_are_links_are_never_followed(program, tmp_path, capsys):
    folder = _base(program)
    victim = tmp_path / "victim.md"
    victim.write_text("precious", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.md").symlink_to(victim)
    assert main(["report", str(folder), "--out", str(out), "--overwrite"]) == 1
    assert "symbolic link" in capsys.readouterr().err
    link = tmp_path / "linked_out"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    assert main(["run", str(folder), "--out", str(link)]) == 1
    assert "symbolic link" in capsys.readouterr().err
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not (tmp_path / "elsewhere").exists()


def test_existing_run_is_refused_before_anything_is_computed(
    program, tmp_path, capsys, monkeypatch
):
    folder = _base(program)
    out = tmp_path / "out"
    assert main(["-q", "run", str(folder), "--out", str(out)]) == 0
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    import forestcarbon.run as run

    def must_not_load(*_a, **_k):
        raise AssertionError("the program was loaded before the output folder was checked")

    monkeypatch.setattr(run, "load_for_run", must_not_load)
    assert main(["run", str(folder), "--out", str(out)]) == 1
    assert "already holds a run; use --overwrite" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_ctrl_c_during_a_real_run_exits_130(tmp_path):
    """SIGINT (Ctrl-C) while the bundled sample runs: exit 130, one line, nothing written."""
    out = tmp_path / "out"
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "forestcarbon", "run", str(SAMPLE_PROGRAM), "--out", str(out)],
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stderr:  # the first progress line: the program is being computed
        if "FO-001:" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert not out.exists() or require_complete(out)  # never a half-written folder
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_wide_xlsx_is_refused_quickly(program, capsys):
    import openpyxl

    folder = _base(program)
    wb = openpyxl.Workbook()
    wb.active.append([f"c{i}" for i in range(5000)])
    wb.save(folder / "operations.xlsx")
    _toml(folder, "[fo001]", '[inputs]\noperations = "operations.xlsx"\n\n[fo001]')
    start = time.perf_counter()
    assert main(["validate", str(folder)]) == 1
    assert time.perf_counter() - start < 5
    assert "more than 1000 columns (5000)" in capsys.readouterr().err


def test_xlsx_header_naming_a_column_twice_is_refused(program, capsys):
    import openpyxl

    folder = _base(program)
    wb = openpyxl.Workbook()
    wb.active.append(["stand_id", "date", "operation", "面積", "面積"])
    wb.active.append(["A", "2015-06-01", "thinning", 1.0, 0.5])
    wb.save(folder / "operations.xlsx")
    _toml(folder, "[fo001]", '[inputs]\noperations = "operations.xlsx"\n\n[fo001]')
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "operations.xlsx" in err and "columns 4 and 5" in err, err
