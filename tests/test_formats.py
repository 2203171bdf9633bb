"""Output formats, help, version, stdin, environment and exit codes, for every command.

Values asserted here are computed by hand (w**3 at 2: loss 8, slope 12, ...), never taken
from an earlier gdcli call.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import pytest
from helpers import assert_one_error, strict_json

import gdcli
import gdcli.cli.commands  # noqa: F401  (registers the commands)
from gdcli.cli.app import COMMANDS as REGISTRY

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = list(REGISTRY)  # every command gdcli registers, in its own order

# One quick call per command on l(w) = w**3 at w = 2 (loss 8, slope 12); EXPR comes first.
CALLS: dict[str, list[str]] = {
    "derive": ["derive", "w**3", "--at", "2"],
    "slope": ["slope", "w**3", "--at", "2", "--h", "0.5"],
    "plot": ["plot", "w**3", "--at", "2", "--range", "0:3"],
    "descend": ["descend", "w**3", "--start", "2", "--lr", "0.01", "--steps", "3"],
    "grad": ["grad", "w**3", "--at", "2"],
    "check": ["check", "w**3", "3*w**2"],
    "sweep": ["sweep", "w**3", "--lr", "0.01,0.02", "--start", "2", "--steps", "3"],
    "schedule": ["schedule", "step", "--step-size", "2", "--steps", "5"],
    "compare": [
        "compare",
        "w**3",
        "--start",
        "2",
        "--run",
        "sgd lr=0.01",
        "--run",
        "adam lr=0.01",
        "--steps",
        "3",
    ],
    "backprop": ["backprop", "w**3", "--at", "2"],
    "exercise": ["exercise", "derivative", "--seed", "1", "--key"],
}
EXPR_COMMANDS = [name for name in COMMANDS if "w**3" in CALLS.get(name, [])]  # take a loss
# Matrix / several-weight variants where the command takes them.
MATRIX_CALLS: dict[str, list[str]] = {
    "descend": ["descend", "sum((W @ x - y)**2)", "--set", "x=[1,2,3]", "--set", "y=[1,0]",
                "--start", "W=0", "--shape", "W=2x3", "--lr", "0.02", "--steps", "3"],
    "grad": ["grad", "sum((W @ x - y)**2)", "--set", "x=[1,2,3]", "--set", "y=[1,0]",
             "--at", "W=0", "--shape", "W=2x3"],
    "sweep": ["sweep", "(x-1)**2 + 10*(y+2)**2", "--lr", "0.01,0.05", "--start", "x=0,y=0",
              "--steps", "3"],
    "backprop": ["backprop", "sum((W @ x - y)**2)", "--set", "x=[1,2,3]", "--set", "y=[1,0]",
                 "--at", "W=0", "--shape", "W=2x3"],
}  # fmt: skip
ALL_CALLS = [(name, CALLS[name]) for name in COMMANDS if name in CALLS]
ALL_CALLS += [(f"{name}-matrix", args) for name, args in MATRIX_CALLS.items()]
IDS = [name for name, _ in ALL_CALLS]


def test_every_registered_command_has_a_call():
    """The tables below cover every command the registry knows, and nothing else."""
    assert set(CALLS) == set(COMMANDS)
    assert set(JSON_KEYS) == set(COMMANDS) - {"plot"}
    assert set(MATRIX_CALLS) <= set(COMMANDS)


# --- json / csv / plain / quiet -----------------------------------------------------------------


@pytest.mark.parametrize(("name", "args"), ALL_CALLS, ids=IDS)
def test_json_is_one_strict_document(run, name, args):
    r = run([*args, "--format", "json"])
    assert r.code == 0, r.err
    data = strict_json(r.out)
    assert isinstance(data, dict)
    assert "\x1b" not in r.out


JSON_KEYS = {
    "derive": {"expression", "variable", "derivative", "at", "loss", "slope", "differentiable",
               "left_slope", "right_slope", "scheme", "rows", "best_h"},
    "slope": {"expression", "variable", "w1", "w2", "h", "loss1", "loss2", "slope",
              "derivative", "abs_error"},
    "descend": {"expression", "variables", "optimizer", "lr", "start", "status", "steps", "final"},
    "grad": {"expression", "variables", "at", "loss", "partials", "gradient"},
    "check": {"expression", "variable", "answer", "derivative", "equal", "counterexample"},
    "sweep": {"expression", "optimizer", "steps", "runs"},
    "schedule": {"scheduler", "options", "base_lr", "steps", "lrs"},
    "compare": {"expression", "variables", "start", "steps", "runs"},
    "backprop": {"expression", "variables", "loss", "nodes", "edges", "gradient"},
    "exercise": {"kind", "seed", "question", "loss", "values", "answer"},
}  # fmt: skip


@pytest.mark.parametrize("name", list(JSON_KEYS))
def test_json_contract_keys_and_values(run, name):
    data = strict_json(run([*CALLS[name], "--format", "json"]).out)
    assert JSON_KEYS[name] <= set(data), JSON_KEYS[name] - set(data)
    if name == "derive":
        assert data["loss"] == 8.0 and data["slope"] == 12.0 and data["differentiable"] is True
        for row in data["rows"]:
            assert {"h", "quotient", "abs_error", "rel_error"} <= set(row)
            h = row["h"]
            assert row["quotient"] == pytest.approx(((2 + h) ** 3 - 8) / h, rel=1e-6)
    elif name == "slope":
        assert (data["w1"], data["w2"], data["loss1"], data["loss2"]) == (2.0, 2.5, 8.0, 15.625)
        assert data["slope"] == pytest.approx((15.625 - 8) / 0.5, rel=1e-15)
        assert data["derivative"] == 12.0
    elif name == "descend":
        w = 2.0
        for k, step in enumerate(data["steps"]):
            assert {"step", "params", "loss", "grad"} <= set(step)
            assert step["step"] == k
            assert step["params"]["w"] == pytest.approx(w, rel=1e-15)
            w -= 0.01 * 3 * w * w
    elif name == "grad":
        assert data["gradient"] == {"w": 12.0} and data["loss"] == 8.0
    elif name == "check":
        assert data["equal"] is True and data["counterexample"] is None
    elif name == "backprop":
        assert data["loss"] == 8.0 and data["gradient"] == {"w": 12.0}
        assert [(n["name"], n["expr"], n["value"], n["grad"]) for n in data["nodes"]] == [
            ("w", "w", 2.0, 12.0),
            ("l", "w**3", 8.0, 1.0),
        ]
        assert data["edges"] == [
            {"from": "w", "to": "l", "role": "base of **", "local": "3*w**2", "local_value": 12.0,
             "rule": "3*g*w**2", "contribution": 12.0}
        ]  # fmt: skip
    elif name == "sweep":
        assert [record["lr"] for record in data["runs"]] == [0.01, 0.02]
        for record in data["runs"]:
            assert {"lr", "start", "status", "final_loss", "params"} <= set(record)
            w = 2.0
            for _ in range(3):
                w -= record["lr"] * 3 * w * w
            assert record["status"] == "max_steps"
            assert record["params"]["w"] == pytest.approx(w, rel=1e-15)
            assert record["final_loss"] == pytest.approx(w**3, rel=1e-14)


def test_plot_json_has_null_for_undefined_points(run):
    r = run(["plot", "log(w)", "--at", "2", "--range", "0:4", "--format", "json"])
    assert r.code == 0, r.err
    points = strict_json(r.out)["points"]
    assert points[0] == {"w": 0.0, "loss": None}  # log(0) is -inf: null, never -Infinity
    for p in points[1:]:
        assert p["loss"] == pytest.approx(math.log(p["w"]), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("name", "args"), ALL_CALLS, ids=IDS)
def test_csv_is_rectangular(run, name, args):
    r = run([*args, "--format", "csv"])
    assert r.code == 0, r.err
    assert "\x1b" not in r.out
    rows = list(csv.reader(io.StringIO(r.out)))
    assert len(rows) >= 2, r.out
    width = len(rows[0])
    assert all(len(row) == width for row in rows), [len(row) for row in rows]
    assert all(cell.strip() for cell in rows[0])


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("descend", ["step", "w", "loss", "grad_w", "update_w", "direction"]),
        ("grad", ["variable", "partial", "value"]),
        ("derive", ["h", "quotient", "abs_error", "rel_error"]),
    ],
)
def test_csv_headers(run, name, header):
    r = run([*CALLS[name], "--format", "csv"])
    assert next(csv.reader(io.StringIO(r.out))) == header


@pytest.mark.parametrize(("name", "args"), ALL_CALLS, ids=IDS)
@pytest.mark.parametrize("fmt", ["plain", "auto", "table"])
def test_no_escapes_in_a_pipe(run, name, args, fmt):
    r = run([*args, "--format", fmt])
    assert r.code == 0, r.err
    assert "\x1b" not in r.out
    assert "\x1b" not in r.err
    assert r.out.strip()


@pytest.mark.parametrize(("name", "args"), ALL_CALLS, ids=IDS)
def test_plain_is_tab_separated_with_header(run, name, args):
    if name == "plot":  # plot's plain output is the picture: test_plain_plot_is_the_picture
        args = [*args, "--no-plot"]
    r = run([*args, "--format", "plain"])
    assert r.code == 0, r.err
    first = r.out.splitlines()[0]
    assert "\t" in first
    assert not any(ch in r.out for ch in "┃│┏━")


def test_plain_plot_is_the_picture(run):
    """design.md: `plot` piped prints the plot, without colour (and without tabs)."""
    r = run([*CALLS["plot"], "--format", "plain"])
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].strip() == "l(w) = w**3"
    assert len(lines) >= 10
    assert "\t" not in r.out and "\x1b" not in r.out
    assert "┤" in r.out  # an axis, not a table


@pytest.mark.parametrize(("name", "args"), ALL_CALLS, ids=IDS)
def test_quiet_prints_exactly_one_line(run, name, args):
    r = run([*args, "--quiet"])
    assert r.code == 0, r.err
    assert r.out.endswith("\n")
    assert len(r.out.splitlines()) == 1, r.out
    assert r.out.strip()
    assert "\x1b" not in r.out


QUIET_VALUES = {
    "derive": [12.0],
    "slope": [15.25],
    "plot": [8.0, 12.0],
    "grad": [12.0],
    "backprop": [12.0],
}


@pytest.mark.parametrize("name", list(QUIET_VALUES))
def test_quiet_values(run, name):
    out = run([*CALLS[name], "--quiet"]).out
    assert [float(v) for v in out.split()] == QUIET_VALUES[name]


def test_quiet_descend_values(run):
    out = run([*CALLS["descend"], "--quiet"]).out
    w = 2.0
    for _ in range(3):
        w -= 0.01 * 3 * w * w
    values = [float(v) for v in out.split()]
    assert values == pytest.approx([w, w**3], rel=1e-14)


def test_quiet_check_and_sweep(run):
    assert run([*CALLS["check"], "--quiet"]).out == "correct\n"
    assert run(["check", "w**3", "3*w", "--quiet"]).out == "wrong\n"
    out = run(["sweep", "(w-3)**2", "--lr", "0.1,0.5,0.9", "--start", "0", "--quiet"]).out
    assert float(out) == 0.5  # one exact step to w = 3


# --- help, README, version ------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_examples(run, name):
    r = run([name, "--help"])
    assert r.code == 0, r.err
    assert "Examples" in r.out
    assert "\x1b" not in r.out


def test_top_level_help_lists_every_command(run):
    r = run(["--help"])
    assert r.code == 0
    for name in COMMANDS:
        assert name in r.out


@pytest.mark.parametrize("name", COMMANDS)
def test_readme_documents_command(name):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"^### `gdcli {name}`", readme, re.MULTILINE), name


def test_version_matches_package_and_pyproject(run):
    """One version source: pyproject.toml reads it from gdcli.__version__."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    r = run(["--version"])
    assert r.code == 0, r.err
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gdcli.__version__"}
    assert r.out == f"gdcli {gdcli.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", gdcli.__version__)


# --- EXPR from stdin and from GDCLI_LOSS ----------------------------------------------------------


@pytest.mark.parametrize("name", EXPR_COMMANDS)
def test_dash_reads_expression_from_stdin(run, name):
    args = [a if a != "w**3" else "-" for a in CALLS[name]]
    assert "-" in args
    r = run([*args, "--format", "json"], stdin="w**3\n")
    assert r.code == 0, r.err
    data = strict_json(r.out)
    assert data["expression"].strip() == "w**3"


def test_dash_with_empty_stdin_is_bad_input(run):
    r = run(["derive", "-"], stdin="")
    assert r.code == 2
    assert_one_error(r.err)


OPTIONAL_EXPR = ["derive", "slope", "plot", "descend", "sweep"]


@pytest.mark.parametrize("name", OPTIONAL_EXPR)
def test_gdcli_loss_sets_default(run, name):
    args = [a for a in CALLS[name] if a != "w**3"]
    r = run([*args, "--format", "json"], env={"GDCLI_LOSS": "w**3"})
    assert r.code == 0, r.err
    data = strict_json(r.out)
    assert data["expression"] == "w**3"
    if name == "derive":
        assert data["slope"] == 12.0


@pytest.mark.parametrize("name", OPTIONAL_EXPR)
def test_default_loss_without_env(run, name):
    args = [a for a in CALLS[name] if a != "w**3"]
    r = run([*args, "--format", "json"])
    assert r.code == 0, r.err
    text = strict_json(r.out)["expression"].replace(" ", "")
    assert text == "(w-3)**2"


def test_default_point_is_1(run):
    data = strict_json(run(["derive", "--format", "json"]).out)
    assert data["at"] == 1.0 and data["slope"] == -4.0  # d/dw (w-3)^2 at 1


def test_explicit_expression_beats_gdcli_loss(run):
    r = run(["derive", "w**2", "--at", "3", "--quiet"], env={"GDCLI_LOSS": "w**3"})
    assert float(r.out) == 6.0


# --- colour ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "args"), ALL_CALLS, ids=IDS)
def test_terminal_table_is_coloured(run, name, args):
    r = run([*args, "--format", "table"], tty=True)
    assert r.code == 0, r.err
    assert "\x1b" in r.out


@pytest.mark.parametrize(("name", "args"), ALL_CALLS, ids=IDS)
@pytest.mark.parametrize(
    "env",
    [{"NO_COLOR": "1"}, {"TERM": "dumb"}, {"NO_COLOR": ""}],
    ids=["NO_COLOR", "TERM=dumb", "NO_COLOR-empty"],
)
def test_no_color_and_dumb_terminal(run, name, args, env):
    for fmt in ("table", "auto"):
        r = run([*args, "--format", fmt], env=env, tty=True)
        assert r.code == 0, r.err
        assert "\x1b" not in r.out, (fmt, env)
        assert "\x1b" not in r.err


@pytest.mark.parametrize(("name", "args"), ALL_CALLS, ids=IDS)
def test_color_forces_escapes_in_a_pipe(run, name, args):
    r = run([*args, "--format", "table", "--color"])
    assert r.code == 0, r.err
    assert "\x1b" in r.out


def test_plot_color_forces_colour_in_a_pipe(run):
    r = run(["plot", "w**3", "--at", "2", "--color"])
    assert r.code == 0, r.err
    assert "\x1b" in r.out


# --- exit codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "args"), ALL_CALLS, ids=IDS)
def test_exit_0(run, name, args):
    assert run([*args, "--format", "json"]).code == 0


def test_exit_1_only_for_a_wrong_check(run):
    r = run(["check", "w**3", "3*w", "--format", "json"])
    assert r.code == 1
    assert strict_json(r.out)["equal"] is False
    assert "error" not in r.err


BAD_INPUT = [
    ["derive", "w**"],
    ["derive", "3w"],
    ["derive", "__import__('os').system('true')"],
    ["derive", "w**2", "--scheme", "sideways"],
    ["slope", "w**2", "--h", "0"],
    ["plot", "w**2", "--range", "3:1"],
    ["descend", "w**2", "--optimizer", "sgdx"],
    ["descend", "w**2", "--steps", "0"],
    ["descend", "w**2", "--start", "q=1"],
    ["grad", "sum(W @ x)", "--at", "W=0", "--shape", "W=2x2", "--set", "x=[1,2,3]"],
    ["grad", "foo(w)"],
    ["check", "w**2", "2*w +"],
    ["sweep", "w**2", "--lr", "1:2"],
    ["derive", "w**2", "--format", "yaml"],
    ["grad", "w**2", "--no-such-option"],
    ["nosuchcommand"],
]


@pytest.mark.parametrize("args", BAD_INPUT, ids=[" ".join(a) for a in BAD_INPUT])
def test_exit_2_bad_input(run, args):
    r = run(args)
    assert r.code == 2, (r.code, r.out, r.err)
    assert_one_error(r.err)


NUMERICAL = [
    ["derive", "log(w)", "--at", "-1"],
    ["descend", "(w-3)**2", "--lr", "1.5", "--steps", "100"],
    ["descend", "log(w)", "--start", "-1"],
    ["grad", "log(w)", "--at", "-1"],
    ["grad", "sqrt(w)", "--at", "0"],
]


@pytest.mark.parametrize("args", NUMERICAL, ids=[" ".join(a) for a in NUMERICAL])
def test_exit_3_numerical_failure(run, args):
    r = run(args)
    assert r.code == 3, (r.code, r.out, r.err)
    assert_one_error(r.err)


def test_diverged_descend_still_writes_complete_json(run):
    r = run(["descend", "(w-3)**2", "--lr", "1.5", "--steps", "100", "--format", "json"])
    assert r.code == 3
    data = strict_json(r.out)
    assert data["status"] == "diverged"
    # w_k - 3 = (-2)^k (w_0 - 3): |loss| = 4^(k+1) first exceeds 4e12 at k = 20
    assert data["final"]["step"] == 20 == len(data["steps"]) - 1
    assert data["final"]["params"]["w"] == 3 + (-2.0) ** 20 * -2


def test_diverged_descend_csv_is_complete(run):
    r = run(["descend", "(w-3)**2", "--lr", "1.5", "--steps", "100", "--format", "csv"])
    assert r.code == 3
    rows = list(csv.reader(io.StringIO(r.out)))
    assert len(rows) == 1 + 21
    assert all(len(row) == len(rows[0]) for row in rows)


@pytest.mark.parametrize("name", EXPR_COMMANDS)
def test_exit_4_resource_limit(run, name):
    args = list(CALLS[name])
    args[1] = "9**9**9**9"
    if name == "check":
        args[2] = "0"
    r = run(args)
    assert r.code == 4, (r.code, r.out, r.err)
    assert_one_error(r.err)


def test_exit_4_for_a_huge_answer(run):
    r = run(["check", "w**2", "9**9**9**9"])
    assert r.code == 4
    assert_one_error(r.err)


def test_negative_expression_and_values_as_typed(run):
    r = run(["derive", "-w**2 + 1", "--at=-2/3", "--quiet"])
    assert r.code == 0, r.err
    assert float(r.out) == pytest.approx(4 / 3, rel=1e-15)
    r = run(["grad", "-w**2 + 1", "--at", "-2/3", "--quiet"])
    assert float(r.out) == pytest.approx(4 / 3, rel=1e-15)
