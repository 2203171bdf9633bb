"""Unit tests of the safe parser: gdcli.expression.parse_loss / parse_value.

Expected expressions are built by hand with SymPy constructors (never by parsing
the same text with SymPy), with real symbols as gdcli promises.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy
from sympy import Abs, Integer, Rational, pi, tanh

from gdcli.errors import ExitCode, GdcliError, ParseError, ResourceLimit, ShapeError
from gdcli.parse.expression import parse_loss, parse_value

w = sympy.Symbol("w", real=True)
x = sympy.Symbol("x", real=True)


def same(a, b) -> bool:
    return sympy.simplify(a - b) == 0


# ---------------------------------------------------------------------------
# `^` is power, with the precedence of `**`


def test_caret_is_power_with_power_precedence():
    got = parse_loss("1 - tanh(w)^2").expr
    assert got == 1 - tanh(w) ** 2
    assert same(got, parse_loss("1 - tanh(w)**2").expr)
    assert got.subs(w, 0) == 1  # (1 - tanh(w))^2 would also give 1, so check another point
    assert same(got.subs(w, Rational(1, 2)), 1 - tanh(Rational(1, 2)) ** 2)


def test_caret_is_right_associative():
    assert parse_loss("2^3^2").expr == Integer(512)  # 2^(3^2), not (2^3)^2 = 64
    assert parse_loss("2**3^2").expr == Integer(512)


def test_unary_minus_binds_looser_than_power():
    got = parse_loss("-w^2").expr
    assert got == -(w**2)
    assert got.subs(w, 3) == -9
    assert parse_loss("(-w)^2").expr.subs(w, 3) == 9
    assert parse_loss("-w**2 + 1").expr == 1 - w**2
    assert parse_loss("w^-1").expr == 1 / w
    assert parse_loss("--w").expr == w
    assert parse_loss("+w").expr == w


def test_caret_mixed_with_operators():
    assert parse_loss("2*w^3/3").expr == Rational(2, 3) * w**3
    assert parse_loss("(w - 3)^2").expr == (w - 3) ** 2
    assert parse_loss("e^w").expr == sympy.exp(w)


# ---------------------------------------------------------------------------
# implicit multiplication is refused with a hint


@pytest.mark.parametrize(
    ("text", "hint", "column"),
    [("3w", "did you mean 3*w?", 1), ("2*w + 3x", "did you mean 3*x?", 7)],
)
def test_implicit_product_hint(text, hint, column):
    with pytest.raises(ParseError) as info:
        parse_loss(text)
    assert info.value.hint == hint
    assert info.value.column == column
    assert f"column {column}" in info.value.message
    assert info.value.exit_code == ExitCode.BAD_INPUT


def test_number_called_like_a_function_hint():
    with pytest.raises(ParseError) as info:
        parse_loss("2(w + 1)")
    assert info.value.hint is not None and "2*(" in info.value.hint


# ---------------------------------------------------------------------------
# symbols are real, values exact


def test_symbols_are_real():
    loss = parse_loss("sqrt(w**2)")
    assert loss.expr == Abs(w)
    (sym,) = loss.expr.free_symbols
    assert sym.is_real
    assert loss.variables == ("w",)
    assert loss.shapes == {"w": ()}
    assert parse_loss("conj_test * 0 + w").variables == ("conj_test", "w")


def test_builtin_names_build_the_right_functions():
    assert parse_loss("sigmoid(w)").expr == 1 / (1 + sympy.exp(-w))
    assert parse_loss("relu(w)").expr == sympy.Max(0, w)
    assert parse_loss("softplus(w)").expr == sympy.log(1 + sympy.exp(w))
    assert parse_loss("abs(w)").expr == Abs(w)
    assert parse_loss("ln(w)").expr == sympy.log(w)
    assert same(parse_loss("log(w, 2)").expr, sympy.log(w) / sympy.log(2))
    assert parse_loss("log(8, 2)").expr.equals(3)
    assert parse_loss("min(w, 1)").expr == sympy.Min(w, 1)
    assert parse_loss("pi + w").expr == pi + w
    assert parse_loss("e").expr == sympy.E


def test_comparison_is_an_indicator():
    got = parse_loss("(3*w + 2 > 0) * w").expr
    assert got.subs(w, 1) == 1
    assert got.subs(w, -1) == 0
    assert got.subs(w, Rational(-2, 3)) == 0  # strict


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.1", Rational(1, 10)),
        ("-2/3", Rational(-2, 3)),
        (" -2/3", Rational(-2, 3)),
        ("pi/4", pi / 4),
        ("1e-3", Rational(1, 1000)),
        ("2.5e3", Integer(2500)),
        ("-0.125", Rational(-1, 8)),
        ("sqrt(2)/2", sympy.sqrt(2) / 2),
        ("2^10", Integer(1024)),
        ("0.3333333333333333", Rational(3333333333333333, 10**16)),
    ],
)
def test_values_are_exact(text, value):
    got = parse_value(text)
    assert got == value
    assert got.free_symbols == set()


def test_float_literal_is_the_decimal_typed_not_the_binary_fraction():
    assert parse_value("0.1") != Rational(0.1)  # the double nearest 0.1 is not 1/10
    assert parse_value("0.1") * 10 == 1


@pytest.mark.parametrize("text", ["w", "1/0", "sqrt(-1)", "log(0)", "", "1 +", "x = 1", "oo"])
def test_bad_values(text):
    with pytest.raises(GdcliError) as info:
        parse_value(text)
    assert info.value.exit_code == ExitCode.BAD_INPUT


def test_value_matrix():
    m = parse_value("[[1, 2], [3, 4.5]]")
    assert m.shape == (2, 2)
    assert m[1, 1] == Rational(9, 2)
    with pytest.raises(ShapeError):
        parse_value("[[1, 2], [3]]")


# ---------------------------------------------------------------------------
# vectors and matrices


def test_least_squares_closed_form():
    xs = parse_value("[1, 2, 3]")
    ys = parse_value("[4, 5]")
    loss = parse_loss("sum((W @ x - y)**2)", shapes={"W": (2, 3)}, constants={"x": xs, "y": ys})
    entries = [[sympy.Symbol(f"W_{i}_{j}", real=True) for j in (1, 2, 3)] for i in (1, 2)]
    expected = sum(
        (sum(entries[i][j] * (j + 1) for j in range(3)) - (4 + i)) ** 2 for i in range(2)
    )
    assert sympy.expand(loss.expr - expected) == 0
    assert loss.variables == ("W",)
    assert loss.shapes == {"W": (2, 3)}
    assert [str(s) for s in loss.entries["W"]] == [f"W_{i}_{j}" for i in (1, 2) for j in (1, 2, 3)]
    assert all(s.is_real for s in loss.entries["W"])


def test_vector_dot_and_mean():
    v = sympy.symbols("v_1 v_2 v_3", real=True)
    loss = parse_loss("v @ v", shapes={"v": (3,)})
    assert sympy.expand(loss.expr - sum(s**2 for s in v)) == 0
    loss = parse_loss("mean(v^2)", shapes={"v": (3,)})
    assert sympy.expand(loss.expr - sum(s**2 for s in v) / 3) == 0
    loss = parse_loss("dot([1, 2, 3], v)", shapes={"v": (3,)})
    assert sympy.expand(loss.expr - (v[0] + 2 * v[1] + 3 * v[2])) == 0


def test_broadcasting_and_transpose():
    c = parse_value("[10, 20, 30]")
    loss = parse_loss("sum(W * c)", shapes={"W": (2, 3)}, constants={"c": c})
    entries = [[sympy.Symbol(f"W_{i}_{j}", real=True) for j in (1, 2, 3)] for i in (1, 2)]
    expected = sum(entries[i][j] * 10 * (j + 1) for i in range(2) for j in range(3))
    assert sympy.expand(loss.expr - expected) == 0
    y = parse_value("[1, 2]")
    loss = parse_loss("sum(transpose(W) @ y)", shapes={"W": (2, 3)}, constants={"y": y})
    expected = sum(entries[0][j] + 2 * entries[1][j] for j in range(3))
    assert sympy.expand(loss.expr - expected) == 0


def test_max_of_a_vector_is_its_largest_entry():
    assert parse_loss("max([1, w, 3])").expr == sympy.Max(3, w)


@pytest.mark.parametrize(
    ("text", "shapes"),
    [
        ("sum(W @ y)", {"W": (2, 3)}),  # 3 != 2
        ("W @ x", {"W": (2, 3)}),  # a vector, not a number
        ("w @ w", {}),
        ("sum(W + y)", {"W": (2, 3)}),  # 2x3 and 2 do not broadcast
    ],
)
def test_shape_errors(text, shapes):
    constants = {"y": parse_value("[1, 2]"), "x": parse_value("[1, 2, 3]")}
    with pytest.raises(ShapeError) as info:
        parse_loss(text, shapes=shapes, constants=constants)
    assert info.value.exit_code == ExitCode.BAD_INPUT


def test_non_scalar_loss_hints_sum():
    with pytest.raises(ShapeError) as info:
        parse_loss("v * 2", shapes={"v": (3,)})
    assert "sum" in (info.value.hint or "")


# ---------------------------------------------------------------------------
# error messages carry the column (as typed: `^` counts as one character)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("w + foo(w)", 5),
        ("w ^ 2 + x.y", 9),
        ("w^2^3 + x.y", 9),
        ('w**2 ^ "a"', 8),
        ("w ^ 2 ^ 3 + [", 13),
        ("(w", 1),
        ("w + $", 5),
        ("sin(w) + w[0]", 10),
        ("w + lambda: 1", 5),
        ("w * * 2", 5),
        ("w + sin(w, 2)", 5),
        ("w + True", 5),
        ("w + _x", 5),
    ],
)
def test_error_column(text, column):
    with pytest.raises(ParseError) as info:
        parse_loss(text)
    assert info.value.column == column
    assert re.search(rf"\bcolumn {column}\b", info.value.message)


@pytest.mark.parametrize("text", ["sin(w) +", "w **"])
def test_error_column_of_truncated_input(text):
    with pytest.raises(ParseError) as info:
        parse_loss(text)
    assert info.value.column is not None and info.value.column >= len(text) - 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("foo(w)", "unknown function"),
        ("sin(w, 2)", "argument"),
        ("sin(x=w)", "keyword"),
        ("w.real", "attribute"),
        ("I*w", "reserved"),
        ("E + w", "reserved"),
        ("__import__", "not allowed"),
        ("w % 2", "%"),
        ("sin", "function"),
        ("1j*w", "complex"),
        ("w == 1", "comparison"),
        ("a < w < b", "chained"),
    ],
)
def test_error_messages_say_what_is_wrong(text, fragment):
    with pytest.raises(ParseError) as info:
        parse_loss(text)
    assert fragment in info.value.message


@pytest.mark.parametrize(
    "text",
    ["9**9**9**9", "2**10**100", "w" * 3000, "sin(" * 70 + "w" + ")" * 70, "w**(10**6)"],
)
def test_size_limits_are_resource_errors(text):
    with pytest.raises(ResourceLimit) as info:
        parse_loss(text)
    assert info.value.exit_code == ExitCode.RESOURCE


def test_large_but_allowed_numbers_are_exact():
    assert parse_value("10**100") == Integer(10) ** 100  # computed, not typed: exact
    assert parse_value("1e300") == Integer(10) ** 300
    assert parse_value("9" * 300) == Integer(10) ** 300 - 1  # typed: within the float range


@pytest.mark.parametrize(
    "text", ["1" * 600, "9" * 400, "1e999", "1e-400", "-2e308", "0x1" + "0" * 300]
)
def test_a_number_typed_beyond_the_float_range_is_bad_input(text):
    """One rule for every number typed (in an expression or an option): it must lie in
    the range of floats, 0 or between 5e-324 and 1.8e308 in size (exit 2)."""
    with pytest.raises(ParseError, match="number out of range") as info:
        parse_value(text)
    assert info.value.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.7976931348623157e308", 1.7976931348623157e308), ("5e-324", 5e-324), ("0e999", 0.0)],
)
def test_the_ends_of_the_float_range_are_accepted(text, value):
    assert float(parse_value(text)) == value


@pytest.mark.parametrize(
    ("text", "value"), [("10**300", 10**300), ("2**500", 2**500)], ids=["10**300", "2**500"]
)
def test_powers_within_the_limit_are_accepted(text, value):
    assert parse_value(text) == Integer(value)


def test_constants_substitute():
    loss = parse_loss("a*w + b", constants={"a": Integer(2), "b": Rational(1, 3)})
    assert loss.expr == 2 * w + Rational(1, 3)
    assert loss.variables == ("w",)


def test_loss_object_is_usable():
    loss = parse_loss("  (w - 3)^2 + x  ")
    assert loss.text == "(w - 3)**2 + x"
    assert loss.variables == ("w", "x")
    assert loss.symbols() == [w, x]
    assert loss.expr == (w - 3) ** 2 + x
    assert isinstance(loss.entries["w"][0], sympy.Symbol)
    assert np.asarray(loss.entries["w"]).shape == (1,)


def test_sympys_names_are_the_installed_sympys():
    """The list of SymPy's names gdcli refuses (written out, so that no SymPy import is
    needed to check a name) is the installed SymPy's own."""
    import subprocess
    import sys

    import sympy

    from gdcli.parse.sympy_names import SYMPY_NAMES, SYMPY_VERSION

    if sympy.__version__ != SYMPY_VERSION:
        pytest.skip(f"the list is SymPy {SYMPY_VERSION}'s; installed: {sympy.__version__}")
    code = "import sympy\nprint(' '.join(n for n in vars(sympy) if len(n) > 1))"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(fresh.stdout.split()) == SYMPY_NAMES  # a fresh import's (a test run adds more)


@pytest.mark.parametrize("name", ["beta", "gamma", "re", "Symbol", "lambdify"])
def test_a_sympy_name_is_refused_without_importing_sympy(name):
    import subprocess
    import sys

    code = (
        "import sys\nfrom gdcli.parse.expression import _sympy_name\n"
        f"print(_sympy_name({name!r}), 'sympy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
