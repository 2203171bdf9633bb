"""Bad input to the engine: the parser's errors (same messages, same columns),
shapes that do not fit (both named), names without a role, bad values. And the
engine's manners: no flags in its words, no printing, no environment, no SymPy
unless a name needs checking, never imported at gdcli's start-up."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gdcli.engine import lower
from gdcli.errors import (
    BadInput,
    GdcliError,
    MissingValue,
    NameRole,
    ParseError,
    ResourceLimit,
    ShapeError,
)
from gdcli.parse.expression import parse_loss

ENGINE = Path(__file__).resolve().parents[1] / "gdcli" / "engine"

BAD_SYNTAX = [
    "w % 2",
    "w // 2",
    "w << 1",
    "w | 1",
    "not w",
    "~w",
    "w.real",
    "w[0]",
    "w[1:2]",
    "lambda: 1",
    "[i for i in w]",
    "{1: 2}",
    "{1}",
    "(1, 2)",
    "f'{w}'",
    "'a'",
    "b'a'",
    "w and b",
    "1 if w else 2",
    "(w := 1)",
    "w == 1",
    "w != 1",
    "w < b < 1",
    "foo(w)",
    "fo(w)",
    "sin(w, 2)",
    "max()",
    "sum(w, w)",
    "dot(w)",
    "sin(x=w)",
    "2(w)",
    "w.f(1)",
    "(w)(1)",
    "sin",
    "sin + w",
    "_w + 1",
    "beta + w",
    "w + I",
    "True",
    "None",
    "...",
    "1j*w",
    "[]",
    "w +",
    "3 w",
    "w + 1 # comment",
    "w; 1",
    "",
    "   ",
    "w ^^ 2",
    "w^2 + q%1",
    "sin(w) + cos(w) + w.x",
]


@pytest.mark.parametrize("text", BAD_SYNTAX)
def test_syntax_errors_are_the_parsers(text: str) -> None:
    """Everything the parser refuses, the engine refuses with the same message and
    column (the hint too, except the list of known functions, which is longer)."""
    with pytest.raises(ParseError) as parser:
        parse_loss(text, {})
    with pytest.raises(ParseError) as engine:
        lower(text, {"w": (), "b": ()})
    assert engine.value.message == parser.value.message
    assert engine.value.column == parser.value.column
    if not (engine.value.hint or "").startswith("known functions"):
        assert engine.value.hint == parser.value.hint


@pytest.mark.parametrize("text", ["9" * 500, "1e400", "w + 1e-400*2e5000"])
def test_typed_numbers_follow_the_parsers_rule(text: str) -> None:
    with pytest.raises(ParseError) as parser:
        parse_loss(text, {})
    with pytest.raises(ParseError) as engine:
        lower(text, {"w": ()})
    assert engine.value.message == parser.value.message
    assert engine.value.message.startswith("number out of range")


@pytest.mark.parametrize("text", ["w" * 2001])
def test_limits_are_the_parsers(text: str) -> None:
    with pytest.raises(ResourceLimit) as parser:
        parse_loss(text, {})
    with pytest.raises(ResourceLimit) as engine:
        lower(text, {"w": ()})
    assert engine.value.message == parser.value.message


def test_numbers_beyond_floats_are_refused() -> None:
    """A number typed beyond the range of floats is bad input, as in the parser."""
    with pytest.raises(ParseError, match="number out of range: 1e309") as caught:
        lower("w + 1e309", {"w": ()})
    assert caught.value.column == 5
    with pytest.raises(ParseError, match="column 5"):
        lower("w + " + "9" * 400, {"w": ()})


SHAPE_ERRORS = [
    ("sum(W @ x)", "@ needs matching inner sizes: 2x3 @ 2 (3 != 2)"),
    ("sum(W + x)", "shapes do not broadcast together: 2x3, 2"),
    ("sum(w @ v)", "@ multiplies vectors and matrices, got a number @ 3"),
    ("sum(dot(W, x))", "@ needs matching inner sizes: 2x3 @ 2 (3 != 2)"),
    ("sum(max(W, x, v))", "shapes do not broadcast together: 2x3, 2, 3"),
    ("W @ v", "the loss must be a single number, but this expression has shape 2"),
]


@pytest.mark.parametrize(("text", "message"), SHAPE_ERRORS)
def test_shape_errors_name_both_shapes_as_the_parser_does(text: str, message: str) -> None:
    shapes = {"W": (2, 3), "x": (2,), "v": (3,)}
    with pytest.raises(ShapeError) as engine:
        lower(text, {**shapes, "w": ()})
    assert engine.value.message == message
    with pytest.raises(ShapeError) as parser:
        parse_loss(text, shapes)
    assert parser.value.message == message
    assert engine.value.hint == parser.value.hint


@pytest.mark.parametrize(
    ("text", "shapes"),
    [
        ("sum(outer(W, x))", ("2x3", "2")),
        ("sum(outer(w, x))", ("a number", "2")),
        ("sum([[1, 2], [3]])", ("2", "1")),
        ("sum([x, v])", ("2", "3")),
        ("sum([[1, 2], 3])", ("2", "a number")),
        ("sum(W @ W)", ("2x3", "2x3")),
    ],
)
def test_new_shape_errors_name_both_shapes(text: str, shapes: tuple[str, str]) -> None:
    with pytest.raises(ShapeError) as engine:
        lower(text, {"W": (2, 3), "x": (2,), "v": (3,), "w": ()})
    first = engine.value.message.index(shapes[0])
    assert shapes[1] in engine.value.message[first + len(shapes[0]) :]


def test_softmax_and_logsumexp_need_a_vector() -> None:
    for fn in ("softmax", "logsumexp"):
        with pytest.raises(ShapeError, match=f"{fn} needs a vector, got 2x3"):
            lower(f"sum({fn}(W))", {"W": (2, 3)})


def test_shapes_are_checked_before_any_number() -> None:
    """No values are needed to find a shape error: lowering alone finds it."""
    with pytest.raises(ShapeError):
        lower("sum(W @ x) + sum(log(W))", {"W": (2, 3)}, {"x": (4,)})


def test_a_name_without_a_role_is_missing() -> None:
    with pytest.raises(MissingValue) as missing:
        lower("w*q + r", {"w": ()})
    assert missing.value.name == "q"
    # a syntax error anywhere comes first
    with pytest.raises(ParseError):
        lower("w*q + r % 2", {"w": ()})
    # pi and e are constants, whatever the roles say
    graph = lower("pi*w + e", {"w": ()})
    assert graph.value_and_grad({"w": 1.0})[0] == pytest.approx(np.pi + np.e)


def test_a_name_has_one_role() -> None:
    with pytest.raises(NameRole):
        lower("w + x", {"w": ()}, {"w": ()})
    with pytest.raises(ShapeError):
        lower("w", {"w": (0,)})
    with pytest.raises(ShapeError):
        lower("w", {"w": (2.5,)})  # type: ignore[dict-item]


def test_inputs_may_have_any_name_the_parser_allows_for_constants() -> None:
    """Like the parser's constants, inputs may be named like SymPy's functions."""
    graph = lower("w*beta", {"w": ()}, {"beta": ()})
    assert graph.value_and_grad({"w": 2.0, "beta": 3.0}) == (6.0, {"w": 3.0})


def test_bad_values() -> None:
    graph = lower("sum((W @ x - y)**2)", {"W": (2, 3)}, {"x": (3,), "y": (2,)})
    good = {"W": np.ones((2, 3)), "x": np.ones(3), "y": np.ones(2)}
    with pytest.raises(MissingValue):
        graph.value_and_grad({"W": good["W"], "x": good["x"]})
    with pytest.raises(ShapeError, match="W has shape 2x3, but its value has shape 3x2"):
        graph.value_and_grad({**good, "W": np.ones((3, 2))})
    with pytest.raises(BadInput):
        graph.value_and_grad({**good, "x": ["a", "b", "c"]})
    batched = lower("sum((W @ x - y)**2)", {"W": (2, 3)}, {"x": (3,), "y": (2,)}, batched=True)
    with pytest.raises(ShapeError, match="one 3 per example"):
        batched.value_and_grad({**good, "y": np.ones((4, 2))})
    with pytest.raises(ShapeError, match="x has 4 examples but y has 5"):
        batched.value_and_grad({**good, "x": np.ones((4, 3)), "y": np.ones((5, 2))})
    with pytest.raises(BadInput):
        graph.per_example(good)


def test_invalid_values_give_nan_without_warnings() -> None:
    """Outside a function's domain the numbers are nan or inf (the caller reports a
    divergence); no warning escapes (warnings are errors in this test suite)."""
    graph = lower("log(w) + sqrt(w) + 1/w", {"w": ()})
    loss, grads = graph.value_and_grad({"w": -1.0})
    assert np.isnan(loss) and np.isnan(grads["w"])
    loss, grads = graph.value_and_grad({"w": 0.0})
    assert not np.isfinite(loss) and not np.isfinite(grads["w"])
    assert np.isnan(lower("w/0", {"w": ()}).value_and_grad({"w": 0.0})[0])


# ---------------------------------------------------------------------------
# the engine's manners


def engine_sources() -> list[Path]:
    files = sorted(ENGINE.glob("*.py"))
    assert len(files) >= 5
    return files


def test_no_flags_printing_or_environment_in_the_engine() -> None:
    for path in engine_sources():
        text = path.read_text()
        assert "--" not in text, path
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                assert node.id not in ("print", "eval", "exec", "input", "open"), path
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("environ", "getenv", "stdout", "stderr"), path
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                assert not any(n.split(".")[0] in ("os", "sys", "sympy") for n in names), path


def test_engine_errors_are_gdclis() -> None:
    """Everything the engine raises for bad input is a GdcliError."""
    for text in ("w %", "w + q", "sum(W @ W)", "9" * 999):
        with pytest.raises(GdcliError):
            lower(text, {"w": (), "W": (2, 3)})


def run(code: str) -> str:
    """Python in a fresh process, importing this tree's gdcli."""
    env = {**os.environ, "PYTHONPATH": str(ENGINE.parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    return out.stdout.strip()


def test_start_up_does_not_import_the_engine() -> None:
    assert run("import sys, gdcli.cli; print('gdcli.engine' in sys.modules)") == "False"


def test_the_engine_runs_without_sympy() -> None:
    code = (
        "import sys, numpy as np\n"
        "from gdcli.engine import lower\n"
        "g = lower('sum((W @ x - y)**2)', {'W': (2, 3)}, {'x': (3,), 'y': (2,)})\n"
        "g.value_and_grad({'W': np.ones((2, 3)), 'x': np.ones(3), 'y': np.ones(2)})\n"
        "g.source(); g.gradient_text('W'); g.backward({'W': np.ones((2, 3)), 'x': np.ones(3), 'y': [1, 2]})\n"
        "print('sympy' in sys.modules)"
    )
    assert run(code) == "False"


def test_lower_takes_the_parsers_checked_tree() -> None:
    from gdcli.parse.syntax import syntax_tree as _syntax_tree

    checked = _syntax_tree("sum((W @ x - y)^2)")
    graph = lower(checked, {"W": (2, 3)}, {"x": (3,), "y": (2,)})
    assert graph.text == "sum((W @ x - y)**2)"
    with pytest.raises(ParseError) as error:
        lower(_syntax_tree("w^2 + w % 2"), {"w": ()})
    assert error.value.column == 7  # as typed: `^` is one character, `w % 2` starts at 7


def test_a_division_by_zero_is_written_as_such() -> None:
    graph = lower("w/0 + 0/w", {"w": ()})
    assert graph.gradient_text("w") == "1/0"
    assert graph.value_and_grad({"w": 2.0}) == (np.inf, {"w": np.inf})
