"""grad, derive, slope, plot and sweep on training data: the loss is the mean over the
examples of the loss written per example; every number is compared with NumPy's mean
over the rows, computed here by hand. And the example data set is the script's."""

from __future__ import annotations

import csv
import io
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
from helpers import json_output

ROOT = Path(__file__).resolve().parent.parent
LOSS = "(w*x + b - y)**2"


def write(tmp_path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def numbers(n: int = 9, seed: int = 2) -> tuple[np.ndarray, np.ndarray, str]:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=n), rng.normal(size=n) * 3
    rows = "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True))
    return x, y, "x,y\n" + rows


# --- grad ---------------------------------------------------------------------------------------


def test_grad_is_numpys_mean_over_the_rows(run, tmp_path):
    x, y, text = numbers()
    path = write(tmp_path, text)
    data = json_output(run(["grad", LOSS, "--data", path, "--at", "w=0.7,b=-0.2",
                            "--format", "json"]))  # fmt: skip
    r = 0.7 * x - 0.2 - y
    assert math.isclose(data["loss"], np.mean(r**2), rel_tol=1e-12)
    assert math.isclose(data["gradient"]["w"], np.mean(2 * r * x), rel_tol=1e-12)
    assert math.isclose(data["gradient"]["b"], np.mean(2 * r), rel_tol=1e-12)
    assert data["formula"] == {"b": "2*(w*x + b - y)", "w": "2*(w*x + b - y)*x"}
    assert data["data"]["examples"] == 9 and data["data"]["rows"] == [2, 10]


def test_grad_of_a_layer_over_vectors_of_columns(run, tmp_path):
    """sigmoid over W @ x + b with x = (f1, f2, f3), per-example squared error."""
    rng = np.random.default_rng(4)
    X, T = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    rows = [
        ",".join(repr(v) for v in [*a, *b]) for a, b in zip(X.tolist(), T.tolist(), strict=True)
    ]
    path = write(tmp_path, "f1,f2,f3,t1,t2\n" + "\n".join(rows) + "\n")
    W = np.array([[0.1, -0.2, 0.3], [0.4, 0.0, -0.5]])
    b = np.array([0.05, -0.1])
    data = json_output(run(["grad", "sum((sigmoid(W @ x + b) - t)**2)", "--data", path,
                            "--vector", "x=f1,f2,f3", "--vector", "t=t1,t2",
                            "--at", "W=[[0.1,-0.2,0.3],[0.4,0,-0.5]],b=[0.05,-0.1]",
                            "--format", "json"]))  # fmt: skip
    s = 1 / (1 + np.exp(-(X @ W.T + b)))
    e = s - T
    delta = 2 * e * s * (1 - s)
    assert math.isclose(data["loss"], np.mean(np.sum(e**2, axis=1)), rel_tol=1e-12)
    assert np.allclose(data["gradient"]["W"], delta.T @ X / 6, rtol=1e-12, atol=1e-15)
    assert np.allclose(data["gradient"]["b"], delta.mean(axis=0), rtol=1e-12, atol=1e-15)


def test_per_example_rows_and_their_mean(run, tmp_path):
    x, y, text = numbers(n=5)
    path = write(tmp_path, text)
    args = ["grad", LOSS, "--data", path, "--at", "w=2,b=1", "--per-example"]
    data = json_output(run([*args, "--format", "json"]))
    r = 2 * x + 1 - y
    assert [e["row"] for e in data["per_example"]] == [2, 3, 4, 5, 6]
    for e, ri, xi in zip(data["per_example"], r, x, strict=True):
        assert math.isclose(e["loss"], ri * ri, rel_tol=1e-13)
        assert math.isclose(e["grad"]["w"], 2 * ri * xi, rel_tol=1e-13)
        assert math.isclose(e["grad"]["b"], 2 * ri, rel_tol=1e-13)
    mean = data["per_example_mean"]["grad"]
    for name in ("w", "b"):  # the mean of the rows is the full gradient
        assert math.isclose(mean[name], data["gradient"][name], rel_tol=1e-12)
    table = list(csv.reader(io.StringIO(run([*args, "--format", "csv"]).out)))
    assert table[0] == ["row", "loss", "grad_b", "grad_w"]
    assert [row[0] for row in table[1:]] == ["2", "3", "4", "5", "6", "mean"]
    assert math.isclose(float(table[-1][3]), np.mean(2 * r * x), rel_tol=1e-12)


def test_per_example_in_chunks_keeps_every_row(run, tmp_path):
    """More examples than one pass takes (4096): every row once, in order."""
    n = 5000
    x = np.arange(n) / n
    path = write(tmp_path, "x\n" + "".join(f"{v!r}\n" for v in x.tolist()))
    data = json_output(run(["grad", "(w*x - 1)**2", "--data", path, "--at", "1",
                            "--per-example", "--format", "json"]))  # fmt: skip
    rows = data["per_example"]
    assert [e["row"] for e in rows] == list(range(2, n + 2))
    assert math.isclose(rows[-1]["grad"]["w"], 2 * (x[-1] - 1) * x[-1], rel_tol=1e-13)


def test_a_fixed_input_beside_the_data(run, tmp_path):
    x, y, text = numbers()
    path = write(tmp_path, text)
    data = json_output(run(["grad", "c*(w*x - y)**2", "--data", path, "--set", "c=0.5",
                            "--at", "1.5", "--format", "json"]))  # fmt: skip
    assert math.isclose(data["gradient"]["w"], np.mean((1.5 * x - y) * x), rel_tol=1e-12)


# --- derive, slope, plot -------------------------------------------------------------------------


def test_derive_on_data(run, tmp_path):
    x, y, text = numbers()
    path = write(tmp_path, text)
    data = json_output(run(["derive", LOSS, "--data", path, "--wrt", "w",
                            "--at", "w=0.5,b=1", "--format", "json"]))  # fmt: skip
    r = 0.5 * x + 1 - y
    assert data["derivative"] == "2*(w*x + b - y)*x"
    assert math.isclose(data["slope"], np.mean(2 * r * x), rel_tol=1e-12)
    assert math.isclose(data["loss"], np.mean(r * r), rel_tol=1e-12)
    best = min(row["abs_error"] for row in data["rows"])
    assert best < 1e-6  # the quotients of the mean loss tend to the slope


def test_derive_at_a_kink_of_one_example(run, tmp_path):
    """hinge max(0, 1 - y*w*x): at w = 0.5 the example (x=2, y=1) sits on its kink."""
    path = write(tmp_path, "x,y\n2,1\n1,-1\n-1,1\n")
    data = json_output(run(["derive", "max(0, 1 - y*w*x)", "--data", path, "--at", "0.5",
                            "--format", "json"]))  # fmt: skip
    # left of 0.5 all three are active: (-2 + 1 + 1)/3; right: the first is flat: (1 + 1)/3
    assert data["differentiable"] is False and data["slope"] is None
    assert math.isclose(data["left_slope"], 0.0, abs_tol=1e-12)
    assert math.isclose(data["right_slope"], 2 / 3, rel_tol=1e-9)


def test_slope_on_data(run, tmp_path):
    x, y, text = numbers()
    path = write(tmp_path, text)
    data = json_output(run(["slope", "(w*x - y)**2", "--data", path, "--at", "1", "--h", "0.25",
                            "--format", "json"]))  # fmt: skip
    l1, l2 = np.mean((x - y) ** 2), np.mean((1.25 * x - y) ** 2)
    assert math.isclose(data["slope"], (l2 - l1) / 0.25, rel_tol=1e-10)
    assert math.isclose(data["derivative"], np.mean(2 * (x - y) * x), rel_tol=1e-12)


def test_plot_on_data(run, tmp_path):
    x, y, text = numbers()
    path = write(tmp_path, text)
    r = run(["plot", "(w*x - y)**2", "--data", path, "--at", "-1", "--quiet"])
    loss, slope = (float(v) for v in r.out.split())
    assert math.isclose(loss, np.mean((-x - y) ** 2), rel_tol=1e-12)
    assert math.isclose(slope, np.mean(2 * (-x - y) * x), rel_tol=1e-12)
    data = json_output(run(["plot", "(w*x - y)**2", "--data", path, "--at", "-1",
                            "--range", "0:1", "--format", "json"]))  # fmt: skip
    last = data["points"][-1]
    assert last["w"] == 1.0 and math.isclose(last["loss"], np.mean((x - y) ** 2), rel_tol=1e-12)


# --- the example data set ------------------------------------------------------------------------


def test_the_examples_are_the_scripts(tmp_path):
    """examples/*.csv are exactly what examples/make_examples.py writes (seeded)."""
    script = ROOT / "examples" / "make_examples.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, timeout=60)
    for name in ("line.csv", "classes.csv"):
        assert (tmp_path / name).read_bytes() == (ROOT / "examples" / name).read_bytes()


def test_the_line_fit_finds_the_line(run):
    """line.csv is y = 2x + 1 plus noise: mini-batch descent lands near w = 2, b = 1."""
    path = str(ROOT / "examples" / "line.csv")
    data = json_output(run(["descend", LOSS, "--data", path, "--start", "w=0,b=0",
                            "--lr", "0.1", "--epochs", "40", "--batch-size", "8",
                            "--format", "json"]))  # fmt: skip
    assert abs(data["final"]["params"]["w"] - 2) < 0.1
    assert abs(data["final"]["params"]["b"] - 1) < 0.25


def test_the_classification_learns_the_labels(run):
    path = str(ROOT / "examples" / "classes.csv")
    data = json_output(run(["descend", "-sum(t*log(softmax(W @ x + b)))", "--data", path,
                            "--vector", "x=x1,x2", "--vector", "t=t1,t2,t3",
                            "--start", "W=0,b=0", "--shape", "W=3x2", "--shape", "b=3",
                            "--lr", "0.5", "--epochs", "30", "--batch-size", "10",
                            "--format", "json"]))  # fmt: skip
    rows = np.loadtxt(path, delimiter=",", skiprows=1)
    W = np.array(data["final"]["params"]["W"])
    b = np.array(data["final"]["params"]["b"])
    predicted = np.argmax(rows[:, :2] @ W.T + b, axis=1)
    assert np.mean(predicted == np.argmax(rows[:, 2:], axis=1)) >= 0.9
    assert data["final"]["loss"] < 0.5 < data["steps"][0]["loss"]
