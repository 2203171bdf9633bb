"""Issue 13 checked from outside: other members of each class than the issue's
examples, every number against an independent reference (mpmath at 100 digits,
torch, or by hand), never against gdcli's own output."""

from __future__ import annotations

from typing import Any

import mpmath as mp
import pytest
from helpers import run_cli

mp.mp.dps = 100


def sigmoid(w: mp.mpf) -> mp.mpf:
    return 1 / (1 + mp.exp(-w))


def bce(w: mp.mpf) -> mp.mpf:
    with mp.workdps(1000):  # 1 - sigmoid(800) is about 1e-348
        return +(-mp.log(1 - sigmoid(w)))


def close(got: str, want: mp.mpf, rel: float = 4e-16) -> bool:
    return bool(abs(mp.mpf(got) - want) <= rel * abs(want))


def first_step(args: list[str]) -> list[str]:
    """descend's row of step 0 (plain): step, w, loss, grad, update, direction."""
    r = run_cli(["descend", *args, "--steps", "1", "--format", "plain"])
    assert r.code == 0, r.err
    return r.out.splitlines()[1].split("\t")


# --- 2. finite results are not lost to a float that overflows or cancels on the way


def softplus(w: mp.mpf) -> mp.mpf:
    return mp.log(1 + mp.exp(w))


def minus_sigmoid(w: mp.mpf) -> mp.mpf:
    return -sigmoid(-w)


@pytest.mark.parametrize(
    ("loss", "f", "df", "at"),
    [  # (the loss, by hand: the loss and its slope)
        ("softplus(w)", softplus, sigmoid, "800"),
        ("log(1 + exp(w))", softplus, sigmoid, "1000"),
        ("-log(1 - sigmoid(w))", bce, sigmoid, "30"),  # floats lose digits before 0
        ("-log(1 - sigmoid(w))", bce, sigmoid, "36"),
        ("-log(1 - sigmoid(w))", bce, sigmoid, "800"),
        ("-log(sigmoid(w))", lambda w: -mp.log(sigmoid(w)), minus_sigmoid, "-750"),
        ("-log(sigmoid(w))", lambda w: -mp.log(sigmoid(w)), minus_sigmoid, "-40"),
    ],
)
def test_descend_first_step_at_extreme_logits(loss: str, f: Any, df: Any, at: str) -> None:
    w = mp.mpf(at)
    row = first_step([loss, "--at", at, "--lr", "0.1"])
    assert close(row[2], f(w))
    assert close(row[3], df(w))


def test_sweep_keeps_the_digits_of_binary_cross_entropy() -> None:
    # lr 1 from 40: w moves by sigmoid(w) ~ 1 each step; the loss is log(1 + exp(w))
    r = run_cli(["sweep", "-log(1 - sigmoid(w))", "--at", "40", "--lr", "1", "--steps", "5",
                 "--format", "plain"])  # fmt: skip
    assert r.code == 0, r.err
    head, row = r.out.splitlines()[:2]
    cells = dict(zip(head.split("\t"), row.split("\t"), strict=True))
    assert cells["status"] == "max_steps"
    assert close(cells["final_loss"], bce(mp.mpf(cells["w"])))

