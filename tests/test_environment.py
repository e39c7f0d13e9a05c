"""environment.yml (conda) lists every dependency of pyproject.toml with the same lower bound."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += [r for r in extra if not r.startswith("forestcarbon")]
    return {Requirement(r).name.lower(): str(Requirement(r).specifier) for r in reqs}


def _environment_requirements() -> dict[str, str]:
    out = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"\s*-\s+([A-Za-z0-9_.\-]+)\s*(>=[^\s#]+)", line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_every_pyproject_dependency_is_in_environment_yml_with_its_lower_bound():
    env = _environment_requirements()
    missing = {n: s for n, s in _pyproject_requirements().items() if env.get(n) != s}
    assert not missing, f"add to environment.yml (name: pyproject bound): {missing}"
