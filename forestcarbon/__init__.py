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

Also exported: ``program_map`` (a map from tables of your own), ``load_settings``, ``load_table``
(the packaged parameter tables with their sources), ``load_energy`` and ``compute_energy``
(EN-R-002/EN-S-004 alone), ``write_energy_example`` (the worked energy example), the modules
``explain`` (hand re-derivations for verifiers) and ``plots`` (figures), ``CANOPY_FLAGS`` and
``SAMPLE_PROGRAM`` (the bundled sample's folder in a source checkout). The names are imported on
first use, so that ``import forestcarbon`` (and ``forestcarbon --help``) stays fast.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

SAMPLE_PROGRAM = Path(__file__).resolve().parent.parent / "data" / "tsuyama-sample"
"""The bundled synthetic sample program (present in a source checkout; ``forestcarbon demo``)."""

_API = {  # name -> (module, attribute); attribute None: the module itself
    "load_program": ("forestcarbon.inputs.program", "load_program"),
    "compute": ("forestcarbon.run", "compute"),
    "run_program": ("forestcarbon.run", "run_program"),
    "RunResult": ("forestcarbon.run", "RunResult"),
    "program_map": ("forestcarbon.outputs.map", "program_map"),
    "load_settings": ("forestcarbon.core.config", "load_settings"),
    "load_table": ("forestcarbon.core.params", "load_table"),
    "load_energy": ("forestcarbon.inputs.energy", "load_energy"),
    "compute_energy": ("forestcarbon.methods.energy", "compute_energy"),
    "write_energy_example": ("forestcarbon.sample.examples", "write_energy_example"),
    "CANOPY_FLAGS": ("forestcarbon.canopy.flags", "FLAGS"),
    "explain": ("forestcarbon.explain", None),
    "plots": ("forestcarbon.outputs.plots", None),
}

__all__ = [
    "CANOPY_FLAGS",
    "SAMPLE_PROGRAM",
    "RunResult",
    "__version__",
    "compute",
    "compute_energy",
    "explain",
    "load_energy",
    "load_program",
    "load_settings",
    "load_table",
    "plots",
    "program_map",
    "run_program",
    "write_energy_example",
]

if TYPE_CHECKING:
    from forestcarbon import explain
    from forestcarbon.canopy.flags import FLAGS as CANOPY_FLAGS
    from forestcarbon.core.config import load_settings
    from forestcarbon.core.params import load_table
    from forestcarbon.inputs.energy import load_energy
    from forestcarbon.inputs.program import load_program
    from forestcarbon.methods.energy import compute_energy
    from forestcarbon.outputs import plots
    from forestcarbon.outputs.map import program_map
    from forestcarbon.run import RunResult, compute, run_program
    from forestcarbon.sample.examples import write_energy_example


def __getattr__(name: str):
    """Import an API name from its module on first use (PEP 562)."""
    if name in _API:
        module, attribute = _API[name]
        value = importlib.import_module(module)
        if attribute is not None:
            value = getattr(value, attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'forestcarbon' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
