"""The time left: a smoothed rate, and no estimate without one."""

from __future__ import annotations

import pytest

from batch_sms.dispatch.eta import RateEstimate, eta_seconds


def test_the_rate_behind_the_eta_is_smoothed() -> None:
    estimate = RateEstimate(alpha=0.25)
    assert estimate.update(0, 100.0) is None  # one point is no rate yet
    assert estimate.update(100, 101.0) == 100.0  # first sample: 100/s
    assert estimate.update(100, 101.2) == 100.0  # too short a sample: ignored
    # a stall of one second moves the rate a quarter of the way, not to 0
    assert estimate.update(100, 102.0) == pytest.approx(75.0)
    assert estimate.update(300, 103.0) == pytest.approx(0.25 * 200 + 0.75 * 75.0)
    assert eta_seconds(1000, 100.0) == 10.0
    assert eta_seconds(1000, None) is None
    assert eta_seconds(1000, 0.0) is None
