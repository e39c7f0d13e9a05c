"""The register's keys as integer arrays, computed once per run.

Stand ids are text; a million of them are hashed once (:func:`register_keys`) and every later
step of the engine (qualifying work, cohorts, thinning, ordering) works on the integer codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RegisterKeys:
    """Codes of the stands' ids and of the operations' stands, kinds and dates.

    Attributes
    ----------
    stand_code : ndarray of int64
        Per stand (row order): code of its id, numbering the distinct ids in order of first
        appearance (``arange(n)`` when the ids are unique).
    stand_ids : pandas.Index
        The distinct stand ids, by code.
    op_stand : ndarray of int64
        Per operation: code of its stand id, -1 when the id is not a stand of the register.
    op_day : ndarray of datetime64[D]
        Per operation: its date (NaT where none).
    op_kind : ndarray of int64
        Per operation: code of its ``operation`` in ``op_kinds``.
    op_kinds : ndarray of object
        The distinct operation names, by code.
    """

    stand_code: np.ndarray
    stand_ids: pd.Index
    op_stand: np.ndarray
    op_day: np.ndarray
    op_kind: np.ndarray
    op_kinds: np.ndarray

    def operations_of(self, kinds) -> np.ndarray:
        """Per operation: True where its ``operation`` is one of ``kinds``."""
        return np.isin(self.op_kinds, list(kinds))[self.op_kind]

    def positions(self, ops: np.ndarray) -> np.ndarray:
        """Row in the stands of the stand of each operation in ``ops`` (indices or a mask).

        Raises
        ------
        KeyError
            An operation's stand id is not a stand of the register.
        ValueError
            The register gives one of those stand ids twice.
        """
        code = self.op_stand[ops]
        if (code < 0).any():
            raise KeyError("an operation's stand_id is not a stand of the register")
        if len(self.stand_ids) == len(self.stand_code):  # unique ids: the code is the row
            return code
        count = np.bincount(self.stand_code, minlength=len(self.stand_ids))
        if (count[code] > 1).any():
            raise ValueError("a stand_id with operations is given twice in the register")
        row = np.empty(len(self.stand_ids), dtype=np.int64)
        row[self.stand_code] = np.arange(len(self.stand_code))
        return row[code]


def register_keys(stands: pd.DataFrame, operations: pd.DataFrame) -> RegisterKeys:
    """:class:`RegisterKeys` of validated stands and operations (one hashing of the ids)."""
    n = len(stands)
    ids = pd.concat(
        [stands["stand_id"].reset_index(drop=True), operations["stand_id"].reset_index(drop=True)],
        ignore_index=True,
    )
    code, uniques = pd.factorize(ids, use_na_sentinel=False)
    n_stand_ids = int(code[:n].max()) + 1 if n else 0  # stand ids come first: the lowest codes
    op_stand = code[n:].astype(np.int64)
    op_stand[op_stand >= n_stand_ids] = -1
    kind, kinds = pd.factorize(operations["operation"], use_na_sentinel=False)
    return RegisterKeys(
        stand_code=code[:n].astype(np.int64),
        stand_ids=pd.Index(uniques[:n_stand_ids]),
        op_stand=op_stand,
        op_day=pd.to_datetime(operations["date"]).to_numpy(dtype="datetime64[D]"),
        op_kind=kind.astype(np.int64),
        op_kinds=np.asarray(kinds, dtype=object),
    )
