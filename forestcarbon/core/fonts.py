"""The Japanese font of every figure: IPAexGothic, shipped by the ``matplotlib-fontja`` package.

Figures never depend on the fonts installed on the machine: the packaged font draws the Japanese
and the Latin text alike, so a fresh machine (no CJK system font) shows the same figure, with no
``Glyph … missing`` warning, as a developer's. matplotlib and matplotlib-fontja are optional
extras (``plan``, ``notebooks``); they are imported when a figure is made.
"""

from __future__ import annotations

FONT_FAMILY = "IPAexGothic"
"""Family name of the font shipped by matplotlib-fontja (IPA Font License, with the package)."""


def japanese_font() -> str:
    """Register the packaged Japanese font with matplotlib and make it the default family.

    Returns the family name (:data:`FONT_FAMILY`). Idempotent; importing ``matplotlib_fontja``
    adds its font file to matplotlib's font manager (no font cache rebuild) and sets
    ``font.family``.
    """
    try:
        import matplotlib
        import matplotlib_fontja  # noqa: F401  (registers the font on import)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "figures need matplotlib and matplotlib-fontja: pip install 'forestcarbon[plan]'"
        ) from e
    matplotlib.rcParams["font.family"] = [FONT_FAMILY]
    return FONT_FAMILY
