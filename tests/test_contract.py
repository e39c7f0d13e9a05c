"""docs/program-folder.md and the README's settings table are what the code says; the README and
docs/ refer only to files inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from forestcarbon import contract
from forestcarbon.canopy import inputs as canopy_inputs
from forestcarbon.core.config import settings_doc
from forestcarbon.inputs import energy_tables, schemas
from forestcarbon.inputs.schemas import TableSpec
from forestcarbon.officer import candidates

ROOT = Path(__file__).resolve().parents[1]
FIX = "regenerate with: python -m forestcarbon.contract"


def test_contract_doc_is_generated_from_the_code():
    committed = (ROOT / "docs" / "program-folder.md").read_text(encoding="utf-8")
    assert committed == contract.contract_doc(), FIX


def test_readme_settings_table_is_generated_from_the_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert contract.readme_with_settings(readme) == readme, FIX
    assert settings_doc() in readme
    line = next(x for x in readme.splitlines() if x.startswith("| `[plan] forecast_method`"))
    assert "Choices: greedy, milp." in line


def test_every_table_spec_is_in_the_contract():
    documented = {id(spec) for _, _, spec in contract.TABLES}
    for module in (schemas, energy_tables, canopy_inputs, candidates):
        for name, value in vars(module).items():
            if isinstance(value, TableSpec):
                assert id(value) in documented, f"{module.__name__}.{name} is not documented"


def test_contract_names_the_age_base_year_spellings_and_shapefile_cuts():
    doc = contract.contract_doc()
    row = next(x for x in doc.splitlines() if x.startswith("| `age_year` |"))
    # 林齢基準年度: cp932 12 bytes -> 林齢基準年 (10); UTF-8 18 bytes -> 林齢基 (9, a split char)
    for needle in ("林齢基準年度, 基準年度, 調査年度, age_year", "林齢基準年", "林齢基"):
        assert needle in row


def test_readme_and_docs_refer_only_to_files_in_the_repository():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for outside in ("kept beside the project", "/work/", "methodology/", "DESIGN.md"):
            assert outside not in text, f"{page.name} refers to {outside}"
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_methodology_sections_cited_by_the_code_exist():
    """Docstrings and packaged tables cite docs/FO-001.md and docs/EN-R-002_EN-S-004.md by
    section ("FO-001.md §3"): the pages and the numbered sections are in the repository."""
    fo001 = (ROOT / "docs" / "FO-001.md").read_text(encoding="utf-8")
    energy = (ROOT / "docs" / "EN-R-002_EN-S-004.md").read_text(encoding="utf-8")
    cited = set()
    for path in [*(ROOT / "forestcarbon").rglob("*.py"), *(ROOT / "forestcarbon").rglob("*.csv")]:
        cited |= set(re.findall(r"FO-001\.md §(\d)", path.read_text(encoding="utf-8")))
    assert {"1", "2", "3", "4"} <= cited
    for section in cited:
        assert re.search(rf"^## {section}\. ", fo001, re.M), f"FO-001.md lacks §{section}"
    for heading in ("Common", "EN-R-002", "EN-S-004", "Rounding vectors"):
        assert re.search(rf"^## {heading}", energy, re.M), heading
