"""Hostile expressions: nothing runs, every call ends fast with one clean error line.

User expressions come from students and are run by graders: code execution
attempts, exponent towers, huge or deep inputs and odd characters must all end
with exit 2 (bad input), 3 (numerical) or 4 (resource limit), one line on stderr
(plus an optional `hint:` line), nothing on stdout and no traceback. Each case
pins the one exit code design.md gives it; what the parser does accept is read
again independently (Python's own `ast` and SymPy) and must mean the same.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy
from helpers import Result, assert_clean_failure, run_process
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gdcli.errors import GdcliError, ParseError, ResourceLimit, ShapeError
from gdcli.parse.expression import Loss, parse_loss, parse_value

PWNED = Path("/tmp/pwned_gdcli")
GUARD_SECONDS = 2.0  # robustness guard, not a benchmark

BAD, NUM, RES = 2, 3, 4

HOSTILE = [
    # code execution attempts
    ("__import__('os').system('touch /tmp/pwned_gdcli')", BAD),
    ("__import__", BAD),
    ("w.__class__.__mro__", BAD),
    ("().__class__", BAD),
    ("().__class__.__bases__[0].__subclasses__()", BAD),
    ("__builtins__", BAD),
    ("w + __debug__", BAD),
    ("lambda: 1", BAD),
    ("(lambda w: w)(1)", BAD),
    ("[x for x in (1, 2)]", BAD),
    ("sum(x for x in [w])", BAD),
    ("{w: 1}", BAD),
    ("'w'", BAD),
    ("f'{w}'", BAD),
    ("b'w'", BAD),
    ("(w := 1)", BAD),
    ("*w", BAD),
    ("sum(*[w])", BAD),
    ("w[0]", BAD),
    ("eval('1')", BAD),
    ("exec('1')", BAD),
    ("open('x')", BAD),
    ("globals()", BAD),
    ("getattr(w, 'x')", BAD),
    ("import os", BAD),
    ("w; import os", BAD),
    ("w if w else 1", BAD),
    ("w and 1", BAD),
    ("not w", BAD),
    # exponent towers and huge numbers
    ("9**9**9**9", RES),
    ("2**10**100", RES),
    ("10**10**10", RES),
    ("w**9**9**9", RES),
    ("(-9)**9**9 * w", RES),
    ("(1/3)**10**6 * w", RES),
    ("9" * 1000, BAD),  # a number typed beyond the float range: one rule, exit 2
    ("1e999 * w", BAD),
    ("w * 10**(10**4)", RES),
    # size, depth
    ("w" * 100_000, RES),
    ("w+" * 999 + "w", RES),
    ("(" * 900 + "w" + ")" * 900, RES),
    ("-" * 5000 + "w", RES),
    ("-" * 1500 + "w", RES),
    ("sin(" * 500, BAD),  # never closed: unparsable whatever its depth
    ("sin(" * 100 + "w" + ")" * 100, RES),
    ("[" * 100 + "w" + "]" * 100, RES),
    ("[" * 300 + "w" + "]" * 300, RES),
    # odd characters
    ("w\x00", BAD),
    ("w\n+ 1", BAD),
    ("w\u200b", BAD),
    ("\ufeffw", BAD),
    ("w\u00a0+ 1", BAD),
    ("w \u2212 1", BAD),  # a typographic minus sign
    ("\U0001f600", BAD),
    ("", BAD),
    ("   ", BAD),
    ("\n", BAD),
    # malformed or meaningless
    ("w ^^ 2", BAD),
    ("w +", BAD),
    # undefined wherever it is evaluated: not an expression of numbers (bad input)
    ("1/0", BAD),
    ("log(0)", BAD),
    ("log(0) * w", BAD),
    ("0**-1 + w", BAD),
    ("foo(w)", BAD),
    ("sin(w, 2)", BAD),
    ("sin()", BAD),
    ("max()", BAD),
    ("sin(x=w)", BAD),
    ("True", BAD),
    ("None", BAD),
    ("...", BAD),
    ("1j", BAD),
    ("w + 1j", BAD),
    ("w % 2", BAD),
    ("w == 1", BAD),
    ("7", BAD),
    ("pi", BAD),
    ("[w, w]", BAD),
    ("x * y", BAD),
    ("E * w", BAD),
    # a constant that is not a real number: undefined wherever it is evaluated (exit 2)
    ("log(-1) * w", BAD),
    # the same constants as arguments of functions that need a real number
    ("max(w, 1/0)", BAD),
    ("(1/0 > 0) * w", BAD),
    ("max(w, sqrt(-1))", BAD),
    ("relu(log(-1)) + w", BAD),
    ("w + Heaviside(acos(2))", BAD),
    ("(sqrt(-1) > 0) * w", BAD),
    # accepted, then too large for a float at the default point w = 1: numerical failure
    ("(w + 1)**10000", NUM),
    ("exp(exp(exp(exp(w))))", NUM),
]


def _case(case: Any) -> tuple[Any, ...]:
    return tuple(case.values) if hasattr(case, "values") else case


def _id(case: Any) -> str:
    return repr(_case(case)[0][:40])


@pytest.fixture
def no_pwned():
    PWNED.unlink(missing_ok=True)
    yield
    assert not PWNED.exists(), "an expression ran code"


@pytest.mark.usefixtures("no_pwned")
@pytest.mark.parametrize(("text", "code"), HOSTILE, ids=[_id(c) for c in HOSTILE])
def test_hostile_expression_fails_cleanly_and_fast(run, text, code):
    start = time.perf_counter()
    r = run(["derive", text, "-f", "json"])
    elapsed = time.perf_counter() - start
    assert_clean_failure(r, code)
    assert elapsed < GUARD_SECONDS, f"took {elapsed:.1f} s"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("__import__('os').system('touch /tmp/pwned_gdcli')", BAD),
        ("9**9**9**9", RES),
        ("w.__class__", BAD),
        ("w +", BAD),
    ],
)
def test_hostile_expression_on_stdin(run, text, code, no_pwned):
    r = run(["derive", "-"], stdin=text)
    assert_clean_failure(r, code)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["derive", "w", "--at", "__import__('os').system('touch /tmp/pwned_gdcli')"], BAD),
        (["derive", "w", "--at", "9**9**9**9"], RES),
        (["derive", "w", "--at", "w"], BAD),
        (["derive", "w", "--at", "1/0"], BAD),
        (["derive", "w", "--at", "1e999"], BAD),  # beyond any float, as `1e999 * w`
        (["derive", "w", "--at", "x=1,x=2"], BAD),
        (["derive", "w", "--wrt", "__class__"], BAD),
        (["slope", "w", "--h", "().__class__"], BAD),
        (["slope", "w", "--h", "10**10**10"], RES),
        (["plot", "w", "--range", "__import__('os'):1"], BAD),
        (["plot", "w", "--range", "0:10**10**10"], RES),
        (["derive", "w", "-f", "yaml"], BAD),
        (["derive", "w", "--scheme", "__import__"], BAD),
        (["derive", "w", "--h-max", "1e400"], BAD),
        (["derive", "w", "--h-max", "1e300", "--h-min", "1e-300"], BAD),  # 600 rows of h
    ],
)
def test_hostile_options_fail_cleanly(run, args, code, no_pwned):
    start = time.perf_counter()
    r = run(args)
    assert time.perf_counter() - start < GUARD_SECONDS
    assert_clean_failure(r, code)


def test_code_in_a_tmp_path_does_not_run(run, tmp_path):
    target = tmp_path / "ran"
    for text in [
        f"__import__('os').system('touch {target}')",
        f"open('{target}', 'w')",
        f"[__import__('pathlib').Path('{target}').touch()]",
    ]:
        r = run(["derive", text])
        assert_clean_failure(r, BAD)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# end to end, in a real process (each start costs about a second: keep these few)


@pytest.mark.slow
def test_process_code_execution_does_not_run(no_pwned):
    r = run_process(["derive", "__import__('os').system('touch /tmp/pwned_gdcli')"])
    assert_clean_failure(r, BAD)


@pytest.mark.slow
def test_process_tower_is_refused():
    r = run_process(["derive", "9**9**9**9", "-f", "json"])
    assert_clean_failure(r, RES)


@pytest.mark.slow
def test_process_stdin_attack():
    r = run_process(["derive", "-", "--quiet"], stdin="().__class__.__mro__[1].__subclasses__()")
    assert_clean_failure(r, BAD)


@pytest.mark.slow
@pytest.mark.parametrize("text", ["1or w"])
def test_process_no_python_warnings_on_stderr(text):
    r = run_process(["derive", text])
    assert_clean_failure(r, BAD)


@pytest.mark.slow
def test_process_with_cache_enabled(tmp_path):
    """With the compiled-expression cache on (a fresh XDG_CACHE_HOME), a repeated call
    still refuses code and still answers a plain loss correctly."""
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("GDCLI_NO_CACHE", None)
    target = tmp_path / "ran"
    attack = f"__import__('os').system('touch {target}')"
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "gdcli", "derive", attack],
            capture_output=True,
            text=True,
            timeout=20,
            env=env,
        )
        assert_clean_failure(Result(proc.returncode, proc.stdout, proc.stderr), BAD)
        proc = subprocess.run(
            [sys.executable, "-m", "gdcli", "derive", "w**3", "--at", "2", "-q"],
            capture_output=True,
            text=True,
            timeout=20,
            env=env,
        )
        assert (proc.returncode, proc.stdout) == (0, "12.0\n"), proc.stderr
    assert not target.exists()


def _within(args: list[str], seconds: float) -> Result:
    """A real process that must end within `seconds` of CPU time: the budget counts
    CPU time, so a loaded machine stretches the wall clock but not this (a hang is
    killed after a generous wall-clock limit and fails)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        result = run_process(args, timeout=60 * seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gdcli {' '.join(a[:40] for a in args)} hung")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < seconds, f"gdcli {' '.join(a[:40] for a in args)} used {cpu:.1f} s of CPU"
    return result


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        # sympy.N computes exp(exp(exp(exp(e)))) to millions of digits: hangs. The value
        # is beyond a float: a numerical failure
        (["derive", "exp(exp(exp(exp(exp(w)))))"], NUM, "overflows"),
        # w**w at an exact 10^20 builds the integer 10^(2e21): hangs. Beyond a float too
        (["derive", "w**w", "--at", "1e20"], NUM, "overflows"),
        # derivative of a 32-argument Max: cubic work in SymPy's Max (~20 s), far over
        # the 3 s CPU budget: too slow, a resource limit
        (["derive", "max(" + ",".join(f"sin({k}*w)" for k in range(1, 33)) + ")"], RES, "too slow"),
        # a 10,000-entry matrix product (1e6 symbolic products): too large to expand
        (["derive", "sum(W @ W)", "--shape", "W=100x100"], RES, "too large"),
    ],
    ids=["exp-tower-5", "w**w-at-1e20", "max-32-args", "matmul-100x100"],
)
def test_process_accepted_input_ends_fast(args, code, needle):
    r = _within(args, 5.0)  # the acceptance: under 5 s of CPU including start-up
    assert_clean_failure(r, code, needle)


# ---------------------------------------------------------------------------
# property: any text parses into a Loss or raises GdcliError, fast

EXPR_ALPHABET = "w0123456789.+-*/^()@ ,[]_abcdefghijklmnopqrstuvwxyz"
FUNCTION_WORDS = st.sampled_from(
    ["sin(", "exp(", "log(", "max(", "abs(", "sqrt(", "sigmoid(", "relu(", "w", "**", "^", ")"]
)
expression_like = st.lists(
    st.one_of(st.text(alphabet=EXPR_ALPHABET, min_size=1, max_size=4), FUNCTION_WORDS),
    max_size=30,
).map("".join)

PROPERTY = settings(
    max_examples=200,
    deadline=1000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)


# --- an independent reading of what the parser accepts ---------------------------------------------
#
# design.md: the text is stripped, `^` is power, and only numbers, names, + - * / ** @,
# unary +/-, comparisons used as indicators and calls of known functions by bare name are
# allowed; numbers are exact (0.1 is 1/10), `e` and `pi` are the constants, any other name
# is a real weight. Python's `ast` checks the syntax, then Python evaluates the checked tree
# over SymPy objects: a different route to the same meaning.


def _indicator(relation: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: sympy.Piecewise((1, relation(a, b)), (0, True))


REFERENCE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "asin": sympy.asin,
    "acos": sympy.acos, "atan": sympy.atan, "sinh": sympy.sinh, "cosh": sympy.cosh,
    "tanh": sympy.tanh, "exp": sympy.exp, "sqrt": sympy.sqrt, "abs": sympy.Abs,
    "sign": sympy.sign, "ln": sympy.log,
    "log": lambda a, base=None: sympy.log(a) if base is None else sympy.log(a) / sympy.log(base),
    "Heaviside": sympy.Heaviside, "heaviside": sympy.Heaviside,
    "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
    "relu": lambda x: sympy.Max(0, x),
    "softplus": lambda x: sympy.log(1 + sympy.exp(x)),
    "max": sympy.Max, "min": sympy.Min,
}  # fmt: skip
# functions of arrays (sum, mean, dot, ...): their meaning is tested in test_grad.py
ARRAY_FUNCTIONS = {"sum", "mean", "dot", "transpose", "outer", "softmax", "logsumexp"}
OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult, ast.UAdd, ast.USub)
RELATIONS = {
    ast.Gt: sympy.StrictGreaterThan,
    ast.GtE: sympy.GreaterThan,
    ast.Lt: sympy.StrictLessThan,
    ast.LtE: sympy.LessThan,
}
ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.List)
ALLOWED += (ast.Compare, ast.Load, *OPERATORS, *RELATIONS)


def allowed_tree(text: str) -> ast.Expression:
    """Python's reading of an accepted text, checked against design.md's allow-list."""
    source = text.strip().replace("^", "**")
    with warnings.catch_warnings():  # Python's SyntaxWarnings ("invalid decimal literal")
        warnings.simplefilter("ignore")
        tree = ast.parse(source, mode="eval")
    for node in ast.walk(tree):
        assert isinstance(node, ALLOWED), (text, ast.dump(node))
        if isinstance(node, ast.Constant):
            assert type(node.value) in (int, float), (text, node.value)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name) and not node.keywords, text
            assert node.func.id in REFERENCE_FUNCTIONS.keys() | ARRAY_FUNCTIONS, text
        if isinstance(node, ast.Name):
            assert not node.id.startswith("_"), text
        if isinstance(node, ast.Compare):
            assert len(node.ops) == 1, text
    return tree


class _Exact(ast.NodeTransformer):
    """Numbers as typed (exact), calls and comparisons through the reference table."""

    def __init__(self, source: str) -> None:
        self.source = source

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, int):  # 12, 0x1f, 1_000: Python's own integer
            exact = Fraction(node.value)
        else:  # 0.1 is 1/10: the decimal as typed
            typed = ast.get_source_segment(self.source, node) or repr(node.value)
            exact = Fraction(Decimal(typed.replace("_", "")))
        return ast.Call(ast.Name("_number", ast.Load()), [ast.Constant(str(exact))], [])

    def visit_Call(self, node: ast.Call) -> ast.AST:
        args = [self.visit(a) for a in node.args]
        assert isinstance(node.func, ast.Name)
        return ast.Call(ast.Name("_f_" + node.func.id, ast.Load()), args, [])

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        left, right = self.visit(node.left), self.visit(node.comparators[0])
        name = "_rel_" + type(node.ops[0]).__name__
        return ast.Call(ast.Name(name, ast.Load()), [left, right], [])


def reference_reading(text: str, variables: bool = True) -> Any:
    """The SymPy value of `text` read without gdcli's parser; None for array syntax
    (lists, @, functions of arrays), whose meaning other tests check."""
    tree = allowed_tree(text)
    if any(
        isinstance(n, (ast.List, ast.MatMult))
        or (isinstance(n, ast.Call) and n.func.id in ARRAY_FUNCTIONS)  # type: ignore[attr-defined]
        for n in ast.walk(tree)
    ):
        return None
    source = text.strip().replace("^", "**")
    weights = weight_names(tree)
    assert variables or not weights, (text, weights)
    namespace: dict[str, Any] = {"e": sympy.E, "pi": sympy.pi, "_number": sympy.Rational}
    namespace.update({name: sympy.Symbol(name, real=True) for name in weights})
    namespace.update({"_f_" + k: f for k, f in REFERENCE_FUNCTIONS.items()})
    namespace.update({"_rel_" + k.__name__: _indicator(r) for k, r in RELATIONS.items()})
    code = compile(ast.fix_missing_locations(_Exact(source).visit(tree)), "<reference>", "eval")
    return eval(code, {"__builtins__": {}}, namespace)  # the tree is checked: names, numbers


POINTS = [sympy.Rational(37, 100), sympy.Rational(-83, 100), sympy.Rational(121, 100)]


def _real_value(expr: Any, at: dict[Any, Any]) -> Any:
    """The value of `expr` at `at` to 30 digits, or None where it is not a finite real
    number (SymPy refuses some functions off their domain, e.g. Heaviside(acos(1.2)))."""
    try:
        value = sympy.sympify(expr).subs(at).evalf(30)
    except (ValueError, TypeError, ArithmeticError):
        return None
    # a number, not an unevaluated function of one (Heaviside(zoo) calls itself real)
    return value if value.is_Number and value.is_finite is True else None


def assert_same_value(got: Any, expected: Any, symbols: list[Any]) -> None:
    """Two SymPy expressions agree at a few exact points (30 digits): real and close,
    or neither a finite real number."""
    for k in range(len(POINTS)):
        at = {s: POINTS[(k + j) % len(POINTS)] for j, s in enumerate(symbols)}
        a, b = _real_value(got, at), _real_value(expected, at)
        assert (a is None) == (b is None), (got, expected, at, a, b)
        if a is not None:
            assert abs(a - b) <= 1e-20 * (1 + abs(b)), (got, expected, at, a, b)


def weight_names(tree: ast.AST) -> set[str]:
    """The names in a tree that are neither called functions nor the constants e and pi."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}
    return names - {"e", "pi"}


REAL_ONLY = {"max", "min", "relu", "Heaviside", "heaviside"}


def is_well_formed(text: str) -> bool:
    """Does Python's parser read `text` (as gdcli normalises it) into design.md's syntax?"""
    try:
        allowed_tree(text)
    except (SyntaxError, ValueError, AssertionError, RecursionError, MemoryError):
        return False
    return True


def undefined_or_complex_where_real_needed(text: str) -> bool:
    """Does `text` pass an undefined (1/0) or non-real (sqrt(-1)) constant to max, min,
    relu, Heaviside or a comparison? gdcli then fails with an internal error (see
    CONSTANT_ARGUMENT_BUG): the property tests leave such texts to the cases pinned there."""
    tree = allowed_tree(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func.id in REAL_ONLY:  # type: ignore[attr-defined]
            arguments = node.args
        elif isinstance(node, ast.Compare):
            arguments = [node.left, *node.comparators]
        else:
            continue
        for arg in arguments:
            try:
                value = reference_reading(ast.unparse(arg))
            except (ValueError, TypeError):  # SymPy refuses such an argument further in
                return True
            if value is None:
                continue
            value = sympy.sympify(value)
            if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
                return True
            if not value.free_symbols and _real_value(value, {}) is None:
                return True
    return False


def _parses_or_fails_cleanly(text: str) -> None:
    """For the properties: texts the known bug fails on are pinned in HOSTILE
    (CONSTANT_ARGUMENT_BUG), every other text goes through `check_parse`."""
    if is_well_formed(text):
        assume(not undefined_or_complex_where_real_needed(text))
    check_parse(text)


def check_parse(text: str) -> None:
    """Either a one-line GdcliError (bad input or a limit), or a Loss that means what the
    independent reading of the same text means, with the same weights."""
    try:
        loss = parse_loss(text)
    except GdcliError as exc:
        assert exc.message and "\n" not in exc.message
        assert isinstance(exc, (ParseError, ResourceLimit, ShapeError)), type(exc)
        return
    assert isinstance(loss, Loss)
    expected = reference_reading(text)
    assert set(loss.variables) == weight_names(allowed_tree(text)), (text, loss.variables)
    if expected is not None:
        assert_same_value(loss.expr, expected, loss.symbols())


@PROPERTY
@given(st.text())
def test_any_text_parses_or_raises_gdcli_error(text):
    _parses_or_fails_cleanly(text)


@PROPERTY
@given(st.text(alphabet=EXPR_ALPHABET, max_size=60))
def test_expression_alphabet_parses_or_raises_gdcli_error(text):
    _parses_or_fails_cleanly(text)


@PROPERTY
@given(expression_like)
def test_expression_words_parse_or_raise_gdcli_error(text):
    _parses_or_fails_cleanly(text)


@PROPERTY
@given(st.one_of(st.text(), st.text(alphabet=EXPR_ALPHABET, max_size=40)))
def test_any_value_parses_or_raises_gdcli_error(text):
    """A value is a number (or an array of numbers) equal to the text read independently."""
    try:
        value = parse_value(text)
    except GdcliError as exc:
        assert exc.message and "\n" not in exc.message
        return
    expected = reference_reading(text, variables=False)
    if expected is None:  # a list: every entry must be a finite real number
        assert all(sympy.sympify(x).is_real for x in getattr(value, "flat", [value]))
    else:
        assert not getattr(value, "shape", ())
        assert_same_value(value, expected, [])
        assert sympy.sympify(value).is_real is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1", sympy.Rational(1, 10)),
        ("-2/3", sympy.Rational(-2, 3)),
        ("2^3^2", sympy.Integer(512)),
        ("e^2", sympy.E**2),
        ("pi/4", sympy.pi / 4),
        ("1e-3", sympy.Rational(1, 1000)),
        ("sqrt(2)*sqrt(2)", sympy.Integer(2)),
        ("0x10 + 1_000", sympy.Integer(1016)),
    ],
)
def test_value_examples_are_exact(text, expected):
    """The property above, on cases written out: values are exact, as typed."""
    value = parse_value(text)
    assert value == expected
    assert reference_reading(text, variables=False) == expected


@pytest.mark.parametrize(
    "text", ["w", "w^2 + 1", "-w^2", "1 - tanh(w)^2", "max(0, 3*w+2)", "(w > 0)*w", "e^w"]
)
def test_loss_examples_read_alike(text):
    """The property above, on cases written out: parsed and independently read agree."""
    check_parse(text)
    assert parse_loss(text).variables == ("w",)


def test_pwned_file_absent_at_end():
    assert not os.path.exists(PWNED)
