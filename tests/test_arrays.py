"""Array losses through the command line: grad and descend on the array engine,
against torch autograd and torch.optim (float64), and the gradient's matrix form."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from helpers import json_output

torch = pytest.importorskip("torch")
torch.set_default_dtype(torch.float64)


def text(value: Any) -> str:
    return json.dumps(np.asarray(value, dtype=float).tolist()).replace(" ", "")


RNG = np.random.default_rng(2026)
X = RNG.normal(size=4)
Y = RNG.uniform(0.1, 0.9, size=3)
ONEHOT = np.array([0.0, 1.0, 0.0])
W1 = RNG.normal(size=(5, 4)) * 0.7
B1 = RNG.normal(size=5) * 0.3
W2 = RNG.normal(size=(3, 5)) * 0.7
B2 = RNG.normal(size=3) * 0.3


def t(a: Any) -> Any:
    return torch.tensor(a, requires_grad=True)


# (loss text, weights, inputs, the same loss in torch)
CASES = [
    (
        "sum((W1 @ x - y2)**2)",
        {"W1": W1},
        {"x": X, "y2": RNG.normal(size=5)},
        lambda w, i: ((w["W1"] @ i["x"] - i["y2"]) ** 2).sum(),
    ),
    (
        "mean((tanh(W2 @ tanh(W1 @ x + b1) + b2) - y)**2)",
        {"W1": W1, "b1": B1, "W2": W2, "b2": B2},
        {"x": X, "y": Y},
        lambda w, i: (
            (torch.tanh(w["W2"] @ torch.tanh(w["W1"] @ i["x"] + w["b1"]) + w["b2"]) - i["y"]) ** 2
        ).mean(),
    ),
    (
        "mean((sigmoid(W2 @ sigmoid(W1 @ x)) - y)**2)",
        {"W1": W1, "W2": W2},
        {"x": X, "y": Y},
        lambda w, i: (
            (torch.sigmoid(w["W2"] @ torch.sigmoid(w["W1"] @ i["x"])) - i["y"]) ** 2
        ).mean(),
    ),
    (
        "sum((W2 @ max(0, W1 @ x + b1) - y)**2)",
        {"W1": W1, "b1": B1, "W2": W2},
        {"x": X, "y": Y},
        lambda w, i: ((w["W2"] @ torch.relu(w["W1"] @ i["x"] + w["b1"]) - i["y"]) ** 2).sum(),
    ),
    (
        "-sum(t * log(softmax(W2 @ tanh(W1 @ x))))",
        {"W1": W1, "W2": W2},
        {"x": X, "t": ONEHOT},
        lambda w, i: (
            -(i["t"] * torch.log_softmax(w["W2"] @ torch.tanh(w["W1"] @ i["x"]), dim=0)).sum()
        ),
    ),
    (
        "logsumexp(W2 @ h) - dot(t, W2 @ h)",
        {"W2": W2},
        {"h": RNG.normal(size=5), "t": ONEHOT},
        lambda w, i: torch.logsumexp(w["W2"] @ i["h"], 0) - i["t"] @ (w["W2"] @ i["h"]),
    ),
    (
        "sum((a * M + v - Y)**2) / 12",  # a scalar weight times a matrix, a vector on each row
        {"a": np.array(0.7), "v": RNG.normal(size=4)},
        {"M": RNG.normal(size=(3, 4)), "Y": RNG.normal(size=(3, 4))},
        lambda w, i: ((w["a"] * i["M"] + w["v"] - i["Y"]) ** 2).sum() / 12,
    ),
]


def args_of(weights: dict[str, Any], inputs: dict[str, Any]) -> list[str]:
    point = ",".join(f"{n}={text(v) if np.ndim(v) else repr(float(v))}" for n, v in weights.items())
    out = ["--at", point]
    for name, value in inputs.items():
        out += ["--set", f"{name}={text(value)}"]
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0][:40] for c in CASES])
def test_grad_equals_torch_autograd(run, case):
    loss_text, weights, inputs, torch_loss = case
    data = json_output(run(["grad", loss_text, *args_of(weights, inputs), "-f", "json"]))
    tw = {n: t(v) for n, v in weights.items()}
    ti = {n: torch.tensor(v) for n, v in inputs.items()}
    loss = torch_loss(tw, ti)
    loss.backward()
    assert data["loss"] == pytest.approx(loss.item(), rel=1e-12)
    for name, tensor in tw.items():
        expected = tensor.grad.numpy()
        got = np.asarray(data["gradient"][name])
        assert got.shape == expected.shape
        scale = max(1.0, float(np.abs(expected).max()))
        assert np.abs(got - expected).max() <= 1e-12 * scale, name


@pytest.mark.parametrize("case", CASES, ids=[c[0][:40] for c in CASES])
def test_the_matrix_form_parses_back_and_gives_the_gradient(run, case):
    """`formula` is text gdcli reads: sum((F) * V) for a fixed V is then <gradient, V>."""
    loss_text, weights, inputs, _ = case
    data = json_output(run(["grad", loss_text, *args_of(weights, inputs), "-f", "json"]))
    for name, formula in data["formula"].items():
        gradient = np.asarray(data["gradient"][name])
        probe = RNG.normal(size=gradient.shape)
        check = run(["grad", f"sum(({formula}) * V)", *args_of(weights, inputs),
                     "--set", f"V={text(probe)}", "-f", "json"])  # fmt: skip
        value = json_output(check)["loss"]
        assert value == pytest.approx(float((gradient * probe).sum()), rel=1e-9, abs=1e-12)


def test_descend_two_layers_equals_torch_optim(run):
    loss_text, weights, inputs, torch_loss = CASES[1]
    steps, lr = 30, 0.3
    args = args_of(weights, inputs)
    args[0] = "--start"
    r = run(["descend", loss_text, *args, "--lr", str(lr), "--momentum", "0.9",
             "--steps", str(steps), "--tol", "0", "-f", "json"])  # fmt: skip
    data = json_output(r)
    tw = {n: t(v) for n, v in weights.items()}
    ti = {n: torch.tensor(v) for n, v in inputs.items()}
    opt = torch.optim.SGD(list(tw.values()), lr=lr, momentum=0.9)
    for record in data["steps"]:
        opt.zero_grad()
        loss = torch_loss(tw, ti)
        loss.backward()
        assert record["loss"] == pytest.approx(loss.item(), rel=1e-12)
        for name, tensor in tw.items():
            got = np.asarray(record["params"][name])
            assert np.allclose(got, tensor.detach().numpy(), rtol=1e-12, atol=1e-14), name
        opt.step()


def test_outer_is_a_function(run):
    data = json_output(
        run(
            [
                "grad",
                "sum(outer(v, u) * M)",
                "--at",
                "v=[1,2]",
                "--set",
                "u=[3,4,5]",
                "--set",
                "M=[[1,0,2],[0,1,1]]",
                "-f",
                "json",
            ]
        )  # fmt: skip
    )
    # d/dv_i sum_j v_i u_j M_ij = sum_j u_j M_ij
    assert data["gradient"]["v"] == [3 * 1 + 5 * 2, 4 + 5]


def test_shapes_that_do_not_fit_name_both(run):
    r = run(["grad", "sum((W @ x)**2)", "--at", "W=0", "--shape", "W=2x3", "--set", "x=[1,2]"])
    assert r.code == 2 and r.out == ""
    assert r.err == "gdcli: error: @ needs matching inner sizes: 2x3 @ 2 (3 != 2)\n"
