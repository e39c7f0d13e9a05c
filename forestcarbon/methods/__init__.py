"""The methodologies as pure functions: FO-001, EN-R-002, EN-S-004, yield curves, totals."""
