"""Japanese text in every figure on a fresh machine: the packaged font, no warning at all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from forestcarbon import SAMPLE_PROGRAM

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import logging, sys, warnings
    warnings.simplefilter("error")  # any warning (e.g. "Glyph 12501 missing") fails the script
    logging.getLogger("forestcarbon").setLevel(logging.ERROR)  # the run's own notes: not figures
    import pandas as pd
    from matplotlib import font_manager, rcParams
    from forestcarbon.inputs.program import load_program
    from forestcarbon.officer.forecast import Forecast, forecast_chart
    from forestcarbon.outputs import plots, report
    from forestcarbon.run import compute

    result = compute(load_program(sys.argv[1]))
    pngs = report.figures(result)
    assert len(pngs) == 3, [c for c, _ in pngs]
    years = pd.DataFrame({
        "fiscal_year": [2025, 2026], "baseline_tco2": [100.0, 90.0], "added_tco2": [5.0, 8.0],
        "credits_t": [105, 98], "total_tco2": [105.0, 98.0], "total_low_tco2": [95.0, 88.0],
        "total_high_tco2": [115.0, 108.0],
    })
    chart = Forecast(years, pd.DataFrame(), "greedy", 10.0, 13.0, 13.0, None, None, None)
    forecast_chart(chart, sys.argv[2], title="津山市 森林 J-クレジット見込み")
    fig = plots.totals_waterfall(result.summary, result.inputs.settings.periods[-1].label)
    text = fig.axes[0].title
    print(font_manager.findfont(text.get_fontproperties(), fallback_to_default=False))
    print(rcParams["font.family"])
    """
)


def test_figures_draw_japanese_in_the_packaged_font_without_any_warning(tmp_path):
    env = dict(os.environ, MPLCONFIGDIR=str(tmp_path / "mplconfig"), PYTHONPATH=str(ROOT))
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(SAMPLE_PROGRAM),
         str(tmp_path / "forecast.png")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning, no "findfont" log line
    font_file, family = done.stdout.strip().splitlines()
    # the font shipped by matplotlib-fontja, not whatever CJK font the machine may have
    assert Path(font_file).name == "ipaexg.ttf" and "matplotlib_fontja" in font_file
    assert family == "['IPAexGothic']"
    assert (tmp_path / "forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
