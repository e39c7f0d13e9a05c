"""Shared figures: drawn from real results, with the numbers they show."""

from __future__ import annotations

import io

import openpyxl
import pytest

from forestcarbon import SAMPLE_PROGRAM
from forestcarbon.inputs.program import load_program
from forestcarbon.outputs import plots, report
from forestcarbon.run import compute

PERIOD = "2023-04-01/2024-03-31"


@pytest.fixture(scope="module")
def sample():
    inputs = load_program(SAMPLE_PROGRAM)
    return inputs, compute(inputs)


def test_age_class():
    assert list(plots.age_class([1, 5, 6, 10, 11, 53])) == [1, 1, 2, 2, 3, 11]


def test_removals_by_age_class_bars_sum_to_the_fo001_net(sample):
    _, result = sample
    fig = plots.removals_by_age_class(result.fo001, PERIOD)
    heights = sum(p.get_height() for p in fig.axes[0].patches)
    fo = result.fo001
    expected = fo[(fo["period"] == PERIOD) & fo["eligible"]]["net_tco2"].sum()
    assert heights == pytest.approx(expected, rel=1e-9)


def test_waterfall_ends_at_the_program_total(sample, tmp_path):
    _, result = sample
    fig = plots.totals_waterfall(result.summary, PERIOD)
    bars = fig.axes[0].patches
    row = result.summary.set_index(["methodology", "period"]).loc[("program", PERIOD)]
    assert bars[-1].get_height() == pytest.approx(float(row["total_tco2"]))
    assert sum(b.get_height() for b in bars[:-1]) == pytest.approx(float(row["total_tco2"]))
    plots.save_png(fig, tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_growth_curves_draw_every_stand_of_the_species(sample):
    inputs, result = sample
    fig = plots.growth_curves(inputs.yields, result.fo001, "hinoki", PERIOD)
    points = fig.axes[0].collections[0].get_offsets()
    fo = result.fo001
    assert len(points) == ((fo["period"] == PERIOD) & (fo["species"] == "hinoki")).sum()
    assert len(fig.axes[0].lines) == 3  # site classes I-III


def test_canopy_top_heights_draw_every_stand_of_the_species_and_the_flags(sample):
    inputs, result = sample
    table = result.canopy.table
    fig = plots.canopy_top_heights(table, inputs.yields, "hinoki")
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # site-class curves I-III
    mine = table[(table["species"] == "hinoki") & table["top_height_m"].notna()]
    by_class = [len(c.get_offsets()) for c in ax.collections[:3]]
    assert sum(by_class) == len(mine)
    circled = len(ax.collections[3].get_offsets())
    assert circled == mine["flags"].str.contains("site_class_disagrees").sum() > 0


def test_flagged_stands_map_counts_each_stand_once(sample):
    inputs, result = sample
    table = result.canopy.table
    fig = plots.flagged_stands_map(inputs.stands, table)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    counts = [int(label.rsplit("(", 1)[1].rstrip(")")) for label in labels]
    assert sum(counts) == (table["flags"].fillna("") != "").sum()
    assert labels[0].startswith("canopy_below_expected")


def test_volume_table_vs_model_marks_the_volume_flag(sample):
    _, result = sample
    table = result.canopy.table
    fig = plots.volume_table_vs_model(table)
    red = fig.axes[0].containers[1]  # errorbar container of the flagged stands
    assert len(red.lines[0].get_xdata()) == table["flags"].str.contains("volume_differs").sum()


def test_the_report_shows_the_shared_figures(sample):
    _, result = sample
    figures = report.figures(result)
    assert [caption.split(" ")[0] for caption, _ in figures] == [
        "プログラム合計",
        "FO-001",
        "収穫表と小班",
    ]
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for _, png in figures)
    assert report.figures(result) == figures  # same figures, same bytes
    wb = openpyxl.load_workbook(io.BytesIO(result.extra[report.REPORT_FILE]))
    ws = wb[report.SHEETS["figures"]]
    assert [ws.cell(row=r, column=1).value for r in (1, 21, 41)] == [c for c, _ in figures]
    assert [image._data() for image in ws._images] == [png for _, png in figures]


def _drawn_texts(fig):
    """Every text a figure draws: titles, axis labels, tick labels in view, annotations, legends."""
    for ax in fig.axes:
        yield from (ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts)
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = min(lo, hi), max(lo, hi)
            for tick in axis.get_major_ticks():
                if lo <= tick.get_loc() <= hi and tick.label1.get_text():
                    yield tick.label1
        legend = ax.get_legend()
        if legend is not None:
            yield from (legend.get_title(), *legend.get_texts())


def assert_no_label_over_a_title(fig):
    """Titles overlap no other text; value labels stay inside their axes; all inside the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    page = fig.bbox
    titles = [(ax.title, ax.title.get_window_extent(renderer)) for ax in fig.axes]
    for text in _drawn_texts(fig):
        box = text.get_window_extent(renderer)
        assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, text.get_text()
        assert page.y0 - 1 <= box.y0 and box.y1 <= page.y1 + 1, text.get_text()
        for title, title_box in titles:
            if text is not title:
                assert not title_box.overlaps(box), (title.get_text(), text.get_text())
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        for text in ax.texts:
            box = text.get_window_extent(renderer)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            assert inside, text.get_text()


def test_no_chart_label_overlaps_a_title_or_leaves_its_frame(sample):
    inputs, result = sample
    assert_no_label_over_a_title(plots.totals_waterfall(result.summary, PERIOD))
    assert_no_label_over_a_title(plots.removals_by_age_class(result.fo001, PERIOD))
    assert_no_label_over_a_title(plots.growth_curves(inputs.yields, result.fo001, "sugi", PERIOD))


def test_net_emissions_stack_downwards_from_zero(sample):
    _, result = sample
    fig = plots.removals_by_age_class(result.fo001, PERIOD)
    table = plots.age_class_table(result.fo001, PERIOD)
    ax = fig.axes[0]
    # the lowest bar edge is the sum of the negative cells of its age class, not lower
    lowest = min(min(p.get_y(), p.get_y() + p.get_height()) for p in ax.patches)
    assert lowest == pytest.approx(table.clip(upper=0).sum(axis=1).min(), rel=1e-9)
    ymin, _ = ax.get_ylim()
    assert ymin <= lowest  # the whole bar is inside the frame
