"""``forestcarbon verify RUN_DIR``: re-run the recorded inputs and settings, report differences.

Checks, file by file, that every input still has the sha256 recorded in ``provenance.json``, that
the run's CSV outputs were not modified after the run, and that recomputing gives the same CSV
outputs; where an output differs, every changed number is listed (key, column, recorded -> new).
When the program keeps a credit ledger, its hash chain is recomputed and its balances are
recomputed from the entries and compared with the stored ones
(:func:`forestcarbon.officer.ledger.check_ledger`).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from forestcarbon.core.exceptions import InputError, Problem
from forestcarbon.core.files import file_sha256
from forestcarbon.core.params import table_path
from forestcarbon.inputs.program import load_program
from forestcarbon.officer.ledger import check_ledger
from forestcarbon.run import compute, table_files

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
            else f"{len(self.inputs)} input(s) changed, {self.n_values} number(s) differ"
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
    values = merged[merged["_merge"] == "both"]
    for col in [c for c in a.columns if c not in keys and c in b.columns]:
        rec, new = values[f"{col}@rec"], values[f"{col}@new"]
        for i in (rec != new).to_numpy().nonzero()[0]:
            changes.append(f"{where(values.iloc[i])}, {col}: {rec.iloc[i]} -> {new.iloc[i]}")
    return changes


def verify_run(run_dir: str | Path, *, program_dir: str | Path | None = None) -> Verification:
    """Re-run the program recorded in ``run_dir/provenance.json`` and compare."""

    run_dir = Path(run_dir)
    prov_path = run_dir / "provenance.json"
    if not prov_path.is_file():
        raise InputError(Problem(str(prov_path), "", "", "not found: is this a run folder?"))
    provenance = json.loads(prov_path.read_text(encoding="utf-8"))
    program_dir = program_dir or provenance.get("program_dir_path")
    if program_dir is None:
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
    v.ledger = check_ledger(program_dir)
    for name, sha in sorted(provenance["outputs_sha256"].items()):
        path = run_dir / name
        if name.endswith(".csv") and path.exists() and file_sha256(path) != sha:
            v.outputs.append(f"{name}: modified after the run (sha256 differs from provenance)")
    try:
        recomputed = table_files(compute(load_program(program_dir)))
    except InputError as e:
        v.outputs.append(f"the recorded inputs no longer validate: {e}")
        return v
    for name in sorted(provenance["outputs_sha256"]):
        if not name.endswith(".csv"):
            continue
        path = run_dir / name
        new = recomputed.get(name)
        if not path.exists() or new is None:
            v.outputs.append(f"{name}: {'missing in the run folder' if new else 'not recomputed'}")
            continue
        old = path.read_bytes()
        if old != new:
            changes = diff_tables(old, new)
            v.values[name] = changes
            v.n_values += len(changes)
    return v
