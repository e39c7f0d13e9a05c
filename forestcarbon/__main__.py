"""``python -m forestcarbon``: the same as the ``forestcarbon`` command."""

import sys

from forestcarbon.cli.main import main

sys.exit(main())
