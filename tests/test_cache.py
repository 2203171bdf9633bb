"""The compiled-expression cache: a repeated call skips SymPy, gives the same
numbers, and never runs anything it did not generate itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import json_output, run_cli

from gdcli.compile import cache as compiled
from gdcli.compile.cache import Cache
from gdcli.compile.codegen import build
from gdcli.compile.runtime import Compiled
from gdcli.compile.verify import UnsafeSource, verify
from gdcli.parse.expression import parse_loss


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "gdcli"


def descend(args: list[str], cache_home) -> tuple[int, str, str]:
    env = {"XDG_CACHE_HOME": str(cache_home.parent), "GDCLI_NO_CACHE": "0"}
    r = run_cli(["descend", *args], env=env)
    return r.code, r.out, r.err


def quiet_values(out: str) -> list[float]:
    return [float(v) for v in out.split()]


def assert_default_descent(out: str) -> None:
    """`descend '(w-3)**2' -q`: lr 0.1, 50 steps from w = 1, so w_50 = 3 - 2 * 0.8**50 and
    the loss is 4 * 0.64**50 (closed forms)."""
    w, loss = quiet_values(out)
    assert w == pytest.approx(3 - 2 * 0.8**50, rel=1e-15)
    assert loss == pytest.approx(4 * 0.64**50, rel=1e-9)


def quartic_descent() -> tuple[float, float]:
    """`descend 'w**4' -q` by hand: w = w - 0.1 * 4 w**3, 50 times from 1."""
    w = 1.0
    for _ in range(50):
        w -= 0.1 * 4 * w**3
    return w, w**4


CASES = [
    ["(w-3)**2", "--format", "json"],
    ["max(0, 3*w+2)", "--start", "1", "--format", "csv"],
    ["(x-1)**2 + 10*(y+2)**2", "--start", "x=0,y=-1/3", "--optimizer", "adam", "-f", "json"],
    ["sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]", "--start", "W=0",
     "--shape", "W=2x2", "--lr", "0.05", "-f", "json"],
    ["log(w)", "--start", "1", "--lr", "3", "-f", "csv"],
]  # fmt: skip


@pytest.mark.parametrize("args", CASES)
def test_warm_call_gives_the_same_output(args, cache_home):
    """The cache is invisible: cold, warm and uncached calls print the same bytes."""
    cold = descend(args, cache_home)
    assert list(cache_home.glob("*.json")), "the first call should have written an entry"
    warm = descend(args, cache_home)
    uncached = run_cli(["descend", *args, "--no-cache"])
    assert cold == warm
    assert warm[:2] == (uncached.code, uncached.out)
    # log(w) from 1 with lr 3 jumps to w = -2, where the loss is undefined: exit 3
    assert cold[0] == (3 if args[0] == "log(w)" else 0)


def test_warm_call_gives_the_right_numbers(cache_home):
    descend(["(w-3)**2", "-q"], cache_home)
    code, out, _ = descend(["(w-3)**2", "-q"], cache_home)
    assert code == 0
    assert_default_descent(out)


def test_entries_are_private_data(cache_home):
    descend(["(w-3)**2", "-q"], cache_home)
    assert oct(cache_home.stat().st_mode & 0o777) == "0o700"
    (entry,) = cache_home.glob("*.json")
    assert entry.stat().st_mode & 0o077 == 0
    data = json.loads(entry.read_text())
    assert data["format"] == compiled.FORMAT
    verify(data["compiled"]["source"])


def _tamper(cache_home, source: str) -> None:
    (entry,) = cache_home.glob("*.json")
    data = json.loads(entry.read_text())
    data["compiled"]["source"] = source
    entry.write_text(json.dumps(data))


HOSTILE_SOURCES = [
    "import os\ndef value_and_grad(x0):\n    return 0, (0,)\n",
    "def value_and_grad(x0):\n    return __import__('os').system('touch /tmp/gdcli_cache_pwned'), (0,)\n",
    "def value_and_grad(x0):\n    return (1).__class__, (0,)\n",
    "def value_and_grad(x0):\n    return open('/etc/passwd'), (0,)\n",
    "def evil(x0):\n    return 0\n",
    "def value_and_grad(x0):\n    return [y for y in ()], (0,)\n",
    "x = 1\ndef value_and_grad(x0):\n    return 0, (0,)\n",
    "def value_and_grad(x0):\n    return (lambda: 0)(), (0,)\n",
    "def value_and_grad(x0):\n    return b'bytes', (0,)\n",
]


@pytest.mark.parametrize("source", HOSTILE_SOURCES)
def test_verify_refuses_anything_but_arithmetic(source):
    with pytest.raises(UnsafeSource):
        verify(source)


@pytest.mark.parametrize("source", HOSTILE_SOURCES)
def test_a_tampered_entry_is_ignored_and_rebuilt(source, cache_home):
    descend(["(w-3)**2", "-q"], cache_home)
    _tamper(cache_home, source)
    code, out, _ = descend(["(w-3)**2", "-q"], cache_home)
    assert code == 0
    assert_default_descent(out)
    assert not os.path.exists("/tmp/gdcli_cache_pwned")


def test_corrupt_and_foreign_entries_are_ignored(cache_home):
    expected = quartic_descent()
    code, out, _ = descend(["w**4", "-q"], cache_home)
    assert code == 0
    assert quiet_values(out) == pytest.approx(expected, rel=1e-12)
    (entry,) = cache_home.glob("*.json")
    entry.write_text("{not json")
    code, out, _ = descend(["w**4", "-q"], cache_home)
    assert code == 0
    assert quiet_values(out) == pytest.approx(expected, rel=1e-12)
    # an entry anyone may write is not trusted, whatever it holds
    data = json.loads(entry.read_text())
    assert "4*x0**3" in data["compiled"]["source"]  # the tampering below changes something
    data["compiled"]["source"] = data["compiled"]["source"].replace("4*x0**3", "0")
    entry.write_text(json.dumps(data))
    entry.chmod(0o666)
    code, out, _ = descend(["w**4", "-q"], cache_home)
    assert code == 0
    assert quiet_values(out) == pytest.approx(expected, rel=1e-12)


def test_wrong_numbers_in_a_private_entry_cannot_run_code(cache_home):
    """The last line of defence is `verify`: even a private entry only computes."""
    descend(["(w-3)**2", "-q"], cache_home)
    (entry,) = cache_home.glob("*.json")
    data = json.loads(entry.read_text())
    key = entry.stem
    loaded = Cache(str(cache_home)).load(key)
    assert loaded is not None and loaded.evaluate([1.0]) == (4.0, [-4.0])
    data["key"] = "another key"
    entry.write_text(json.dumps(data))
    assert Cache(str(cache_home)).load(key) is None


def test_no_cache_switches(cache_home):
    """Neither switch creates the cache directory at all."""
    code, out, _ = descend(["(w-3)**2", "-q", "--no-cache"], cache_home)
    assert code == 0
    assert_default_descent(out)
    assert not cache_home.exists()
    r = run_cli(["descend", "(w-3)**2", "-q"], env={"XDG_CACHE_HOME": str(cache_home.parent),
                                                   "GDCLI_NO_CACHE": "1"})  # fmt: skip
    assert r.code == 0
    assert not cache_home.exists()


def test_a_warm_call_does_not_import_sympy(tmp_path):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path), GDCLI_NO_CACHE="0")
    args = [sys.executable, "-X", "importtime", "-m", "gdcli", "descend", "(w-3)**2", "-f", "json"]
    first = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    warm = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert first.returncode == warm.returncode == 0
    assert "| sympy" in first.stderr
    assert "| sympy" not in warm.stderr
    assert json.loads(first.stdout) == json.loads(warm.stdout)


@pytest.mark.parametrize(
    "text",
    ["(w-3)**2", "w**4 - 3*w**2 + w", "max(0, 3*w+2)", "abs(w - 1) + w**2", "exp(-w) + w**2 / 10",
     "(x-1)**2 + 10*(y+2)**2", "sigmoid(w) * w**2"],
)  # fmt: skip
@pytest.mark.parametrize("lr", [0.01, 0.1, 0.45, 1.5])
def test_fused_loop_equals_the_step_by_step_loop(text, lr):
    """--quiet runs plain SGD in one generated loop; the general loop (json) is the
    reference, step for step and bit for bit."""
    start = "x=0.7,y=0.7" if "y" in text else "0.7"
    base = ["descend", text, "--lr", str(lr), "--steps", "300", "--start", start]
    quiet = run_cli([*base, "-q"])
    full = run_cli([*base, "-f", "json"])
    assert quiet.code == full.code
    doc = json_output(full, full.code)
    assert quiet.code == (3 if doc["status"] == "diverged" else 0)
    final = doc["final"]
    expected = [*(final["params"][n] for n in doc["variables"]), final["loss"]]
    got = [float(v) for v in quiet.out.split()]
    assert got == expected


def test_generated_source_matches_sympy():
    """The generated loss and gradient agree with SymPy's own evaluation."""
    import sympy as sp

    loss = parse_loss("exp(w) * sin(w) + w**3 / 7")
    c = build(loss)
    assert isinstance(c, Compiled)
    w = loss.entries["w"][0]
    for x in (-1.3, 0.2, 2.5):
        value, (grad,) = c.evaluate([x])
        assert value == pytest.approx(float(loss.expr.subs(w, x)), rel=1e-14)
        assert grad == pytest.approx(float(sp.diff(loss.expr, w).subs(w, x)), rel=1e-14)
        assert c.curvature(x) == pytest.approx(
            float(sp.diff(loss.expr, w, 2).subs(w, x)), rel=1e-13
        )
