"""The per-user cache: content keys that change with any input, entries that are only ever hits for
their own key, and a cache that never fails a command."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from forestcarbon.core import cache


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FORESTCARBON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FORESTCARBON_CACHE", raising=False)
    return tmp_path / "cache"


def test_content_key_changes_with_any_value_dtype_name_or_order():
    frame = pd.DataFrame({"a": [1.0, 2.0], "s": ["sugi", "hinoki"]})
    key = cache.content_key("x", frame, 0.9)
    assert key == cache.content_key("x", frame.copy(), 0.9)  # same content, same key
    one_ulp = frame.assign(a=[1.0, np.nextafter(2.0, 3.0)])
    for other in (
        one_ulp,
        frame.assign(s=["sugi", "hinoki "]),
        frame.rename(columns={"a": "b"}),
        frame.astype({"a": "float32"}),
        frame.iloc[::-1],  # same rows, other order (the folds depend on it)
        frame.iloc[::-1].reset_index(drop=True),
    ):
        assert cache.content_key("x", other, 0.9) != key
    assert cache.content_key("x", frame, 0.8) != key
    assert cache.content_key("y", frame, 0.9) != key
    with pytest.raises(TypeError, match="cannot hash object"):
        cache.content_key(object())


def test_entries_round_trip_floats_exactly_and_miss_on_anything_else(folder):
    key = cache.content_key("k")
    value = {"x": [0.1 + 0.2, 1e-300, float("nan"), 2.0**0.5], "n": 60}
    assert cache.read_entry("model", key) is None  # nothing yet
    cache.write_entry("model", key, value)
    back = cache.read_entry("model", key)
    assert back["n"] == 60
    assert back["x"][0] == 0.1 + 0.2 and back["x"][3] == 2.0**0.5 and np.isnan(back["x"][2])
    path = folder / "model" / f"{key}.json"
    assert path.is_file() and not [p for p in path.parent.iterdir() if p != path]  # no temp left
    # an entry copied under another key's name is not a hit for that key
    other = cache.content_key("other")
    (folder / "model" / f"{other}.json").write_text(path.read_text())
    assert cache.read_entry("model", other) is None
    # a truncated file or an older format: a miss, never an error
    path.write_text(path.read_text()[:20])
    assert cache.read_entry("model", key) is None
    path.write_text(json.dumps({"format": 0, "key": key, "value": value}))
    assert cache.read_entry("model", key) is None


def test_cache_off_or_unwritable_never_fails(folder, monkeypatch):
    monkeypatch.setenv("FORESTCARBON_CACHE", "off")
    cache.write_entry("model", "k", {"a": 1})
    assert not folder.exists() and cache.read_entry("model", "k") is None
    monkeypatch.delenv("FORESTCARBON_CACHE")
    folder.write_text("a file where the folder should be")  # mkdir fails: skipped silently
    cache.write_entry("model", "k", {"a": 1})
    assert cache.read_entry("model", "k") is None


def test_default_folder_is_the_users_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("FORESTCARBON_CACHE_DIR", raising=False)
    monkeypatch.delenv("FORESTCARBON_CACHE", raising=False)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache.cache_dir() == tmp_path / "xdg" / "forestcarbon"


def test_frames_round_trip_with_their_dtypes_and_values():
    frame = pd.DataFrame(
        {
            "stand_id": ["a", "b", "c"],
            "x": [1.5, np.nan, -0.0],
            "n": np.array([1, 2, 3]),
            "flag": [True, False, True],
            "count": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    back = cache.entry_frame(json.loads(json.dumps(cache.frame_entry(frame))))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert np.signbit(back["x"][2])  # -0.0 stays -0.0
    with pytest.raises(ValueError, match="object columns"):
        cache.frame_entry(pd.DataFrame({"o": pd.Series([1, "a"], dtype=object)}))
    with pytest.raises(ValueError, match="default index"):
        cache.frame_entry(frame.iloc[::-1])
