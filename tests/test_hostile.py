"""Hostile expressions: nothing runs, every call ends fast with one clean error line.

User expressions come from students and are run by graders: code execution
attempts, exponent towers, huge or deep inputs and odd characters must all end
with exit 2 (bad input), 3 (numerical) or 4 (resource limit), one line on stderr
(plus an optional `hint:` line), nothing on stdout and no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import Result, run_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdcli.errors import GdcliError
from gdcli.parse.expression import Loss, parse_loss, parse_value

PWNED = Path("/tmp/pwned_gdcli")
GUARD_SECONDS = 2.0  # robustness guard, not a benchmark

BAD, NUM, RES = 2, 3, 4
ANY = {BAD, NUM, RES}

HOSTILE = [
    # code execution attempts
    ("__import__('os').system('touch /tmp/pwned_gdcli')", {BAD}),
    ("__import__", {BAD}),
    ("w.__class__.__mro__", {BAD}),
    ("().__class__", {BAD}),
    ("().__class__.__bases__[0].__subclasses__()", {BAD}),
    ("__builtins__", {BAD}),
    ("w + __debug__", {BAD}),
    ("lambda: 1", {BAD}),
    ("(lambda w: w)(1)", {BAD}),
    ("[x for x in (1, 2)]", {BAD}),
    ("sum(x for x in [w])", {BAD}),
    ("{w: 1}", {BAD}),
    ("'w'", {BAD}),
    ("f'{w}'", {BAD}),
    ("b'w'", {BAD}),
    ("(w := 1)", {BAD}),
    ("*w", {BAD}),
    ("sum(*[w])", {BAD}),
    ("w[0]", {BAD}),
    ("eval('1')", {BAD}),
    ("exec('1')", {BAD}),
    ("open('x')", {BAD}),
    ("globals()", {BAD}),
    ("getattr(w, 'x')", {BAD}),
    ("import os", {BAD}),
    ("w; import os", {BAD}),
    ("w if w else 1", {BAD}),
    ("w and 1", {BAD}),
    ("not w", {BAD}),
    # exponent towers and huge numbers
    ("9**9**9**9", {RES}),
    ("2**10**100", {RES}),
    ("10**10**10", {RES}),
    ("w**9**9**9", {RES}),
    ("(-9)**9**9 * w", {RES}),
    ("(1/3)**10**6 * w", {RES}),
    ("9" * 1000, {RES}),
    ("1e999 * w", {RES}),
    ("w * 10**(10**4)", {RES}),
    # size, depth
    ("w" * 100_000, {RES}),
    ("w+" * 999 + "w", {RES}),
    ("(" * 900 + "w" + ")" * 900, {BAD, RES}),
    ("-" * 5000 + "w", {RES}),
    ("-" * 1500 + "w", {RES}),
    ("sin(" * 500, {BAD, RES}),
    ("sin(" * 100 + "w" + ")" * 100, {RES}),
    ("[" * 300 + "w" + "]" * 300, {BAD, RES}),
    # odd characters
    ("w\x00", {BAD}),
    ("w\n+ 1", {BAD}),
    ("w\u200b", {BAD}),
    ("\ufeffw", {BAD}),
    ("w\u00a0+ 1", {BAD}),
    ("w \u2212 1", {BAD}),  # a typographic minus sign
    ("\U0001f600", {BAD}),
    ("", {BAD}),
    ("   ", {BAD}),
    ("\n", {BAD}),
    # malformed or meaningless
    ("w ^^ 2", {BAD}),
    ("w +", {BAD}),
    ("1/0", {BAD, NUM}),
    ("log(0)", {BAD, NUM}),
    ("log(0) * w", {BAD, NUM}),
    ("0**-1 + w", {BAD, NUM}),
    ("foo(w)", {BAD}),
    ("sin(w, 2)", {BAD}),
    ("sin()", {BAD}),
    ("max()", {BAD}),
    ("sin(x=w)", {BAD}),
    ("True", {BAD}),
    ("None", {BAD}),
    ("...", {BAD}),
    ("1j", {BAD}),
    ("w + 1j", {BAD}),
    ("w % 2", {BAD}),
    ("w == 1", {BAD}),
    ("7", {BAD}),
    ("pi", {BAD}),
    ("[w, w]", {BAD}),
    ("x * y", {BAD}),
    ("E * w", {BAD}),
    ("log(-1) * w", {NUM}),
    ("(w + 1)**10000", {NUM, RES}),
    ("exp(exp(exp(exp(w))))", {NUM, RES}),
]


def check_clean_failure(r: Result, codes: set[int]) -> None:
    assert r.code in codes, (r.code, r.err)
    assert r.out == ""
    assert "Traceback" not in r.err
    lines = r.err.splitlines()
    assert lines, "no error message"
    assert lines[0].startswith("gdcli: error:"), lines
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint:")), lines


@pytest.fixture
def no_pwned():
    PWNED.unlink(missing_ok=True)
    yield
    assert not PWNED.exists(), "an expression ran code"


@pytest.mark.usefixtures("no_pwned")
@pytest.mark.parametrize(("text", "codes"), HOSTILE, ids=[repr(t[:40]) for t, _ in HOSTILE])
def test_hostile_expression_fails_cleanly_and_fast(run, text, codes):
    start = time.perf_counter()
    r = run(["derive", text, "-f", "json"])
    elapsed = time.perf_counter() - start
    check_clean_failure(r, codes)
    assert elapsed < GUARD_SECONDS, f"took {elapsed:.1f} s"


@pytest.mark.parametrize(
    "text",
    ["__import__('os').system('touch /tmp/pwned_gdcli')", "9**9**9**9", "w.__class__", "w +"],
)
def test_hostile_expression_on_stdin(run, text, no_pwned):
    r = run(["derive", "-"], stdin=text)
    check_clean_failure(r, ANY)


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["derive", "w", "--at", "__import__('os').system('touch /tmp/pwned_gdcli')"], {BAD}),
        (["derive", "w", "--at", "9**9**9**9"], {RES}),
        (["derive", "w", "--at", "w"], {BAD}),
        (["derive", "w", "--at", "1/0"], {BAD}),
        (["derive", "w", "--at", "1e999"], {BAD, RES}),
        (["derive", "w", "--at", "x=1,x=2"], {BAD}),
        (["derive", "w", "--wrt", "__class__"], {BAD}),
        (["slope", "w", "--h", "().__class__"], {BAD}),
        (["slope", "w", "--h", "10**10**10"], {RES}),
        (["plot", "w", "--range", "__import__('os'):1"], {BAD}),
        (["plot", "w", "--range", "0:10**10**10"], {RES}),
        (["derive", "w", "-f", "yaml"], {BAD}),
        (["derive", "w", "--scheme", "__import__"], {BAD}),
        (["derive", "w", "--h-max", "1e400"], {BAD}),
        (["derive", "w", "--h-max", "1e300", "--h-min", "1e-300"], {BAD, RES}),
    ],
)
def test_hostile_options_fail_cleanly(run, args, codes, no_pwned):
    start = time.perf_counter()
    r = run(args)
    assert time.perf_counter() - start < GUARD_SECONDS
    check_clean_failure(r, codes)


def test_code_in_a_tmp_path_does_not_run(run, tmp_path):
    target = tmp_path / "ran"
    for text in [
        f"__import__('os').system('touch {target}')",
        f"open('{target}', 'w')",
        f"[__import__('pathlib').Path('{target}').touch()]",
    ]:
        r = run(["derive", text])
        check_clean_failure(r, {BAD})
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# end to end, in a real process (each start costs about a second: keep these few)


@pytest.mark.slow
def test_process_code_execution_does_not_run(no_pwned):
    r = run_process(["derive", "__import__('os').system('touch /tmp/pwned_gdcli')"])
    check_clean_failure(r, {BAD})


@pytest.mark.slow
def test_process_tower_is_refused():
    r = run_process(["derive", "9**9**9**9", "-f", "json"])
    check_clean_failure(r, {RES})


@pytest.mark.slow
def test_process_stdin_attack():
    r = run_process(["derive", "-", "--quiet"], stdin="().__class__.__mro__[1].__subclasses__()")
    check_clean_failure(r, {BAD})


@pytest.mark.slow
@pytest.mark.parametrize("text", ["1or w"])
def test_process_no_python_warnings_on_stderr(text):
    r = run_process(["derive", text])
    check_clean_failure(r, {BAD})


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
        check_clean_failure(Result(proc.returncode, proc.stdout, proc.stderr), {BAD})
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
    """A real process that must end within `seconds` (a hang fails, and is killed)."""
    try:
        return run_process(args, timeout=seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gdcli {' '.join(a[:40] for a in args)} ran longer than {seconds} s")


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        # sympy.N computes exp(exp(exp(exp(e)))) to millions of digits: hangs
        ["derive", "exp(exp(exp(exp(exp(w)))))"],
        # w**w at an exact 10^20 builds the integer 10^(2e21): hangs
        ["derive", "w**w", "--at", "1e20"],
        # derivative of a 32-argument Max: cubic work in SymPy's Max (~20 s)
        ["derive", "max(" + ",".join(f"sin({k}*w)" for k in range(1, 33)) + ")"],
        # a 10,000-entry matrix product (1e6 symbolic products) before derive says
        # it works on numbers only
        ["derive", "sum(W @ W)", "--shape", "W=100x100"],
    ],
    ids=["exp-tower-5", "w**w-at-1e20", "max-32-args", "matmul-100x100"],
)
def test_process_accepted_input_ends_fast(args):
    r = _within(args, 5.0)  # the acceptance: under 5 s including start-up
    assert r.code in (0, 2, 3, 4)
    assert "Traceback" not in r.err


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


def _parses_or_fails_cleanly(text: str) -> None:
    try:
        loss = parse_loss(text)
    except GdcliError as exc:
        assert exc.message and "\n" not in exc.message
        return
    assert isinstance(loss, Loss)


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
    try:
        parse_value(text)
    except GdcliError:
        pass


def test_pwned_file_absent_at_end():
    assert not os.path.exists(PWNED)
