"""forestcarbon: open toolkit for municipal J-Credit programs.

FO-001 forest-management removals, EN-R-002 household solar and EN-S-004 air-conditioning
reductions, whole-program totals, the monitoring report and one interactive map.

The Python API is these names (everything a notebook needs)::

    import forestcarbon as fc

    inputs = fc.load_program("data/tsuyama-sample")   # validated inputs (InputError lists problems)
    result = fc.compute(inputs)                        # a RunResult; writes nothing
    result.stands                                      # per stand and period [ha, m3/ha, t-CO2]
    result.summary                                     # per methodology and period: credits
    result.map(edition="public")                       # a folium.Map (public or internal)
    fc.run_program("data/tsuyama-sample", "runs/demo")  # compute and write every output

``program_map`` draws a map from tables of your own (see its docstring). The names are imported
on first use, so that ``import forestcarbon`` (and ``forestcarbon --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_API = {
    "load_program": "forestcarbon.inputs.program",
    "compute": "forestcarbon.run",
    "run_program": "forestcarbon.run",
    "RunResult": "forestcarbon.run",
    "program_map": "forestcarbon.outputs.map",
}

__all__ = ["RunResult", "__version__", "compute", "load_program", "program_map", "run_program"]

if TYPE_CHECKING:
    from forestcarbon.inputs.program import load_program
    from forestcarbon.outputs.map import program_map
    from forestcarbon.run import RunResult, compute, run_program


def __getattr__(name: str):
    """Import an API name from its module on first use (PEP 562)."""
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'forestcarbon' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
