"""Tests for gdcli.render.plots (terminal plots returned as strings)."""

from __future__ import annotations

import itertools
import math
import random
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdcli.render.plots import (
    NOTHING_FINITE,
    Series,
    curve_plot,
    line_plot,
    loss_plot,
    path_plot_1d,
    path_plot_2d,
    split_finite,
)
from gdcli.reports.figures import clip_line

W, H = 60, 16
NAN, INF = float("nan"), float("inf")

XS = [i / 10 for i in range(-20, 21)]
SQUARE = [x * x for x in XS]
LOG = [math.log(x) if x > 0 else NAN for x in XS]  # log(w) on [-2, 2]: undefined for w <= 0


def _all_plots(title: str, color: bool) -> dict[str, str]:
    size: dict[str, Any] = {"width": W, "height": H, "color": color, "title": title}
    return {
        "line": line_plot([Series("sq", XS, SQUARE)], **size),
        "loss": loss_plot(XS, SQUARE, point=(1.0, 1.0), lines=[("tangent", 1.0, 1.0, 2.0)], **size),
        "path1d": path_plot_1d(XS, SQUARE, [2.0, -1.2, 0.7, -0.4], [4.0, 1.44, 0.49, 0.16], **size),
        "path2d": path_plot_2d([2.0, 1.0, 0.5, 0.1], [1.0, -0.5, 0.2, 0.0], **size),
        "curve": curve_plot(range(30), [0.8**k for k in range(30)], logy=True, **size),
    }


@pytest.mark.parametrize("color", [False, True])
def test_every_function_returns_plot_with_title(color: bool) -> None:
    for name, out in _all_plots("My Title", color).items():
        assert isinstance(out, str) and out.strip(), name
        assert "My Title" in out, name
        assert out != NOTHING_FINITE, name
        if not color:
            assert "\x1b" not in out, name


def test_color_output_is_coloured() -> None:
    assert any("\x1b[" in out for out in _all_plots("t", True).values())


def test_colourless_output_has_requested_size() -> None:
    out = line_plot([Series("sq", XS, SQUARE)], title="t", width=W, height=H, color=False)
    lines = out.splitlines()
    assert len(lines) == H
    assert max(len(line) for line in lines) <= W


def test_tiny_size_does_not_crash() -> None:
    out = line_plot([Series("sq", XS, SQUARE)], title="t", width=0, height=0, color=False)
    assert out.strip() and "\x1b" not in out


def _dirty(n: int) -> list[object]:
    junk: list[object] = [NAN, INF, -INF, None, 1 + 2j, np.complex128(1j), np.nan, 1e309, "x"]
    return [junk[i % len(junk)] if i % 3 == 0 else float(i) for i in range(n)]


@pytest.mark.parametrize("color", [False, True])
def test_non_finite_values_never_crash_or_warn(color: bool) -> None:
    xs = list(range(30))
    ys = _dirty(30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = [
            line_plot(
                [Series("a", xs, ys), Series("b", ys, xs, kind="points")],
                title="dirty",
                width=W,
                height=H,
                color=color,
            ),
            loss_plot(
                xs,
                ys,
                point=(NAN, INF),
                lines=[("bad", NAN, 0.0, 1.0), ("ok", 1.0, 1.0, 1.0), ("inf", 1.0, 1.0, INF)],
                title="dirty",
                width=W,
                height=H,
                color=color,
            ),
            path_plot_1d(xs, ys, ys, xs, title="dirty", width=W, height=H, color=color),
            path_plot_2d(ys, list(reversed(ys)), title="dirty", width=W, height=H, color=color),
            curve_plot(xs, ys, logx=True, logy=True, title="dirty", width=W, height=H, color=color),
            curve_plot(
                np.arange(5.0),
                np.array([1.0, np.nan, np.inf, 2.0, 3.0]),
                title="dirty",
                width=W,
                height=H,
                color=color,
            ),
        ]
    for out in outs:
        assert "dirty" in out
        if not color:
            assert "\x1b" not in out


def test_huge_values_do_not_crash() -> None:
    # plotext's scaling overflows on a span like 3.4e308; such values are dropped
    out = curve_plot(
        [0, 1, 2, 3], [1.7e308, -1.7e308, 1.0, 2.0], title="huge", width=W, height=H, color=False
    )
    assert "huge" in out


def test_loss_with_gap_draws() -> None:
    out = loss_plot(
        XS,
        LOG,
        point=(1.0, 0.0),
        lines=[("tangent", 1.0, 0.0, 1.0)],
        title="log(w)",
        width=W,
        height=H,
        color=False,
    )
    assert "log(w)" in out and "tangent" in out
    assert "\x1b" not in out


def test_curve_with_pole_splits_into_segments() -> None:
    xs = [-1.0, -0.5, 0.0, 0.5, 1.0]
    ys = [1 / x if x else INF for x in xs]
    assert split_finite(xs, ys) == [([-1.0, -0.5], [-1.0, -2.0]), ([0.5, 1.0], [2.0, 1.0])]
    out = line_plot([Series("1/x", xs, ys)], title="pole", width=W, height=H, color=False)
    assert "pole" in out


def test_log_axes_drop_zero_and_negative() -> None:
    h = [1.0, 0.1, 0.0, 0.01, -0.001, 1e-3]
    err = [1e-2, 0.0, 1e-4, 1e-6, 1e-8, -1.0]
    assert split_finite(h, err, logx=True, logy=True) == [([1.0], [1e-2]), ([0.01], [1e-6])]
    assert split_finite(h, err, logx=True) == [
        ([1.0, 0.1], [1e-2, 0.0]),
        ([0.01], [1e-6]),
        ([1e-3], [-1.0]),
    ]
    out = curve_plot(
        h, err, logx=True, logy=True, title="error vs h", xlabel="h", width=W, height=H, color=False
    )
    assert "error vs h" in out and "\x1b" not in out
    # decade labels instead of plotext's long fixed-point ones: the finite points span
    # h from 0.01 to 1 and the error from 1e-6 to 0.01
    lines = out.splitlines()
    y_labels = [line.split("┤")[0].strip() for line in lines if "┤" in line]
    assert y_labels == ["0.01", "0.001", "1e-4", "1e-5", "1e-6"]
    (axis,) = [k for k, line in enumerate(lines) if line.lstrip().startswith("└")]
    assert lines[axis + 1].split() == ["0.01", "0.1", "1"]


def test_log_axis_with_only_non_positive_values_has_nothing_to_plot() -> None:
    out = curve_plot([1, 2, 3], [0.0, -1.0, 0.0], logy=True, width=W, height=H, color=False)
    assert out == NOTHING_FINITE


@pytest.mark.parametrize("color", [False, True])
def test_all_nan_gives_nothing_finite_message(color: bool) -> None:
    out = line_plot(
        [Series("nan", [1, 2, 3], [NAN, NAN, NAN])], title="t", width=W, height=H, color=color
    )
    assert out == NOTHING_FINITE
    assert "\n" not in out
    assert line_plot([], width=W, height=H, color=color) == NOTHING_FINITE
    assert loss_plot([1, 2], [None, NAN], width=W, height=H, color=color) == NOTHING_FINITE
    assert path_plot_2d([NAN], [NAN], width=W, height=H, color=color) == NOTHING_FINITE


def test_split_finite_matches_independent_grouping() -> None:
    rng = random.Random(1234)
    bad: list[object] = [NAN, INF, -INF, None, 2j, np.float64("nan")]
    for _ in range(200):
        n = rng.randrange(0, 25)
        xs: list[object] = [
            rng.uniform(-5, 5) if rng.random() > 0.2 else rng.choice(bad) for _ in range(n)
        ]
        ys: list[object] = [
            rng.uniform(-5, 5) if rng.random() > 0.2 else rng.choice(bad) for _ in range(n)
        ]

        def ok(v: object) -> bool:
            return isinstance(v, float) and math.isfinite(v)

        expected = [
            ([p[0] for p in grp], [p[1] for p in grp])
            for good, grp in (
                (g, list(it))
                for g, it in itertools.groupby(
                    zip(xs, ys, strict=True), key=lambda p: ok(p[0]) and ok(p[1])
                )
            )
            if good
        ]
        assert split_finite(xs, ys) == expected


def test_split_finite_accepts_numpy_and_rejects_mismatch() -> None:
    segs = split_finite(np.array([1.0, 2.0, 3.0]), np.array([1.0, np.nan, 3.0], dtype=np.float32))
    assert segs == [([1.0], [1.0]), ([3.0], [3.0])]
    assert all(type(v) is float for seg in segs for part in seg for v in part)
    assert split_finite([], []) == []
    with pytest.raises(ValueError):
        split_finite([1.0, 2.0], [1.0])


def test_clip_line_stays_in_box() -> None:
    # a steep tangent through (1, 1) with slope 100, box x in [-2, 2], y in [0, 4]
    seg = clip_line(1.0, 1.0, 100.0, (-2.0, 2.0), (0.0, 4.0))
    assert seg is not None
    (xa, xb), (ya, yb) = seg
    assert -2.0 <= xa < xb <= 2.0
    assert ya == pytest.approx(0.0) and yb == pytest.approx(4.0)
    assert ya == pytest.approx(1.0 + 100.0 * (xa - 1.0))
    # a flat line crosses the full width; a line that misses the box is dropped
    assert clip_line(0.0, 2.0, 0.0, (-2.0, 2.0), (0.0, 4.0)) == ([-2.0, 2.0], [2.0, 2.0])
    assert clip_line(0.0, 9.0, 0.0, (-2.0, 2.0), (0.0, 4.0)) is None
    assert clip_line(0.0, 100.0, 1.0, (-2.0, 2.0), (0.0, 4.0)) is None


def test_steep_tangent_does_not_flatten_curve() -> None:
    out = loss_plot(
        XS,
        SQUARE,
        point=(1.0, 1.0),
        lines=[("steep", 1.0, 1.0, 1000.0)],
        title="t",
        width=W,
        height=H,
        color=False,
    )
    # the y axis spans the curve (0..4) padded by 20%, not the tangent's +-1000
    labels = [line.split("┤")[0].strip() for line in out.splitlines() if "┤" in line]
    values = [float(v) for v in labels if v]
    assert max(values) < 10 and min(values) > -10


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError):
        line_plot([Series("a", [1, 2], [1, 2], kind="bars")], width=W, height=H, color=False)


def test_path_marks_start_and_end_and_accepts_iterators() -> None:
    out = path_plot_2d(
        iter([2.0, 1.0, NAN, 0.5]),
        (v for v in [1.0, 0.5, 0.2, 0.0]),
        title="t",
        width=W,
        height=H,
        color=False,
    )
    assert "start" in out and "end" in out
    single = path_plot_2d([1.0, NAN], [1.0, 2.0], title="t", width=W, height=H, color=False)
    assert "start" in single and "end" not in single


def test_import_does_not_load_plotext() -> None:
    code = "import sys, gdcli.render.plots; assert 'plotext' not in sys.modules"
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1]
    )


def test_single_point_on_log_axes() -> None:
    out = curve_plot(
        [1e-3], [1e-9], logx=True, logy=True, title="one", width=W, height=H, color=False
    )
    assert "one" in out and "\x1b" not in out


def test_loss_plot_accepts_iterators() -> None:
    out = loss_plot(iter(XS), iter(SQUARE), title="it", width=W, height=H, color=False)
    assert "it" in out and "▞" in out
