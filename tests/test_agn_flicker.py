"""Tests of repro.astro.agn.flicker: duty cycle and episodes above a threshold."""

import numpy as np
import pytest

from repro.astro import agn


def test_episode_durations_hand_made():
    s = np.array([3, 0, 3, 3, 0, 0, 3, 3, 3, 0, 3], dtype=float)
    np.testing.assert_allclose(agn.episode_durations(s, 0.5, 1.0), [1.0, 1.5])
    two = np.vstack([s, s[::-1]])
    np.testing.assert_allclose(agn.episode_durations(two, 1.0, 1.0), [2, 3, 3, 2])
    assert agn.episode_durations(np.zeros(5), 1.0, 1.0).size == 0
    assert agn.fraction_above(s, 1.0) == pytest.approx(7 / 11)


def test_flicker_statistics_on_hand_made_series():
    x = np.array([-3.0, -1.0, -1.0, -3.0, -1.0, -3.0, -3.0, -1.0])
    st = agn.flicker_statistics(x, 10.0, -2.0)
    assert st["duty_cycle"] == pytest.approx(4 / 8)
    assert st["n_episodes"] == 2  # the run touching the end is not complete
    assert st["median_episode_yr"] == pytest.approx(15.0)
    none = agn.flicker_statistics(np.full(5, -3.0), 1.0, -2.0)
    assert none["n_episodes"] == 0 and np.isnan(none["median_episode_yr"])
