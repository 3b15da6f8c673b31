"""An idle kiosk ticks slowly (#15): Kivy polls input and ticks its clock at maxfps even when nothing is redrawn,
which is all an idle kiosk spends its CPU on, so the static screens where a touch records nothing (attract,
closed) run at RESTING_FPS (from RESTING_AFTER_SECONDS after they appear) and every other screen at full rate."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.kiosk import child
from kiosk.flow import CUSTOMER_SCREENS, RESTING_FPS, RESTING_SCREENS, STAFF_SCREENS, frame_rate


@pytest.mark.parametrize("screen", ["attract", "closed"])
def test_resting_screens_tick_at_the_resting_rate(screen: str) -> None:
    assert frame_rate(screen, 60) == RESTING_FPS < 60


@pytest.mark.parametrize("screen", [s for s in (*CUSTOMER_SCREENS, *STAFF_SCREENS) if s not in RESTING_SCREENS])
def test_screens_where_someone_is_busy_tick_at_full_rate(screen: str) -> None:
    assert frame_rate(screen, 60) == 60


def test_a_lower_maxfps_is_never_raised() -> None:
    assert frame_rate("attract", 10) == 10


@pytest.mark.kivy
def test_the_running_kiosk_rests_on_the_attract_screen_and_a_touch_brings_full_rate_back(tmp_path: Path) -> None:
    seen = child("kiosk", None, tmp_path, taps=2, idle=2.0)  # resting on the attract screen at the end
    assert seen["fps_on_question"] == 60
    assert (seen["screen_at_end"], seen["fps_at_end"]) == ("attract", RESTING_FPS)
    assert (seen["screen_after_touch"], seen["fps_after_touch"]) == ("ask", 60)
