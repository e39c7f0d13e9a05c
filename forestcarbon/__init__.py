"""forestcarbon: open toolkit for municipal J-Credit programs.

FO-001 forest-management removals, EN-R-002 household solar and EN-S-004 air-conditioning
reductions, whole-program totals, the monitoring report and one interactive map.
"""

__version__ = "0.1.0"
