"""``forestcarbon verify RUN_DIR``: re-run the recorded inputs and settings, report differences.

A run folder is verified only when it is complete (its ``run_complete.json`` exists). Then:

* every file of the folder is checked against the completion record (missing, extra, modified);
* every input must still have the sha256 recorded in ``provenance.json``;
* the program is re-run from its inputs into a temporary folder and **every output** is compared
  with the recorded one: byte for byte (the outputs are deterministic), and where bytes differ,
  value by value (CSV: key, column, recorded -> new; XLSX: sheet and cell; GeoPackage: feature
  and column, geometry included); ``provenance.json`` key by key, so edited ``settings``,
  ``code_revision`` or ``outputs_sha256`` are reported against those re-derived from
  ``program.toml`` and the code; files only in the recorded run or only in the re-run are listed.

When the program keeps a credit ledger, its hash chain is recomputed and its balances are
recomputed from the entries and compared with the stored ones
(:func:`forestcarbon.officer.ledger.check_ledger`). The state of the record store the run was made
from (``record_store`` in ``provenance.json``: the ledger's head, the reviews, a PostgreSQL store's
operations and stands) is compared with the store's state now, and each difference is named as a
changed input (:func:`check_store_state`).
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio

from forestcarbon.core import cache
from forestcarbon.core.config import load_settings
from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.files import COMPLETION_FILE, file_sha256, write_file
from forestcarbon.core.params import table_path
from forestcarbon.core.runfolder import files_in, read_kind, require_complete, verify_completion
from forestcarbon.inputs.program import load_program
from forestcarbon.inputs.readers import parquet_parts
from forestcarbon.inputs.store_state import store_state
from forestcarbon.officer.ledger import check_ledger
from forestcarbon.run import compute, energy_outputs, output_files

KEY_COLUMNS = ("methodology", "stand_id", "site_id", "unit_id", "period")
"""Columns that identify a row of an output table, where present."""

MAX_LISTED = 200
"""Changed values listed per file; the rest are counted."""


@dataclass
class Verification:
    """What differs between a run folder and its re-run."""

    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)
    n_values: int = 0
    ledger: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.inputs or self.outputs or self.n_values or self.ledger)

    @property
    def n_outputs(self) -> int:
        """Outputs with a problem (missing, extra, modified or with differing values)."""
        return len(self.outputs) + len(self.values)

    def text(self) -> str:
        lines = [f"inputs: {m}" for m in self.inputs] + [f"outputs: {m}" for m in self.outputs]
        lines += [f"credit ledger: {m}" for m in self.ledger]
        for name, changes in self.values.items():
            lines.append(f"{name}: {len(changes)} value(s) differ")
            lines += [f"  {c}" for c in changes[:MAX_LISTED]]
            if len(changes) > MAX_LISTED:
                lines.append(f"  ... and {len(changes) - MAX_LISTED} more")
        verdict = (
            "identical: every input and every number reproduced"
            if self.ok
            else f"{len(self.inputs)} input(s) changed, {self.n_values} number(s) differ, "
            f"{self.n_outputs} output problem(s)"
            + (f", {len(self.ledger)} credit ledger problem(s)" if self.ledger else "")
        )
        return "\n".join([*lines, f"verify: {verdict}"])


def _input_path(record: dict, program_dir: Path) -> Path:
    path = record["path"]
    if path.startswith("<packaged>/"):
        return Path(str(table_path(Path(path).stem)))
    return Path(path) if Path(path).is_absolute() else program_dir / path


def check_inputs(provenance: dict, program_dir: Path) -> list[str]:
    """Inputs whose bytes differ from the recorded sha256 (or that are missing)."""
    out = []
    for role, record in sorted(provenance["inputs"].items()):
        path = _input_path(record, program_dir)
        if path.is_symlink() or (path.is_dir() and not parquet_parts(path)):
            out.append(f"{record['path']} ({role}): not a regular file")
            continue
        if not path.exists():
            out.append(f"{record['path']} ({role}): missing")
            continue
        sha = file_sha256(path)
        if sha != record["sha256"]:
            out.append(
                f"{record['path']} ({role}): changed (sha256 {record['sha256'][:12]}... "
                f"-> {sha[:12]}...)"
            )
    return out


def _short(part: dict | None) -> str:
    """One part of a store state in words: '5 entries, head 1a2b3c4d5e6f…'."""
    if not part:
        return "none"
    words = []
    for key, value in part.items():
        if key in ("sha256", "head"):
            words.append(f"{key} {str(value)[:12]}…")
        elif key == "latest":
            words.append(f"latest #{value}")
        else:
            words.append(f"{value} {key}")
    return ", ".join(words)


def check_store_state(provenance: dict, program_dir: Path, settings=None) -> list[str]:
    """Parts of the record store whose state differs from the one the run recorded
    (``record_store`` of provenance.json): the credit ledger, the reviews, a PostgreSQL store's
    operations and stands, or the store itself."""
    recorded = provenance.get("record_store")
    try:
        now = store_state(program_dir, settings or load_settings(program_dir))
    except InputError as e:
        return [f"record store: cannot be read ({e})"]
    if recorded is None and now is None:
        return []
    if recorded is not None and not isinstance(recorded, dict):
        return ["record store: malformed record_store in provenance.json"]
    if recorded is None:
        parts = "; ".join(f"{k} {_short(v)}" for k, v in now.items() if isinstance(v, dict))
        return [
            "record store: the run recorded no store state (no reviews, ledger or database "
            f"then, or an older forestcarbon); now {parts}"
        ]
    now = now or {}
    out = []
    for key in ("kind", "store"):
        if recorded.get(key) != now.get(key):
            out.append(
                f"record store: the run read {recorded.get(key)!r}, the program now uses "
                f"{now.get(key)!r}"
            )
    names = {"ledger": "credit ledger", "reviews": "reviews", "operations": "operations",
             "stands": "stands"}  # fmt: skip
    for key, name in names.items():
        if recorded.get(key) != now.get(key):
            out.append(
                f"record store, {name}: the run was made from {_short(recorded.get(key))}; "
                f"now {_short(now.get(key))}"
            )
    return out


def _read(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")


def diff_tables(recorded: bytes, recomputed: bytes) -> list[str]:
    """Every changed value of a CSV output: 'key, column: recorded -> recomputed'."""
    a, b = _read(recorded), _read(recomputed)
    keys = [k for k in KEY_COLUMNS if k in a.columns and k in b.columns]
    if not keys:
        a, b = a.reset_index(), b.reset_index()
        keys = ["index"]
    merged = a.merge(b, on=keys, how="outer", suffixes=("@rec", "@new"), indicator=True)

    def where(row) -> str:
        return ", ".join(f"{k} {row[k]}" for k in keys)

    changes = [
        f"{where(row)}: row only in the "
        f"{'recorded run' if row['_merge'] == 'left_only' else 're-run'}"
        for _, row in merged[merged["_merge"] != "both"].iterrows()
    ]
    changes += [f"column {c}: only in the recorded run" for c in a.columns if c not in b.columns]
    changes += [f"column {c}: only in the re-run" for c in b.columns if c not in a.columns]
    values = merged[merged["_merge"] == "both"]
    for col in [c for c in a.columns if c not in keys and c in b.columns]:
        rec, new = values[f"{col}@rec"], values[f"{col}@new"]
        for i in (rec != new).to_numpy().nonzero()[0]:
            changes.append(f"{where(values.iloc[i])}, {col}: {rec.iloc[i]} -> {new.iloc[i]}")
    return changes


def _read_provenance(run_dir: Path) -> dict:
    prov_path = run_dir / "provenance.json"
    if not prov_path.is_file():
        raise InputError(Problem(str(prov_path), "", "", "not found: is this a run folder?"))
    try:
        provenance = json.loads(prov_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(Problem(str(prov_path), "", "", f"not valid JSON ({e})")) from None
    needed = {"inputs": dict, "outputs_sha256": dict}
    for key, kind in needed.items():
        if not isinstance(provenance, dict) or not isinstance(provenance.get(key), kind):
            raise InputError(
                Problem(str(prov_path), "", key, "missing or malformed: not a provenance record")
            )
    for role, record in provenance["inputs"].items():
        if not isinstance(record, dict) or not {"path", "sha256"} <= set(record):
            raise InputError(Problem(str(prov_path), role, "inputs", "malformed input record"))
    return provenance


def _write_rerun(files: dict, folder: Path) -> None:
    for name, content in files.items():
        write_file(folder / name, content)


def diff_xlsx(recorded: Path, recomputed: Path) -> list[str]:
    """Every differing cell of two workbooks: 'sheet!A1: recorded -> recomputed'."""
    a, b = openpyxl.load_workbook(recorded), openpyxl.load_workbook(recomputed)
    changes = [f"sheet {n}: only in the recorded run" for n in a.sheetnames if n not in b]
    changes += [f"sheet {n}: only in the re-run" for n in b.sheetnames if n not in a]
    for name in [n for n in a.sheetnames if n in b.sheetnames]:
        wa, wb = a[name], b[name]
        rows = max(wa.max_row, wb.max_row)
        cols = max(wa.max_column, wb.max_column)
        for r in range(1, rows + 1):
            for c in range(1, cols + 1):
                va, vb = wa.cell(r, c).value, wb.cell(r, c).value
                if va != vb:
                    changes.append(f"{name}!{wa.cell(r, c).coordinate}: {va!r} -> {vb!r}")
    return changes


def _features_csv(gdf) -> bytes:
    """A layer's features as CSV, geometry as exact WKT (compared value by value)."""
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    df["geometry"] = gdf.geometry.to_wkt(rounding_precision=-1).to_numpy()
    return df.to_csv(index=False).encode("utf-8")


def diff_gpkg(recorded: Path, recomputed: Path) -> list[str]:
    """Every differing value of two single-layer GeoPackages (geometry compared as WKT)."""
    try:
        return diff_tables(
            _features_csv(pyogrio.read_dataframe(recorded)),
            _features_csv(pyogrio.read_dataframe(recomputed)),
        )
    except Exception as e:  # GDAL raises many types for a damaged file
        return [f"cannot be read as a GeoPackage ({type(e).__name__}: {e})"]


def diff_parquet(recorded: Path, recomputed: Path) -> list[str]:
    """Every differing value of two GeoParquet parts (a streamed run's per-stand results;
    geometry compared as WKT)."""
    try:
        return diff_tables(
            _features_csv(gpd.read_parquet(recorded)), _features_csv(gpd.read_parquet(recomputed))
        ) or ["bytes differ although every value is equal"]
    except Exception as e:  # pyarrow raises many types for a damaged file
        return [f"cannot be read as GeoParquet ({type(e).__name__}: {e})"]


def diff_provenance(recorded: bytes, recomputed: bytes) -> list[str]:
    """Top-level keys of provenance.json whose values differ from the re-derived record."""
    try:
        a = json.loads(recorded.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return [f"not valid JSON ({e})"]
    b = json.loads(recomputed.decode("utf-8"))
    changes = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
                inner = sorted(
                    k for k in set(a[key]) | set(b[key]) if a[key].get(k) != b[key].get(k)
                )
                changes += [
                    f"{key}.{k}: {json.dumps(a[key].get(k), ensure_ascii=False)[:120]} -> "
                    f"{json.dumps(b[key].get(k), ensure_ascii=False)[:120]}"
                    for k in inner
                ]
            else:
                changes.append(
                    f"{key}: {json.dumps(a.get(key), ensure_ascii=False)[:120]} -> "
                    f"{json.dumps(b.get(key), ensure_ascii=False)[:120]}"
                )
    return changes


def _diff_file(name: str, recorded: Path, recomputed: Path) -> list[str]:
    """Differences of one output whose bytes differ (empty: equal cell by cell)."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        try:
            return diff_tables(recorded.read_bytes(), recomputed.read_bytes()) or [
                "bytes differ (layout or order) although every value is equal"
            ]
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
            return [f"cannot be read as CSV ({e})"]
    if suffix == ".xlsx":
        try:
            return diff_xlsx(recorded, recomputed)
        except Exception as e:  # openpyxl raises many types for a damaged file
            return [f"cannot be read as XLSX ({type(e).__name__})"]
    if suffix == ".gpkg":
        return diff_gpkg(recorded, recomputed)
    if suffix == ".parquet":
        return diff_parquet(recorded, recomputed)
    if name == "provenance.json":
        return diff_provenance(recorded.read_bytes(), recomputed.read_bytes())
    old, new = recorded.read_bytes(), recomputed.read_bytes()
    lines_a, lines_b = old.splitlines(), new.splitlines()
    for i, (x, y) in enumerate(zip(lines_a, lines_b, strict=False), start=1):
        if x != y:
            return [f"line {i} differs: {x[:100]!r} -> {y[:100]!r}"]
    return [f"length differs: {len(lines_a)} -> {len(lines_b)} lines"]


def verify_run(
    run_dir: str | Path, *, program_dir: str | Path | None = None, rerun_streamed=None
) -> Verification:
    """Re-run the program recorded in ``run_dir/provenance.json`` and compare every output.

    ``rerun_streamed(program_dir, folder, compute, fo001_only=...)``: writes a streamed run's
    files again in ``folder`` (:func:`forestcarbon.scale.streamrun.rerun_streamed`, given by the
    CLI: the scale package is not below this module); a streamed run (provenance.json
    ``compute.streamed``) is re-run with it, part by part, and each ``fo001_stands.parquet`` part
    is compared value by value where its bytes differ.
    """

    run_dir = Path(run_dir)
    record = require_complete(run_dir)
    kind = read_kind(run_dir)
    if kind not in ("run", "fo001", "energy"):
        raise InputError(
            Problem(
                str(run_dir),
                "",
                "",
                f"a run folder of `forestcarbon {kind}`: verify re-runs folders of "
                "`forestcarbon run` and `forestcarbon fo001`",
            )
        )
    provenance = _read_provenance(run_dir)
    prov_path = run_dir / "provenance.json"
    program_dir = program_dir or provenance.get("program_dir_path")
    if not isinstance(program_dir, str | Path):
        raise InputError(
            Problem(
                str(prov_path),
                "",
                "program_dir_path",
                "not recorded; give the program folder with --program",
            )
        )
    program_dir = Path(program_dir)
    v = Verification(inputs=check_inputs(provenance, program_dir))
    v.inputs += check_store_state(provenance, program_dir)
    v.outputs += verify_completion(run_dir, record)
    v.ledger = check_ledger(program_dir)
    recorded = provenance.get("compute")
    streamed = isinstance(recorded, dict) and recorded.get("streamed") is True
    if streamed and rerun_streamed is None:
        raise InputError(
            Problem(
                str(prov_path),
                "",
                "compute",
                "a streamed run: give rerun_streamed (forestcarbon verify RUN_DIR does)",
            )
        )
    files: dict = {}
    try:
        if streamed:
            pass  # re-run below, straight into the comparison folder
        elif kind == "energy":
            files = energy_outputs(program_dir)[2]
        else:
            with cache.bypassed():  # re-derived from the inputs alone, never the user's cache
                result = compute(load_program(program_dir), fo001_only=kind == "fo001")
            # a distributed run: same results in this process; same GeoParquet partitions
            ok = isinstance(recorded, dict) and isinstance(recorded.get("partitions"), int)
            result.compute = recorded if ok else None
            files = output_files(result, maps=kind == "run")
    except InputError as e:
        v.outputs.append(f"the recorded inputs no longer validate: {e}")
        return v
    with tempfile.TemporaryDirectory(prefix=".verify-") as tmp:
        rerun = Path(tmp)
        if streamed:  # part by part in this process, as the run was (never all stands at once)
            try:
                with cache.bypassed():
                    rerun_streamed(program_dir, rerun, recorded, fo001_only=kind == "fo001")
            except InputError as e:
                v.outputs.append(f"the recorded inputs no longer validate: {e}")
                return v
        else:
            _write_rerun(files, rerun)
        recorded_names = set(files_in(run_dir)) - {COMPLETION_FILE}
        new_names = set(files_in(rerun))
        for name in sorted(recorded_names - new_names):
            v.outputs.append(f"{name}: only in the recorded run (the re-run does not write it)")
        for name in sorted(new_names - recorded_names):
            v.outputs.append(f"{name}: missing in the run folder (the re-run writes it)")
        for name in sorted(recorded_names & new_names):
            path = run_dir / name
            if path.is_symlink() or not path.is_file():
                v.outputs.append(f"{name}: not a regular file")
                continue
            if file_sha256(path) == file_sha256(rerun / name):
                continue
            changes = _diff_file(name, path, rerun / name)
            if changes:
                v.values[name] = changes
                v.n_values += len(changes)
    return v
