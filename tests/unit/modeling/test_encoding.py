"""Encoding: frames and arrays by name give the same matrix; few and many rows the same codes."""

import numpy as np
import pandas as pd

from supplierrisk.features.events import FEW_QUERIES
from supplierrisk.modeling.encoding import category_codes, encode_features, unseen_by_row

CATEGORIES = {"mode": ["Air", "Sea", "Truck"]}
NAMES = ["rate", "mode", "absent"]


def test_category_codes_agree_for_few_and_many_rows() -> None:
    values = np.array(["Sea", None, "Rail", np.nan, "Air", "Truck"], dtype=object)
    many = np.concatenate([values] * (FEW_QUERIES // len(values) + 1))
    assert len(many) > FEW_QUERIES
    expected = [1, -1, -1, -1, 0, 2]
    assert category_codes(values, CATEGORIES["mode"]).tolist() == expected
    assert category_codes(many, CATEGORIES["mode"])[: len(values)].tolist() == expected


def test_arrays_by_name_encode_like_the_frame() -> None:
    frame = pd.DataFrame({"rate": np.array([0.5, np.nan], dtype=np.float32), "mode": ["Truck", "Rail"]})
    arrays = {"rate": frame["rate"].to_numpy(), "mode": frame["mode"].to_numpy(dtype=object)}
    from_frame = encode_features(frame, NAMES, CATEGORIES).matrix
    from_arrays = encode_features(arrays, NAMES, CATEGORIES).matrix
    np.testing.assert_array_equal(from_frame, from_arrays)
    # Unseen category and absent column: NaN, LightGBM's missing branch.
    np.testing.assert_array_equal(from_frame, [[0.5, 2.0, np.nan], [np.nan, np.nan, np.nan]])


def test_unseen_values_are_named_per_row_and_missing_values_are_not_unseen() -> None:
    categories = {"ship_mode": ["Air", "Sea"], "category": ["ARV", "HRDT"]}
    columns = {
        "ship_mode": np.array(["Air", "Rail", None, "Truck"], dtype=object),
        "category": np.array(["Lab", np.nan, "ARV", "HRDT"], dtype=object),
        "supplier_id": np.array(["S1", "S2", "S3", "S4"], dtype=object),
    }
    expected = [{"category": "Lab"}, {"ship_mode": "Rail"}, {}, {"ship_mode": "Truck"}]
    assert unseen_by_row(columns, categories, 4).tolist() == expected
    # Read from the rows' encoded matrix, the answer is the same.
    encoded = encode_features(columns, ["ship_mode", "category"], categories)
    assert unseen_by_row(columns, categories, 4, encoded).tolist() == expected
    # A categorical the rows do not carry has nothing unseen.
    assert unseen_by_row({"ship_mode": columns["ship_mode"]}, categories, 4).tolist() == [
        {},
        {"ship_mode": "Rail"},
        {},
        {"ship_mode": "Truck"},
    ]
