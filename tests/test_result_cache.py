"""Warm calls (issue 15, item 5): derive, grad, check and slope asked again answer
from the result cache, without SymPy, with the same bytes and exit code as the first
call; the cache holds data only, under the rules of the compiled-loss cache (0700,
owner and mode checked; anything odd ignored and rebuilt, never an error)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from helpers import run_cli

CALLS = [
    ["derive", "w**3", "--at", "2"],
    ["derive", "max(0, 3*w+2)", "--at=-2/3"],
    ["derive", "1 - tanh(w)^2", "--latex"],
    ["grad", "(x-1)**2 + 10*(y+2)**2", "--at", "x=0,y=0"],
    ["grad", "sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]", "--at", "W=0",
     "--shape", "W=2x2"],
    ["check", "sin(w)**2", "sin(2*w)"],
    ["check", "sin(w)**2", "2*sin(w)"],
    ["check", "sum((W @ x - y)**2)", "2*outer(x, W @ x - y)", "--wrt", "W", "--shape", "W=2x3",
     "--set", "x=[1,2,3]", "--set", "y=[0,1]"],
    ["slope", "w**3", "--at", "2", "--h", "0.5"],
]  # fmt: skip
FORMATS = [["--format", "json"], ["--format", "csv"], ["--format", "plain"], ["--quiet"],
           ["--format", "table"]]  # fmt: skip


@pytest.fixture
def cache(tmp_path):
    """An environment whose cache is on, in a fresh directory."""
    return tmp_path / "gdcli", {"XDG_CACHE_HOME": str(tmp_path), "GDCLI_NO_CACHE": "0"}


def entries(directory) -> list:
    return sorted(directory.glob("result-*.json")) if directory.exists() else []


@pytest.mark.parametrize("args", CALLS, ids=[" ".join(a[:2]) for a in CALLS])
@pytest.mark.parametrize("fmt", FORMATS, ids=[f[-1] for f in FORMATS])
def test_warm_is_the_same_as_cold_and_as_no_cache(cache, args, fmt):
    directory, env = cache
    reference = run_cli([*args, *fmt])  # GDCLI_NO_CACHE=1: the cache is off
    cold = run_cli([*args, *fmt], env=env)
    assert len(entries(directory)) == 1
    warm = run_cli([*args, *fmt], env=env)
    assert (cold.code, cold.out, cold.err) == (reference.code, reference.out, reference.err)
    assert (warm.code, warm.out, warm.err) == (reference.code, reference.out, reference.err)


def test_a_warm_call_does_not_import_sympy(tmp_path):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path), GDCLI_NO_CACHE="0")
    script = (
        "import sys\nfrom gdcli.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "print('SYMPY' if 'sympy' in sys.modules else 'NO SYMPY', code, file=sys.stderr)\n"
    )
    for args in CALLS:
        first = subprocess.run([sys.executable, "-c", script, *args, "-f", "json"],
                               capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
        second = subprocess.run([sys.executable, "-c", script, *args, "-f", "json"],
                                capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
        assert first.stderr.split()[-2:][0] == "SYMPY", first.stderr
        assert second.stderr.strip().endswith(f"NO SYMPY {first.stderr.split()[-1]}"), second.stderr
        assert second.stdout == first.stdout


def test_the_key_holds_every_argument(cache):
    directory, env = cache
    a = run_cli(["derive", "w**3", "--at", "2", "-q"], env=env)
    b = run_cli(["derive", "w**3", "--at", "3", "-q"], env=env)
    c = run_cli(["derive", "w**3", "--at", "2", "-q", "--scheme", "central"], env=env)
    assert (a.out, b.out) == ("12.0\n", "27.0\n")
    assert c.out == "12.0\n" and len(entries(directory)) == 3
    # the time budget is part of the key too
    run_cli(["derive", "w**3", "--at", "2", "-q"], env={**env, "GDCLI_TIME_LIMIT": "2"})
    assert len(entries(directory)) == 4
    # the expression read from stdin or $GDCLI_LOSS is part of it
    d = run_cli(["derive", "-", "--at", "2", "-q"], env=env, stdin="w**2")
    e = run_cli(["derive", "--at", "2", "-q"], env={**env, "GDCLI_LOSS": "w**4"})
    assert (d.out, e.out) == ("4.0\n", "32.0\n")


def test_no_cache_option_and_variable(cache):
    directory, env = cache
    run_cli(["derive", "w**3", "--no-cache"], env=env)
    run_cli(["derive", "w**3"], env={**env, "GDCLI_NO_CACHE": "1"})
    assert entries(directory) == []


def test_errors_are_not_kept(cache):
    directory, env = cache
    for _ in range(2):
        r = run_cli(["derive", "log(w)", "--at", "-1"], env=env)
        assert r.code == 3
    assert entries(directory) == []


def test_an_entry_is_data_only(cache):
    directory, env = cache
    run_cli(["check", "sin(w)**2", "2*sin(w)"], env=env)
    (path,) = entries(directory)
    assert path.stat().st_mode & 0o777 == 0o600
    assert directory.stat().st_mode & 0o777 == 0o700
    data = json.loads(path.read_text())
    assert set(data) == {"key", "format", "result"}
    assert "source" not in json.dumps(data) and "def " not in json.dumps(data)


# --- hostile entries --------------------------------------------------------------------------

ARGS = ["check", "sin(w)**2", "2*sin(w)", "-f", "json"]
PLAIN = ["check", "sin(w)**2", "2*sin(w)", "-f", "plain"]  # an entry with every part


def tampered(cache, change, args=ARGS):
    directory, env = cache
    reference = run_cli(args)
    run_cli(args, env=env)
    (path,) = entries(directory)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return reference, env


CHANGES = {  # a part of every entry (any view)
    "code-text": lambda d: d["result"].update(code="1"),
    "code-70": lambda d: d["result"].update(code=70),
    "quiet-list": lambda d: d["result"].update(quiet=[[1, 2]]),
    "table-no-fields": lambda d: d["result"].update(tables=[{"columns": ["a"], "rows": [[1, 2]]}]),
    "figure-junk": lambda d: d["result"].update(figures=[{"series": "x"}]),
    "notes-dict": lambda d: d["result"].update(notes=[{"a": 1}]),
    "head-list": lambda d: d["result"].update(head=[]),
    "no-tail": lambda d: d["result"].pop("tail"),
    "extra-key": lambda d: d["result"].update(extra=1),
    "other-key": lambda d: d.update(key="0" * 64),
    "other-format": lambda d: d.update(format=0),
    "no-result": lambda d: d.update(result=None),
}
TABLE_CHANGES = {  # a part only an entry of the tables' view holds
    "row-width": lambda d: d["result"]["tables"][0].update(rows=[["x"]]),
    "highlight-negative": lambda d: d["result"]["tables"][0].update(highlight=-1),
}
CASES = [(ARGS, c) for c in CHANGES] + [(PLAIN, c) for c in [*CHANGES, *TABLE_CHANGES]]


@pytest.mark.parametrize(("args", "change"), CASES, ids=[f"{a[-1]}-{c}" for a, c in CASES])
def test_a_tampered_entry_is_ignored(cache, args, change):
    reference, env = tampered(cache, {**CHANGES, **TABLE_CHANGES}[change], args)
    again = run_cli(args, env=env)
    assert (again.code, again.out, again.err) == (reference.code, reference.out, reference.err)


def test_garbage_and_deep_json_are_ignored(cache):
    directory, env = cache
    reference = run_cli(ARGS)
    run_cli(ARGS, env=env)
    (path,) = entries(directory)
    for text in ("not json", "[" * 100_000 + "]" * 100_000, '{"key": 1}', ""):
        path.write_text(text)
        again = run_cli(ARGS, env=env)
        assert (again.code, again.out) == (reference.code, reference.out)


def test_a_fifo_is_not_opened(cache):
    directory, env = cache
    reference = run_cli(ARGS)
    run_cli(ARGS, env=env)
    (path,) = entries(directory)
    path.unlink()
    os.mkfifo(path, 0o600)
    again = run_cli(ARGS, env=env)
    assert (again.code, again.out) == (reference.code, reference.out)


def test_a_file_others_may_write_is_not_read(cache):
    directory, env = cache
    reference = run_cli(ARGS)
    run_cli(ARGS, env=env)
    (path,) = entries(directory)
    data = json.loads(path.read_text())
    data["result"]["notes"] = ["planted"]
    path.write_text(json.dumps(data))
    path.chmod(0o666)
    again = run_cli(ARGS, env=env)
    assert (again.code, again.out, again.err) == (reference.code, reference.out, reference.err)


def test_a_symlinked_directory_is_not_used(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "gdcli").symlink_to(elsewhere)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "GDCLI_NO_CACHE": "0"}
    reference = run_cli(ARGS)
    for _ in range(2):
        r = run_cli(ARGS, env=env)
        assert (r.code, r.out) == (reference.code, reference.out)
    assert not list(elsewhere.iterdir())


def test_a_shared_directory_is_made_private(cache):
    directory, env = cache
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    run_cli(ARGS, env=env)
    assert directory.stat().st_mode & 0o777 == 0o700
    assert len(entries(directory)) == 1


def test_the_key_holds_the_installed_code(cache, monkeypatch):
    """Another gdcli (its sources), SymPy, mpmath or NumPy is another key: a miss."""
    import gdcli.compile.results as results

    directory, env = cache
    run_cli(["derive", "w**3", "-q"], env=env)
    assert len(entries(directory)) == 1
    stamp = results.fingerprint()
    assert "sympy/release.py=" in stamp and "mpmath/__init__.py=" in stamp
    assert "numpy/version.py=" in stamp and "answers.py=" in stamp
    monkeypatch.setattr(results, "fingerprint", lambda: stamp + "\nchanged")
    run_cli(["derive", "w**3", "-q"], env=env)
    assert len(entries(directory)) == 2


def test_freeze_keeps_every_field_of_tables_and_figures():
    """A field added to Table or Figure is kept by the result cache too (a warm call
    draws the same table and picture): every field set away from its default."""
    from gdcli.reports.base import Report, Table, constant
    from gdcli.reports.figures import Figure, Series
    from gdcli.reports.saved import freeze, thaw

    table = Table(["a", "b"], [[1.0, "x"], [2.0, "y"]], title="t", records=False, highlight=1,
                  highlight_text="best", head_tail=3, shown=frozenset({0}),
                  text_columns=frozenset({"b"}))  # fmt: skip
    figure = Figure([Series("s", [1.0, 2.0], [3.0, 4.0], "points", "o")], title="f",
                    xlabel="x", ylabel="y", logx=True, logy=True, xticks=(1.0, 2.0))  # fmt: skip
    assert set(Table._fields) == {"columns", "rows", "title", "records", "highlight",
                                  "highlight_text", "head_tail", "shown", "text_columns"}  # fmt: skip
    assert set(Figure._fields) == {"series", "title", "xlabel", "ylabel", "logx", "logy", "xticks"}
    report = Report({"k": 1}, [table], constant([1.0]), figures=constant([figure]))
    frozen = freeze(report, 0, True)
    assert frozen is not None
    back = thaw(frozen)
    assert back is not None
    (table_back,) = back[0].tables
    assert table_back._replace(rows=list(table_back.rows)) == table
    assert back[0].figures() == [figure]


def test_training_data_is_read_again_on_every_call(cache, tmp_path):
    """derive --data with the cache on: a changed file gives the new mean, by hand."""
    directory, env = cache
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n3,4\n", encoding="utf-8")
    args = ["derive", "(w*x - y)**2", "--data", str(data), "--at", "0", "-q"]
    first = run_cli(args, env=env)
    # mean of 2*x*(w*x - y) at w = 0: (2*1*(-2) + 2*3*(-4)) / 2 = -14
    assert (first.code, float(first.out)) == (0, -14.0)
    data.write_text("x,y\n1,1\n", encoding="utf-8")
    second = run_cli(args, env=env)
    assert (second.code, float(second.out)) == (0, -2.0)  # 2*1*(0 - 1)
    assert entries(directory) == []


@pytest.mark.parametrize(
    ("flags", "kept", "empty"),
    [
        (["-f", "json"], {"head"}, {"tables", "quiet", "notes", "figures"}),
        (["-q"], {"quiet"}, {"head", "tables", "notes", "figures", "tail"}),
        (["-f", "plain"], {"tables", "notes"}, {"head", "quiet", "figures"}),
    ],
)
def test_an_entry_keeps_what_its_view_writes(cache, flags, kept, empty):
    """A gradient of many entries is kept once per view, not as a head, a table and a
    quiet line at once; each view's second call prints the first call's bytes."""
    directory, env = cache
    args = ["grad", "sum(W**2)", "--at", "W=0.5", "--shape", "W=3x3", *flags]
    first = run_cli(args, env=env)
    (path,) = entries(directory)
    result = json.loads(path.read_text())["result"]
    assert all(result[part] for part in kept)
    assert not any(result[part] for part in empty)
    again = run_cli(args, env=env)
    assert (again.code, again.out, again.err) == (first.code, first.out, first.err)
    assert again.out == run_cli([*args, "--no-cache"]).out


@pytest.mark.parametrize("flags", [["-f", "csv"], ["-f", "plain"], ["-f", "table"], ["-q"]])
def test_a_part_the_call_does_not_write_is_not_computed(cache, flags):
    """slope at the smallest h: its picture (drawn only in a table) has a subnormal x
    range. A csv call neither draws nor keeps it; the table draws it. Every call
    prints what --no-cache prints, and exits 0."""
    _, env = cache
    args = ["slope", "w**2", "--at", "0", "--h", "5e-324", *flags]
    reference = run_cli([*args, "--no-cache"])
    first, again = run_cli(args, env=env), run_cli(args, env=env)
    assert reference.code == 0, reference.err
    for r in (first, again):
        assert (r.code, r.out, r.err) == (reference.code, reference.out, reference.err)


@pytest.mark.parametrize("span", [5e-324, 3e-323, 1e-310, 1e300, 1.7e308, 1.0, 7.3])
def test_a_round_step_exists_for_every_span(span):
    from gdcli.reports.figures import nice_step

    step = nice_step(span, 6)
    assert math.isfinite(step) and step > 0 and step >= span / 6
    assert step <= max(span, 10 * span / 6)
