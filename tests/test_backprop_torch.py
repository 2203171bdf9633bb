"""gdcli backprop against torch autograd, node by node, in float64.

Every node of the JSON output (`nodes`: name, expr, value, grad) is rebuilt in torch
from its own `expr` (one operation on the names of the nodes before it), every
intermediate keeps its gradient (`retain_grad()`), and after `l.backward()` each
node's value and gradient must equal gdcli's to 1e-12. The torch graph is thus
the one gdcli prints: a wrong formula, a wrong value or a wrong gradient fails.
Points are random (seeded) and away from kinks.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from helpers import json_output

torch = pytest.importorskip("torch")

TOL = 1e-12


def _max(*args):
    tensors = [
        a if torch.is_tensor(a) else torch.tensor(float(a), dtype=torch.float64) for a in args
    ]
    return functools.reduce(torch.maximum, tensors)


# gdcli's functions, in torch (what a node's `expr` may call)
FUNCTIONS = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "sum": torch.sum,
    "mean": torch.mean,
    "max": _max,
    "softmax": lambda v: torch.softmax(v, dim=0),
    "logsumexp": lambda v: torch.logsumexp(v, dim=0),
    "transpose": lambda a: a.T,
    "outer": torch.outer,
    "dot": torch.dot,
}


def torch_nodes(data):
    """Each node of gdcli's JSON, computed in torch from its `expr`, and the loss's
    backward pass run: name -> tensor (with .grad)."""
    env = {}
    for node in data["nodes"]:
        name = node["name"]
        if node["kind"] in ("weight", "input"):
            value = torch.tensor(node["value"], dtype=torch.float64, requires_grad=True)
        else:
            # our own output, in our own small language: eval over torch tensors
            value = eval(node["expr"], {"__builtins__": {}, **FUNCTIONS}, dict(env))  # noqa: S307
            value.retain_grad()
        env[name] = value
    env[data["nodes"][-1]["name"]].backward()
    return env


def assert_close(got, expected, what):
    a = np.asarray(got, dtype=np.float64)
    b = expected.detach().numpy() if torch.is_tensor(expected) else np.asarray(expected)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    scale = np.maximum(1.0, np.abs(b))
    assert np.all(np.abs(a - b) <= TOL * scale), (what, a, b, np.max(np.abs(a - b)))


def _vector(rng, n, scale=1.0):
    return "[" + ",".join(repr(round(float(v), 6)) for v in scale * rng.standard_normal(n)) + "]"


def _matrix(rng, r, c, scale=0.5):
    rows = [_vector(rng, c, scale) for _ in range(r)]
    return "[" + ",".join(rows) + "]"


def network(seed):
    """Random weights and inputs of a 3 -> 4 -> 2 network (strings for the options)."""
    rng = np.random.default_rng(seed)
    return {
        "W1": _matrix(rng, 4, 3),
        "b1": _vector(rng, 4, 0.1),
        "W2": _matrix(rng, 2, 4),
        "b2": _vector(rng, 2, 0.1),
        "x": _vector(rng, 3),
    }


def backprop_args(loss, lets, v, extra=()):
    args = ["backprop", loss]
    for let in lets:
        args += ["--let", let]
    args += ["--set", f"x={v['x']}", *extra]
    args += ["--at", f"W1={v['W1']},b1={v['b1']},W2={v['W2']},b2={v['b2']}"]
    return [*args, "--format", "json"]


CASES = {
    "tanh-sigmoid-mse": (
        "mean((yhat - y)**2)",
        ["z=W1@x+b1", "h=tanh(z)", "yhat=sigmoid(W2@h+b2)"],
        ["--set", "y=[1,0]"],
    ),
    "relu-max": (
        "sum((yhat - y)**2)",
        ["z=W1@x+b1", "h=max(0, z)", "yhat=W2@h+b2"],
        ["--set", "y=[0.5,-0.5]"],
    ),
    "relu": (
        "mean((W2@relu(W1@x+b1)+b2 - y)**2)",
        [],
        ["--set", "y=[0.5,-0.5]"],
    ),
    "softmax-cross-entropy": (
        "-sum(t*log(p))",
        ["h=tanh(W1@x+b1)", "p=softmax(W2@h+b2)"],
        ["--set", "t=[0,1]"],
    ),
    "logsumexp-cross-entropy": (
        "logsumexp(s) - dot(t, s)",
        ["h=sigmoid(W1@x+b1)", "s=W2@h+b2"],
        ["--set", "t=[1,0]"],
    ),
    "reused-node": (
        "sum((W2@h+b2 - y)**2) + 0.1*sum(h*h)",
        ["h=tanh(W1@x+b1)"],
        ["--set", "y=[1,2]"],
    ),
    "no-layers": (
        "mean((tanh(W2 @ tanh(W1 @ x + b1) + b2) - y)**2)",
        [],
        ["--set", "y=[0.3,0.7]"],
    ),
}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", list(CASES))
def test_every_node_equals_torch_autograd(run, case, seed):
    loss, lets, extra = CASES[case]
    v = network(seed)
    data = json_output(run(backprop_args(loss, lets, v, extra)))
    env = torch_nodes(data)
    assert data["loss"] == pytest.approx(float(env[data["nodes"][-1]["name"]].detach()), rel=TOL)
    for node in data["nodes"]:
        tensor = env[node["name"]]
        assert_close(node["value"], tensor, f"value of {node['name']}")
        assert tensor.grad is not None, node["name"]
        assert_close(node["grad"], tensor.grad, f"grad of {node['name']}")
    for let in lets:  # every layer is a node of its own, under its name
        assert let.split("=")[0] in env


def test_the_reused_node_sums_what_flows_into_it(run):
    loss, lets, extra = CASES["reused-node"]
    data = json_output(run(backprop_args(loss, lets, network(3), extra)))
    into_h = [e for e in data["edges"] if e["from"] == "h"]
    assert len({e["to"] for e in into_h}) >= 2  # h feeds two nodes
    total = sum(np.asarray(e["contribution"]) for e in into_h)
    h = next(n for n in data["nodes"] if n["name"] == "h")
    assert np.allclose(total, h["grad"], rtol=1e-15, atol=1e-15)
    env = torch_nodes(data)
    assert_close(h["grad"], env["h"].grad, "grad of the reused h")


def test_weights_grad_equals_gdcli_grad(run):
    """Through both commands: every weight's grad is grad's gradient, bit for bit."""
    for case in ("tanh-sigmoid-mse", "softmax-cross-entropy", "reused-node"):
        loss, lets, extra = CASES[case]
        v = network(5)
        data = json_output(run(backprop_args(loss, lets, v, extra)))
        expanded = data.get("expanded", loss)
        args = ["grad", expanded, "--set", f"x={v['x']}", *extra, "--format", "json"]
        args += ["--at", f"W1={v['W1']},b1={v['b1']},W2={v['W2']},b2={v['b2']}"]
        theirs = json_output(run(args))["gradient"]
        nodes = {n["name"]: n for n in data["nodes"]}
        assert set(theirs) == {n["name"] for n in data["nodes"] if n["kind"] == "weight"}
        for name, gradient in theirs.items():
            assert nodes[name]["grad"] == gradient, (case, name)
            assert data["gradient"][name] == gradient


def test_the_forward_text_of_every_node_is_its_subexpression(run):
    """`text` (the node in weights and inputs) evaluates, through grad's own parser,
    to the node's value: the names in `expr` stand for what they say."""
    loss, lets, extra = CASES["tanh-sigmoid-mse"]
    v = network(7)
    data = json_output(run(backprop_args(loss, lets, v, extra)))
    for node in data["nodes"]:
        if node["kind"] not in ("layer", "node", "loss") or node["shape"]:
            continue
        args = ["grad", node["text"], "--set", f"x={v['x']}", *extra, "--quiet"]
        args += ["--at", f"W1={v['W1']},b1={v['b1']},W2={v['W2']},b2={v['b2']}"]
        assert run(args).code == 0


def test_json_is_strict_and_shaped(run):
    loss, lets, extra = CASES["tanh-sigmoid-mse"]
    r = run(backprop_args(loss, lets, network(0), extra))
    data = json.loads(r.out)
    for node in data["nodes"]:
        assert {"name", "expr", "shape", "value", "grad"} <= set(node)
        assert list(np.shape(node["value"])) == node["shape"] == list(np.shape(node["grad"]))
    names = [n["name"] for n in data["nodes"]]
    for edge in data["edges"]:
        assert {"from", "to", "local", "contribution"} <= set(edge)
        assert names.index(edge["from"]) < names.index(edge["to"])  # forward order
