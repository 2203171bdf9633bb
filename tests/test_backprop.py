"""gdcli backprop: the forward and backward tables, named layers, the formats (JSON,
DOT, the tree on a terminal), the gradient check and bad input.

Numbers are checked against closed forms computed here, or against `gdcli grad`;
the torch comparisons are in test_backprop_torch.py.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from typing import Any

import numpy as np
import pytest
from helpers import assert_clean_failure, assert_one_error, json_output, strict_json
from test_engine_cases import UNBATCHED

from gdcli.engine import lower
from gdcli.engine.chain import Chain
from gdcli.render.dot import dot_text, quote
from gdcli.reports.graph import GraphEdge, GraphNode, GraphPicture

LAYERS = [
    "--let", "z=W1@x+b1", "--let", "h=tanh(z)", "--let", "yhat=sigmoid(W2@h+b2)",
    "--set", "x=[1,2]", "--set", "y=[1]", "--at", "W1=0.1,b1=0,W2=0.2,b2=0",
    "--shape", "W1=3x2", "--shape", "b1=3", "--shape", "W2=1x3", "--shape", "b2=1",
]  # fmt: skip
NETWORK = ["backprop", "mean((yhat - y)**2)", *LAYERS]


def nodes_of(data):
    return {n["name"]: n for n in data["nodes"]}


def sigmoid(u):
    return 1 / (1 + math.exp(-u))


# --- the numbers, by hand -------------------------------------------------------------------


def test_the_readme_network_by_hand(run):
    """z = W1 x + b1 = 0.3 each; h = tanh(0.3); yhat = sigmoid(0.6 tanh(0.3)); l = (yhat-1)^2;
    then the chain rule written out by hand, layer by layer."""
    data = json_output(run([*NETWORK, "--format", "json"]))
    n = nodes_of(data)
    h = math.tanh(0.3)
    yhat = sigmoid(3 * 0.2 * h)
    assert data["loss"] == pytest.approx((yhat - 1) ** 2, rel=1e-15)
    assert n["z"]["value"] == pytest.approx([0.3] * 3, rel=1e-15)
    assert n["h"]["value"] == pytest.approx([h] * 3, rel=1e-15)
    assert n["yhat"]["value"] == pytest.approx([yhat], rel=1e-15)
    d_yhat = 2 * (yhat - 1)
    d_u3 = d_yhat * yhat * (1 - yhat)  # the output layer's delta
    d_h = 0.2 * d_u3
    d_z = d_h * (1 - h * h)  # the hidden layer's delta
    assert n["yhat"]["grad"] == pytest.approx([d_yhat], rel=1e-13)
    assert n["b2"]["grad"] == pytest.approx([d_u3], rel=1e-13)
    assert np.allclose(n["W2"]["grad"], [[d_u3 * h] * 3], rtol=1e-13, atol=0)
    assert n["z"]["grad"] == pytest.approx([d_z] * 3, rel=1e-13)
    assert np.allclose(n["W1"]["grad"], [[d_z * 1, d_z * 2]] * 3, rtol=1e-13, atol=0)  # δ xᵀ
    assert n["b1"]["grad"] == pytest.approx([d_z] * 3, rel=1e-13)


def test_nodes_are_one_operation_on_named_nodes(run):
    data = json_output(run([*NETWORK, "--format", "json"]))
    n = nodes_of(data)
    assert [x["name"] for x in data["nodes"]][-1] == "l"
    assert n["l"]["kind"] == "loss" and n["l"]["expr"] == "mean(u5)"
    assert n["z"] == {**n["z"], "kind": "layer", "expr": "u1 + b1", "text": "W1 @ x + b1"}
    assert n["u1"]["expr"] == "W1 @ x" and n["u1"]["kind"] == "node"
    assert n["h"]["expr"] == "tanh(z)"
    assert n["yhat"]["expr"] == "sigmoid(u3)" and n["u3"]["expr"] == "u2 + b2"
    assert n["W1"]["kind"] == "weight" and n["x"]["kind"] == "input"
    assert data["layers"] == [
        {"name": "z", "expr": "W1@x+b1"},
        {"name": "h", "expr": "tanh(z)"},
        {"name": "yhat", "expr": "sigmoid(W2@h+b2)"},
    ]


def test_edges_say_local_derivative_and_rule(run):
    data = json_output(run([*NETWORK, "--format", "json"]))
    edges = {(e["from"], e["to"]): e for e in data["edges"]}
    assert edges[("z", "h")]["local"] == "1 - h**2"
    assert edges[("u3", "yhat")]["local"] == "yhat*(1 - yhat)"
    assert edges[("W1", "u1")]["rule"] == "outer(g, x)"  # δ xᵀ
    assert edges[("x", "u1")]["rule"] == "transpose(W1) @ g"
    assert data["upstream"] == "g"
    n = nodes_of(data)
    h = np.array(n["h"]["value"])
    assert np.allclose(edges[("z", "h")]["local_value"], 1 - h**2, rtol=1e-15)
    for e in data["edges"]:  # upstream × local, for every edge of one shape
        if e["local_value"] is None or e["rule"] in (None,) or "@" in e["rule"]:
            continue
        if "outer" in e["rule"] or np.shape(n[e["to"]]["grad"]) != np.shape(e["contribution"]):
            continue
        expected = np.asarray(n[e["to"]]["grad"]) * np.asarray(e["local_value"])
        assert np.allclose(e["contribution"], expected, rtol=1e-14, atol=0), e


def test_contributions_sum_to_every_gradient(run):
    data = json_output(run([*NETWORK, "--format", "json"]))
    for node in data["nodes"][:-1]:
        parts = [np.asarray(e["contribution"]) for e in data["edges"] if e["from"] == node["name"]]
        assert parts, node["name"]
        assert np.allclose(sum(parts), node["grad"], rtol=1e-15, atol=0), node["name"]


def test_weights_grad_equals_gdcli_grad_without_layers(run):
    args = ["sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]", "--at", "W=0.5"]
    args += ["--shape", "W=2x2", "--format", "json"]
    ours = json_output(run(["backprop", *args]))
    theirs = json_output(run(["grad", *args]))
    assert nodes_of(ours)["W"]["grad"] == theirs["gradient"]["W"]
    assert ours["loss"] == theirs["loss"]
    # W x - y = [1.5 - 3, 1.5 - 4]; the gradient 2 (W x - y) xᵀ
    assert theirs["gradient"]["W"] == [[-3.0, -6.0], [-5.0, -10.0]]


def test_scalar_weights_agree_with_grad(run):
    args = ["(w*x - y)**2 + w*v", "--set", "x=3", "--set", "y=1", "--at", "w=2,v=-1"]
    ours = json_output(run(["backprop", *args, "--format", "json"]))
    theirs = json_output(run(["grad", *args, "--format", "json"]))
    for name in ("w", "v"):
        assert nodes_of(ours)[name]["grad"] == pytest.approx(theirs["gradient"][name], rel=1e-15)
    assert nodes_of(ours)["w"]["grad"] == 2 * (2 * 3 - 1) * 3 - 1


def test_quiet_prints_the_gradient_like_grad(run):
    args = ["sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]", "--at", "W=0.5"]
    args += ["--shape", "W=2x2", "--quiet"]
    assert run(["backprop", *args]).out == run(["grad", *args]).out == "-3.0 -6.0 -5.0 -10.0\n"


def test_a_reused_node_shows_and_sums_its_contributions(run):
    r = run(["backprop", "sum(h) + sum(h*h)", "--let", "h=tanh(W@x)", "--set", "x=[1,2]"]
            + ["--at", "W=0.1", "--shape", "W=2x2", "--format", "plain"])  # fmt: skip
    assert r.code == 0, r.err
    rows = [line.split("\t") for line in r.out.split("\n\n")[1].splitlines()]
    h_row = next(row for row in rows if row[0] == "h")
    assert h_row[1].startswith("sum via ")
    data = json_output(run(["backprop", "sum(h) + sum(h*h)", "--let", "h=tanh(W@x)",
                            "--set", "x=[1,2]", "--at", "W=0.1", "--shape", "W=2x2",
                            "--format", "json"]))  # fmt: skip
    h = np.tanh(0.3)
    assert nodes_of(data)["h"]["grad"] == pytest.approx([1 + 2 * h] * 2, rel=1e-15)


def test_the_matrix_form_is_delta_x_transposed(run):
    r = run([*NETWORK, "--format", "plain"])
    assert r.code == 0, r.err
    table = r.out.split("\n\n")[2].splitlines()
    assert table[0].split("\t")[:2] == ["weight", "gradient"]
    forms = {row.split("\t")[0]: row.split("\t")[1] for row in table[1:]}
    assert forms == {
        "W2": "outer(∂l/∂u3, h)",
        "W1": "outer(∂l/∂z, x)",
        "b1": "∂l/∂z",
        "b2": "∂l/∂u3",
    }
    assert "δ xᵀ" in r.err


@pytest.mark.parametrize("case", UNBATCHED, ids=lambda c: c.id)
def test_every_engine_loss_node_by_node(case):
    """On every loss of the engine's own tests: each node's formula, evaluated on the
    names of the nodes before it, gives the node's value; each local derivative times
    the upstream gradient gives what flows back (where the shapes agree); and what
    flows into a node adds up to its gradient."""
    graph = lower(case.text, case.weights, case.inputs)
    chain = Chain(graph)
    run = chain.run(case.values(case.rng()))
    named = {s.name: run.values[s.id] for s in chain.steps}
    shapes = {s.name: s.shape for s in chain.steps}
    for step in chain.steps:
        if step.formula != step.name:
            value = chain._evaluate(step.formula, named, shapes)
            assert np.allclose(value, run.values[step.id], rtol=1e-12, atol=1e-14), step
    flows: dict[int, Any] = {}
    for k, link in enumerate(chain.links):
        flows[link.source] = flows.get(link.source, 0) + np.asarray(run.contributions[k])
        if run.locals[k] is None or link.matrix:
            continue
        product = np.asarray(run.grads[link.target]) * np.asarray(run.locals[k])
        if product.shape == np.shape(run.contributions[k]):
            assert np.allclose(product, run.contributions[k], rtol=1e-12, atol=1e-14), link
    for step in chain.steps[:-1]:
        assert np.allclose(flows[step.id], run.grads[step.id], rtol=1e-15, atol=0), step


# --- formats ---------------------------------------------------------------------------------


def test_plain_shows_the_forward_and_backward_tables(run):
    r = run([*NETWORK, "--format", "plain"])
    forward, backward = r.out.split("\n\n")[:2]
    assert forward.splitlines()[0] == "node\tformula\tshape\tvalue"
    assert (
        "h\ttanh(z)\t3\t[0.29131261245159096, 0.29131261245159096, 0.29131261245159096]" in forward
    )
    head = backward.splitlines()[0].split("\t")
    assert head == ["node", "∂l/∂node (g)", "argument", "local ∂node/∂argument", "upstream × local"]
    first = backward.splitlines()[1].split("\t")
    assert first[:3] == ["l", "start = 1.0", "u5"]  # from the loss down
    assert "h\t" in backward and "1 - h**2 = [" in backward


def test_csv_is_each_weights_gradient_in_full(run):
    r = run([*NETWORK, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [row["weight"] for row in rows] == ["W2", "W1", "b1", "b2"]
    w1 = next(row for row in rows if row["weight"] == "W1")
    assert w1["gradient"] == "outer(∂l/∂z, x)" and w1["shape"] == "3x2"
    data = json_output(run([*NETWORK, "--format", "json"]))
    assert strict_json(w1["value"]) == nodes_of(data)["W1"]["grad"]


def test_dot_is_a_graph_of_every_node_and_edge(run):
    data = json_output(run([*NETWORK, "--format", "json"]))
    r = run([*NETWORK, "--format", "dot"])
    assert r.code == 0, r.err
    text = r.out
    assert text.startswith("digraph backprop {\n") and text.endswith("}\n")
    assert text.count("{") == text.count("}") == 1
    string = r'"(?:[^"\\]|\\.)*"'
    for line in text.splitlines()[1:-1]:  # every statement ends with ; and its strings close
        assert line.endswith(";"), line
        assert line.count('"') - line.count('\\"') == 2 * len(re.findall(string, line)), line
    declared = re.findall(rf"^  ({string}) \[label=", text, re.M)
    assert declared == [f'"{n["name"]}"' for n in data["nodes"]]
    arrows = re.findall(rf"^  ({string}) -> ({string}) \[label=({string})\];$", text, re.M)
    assert [(a.strip('"'), b.strip('"')) for a, b, _ in arrows] == [
        (e["from"], e["to"]) for e in data["edges"]
    ]
    assert '"z" -> "h" [label="1 - h**2"];' in text
    assert '"W1" -> "u1" [label="outer(g, x)"];' in text
    assert '[label="h = tanh(z)\\nshape 3\\nvalue [0.291313, 0.291313, 0.291313]\\n' in text


def test_dot_quotes_and_escapes():
    assert quote('a"b') == '"a\\"b"'
    assert quote("a\\b") == '"a\\\\b"'
    assert quote("one\ntwo") == '"one\\ntwo"'
    picture = GraphPicture(
        'l = "odd"', [GraphNode('a"', 'a"', "weight", "number", "1", "2", ())], [], 'a"'
    )
    text = dot_text(picture)
    assert 'label="l = \\"odd\\""' in text
    assert '  "a\\"" [label="a\\"\\nshape number\\nvalue 1\\n∂l/∂a\\" 2"' in text
    edge = dot_text(picture._replace(edges=[GraphEdge('a"', "b\\", "x\ny")]))
    assert '  "a\\"" -> "b\\\\" [label="x\\ny"];' in edge


def test_only_backprop_offers_dot(run):
    r = run(["grad", "w**2", "--format", "dot"])
    assert_clean_failure(r, 2, "'dot' is not one of")
    assert "dot" in run(["backprop", "--help"]).out
    assert "dot" not in run(["grad", "--help"]).out.split("--format")[1].split("--quiet")[0]


def test_the_tree_on_a_terminal(run):
    r = run([*NETWORK, "--format", "table"], env={"NO_COLOR": "1"}, tty=True)
    assert r.code == 0, r.err
    tree = r.out[r.out.index("the graph, from the loss") :]
    lines = tree.splitlines()
    assert lines[1].startswith("l = mean(u5)") and "∂l/∂l 1" in lines[1]
    assert "└── u5 = u4**2" in tree and "W1  [3x2 weight]" in tree and "∂l/∂W1 [[" in tree
    assert "value [0.291313, 0.291313, 0.291313]" in tree  # h
    assert "the graph" not in run([*NETWORK, "--format", "table", "--no-plot"], tty=True).out


def test_the_tree_marks_a_reused_node(run):
    r = run(["backprop", "sum(h) + sum(h*h)", "--let", "h=tanh(W@x)", "--set", "x=[1,2]",
             "--at", "W=0.1", "--shape", "W=2x2", "--format", "table"],
            env={"NO_COLOR": "1"}, tty=True)  # fmt: skip
    assert r.code == 0, r.err
    assert "h = tanh(u1)  (shown above)" in r.out
    assert r.out.count("h = tanh(u1)  [2]") == 1


def test_large_arrays_are_elided_in_tables_not_in_json(run):
    x = "[" + ",".join(str(i % 5) for i in range(40)) + "]"
    args = ["backprop", "sum(tanh(W@x))", "--set", f"x={x}", "--at", "W=0.01"]
    args += ["--shape", "W=30x40"]
    plain = run([*args, "--format", "plain"])
    assert plain.code == 0, plain.err
    forward, backward, weights = plain.out.split("\n\n")
    assert "…" in forward and "…" in backward
    assert max(len(line) for line in (forward + backward).splitlines()) < 1000
    assert "…" not in weights  # the records (csv) keep every entry
    assert len(strict_json(weights.splitlines()[1].split("\t")[3])) == 30
    data = json_output(run([*args, "--format", "json"]))
    assert np.shape(nodes_of(data)["W"]["grad"]) == (30, 40)


# --- the gradient check ----------------------------------------------------------------------


def test_check_agrees_on_a_smooth_network(run):
    r = run([*NETWORK, "--check", "--format", "json"])
    data = json_output(r)
    check = data["check"]
    assert check["agree"] is True and check["max_rel_diff"] < 1e-8
    assert check["tolerance"] == 1e-6
    assert set(check["weights"]) == {"W1", "W2", "b1", "b2"}
    numeric = np.asarray(check["weights"]["W1"]["numeric"])
    assert np.allclose(numeric, nodes_of(data)["W1"]["grad"], rtol=1e-8)
    quiet = run([*NETWORK, "--check", "--quiet"])
    assert quiet.code == 0 and float(quiet.out) == check["max_rel_diff"]
    plain = run([*NETWORK, "--check", "--format", "plain"])
    assert "gradient check: backprop and central differences agree" in plain.err


def test_check_fails_with_exit_3_near_a_kink(run):
    """max(0, w) at w = 1e-7: w ± h straddles the kink, so the central difference is
    about (1e-7 + h)/(2h) ≈ 0.51, far from the slope 1."""
    r = run(["backprop", "max(0, w)", "--at", "1e-7", "--check", "--format", "json"])
    assert r.code == 3
    data = strict_json(r.out)  # written whole before the error
    assert data["check"]["agree"] is False and data["check"]["at"] == "w"
    assert data["check"]["weights"]["w"]["numeric"] == pytest.approx(0.5, abs=0.02)
    line = assert_one_error(r.err, "gradient check failed", "w", "1e-06")
    assert "differ by" in line
    assert "kink" in r.err


def test_check_says_how_far_apart_without_a_kink(run):
    """sin(10000 w): the central difference's truncation error, h²/6 times the third
    derivative (1e12), about 6 against a slope of about 1e4, is far above the
    tolerance; there is no kink to blame."""
    r = run(["backprop", "sin(10000*w)", "--at", "0.3", "--check", "--quiet"])
    assert r.code == 3
    difference = float(r.out)
    assert 1e-5 < difference < 1e-2
    line = assert_one_error(r.err, "gradient check failed", f"{difference:.3g}", "at w")
    assert "kink" not in r.err, line


# --- layers: bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lets", "needles"),
    [
        (["z"], ["--let 'z' is not NAME=EXPR"]),
        (["z="], ["is not NAME=EXPR"]),
        (["=w"], ["is not NAME=EXPR"]),
        (["2z=w"], ["is not NAME=EXPR"]),
        (["z=w", "z=2*w"], ["--let z is defined twice"]),
        (["a=z+1", "z=2*w"], ["--let a uses z before it is defined"]),
        (["a=z+1", "z=2*a"], ["--let a is part of a cycle: a -> z -> a"]),
        (["z=z+1"], ["--let z is part of a cycle: z -> z"]),
        (["a=b", "b=c", "c=a"], ["--let a is part of a cycle: a -> b -> c -> a"]),
        (["tanh=w"], ["--let tanh", "function"]),
        (["z=3w"], ["--let z", "cannot parse"]),
        (["z=foo(w)"], ["--let z", "unknown function 'foo'"]),
        (["q=2*w", "z=w"], ["--let q is never used by the loss"]),
    ],
)
def test_bad_layers_exit_2_naming_them(run, lets, needles):
    args = ["backprop", "z*w", "--at", "1"]
    for let in lets:
        args += ["--let", let]
    r = run(args)
    assert_clean_failure(r, 2, *needles)


def test_a_layer_given_a_value_is_refused(run):
    r = run(["backprop", "sum(z)", "--let", "z=W@x", "--set", "x=[1,2]", "--set", "z=1"]
            + ["--shape", "W=2x2"])  # fmt: skip
    assert_clean_failure(r, 2, "--let z names a layer", "also given a value")


def test_a_layer_may_use_the_layers_before_it(run):
    data = json_output(run(["backprop", "c", "--let", "a=2*w", "--let", "b=a+1",
                            "--let", "c=a*b", "--at", "3", "--format", "json"]))  # fmt: skip
    n = nodes_of(data)
    assert (n["a"]["value"], n["b"]["value"], n["c"]["value"]) == (6.0, 7.0, 42.0)
    assert n["c"]["kind"] == "loss" and n["c"]["expr"] == "a*b"  # the loss, named c
    assert n["b"]["kind"] == "layer" and n["b"]["expr"] == "a + 1"
    assert n["w"]["grad"] == 2 * 7 + 6 * 2  # d/dw (2w (2w + 1)) = 8w + 2 at 3
    assert data["expanded"] == "((2*w)*((2*w)+1))"  # each layer put in, in parentheses


def test_the_loss_keeps_its_columns_in_errors(run):
    r = run(["backprop", "sum(z", "--let", "z=W@x"])
    assert_clean_failure(r, 2, "at column")


def test_a_non_finite_loss_writes_the_tables_then_exits_3(run):
    r = run(["backprop", "log(w)", "--at", "-1", "--format", "json"])
    assert r.code == 3
    assert strict_json(r.out)["loss"] is None
    assert_one_error(r.err, "not a real number")


# --- golden numbers and speed -------------------------------------------------------------------


def test_golden_backprop_numbers():
    """The golden files of (w - 3)**2 at w = 1: u1 = w - 3 = -2, l = 4; ∂l/∂u1 = 2 u1 = -4,
    ∂l/∂w = -4."""
    from pathlib import Path

    golden = Path(__file__).resolve().parent / "golden"
    rows = list(csv.DictReader(io.StringIO((golden / "backprop.csv.txt").read_text("utf-8"))))
    assert rows == [{"weight": "w", "gradient": "∂l/∂u1", "shape": "number", "value": "-4.0"}]
    plain = (golden / "backprop.plain.txt").read_text("utf-8").split("\n\n")
    forward = [line.split("\t") for line in plain[0].splitlines()[1:]]
    assert forward == [
        ["w", "weight", "number", "1.0"],
        ["u1", "w - 3", "number", "-2.0"],
        ["l", "u1**2", "number", "4.0"],
    ]
    backward = [line.split("\t") for line in plain[1].splitlines()[1:]]
    assert backward == [
        ["l", "start = 1.0", "u1", "2*u1 = -4.0", "2*g*u1 = -4.0"],
        ["u1", "-4.0", "w", "1 = 1.0", "g = -4.0"],
        ["w", "-4.0", "(weight)", "", ""],
    ]


def test_50x50_layers_in_about_a_second(run):
    x = "[" + ",".join(repr(round(0.1 * (i % 7 - 3), 2)) for i in range(50)) + "]"
    args = ["backprop", "mean((yhat - y)**2)", "--let", "h=tanh(W1@x+b1)",
            "--let", "yhat=tanh(W2@h+b2)", "--set", f"x={x}", "--set", f"y={x}",
            "--at", "W1=0.01,W2=0.02,b1=0,b2=0", "--shape", "W1=50x50", "--shape", "W2=50x50",
            "--shape", "b1=50", "--shape", "b2=50", "--format", "json"]  # fmt: skip
    run(args)  # imports and first-call costs once
    start = time.perf_counter()
    data = json_output(run(args))
    elapsed = time.perf_counter() - start
    assert np.shape(nodes_of(data)["W1"]["grad"]) == (50, 50)
    assert elapsed < 3.0, elapsed  # about 0.15 s in process; generous for slow machines


def test_backprop_of_array_layers_imports_no_sympy():
    """Layers of vectors and matrices run on the array engine alone: naming them
    (W1, yhat: two letters or more) needs no SymPy either."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom gdcli.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "print('SYMPY' if 'sympy' in sys.modules else 'NO SYMPY', code, file=sys.stderr)\n"
    )
    args = ["backprop", "mean((yhat - y)**2)", "--let", "h=tanh(W1@x)", "--let",
            "yhat=tanh(W2@h)", "--set", "x=[1,2]", "--set", "y=[0,1]", "--at", "W1=0.1,W2=0.2",
            "--shape", "W1=2x2", "--shape", "W2=2x2", "-q"]  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert r.stderr.strip().splitlines()[-1] == "NO SYMPY 0", r.stderr
