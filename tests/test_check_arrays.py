"""check with vector and matrix answers (issue 15, item 2): ANSWER is an array
expression, compared entry by entry with the gradient; a counterexample names the
entry (W[2,1], 1-based) with both values; an answer of the transposed shape is
called transposed. References: the gradients written by hand in NumPy here."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_clean_failure, json_output

X, Y = [1, 2, 3], [0, 1]
LAYER = ["--wrt", "W", "--shape", "W=2x3", "--set", "x=[1,2,3]", "--set", "y=[0,1]"]


def check_json(run, loss: str, answer: str, *options: str, code: int) -> dict:
    return json_output(run(["check", loss, answer, *options, "--format", "json"]), code)


def linear_gradient(W: np.ndarray) -> np.ndarray:
    """d/dW sum((W x - y)**2) = 2 (W x - y) x^T, by hand."""
    x, y = np.array(X, float), np.array(Y, float)
    return 2 * np.outer(W @ x - y, x)


@pytest.mark.parametrize(
    "answer",
    [
        "2*outer(W @ x - y, x)",
        "outer(2*(W @ x - y), x)",
        "2*outer(W @ x, x) - 2*outer(y, x)",
        "transpose(2*outer(x, W @ x - y))",
    ],
)
def test_right_matrix_answers(run, answer):
    data = check_json(run, "sum((W @ x - y)**2)", answer, *LAYER, code=0)
    assert data["equal"] is True and data["method"] == "numeric"
    assert data["exact_points"] > 0  # confirmed entry by entry in exact arithmetic
    assert data["derivative"] == "2*outer(W @ x - y, x)"


@pytest.mark.parametrize(
    ("answer", "extra"),
    [
        ("2*outer(W @ x - y, x) + [[0,0,0],[0.5,0,0]]", np.array([[0, 0, 0], [0.5, 0, 0]])),
        ("2*outer(W @ x - y, x) + [[0,0,0],[0,0,1e-12]]", np.array([[0, 0, 0], [0, 0, 1e-12]])),
        ("outer(W @ x - y, x)", None),
    ],
)
def test_a_wrong_entry_is_named(run, answer, extra):
    data = check_json(run, "sum((W @ x - y)**2)", answer, *LAYER, code=1)
    ce = data["counterexample"]
    W = np.array(ce["point"]["W"], float)
    assert W.shape == (2, 3)
    i, j = (int(k) - 1 for k in ce["entry"].removeprefix("W[").removesuffix("]").split(","))
    g = linear_gradient(W)
    got = g + extra if extra is not None else g / 2
    assert ce["expected"] == pytest.approx(g[i, j], rel=1e-12, abs=1e-12)
    assert ce["got"] == pytest.approx(got[i, j], rel=1e-12, abs=1e-15)
    assert ce["expected_text"] != ce["got_text"]
    if extra is not None:  # the first entry that differs, row-major
        assert (i, j) == tuple(np.argwhere(extra != 0)[0])
    assert f"∂l/∂{ce['entry']} is {ce['expected_text']}" in data["reason"]


def test_the_transposed_shape_is_called_so(run):
    data = check_json(run, "sum((W @ x - y)**2)", "2*outer(x, W @ x - y)", *LAYER, code=1)
    assert data["method"] == "shape" and data["hint"] == "transposed"
    assert data["shapes"] == {"gradient": [2, 3], "answer": [3, 2]}
    assert "shape 3x2" in data["reason"] and "transposed" in data["reason"]


def test_a_square_transposed_answer_is_called_so(run):
    options = ["--wrt", "W", "--shape", "W=2x2", "--set", "x=[1,2]", "--set", "y=[0,1]"]
    data = check_json(run, "sum((W @ x - y)**2)", "2*outer(x, W @ x - y)", *options, code=1)
    assert data["hint"] == "transposed"
    assert "transposed" in data["reason"]


def test_another_shape_is_wrong_without_a_hint(run):
    data = check_json(run, "sum((W @ x - y)**2)", "2*(W @ x - y)", *LAYER, code=1)
    assert data["method"] == "shape" and "hint" not in data
    assert data["shapes"] == {"gradient": [2, 3], "answer": [2]}


def test_a_relu_layer_with_its_kink_in_the_wrong_place(run):
    """d/dW sum(relu(W x)) = outer(W x > 0, x); the kink moved to 1e-7 is found (some
    points put W x between 0 and 1e-7)."""
    base = ["--wrt", "W", "--shape", "W=2x3", "--set", "x=[1,2,3]"]
    check_json(run, "sum(relu(W @ x))", "outer(W @ x > 0, x)", *base, code=0)
    data = check_json(run, "sum(relu(W @ x))", "outer(W @ x > 1e-7, x)", *base, code=1)
    ce = data["counterexample"]
    z = np.array(ce["point"]["W"], float) @ np.array([1.0, 2.0, 3.0])
    i = int(ce["entry"][2]) - 1
    assert 0 < z[i] <= 1e-7
    assert (ce["expected"], ce["got"]) != (ce["got"], ce["expected"])


def test_a_number_stands_for_every_entry(run):
    check_json(run, "sum(W)", "1", "--wrt", "W", "--shape", "W=2x3", code=0)
    check_json(run, "sum(W)", "2", "--wrt", "W", "--shape", "W=2x3", code=1)


def test_vectors(run):
    check_json(run, "sum(v*v)", "2*v", "--shape", "v=3", code=0)
    data = check_json(run, "sum(v*v)", "v", "--shape", "v=3", code=1)
    ce = data["counterexample"]
    v = np.array(ce["point"]["v"], float)
    assert ce["entry"] == "v[1]"
    assert (ce["expected"], ce["got"]) == (2 * v[0], v[0])


def test_every_other_name_varies(run):
    """Without --set, x and y are weights too: the answer must hold for every x and y."""
    shapes = ["--wrt", "W", "--shape", "W=2x3", "--shape", "x=3", "--shape", "y=2"]
    check_json(run, "sum((W @ x - y)**2)", "2*outer(W @ x - y, x)", *shapes, code=0)
    data = check_json(run, "sum((W @ x - y)**2)", "2*outer(W @ x - y, [1,2,3])", *shapes, code=1)
    assert set(data["counterexample"]["point"]) == {"W", "x", "y"}


def test_a_tolerance_for_matrices(run):
    answer = "2*outer(W @ x - y, x)*(1 + 1e-9)"
    check_json(run, "sum((W @ x - y)**2)", answer, *LAYER, code=1)
    check_json(run, "sum((W @ x - y)**2)", answer, *LAYER, "--rtol", "1e-8", code=0)


def test_softmax_cross_entropy(run):
    options = ["--wrt", "W", "--shape", "W=3x2", "--set", "x=[1,2]", "--set", "t=[0,1,0]"]
    check_json(run, "-sum(t*log(softmax(W @ x)))", "outer(softmax(W @ x) - t, x)", *options, code=0)
    check_json(run, "-sum(t*log(softmax(W @ x)))", "outer(softmax(W @ x), x)", *options, code=1)


def test_at_a_point(run):
    options = [*LAYER, "--at", "W=[[1,0,0],[0,1,0]]"]
    # W x - y = [1, 1]: the gradient is 2 * [[1,2,3],[1,2,3]]
    check_json(run, "sum((W @ x - y)**2)", "[[2,4,6],[2,4,6]]", *options, code=0)
    data = check_json(run, "sum((W @ x - y)**2)", "[[2,4,6],[2,4,7]]", *options, code=1)
    assert data["counterexample"]["entry"] == "W[2,3]"


@pytest.mark.parametrize(
    ("answer", "needle"),
    [("2*outer(W @ x - q, x)", "ANSWER uses q"), ("2*outer(W @ x - y, x", "ANSWER"),
     ("W @ W", "ANSWER")],
)  # fmt: skip
def test_an_answer_that_cannot_be_used_is_exit_2(run, answer, needle):
    assert_clean_failure(run(["check", "sum((W @ x - y)**2)", answer, *LAYER]), 2, needle)


@pytest.mark.parametrize(
    "at",
    ["W=0", "W=[[0.1,0.3],[0.2,0.6]]"],  # W @ x is 0: in floats, and only exactly (5.5e-17)
)
def test_at_a_kink_of_a_layer_there_is_no_gradient(run, at):
    options = ["--wrt", "W", "--shape", "W=2x2", "--set", "x=[3,-1]", "--at", at]
    r = run(["check", "sum(relu(W @ x))", "outer(W @ x > 0, x)", *options])
    assert_clean_failure(r, 3, "does not exist")
