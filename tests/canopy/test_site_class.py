"""Site class from canopy height: the continuous index between and beyond the class curves."""

from __future__ import annotations

import numpy as np

from forestcarbon.canopy.site_class import nearest_class, site_class_index


def test_site_class_index_between_and_beyond_the_curves():
    curves = np.array([[20.0, 17.0, 14.0]] * 5)
    index = site_class_index([20.0, 18.5, 17.0, 12.5, 23.0], curves)
    np.testing.assert_allclose(index, [1.0, 1.5, 2.0, 3.5, 0.0])
    np.testing.assert_array_equal(nearest_class(index), [1, 2, 2, 3, 1])
    flat = site_class_index([15.0], np.array([[15.0, 15.0, 15.0]]))
    assert np.isnan(flat[0])  # curves that do not separate the classes say nothing
