import numpy as np
import pytest

from supplierrisk.modeling.delay import mixture_quantile

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
CONDITIONAL = np.array([[2.0, 4.0, 8.0, 16.0, 32.0]])


@pytest.mark.parametrize(
    ("p_late", "target", "expected"),
    [
        (0.05, 0.9, 0.0),  # P(on time) = .95 >= .9: the P90 is on time
        (0.2, 0.9, 8.0),  # needs the conditional (.9 - .8) / .2 = .5 level
        (0.4, 0.9, 16.0),  # (.9 - .6) / .4 = .75
        (1.0, 0.5, 8.0),  # certainly late: conditional median
        (0.5, 0.5, 0.0),  # exactly half on time
    ],
)
def test_mixture_quantile_by_hand(p_late: float, target: float, expected: float) -> None:
    got = mixture_quantile(np.array([p_late]), CONDITIONAL, LEVELS, target)
    assert got[0] == pytest.approx(expected)


def test_mixture_quantile_clamps_outside_fitted_levels() -> None:
    got = mixture_quantile(np.array([0.15]), CONDITIONAL, LEVELS, 0.9)
    assert got[0] == pytest.approx(4.0 + 4.0 / 3.0)  # needed level 1/3: a third of the way from 4 to 8
    got = mixture_quantile(np.array([0.11]), CONDITIONAL, LEVELS, 0.9)
    assert got[0] == pytest.approx(2.0)  # needed .09 is below the lowest level: clamp


def test_interpolate_levels_at_a_fixed_level() -> None:
    from supplierrisk.modeling.delay import interpolate_levels

    got = interpolate_levels(np.vstack([CONDITIONAL, CONDITIONAL * 2]), LEVELS, 0.625)
    np.testing.assert_allclose(got, [12.0, 24.0])  # half-way between the .5 and .75 levels
    np.testing.assert_allclose(interpolate_levels(CONDITIONAL, LEVELS, 0.99), [32.0])  # clamped
