"""``python -m forestcarbon.sample OUT_DIR [--seed N]``: write the sample program folder."""

from forestcarbon.sample.program import main

raise SystemExit(main())
