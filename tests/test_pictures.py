"""The pictures (issue 13, item 13).

* `plot` chooses its default range from the loss: centred on the loss's lowest point
  near the point (found here in closed form), the point in view, round ends and ticks;
  3 either side of the point where the loss has no lowest point in reach.
* `slope` marks w and w + h and draws the secant and the tangent in different glyphs;
  `--h 1,0.1,0.01` draws the secants closing in on the tangent.
* `sweep` draws every run by its outcome (diverged ones at the top, not dropped) and
  the bound 2/l'' at the start; its long table keeps the rows where the outcome changes.
"""

from __future__ import annotations

import math
import re

import pytest
from helpers import json_output

from gdcli.reports.figures import lowest_point, round_range

NO_COLOR = {"NO_COLOR": "1"}


def is_round(value: float, step: float) -> bool:
    return math.isclose(value / step, round(value / step), abs_tol=1e-9)


def round_ends(lo: float, hi: float) -> bool:
    """lo and hi are whole multiples of a round step (1, 2, 2.5 or 5 times a power of
    ten) that cuts [lo, hi] into 3 to 13 parts."""
    for k in range(-12, 12):
        for m in (1, 2, 2.5, 5):
            step = m * 10.0**k
            if 3 <= (hi - lo) / step <= 13 and is_round(lo, step) and is_round(hi, step):
                return True
    return False


def plot_range(run, *args: str) -> tuple[float, float]:
    lo, hi = json_output(run(["plot", *args, "-f", "json"]))["range"]
    return lo, hi


# loss, point, where its lowest point near the point is
MINIMA = [
    ("(w - 3)**2", "1", 3.0),
    ("(w - 3)**2", "5", 3.0),
    ("(w - 300)**2", "1", 300.0),
    ("abs(w + 5)", "1", -5.0),
    ("(w - 0.25)**2 + 1", "0", 0.25),
    ("sin(w)", "1", -math.pi / 2),
    ("w**4 - 3*w**2 + w", "1", -1.3008395),  # the deeper valley beside the nearer one
    ("w**4 - 3*w**2 + w", "-1", -1.3008395),
    ("cosh(w - 2)", "-1", 2.0),
    ("log(1 + exp(w)) - w/2", "3", 0.0),  # softplus(w) - w/2 is even, lowest at 0
]


@pytest.mark.parametrize(("loss", "at", "low"), MINIMA, ids=[f"{e}@{a}" for e, a, _ in MINIMA])
def test_plot_shows_the_minimum_and_the_point_with_round_ends(run, loss, at, low):
    lo, hi = plot_range(run, loss, "--at", at)
    point = float(at)
    assert lo < point < hi and lo < low < hi
    assert round_ends(lo, hi), (lo, hi)
    # centred on the minimum, the farther of the two not crowded at the edge
    middle = (lo + hi) / 2
    assert abs(middle - low) <= 0.3 * (hi - lo), (lo, hi, low)
    assert min(point - lo, hi - point) >= 0.05 * (hi - lo)


def test_the_default_loss_is_drawn_from_0_to_6():
    """(w - 3)**2 from w = 1: the minimum 3 in the middle, 1 at a third, ticks 0..6."""
    from helpers import run_cli

    assert plot_range(run_cli) == (0.0, 6.0)
    r = run_cli(["plot"])
    ticks = r.out.splitlines()[-2].split()
    assert ticks == ["0", "1", "2", "3", "4", "5", "6"], r.out


@pytest.mark.parametrize(
    ("loss", "at"),
    [
        ("exp(-w)", "1"),
        ("tanh(w)", "0.5"),
        ("log(w)", "2"),
        ("-log(sigmoid(w))", "1"),
        ("w**3", "0"),
    ],
)
def test_without_a_minimum_in_reach_the_point_is_in_the_middle(run, loss, at):
    """No lowest point (the loss falls on and on, or levels off): 3 either side."""
    lo, hi = plot_range(run, loss, "--at", at)
    point = float(at)
    assert lo <= point - 3 and point + 3 <= hi and hi - lo <= 8


def test_a_flat_bottom_shows_where_the_loss_rises():
    """max(0, |w| - 1) at 0 is on its flat bottom: the view reaches the rise at ±1."""
    found = lowest_point(lambda w: max(0.0, abs(w) - 1), 0.0)
    assert found is not None and found[0] == 0.0


def test_the_given_range_wins(run):
    assert plot_range(run, "(w-3)**2", "--range", "-2:5") == (-2.0, 5.0)


def test_round_range():
    assert round_range(0.5, 5.5) == (0.0, 6.0, (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0))
    assert round_range(-2.125, 0.79)[:2] == (-2.5, 1.0)
    lo, hi, ticks = round_range(0.998, 1.0035)
    assert ticks[0] == lo and ticks[-1] == hi and all(len(f"{t:g}") <= 6 for t in ticks)


def test_two_weights_show_the_minimum_and_the_point(run):
    data = json_output(run(["plot", "(x-1)**2 + 10*(y+2)**2", "--at", "x=4,y=1", "-f", "json"]))
    (x0, x1), (y0, y1) = data["range"]["x"], data["range"]["y"]
    assert x0 < 1 < x1 and x0 < 4 < x1
    assert y0 < -2 < y1 and y0 < 1 < y1


# --- slope ------------------------------------------------------------------------------


def picture(run, *args: str) -> list[str]:
    r = run([*args, "-f", "table"], env=NO_COLOR, tty=True)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    first = next(k for k, line in enumerate(lines) if line.lstrip().startswith("┌"))
    return lines[first:]


def canvas(lines: list[str]) -> str:
    """The inside of the plot's frame, the legend's entries (two glyphs, a space and
    a label at the left) blanked out."""
    left = lines[0].index("┌")
    inside = [line[left + 1 : -1] for line in lines[1:] if line[left : left + 1] in "│┤"]
    return "\n".join(re.sub(r"^ (\S)\1 \S.*?(?=\s{2,}|$)", "", line) for line in inside)


def test_slope_marks_both_points_and_draws_two_glyphs(run):
    lines = picture(run, "slope", "(w-3)**2", "--at", "1", "--h", "1")
    text = "\n".join(lines)
    assert "++ secant, h = 1" in text and "•• tangent at w = 1" in text
    assert "oo w" in text and "XX w + h" in text
    inside = canvas(lines)
    assert "o" in inside and "X" in inside  # w = 1 and w + h = 2, both on the curve
    assert "+" in inside and "•" in inside  # the secant and the tangent, each its glyph


def test_slope_zooms_in_when_h_is_too_small_to_see(run):
    lines = picture(run, "slope", "--h", "1e-3")
    text = "\n".join(lines)
    assert "zoomed in to tell w and w + h apart" in "\n".join(
        run(["slope", "--h", "1e-3", "-f", "table"], env=NO_COLOR, tty=True).out.splitlines()
    )
    ticks = [float(t) for t in lines[-2].split()]
    assert ticks[0] < 1 < 1.001 < ticks[-1] and ticks[-1] - ticks[0] < 0.02, ticks
    inside = canvas(lines)
    assert "o" in inside and "X" in inside, text


def test_a_list_of_h_draws_secants_closing_in(run):
    data = json_output(run(["slope", "--h", "1,0.1,0.01", "-f", "json"]))
    secants = data["secants"]
    assert [s["h"] for s in secants] == [1.0, 0.1, 0.01]
    # ((w + h - 3)^2 - (w - 3)^2) / h = 2(w - 3) + h at w = 1
    assert [s["slope"] for s in secants] == pytest.approx([-3.0, -3.9, -3.99], rel=1e-15)
    assert [s["abs_error"] for s in secants] == pytest.approx([1.0, 0.1, 0.01], rel=1e-12)
    assert data["slope"] == secants[-1]["slope"] and data["derivative"] == -4.0
    r = run(["slope", "--h", "1,0.1,0.01", "-q"])
    assert r.out.split() == ["-3.0", "-3.9", "-3.99"]
    r = run(["slope", "--h", "1,0.1,0.01"])
    assert "they shrink with h, and the secants close in on the tangent" in r.err
    lines = picture(run, "slope", "--h", "1,0.1,0.01")
    legend = "\n".join(lines[:8])
    for glyphs, h in (("++", "1"), ("xx", "0.1"), ("**", "0.01")):
        assert f"{glyphs} secant, h = {h}" in legend
    r = run(["slope", "--h", "1,0.1,0.01", "-f", "csv"])
    assert len(r.out.splitlines()) == 4


def test_a_list_of_h_at_a_kink_says_there_is_no_tangent(run):
    r = run(["slope", "abs(w)", "--at", "0", "--h", "0.1,-0.1"])
    assert r.code == 0
    assert "secant slopes (l(w+h) - l(w))/h: h = 0.1: 1; h = -0.1: -1." in r.err
    assert "not differentiable at w = 0" in r.err


@pytest.mark.parametrize("h", ["1,0", "0.1,[1,2]", "1,,2"])
def test_a_bad_h_in_a_list_is_bad_input(run, h):
    r = run(["slope", "--h", h])
    assert r.code == 2 and r.out == "" and r.err.startswith("gdcli: error:")


# --- sweep --------------------------------------------------------------------------------


def test_sweep_draws_every_outcome_and_the_bound(run):
    lines = picture(run, "sweep", "--lr", "0.05:1.2:47", "--start", "0", "--steps", "300")
    text = "\n".join(lines)
    for entry in ("oo converged", "~~ oscillates", "xx diverged (drawn at the top)",
                  "|| lr < 2 / l'' = 1"):  # fmt: skip
        assert entry in text
    assert "diverged runs at the top" in "\n".join(
        run(["sweep", "--lr", "0.05:1.2:47", "--start", "0", "--steps", "300", "-f", "table"],
            env=NO_COLOR, tty=True).out.splitlines()
    )  # fmt: skip
    inside = canvas(lines)
    assert inside.count("x") == 8  # the eight runs above lr = 1, each marked


def test_every_run_diverging_is_still_drawn(run):
    lines = picture(run, "sweep", "w**2", "--lr", "2,3,4")
    assert canvas(lines).count("x") == 3


@pytest.mark.parametrize(
    ("options", "rule", "bound"),
    [
        ([], "lr < 2 / l''", 1.0),
        (["--momentum", "0.9"], "lr < 2(1 + 0.9) / l''", 1.9),
        (["--momentum", "0.5", "--nesterov"], "lr < 2(1 + 0.5) / ((1 + 2·0.5) l'')", 0.75),
    ],
)
def test_the_bound_belongs_to_the_update_rule(run, options, rule, bound):
    """On (w - 3)**2, l'' = 2: plain gradient descent is stable for lr < 1, heavy-ball
    momentum m for lr < 2(1 + m)/l'', Nesterov's for lr < 2(1 + m)/((1 + 2m) l'')."""
    data = json_output(run(["sweep", "--lr", "0.1,0.5", *options, "-f", "json"]))
    assert data["stability"]["rule"] == rule
    assert data["stability"]["lr_max"] == pytest.approx(bound, rel=1e-12)


def test_the_bound_is_taken_at_the_start(run):
    """w**4 from w = 2: l'' = 12 w**2 = 48, so lr < 2/48."""
    data = json_output(run(["sweep", "w**4", "--lr", "0.01,0.1", "--start", "2", "-f", "json"]))
    assert data["stability"] == {"at": "start", "rule": "lr < 2 / l''", "lr_max": 2 / 48}


def test_several_weights_use_the_largest_eigenvalue(run):
    """(x-1)**2 + 10*(y+2)**2: the Hessian is diag(2, 20), so lr < 2/20."""
    data = json_output(run(["sweep", "(x-1)**2 + 10*(y+2)**2", "--start", "x=0,y=0", "--lr",
                            "0.01,0.1", "-f", "json"]))  # fmt: skip
    assert data["stability"]["lr_max"] == pytest.approx(0.1, rel=1e-12)
    assert data["stability"]["rule"] == "lr < 2 / λmax"


def test_no_bound_is_drawn_for_adam_and_the_note_says_why(run):
    r = run(["sweep", "--lr", "0.1,0.5", "--optimizer", "adam", "-f", "json"])
    assert "stability" not in json_output(r)
    r = run(["sweep", "--lr", "0.1,0.5", "--optimizer", "adam"])
    assert "no simple bound on lr from the curvature, so none is drawn" in r.err


def test_a_long_sweep_table_keeps_the_rows_where_the_outcome_changes(run):
    r = run(["sweep", "--lr", "0.05:1.2:47", "--start", "0", "--steps", "300", "-f", "table",
             "--no-plot"])  # fmt: skip
    rows = [line for line in r.out.splitlines() if line.startswith("│")]
    firsts = [line.split("│")[1].strip() for line in rows]
    # the first and last runs, the best (0.5), and both sides of each change:
    # converged until 0.95, oscillating at 0.975 and 1, diverged from 1.025
    assert firsts == ["0.05", "⋮", "0.5", "⋮", "0.95", "0.975", "1", "1.025", "⋮", "1.2"]
    assert "(17 rows not shown)" in r.out and "(6 rows not shown)" in r.out


@pytest.mark.parametrize(("loss", "at", "hs"), [("w**3", "1", "1,0.5,0.1"), ("w**4", "1", "1,0.5,0.2"),
                                                ("1/w", "1", "-0.5,-0.3,-0.1")])  # fmt: skip
def test_a_list_of_h_shows_every_secant(run, loss, at, hs):
    """The view is the secants' own stretch: each secant's glyph is seen on its own
    (not all drawn over one another in a wide window) where their slopes differ
    clearly (here by a third of the tangent's slope or more)."""
    lines = picture(run, "slope", loss, "--at", at, "--h", hs)
    inside = canvas(lines)
    for glyph in "+x*":
        assert inside.count(glyph) >= 8, (glyph, "\n".join(lines))
