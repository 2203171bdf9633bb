"""plot with two weights: the level lines of the loss, the point, and the way the
negative gradient points (downhill, across the level lines)."""

from __future__ import annotations

import pytest
from helpers import json_output

LOSS = "(x-1)**2 + 3*(y+2)**2 + x*y"


def test_the_point_and_its_gradient(run):
    data = json_output(run(["plot", LOSS, "--at", "x=0.5,y=-1", "-f", "json"]))
    x, y = 0.5, -1.0
    assert data["variables"] == ["x", "y"]
    assert data["loss"] == pytest.approx((x - 1) ** 2 + 3 * (y + 2) ** 2 + x * y, rel=1e-15)
    assert data["gradient"] == {"x": 2 * (x - 1) + y, "y": 6 * (y + 2) + x}


def test_the_picture_has_level_lines_and_the_way_down(run):
    r = run(["plot", LOSS, "--at", "x=0,y=0", "-f", "plain"])
    assert r.code == 0 and "level lines" in r.out and "-gradient" in r.out
    assert "\x1b" not in r.out
    assert "the gradient is (-2, 12), so gradient descent moves along (2, -12)" in r.err


def test_a_flat_spot_is_said(run):
    r = run(["plot", "x**2 + y**2", "--at", "x=0,y=0", "-f", "plain"])
    assert "the gradient is 0: a flat spot" in r.err


def test_one_weight_of_two_with_wrt(run):
    data = json_output(run(["plot", LOSS, "--at", "x=0.5,y=-1", "--wrt", "x", "-f", "json"]))
    assert data["variable"] == "x" and data["slope"] == pytest.approx(2 * (0.5 - 1) - 1)
