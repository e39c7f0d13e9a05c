"""Writing outputs: all or nothing."""

from __future__ import annotations

import pytest

from forestcarbon.core.exceptions import OutputError
from forestcarbon.core.files import write_outputs


def test_write_failure_leaves_nothing(tmp_path):
    def broken(path):
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OutputError, match="disk full"):
        write_outputs(tmp_path, {"a.csv": b"whole", "b.gpkg": broken})
    assert list(tmp_path.iterdir()) == []
