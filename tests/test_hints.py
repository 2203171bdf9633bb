"""Kinder errors (issue 13, item 12): what students type gets a hint with what gdcli
spells, an unknown option the nearest option of its command, a weight given a number
where the loss needs an array the shape to give it. Each is one error line and one
hint line, exit 2, and the hint's suggestion is itself accepted."""

from __future__ import annotations

import re

import pytest
from helpers import assert_clean_failure

# what a student types, the error, the hint
TYPED = [
    ("|w|", "'|' is not part of gdcli's expressions at column 1", "did you mean abs(w)?"),
    ("|w - 3|**2 + 1", "'|' is not part of gdcli's expressions at column 1",
     "did you mean abs(w - 3)**2 + 1?"),
    ("||w| - 1|", "'|' is not part of gdcli's expressions at column 1",
     "did you mean abs(abs(w) - 1)?"),
    ("sin w", "cannot parse 'sin w': invalid syntax at column 5",
     "a function's argument goes in parentheses: did you mean sin(w)?"),
    ("sigmoid w + 1", "cannot parse 'sigmoid w + 1': invalid syntax at column 9",
     "a function's argument goes in parentheses: did you mean sigmoid(w)?"),
    ("(w-3)(w+1)", "'(w-3)' is not a function: a product is written with * at column 1",
     "did you mean (w-3)*(w+1)?"),
    ("2(w+1)", "a number cannot be called at column 1", "did you mean 2*(w+1)?"),
    ("w(w+1)", "unknown function 'w' at column 1", "did you mean w*(w+1)?"),
    ("x w", "cannot parse 'x w': invalid syntax at column 3",
     "a product is written with *: did you mean x*w?"),
    ("3w", "cannot parse '3w': invalid decimal literal at column 1", "did you mean 3*w?"),
    ("σ(w)", "unknown function 'σ' at column 1", "gdcli spells it sigmoid: did you mean sigmoid(w)?"),
    ("Sigmoid(w)", "unknown function 'Sigmoid' at column 1",
     "gdcli spells it sigmoid: did you mean sigmoid(w)?"),
    ("ReLU(w)", "unknown function 'ReLU' at column 1", "gdcli spells it relu: did you mean relu(w)?"),
    ("Relu(w)", "unknown function 'Relu' at column 1", "gdcli spells it relu: did you mean relu(w)?"),
    ("RELU(2*w)", "unknown function 'RELU' at column 1",
     "gdcli spells it relu: did you mean relu(2*w)?"),
    ("Tanh(w)", "unknown function 'Tanh' at column 1", "gdcli spells it tanh: did you mean tanh(w)?"),
    ("arctan(w)", "unknown function 'arctan' at column 1",
     "gdcli spells it atan: did you mean atan(w)?"),
    ("sgn(w)", "unknown function 'sgn' at column 1", "gdcli spells it sign: did you mean sign(w)?"),
    ("sigmod(w)", "unknown function 'sigmod' at column 1", "did you mean sigmoid(w)?"),
    ("sech(w)", "unknown function 'sech' at column 1", "gdcli has no sech; write it as 1/cosh(w)"),
    ("coth(w)**2", "unknown function 'coth' at column 1", "gdcli has no coth; write it as 1/tanh(w)"),
    ("sec(2*w)", "unknown function 'sec' at column 1", "gdcli has no sec; write it as 1/cos(2*w)"),
    ("log10(w)", "unknown function 'log10' at column 1", "gdcli has no log10; write it as log(w, 10)"),
    ("log2(w + 1)", "unknown function 'log2' at column 1",
     "gdcli has no log2; write it as log(w + 1, 2)"),
    ("pow(w+1, 2)", "unknown function 'pow' at column 1", "gdcli has no pow; write it as (w+1)**2"),
    ("leaky_relu(w)", "unknown function 'leaky_relu' at column 1",
     "gdcli has no leaky_relu; write it as max(0.01*w, w)"),
    ("np.exp(w)", "only functions called by bare name are allowed at column 1",
     "did you mean exp(w)?"),
    ("w·w", "'·' is not part of gdcli's expressions at column 2", "did you mean w*w?"),
    ("2×w", "'×' is not part of gdcli's expressions at column 2", "did you mean 2*w?"),
    ("w²", "'²' is not part of gdcli's expressions at column 2", "did you mean w**2?"),
    ("π*w", "'π' is not part of gdcli's expressions at column 1", "did you mean pi*w?"),
    ("√(w+1)", "'√' is not part of gdcli's expressions at column 1", "did you mean sqrt(w+1)?"),
    ("√w", "'√' is not part of gdcli's expressions at column 1", "did you mean sqrt(w)?"),
    ("w−3", "'−' is not part of gdcli's expressions at column 2", "did you mean w-3?"),
    ("l = (w-3)**2", "cannot parse 'l = (w-3)**2': invalid syntax at column 3",
     "give only the right-hand side: (w-3)**2"),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "error", "hint"), TYPED, ids=[t for t, _, _ in TYPED])
def test_a_typo_gets_a_hint(run, typed, error, hint):
    r = run(["derive", typed, "--at", "2"])
    assert_clean_failure(r, 2)
    assert r.err.splitlines() == [f"gdcli: error: {error}", f"hint: {hint}"]


@pytest.mark.parametrize(("typed", "error", "hint"), TYPED, ids=[t for t, _, _ in TYPED])
def test_the_hint_is_accepted(run, typed, error, hint):
    """What the hint suggests parses (sech: 1/cosh(w) ...), with x as a second weight."""
    suggestion = hint.split("did you mean ")[-1].split("write it as ")[-1].split(": ")[-1]
    suggestion = suggestion.removesuffix("?")
    point = "w=2,x=0.5" if re.search(r"\bx\b", suggestion) else "w=2"
    r = run(["grad", suggestion, "--at", point, "-q"])
    assert r.code == 0, (suggestion, r.err)


@pytest.mark.parametrize(
    "command",
    [["derive"], ["slope"], ["plot"], ["descend", "--steps", "2"], ["grad"], ["sweep"],
     ["backprop"], ["check", "w**2"]],
)  # fmt: skip
def test_every_command_gives_the_hint(run, command):
    r = run([*command, "ReLU(w)**2"])
    assert_clean_failure(r, 2, "unknown function 'ReLU'")
    assert r.err.splitlines()[-1] == "hint: gdcli spells it relu: did you mean relu(w)**2?" or (
        r.err.splitlines()[-1] == "hint: gdcli spells it relu: did you mean relu(w)?"
    )


def test_an_array_loss_gives_the_same_hint(run):
    """The array engine refuses an unknown function with the parser's hint."""
    r = run(["grad", "sum(ReLU(W @ x))", "--set", "x=[1,2]", "--at", "W=0", "--shape", "W=2x2"])
    assert_clean_failure(r, 2)
    assert r.err.splitlines()[-1] == "hint: gdcli spells it relu: did you mean relu(W @ x)?"


@pytest.mark.parametrize(
    ("value", "hint"), [("−2", "did you mean -2?"), ("π/4", "did you mean pi/4?")]
)
def test_a_point_typed_with_lookalikes_gets_a_hint(run, value, hint):
    r = run(["derive", "--at", value])
    assert_clean_failure(r, 2)
    assert r.err.splitlines()[-1] == f"hint: {hint}"


@pytest.mark.parametrize(
    ("args", "shape"),
    [
        (["grad", "sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]"], "Rx2"),
        (["descend", "sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]"], "Rx2"),
        (["sweep", "sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]"], "Rx2"),
        (["backprop", "sum((x @ W - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]"], "2xC"),
        (["grad", "sum(outer(W, x))", "--set", "x=[1,2]"], "N"),
        (["grad", "sum(W @ V)", "--at", "V=1"], "RxC"),
    ],
)
def test_a_weight_given_a_number_without_a_shape_is_told_its_shape(run, args, shape):
    r = run([*args, "--at", "W=0"] if "--at" not in args else [*args[:-2], "--at", "W=0,V=1"])
    assert_clean_failure(r, 2, "W is a number, as no --shape gives it a shape")
    assert r.err.splitlines()[-1] == f"hint: give its shape with --shape W={shape}"


def test_the_shape_hint_is_right(run):
    """--shape W=2x2 (R = 2 rows for y's two entries) then works."""
    args = ["grad", "sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]", "--at", "W=0"]
    assert run([*args, "--shape", "W=2x2", "-q"]).out.split() == ["-6.0", "-12.0", "-8.0", "-16.0"]


# an option typed, the command, the option it most likely meant
OPTIONS = [
    (["descend", "--step", "5"], "--step", "--steps"),
    (["descend", "--stepz", "5"], "--stepz", "--steps"),
    (["descend", "--learning-rate", "0.1"], "--learning-rate", "--lr"),
    (["sweep", "--lrs", "0.1"], "--lrs", "--lr"),
    (["descend", "--momentun", "0.9"], "--momentun", "--momentum"),
    (["descend", "--nestrov"], "--nestrov", "--nesterov"),
    (["descend", "--beta_1", "0.9"], "--beta_1", "--beta1"),
    (["descend", "--opt", "adam"], "--opt", "--optimizer"),
    (["derive", "--point", "2"], "--point", "--at"),
    (["derive", "--latx"], "--latx", "--latex"),
    (["slope", "--step", "0.1"], "--step", "--h"),
    (["plot", "--rnge", "0:1"], "--rnge", "--range"),
    (["grad", "--json"], "--json", "--format json"),
    (["backprop", "--lte", "z=w"], "--lte", "--let"),
    (["descend", "--iterations", "5"], "--iterations", "--steps"),
    (["descend", "--tolerance", "1e-6"], "--tolerance", "--tol"),
]


@pytest.mark.parametrize(
    ("args", "typed", "meant"), OPTIONS, ids=[" ".join(a) for a, _, _ in OPTIONS]
)
def test_an_unknown_option_names_the_nearest_option_of_its_command(run, args, typed, meant):
    r = run(args)
    assert_clean_failure(r, 2)
    command = args[0]
    assert r.err.splitlines() == [
        f"gdcli: error: no such option: {typed} (did you mean {meant}?)",
        f"hint: see 'gdcli {command} --help'",
    ]


def test_an_option_like_none_is_just_unknown(run):
    r = run(["grad", "--zzzzzz", "1"])
    assert r.err.splitlines()[0] == "gdcli: error: no such option: --zzzzzz"


@pytest.mark.parametrize("command", ["derive", "slope", "plot", "descend", "grad", "sweep",
                                     "compare", "backprop"])  # fmt: skip
def test_at_and_start_mean_the_same_on_every_command_that_takes_a_point(run, command):
    extra = ["--run", "sgd lr=0.1"] if command == "compare" else []
    for option in ("--at", "--start"):
        r = run([command, *extra, option, "2", "-f", "json"])
        assert r.code == 0, (command, option, r.err)
