"""Fuzzing every command (issue 17): generated expressions and option values.

The expressions come from a grammar of gdcli's own syntax, with its edges: numbers
at and beyond the float range, odd literals (`0x1f`, `1_000`, `1j`), names that are
constants, functions or keywords elsewhere, every operator gdcli knows and some it
refuses, comparisons (chained too), lists (ragged and empty), every function with
its right arities and wrong ones, and deep nesting. The options are drawn per
command: points, shapes, inputs, learning rates, steps, tolerances, grids,
schedules, update rules, formats, at their extremes and past them.

Whatever the input, a call must end with:

- no traceback, and never exit 70 (a bug);
- one of the exit codes the README documents (1 only for `check`);
- an error line on stderr for every failure, and strict JSON (NaN and Infinity
  refused) on stdout for every success with `--format json`;
- bounded CPU time (the command's budget plus the unbudgeted work of printing) and
  bounded memory.

`make test` runs a bounded, derandomized number of examples (the `ci` profile);
`make fuzz` runs the `fuzz` profile (GDCLI_FUZZ_PROFILE=fuzz): many more examples
from new random seeds. Every call runs in this process under an address-space
ceiling; its CPU time and the process's peak memory are checked against the bounds.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from helpers import Result, run_cli, strict_json
from hypothesis import given, settings
from hypothesis import strategies as st

# --- profiles -------------------------------------------------------------------------------------

PROFILE = os.environ.get("GDCLI_FUZZ_PROFILE", "ci")  # conftest.py loads it
BASE = settings(settings.get_profile(PROFILE), max_examples=60 if PROFILE == "ci" else 2000)


def scaled(factor: float) -> settings:
    """The profile with `factor` times its example count (some properties are slower)."""
    return settings(BASE, max_examples=max(1, int(BASE.max_examples * factor)))


# --- bounds ---------------------------------------------------------------------------------------

TIME_LIMIT = 2.0  # GDCLI_TIME_LIMIT for the fuzzed calls: CPU seconds of symbolic work
# CPU seconds one call may use in all: the budget, plus what it does not cover (reading
# the options, lowering an array loss, printing, a descent of at most MAX_FUZZ_STEPS)
CPU_BOUND = TIME_LIMIT + 8.0
MEMORY_BOUND_MB = 1500  # peak resident memory of the test process (or of a child)
MEMORY_HEADROOM_MB = 3000  # address space one in-process call may add (beyond it: MemoryError)

DOCUMENTED = {0, 1, 2, 3, 4, 74, 130}  # the README's exit codes, 70 aside
EXIT_CODES = {0, 2, 3, 4}  # what a call with its streams intact may end with (check: 1 too)


# --- drawing: mostly plausible, sometimes hostile -------------------------------------------------

Draw = Any  # hypothesis' `draw` of a composite strategy


def pick(draw: Draw, good: list[str], bad: list[str], odds: int = 7) -> str:
    """A good value, or once in `odds + 1` draws a bad one (shrinks to a good one)."""
    if bad and draw(st.integers(min_value=0, max_value=odds)) == odds:
        return str(draw(st.sampled_from(bad)))
    return str(draw(st.sampled_from(good)))


def maybe(draw: Draw, odds: int = 2) -> bool:
    """True once in `odds` draws (shrinks to False)."""
    return bool(draw(st.integers(min_value=0, max_value=odds - 1)) == odds - 1)


# --- expressions ----------------------------------------------------------------------------------

FUNCTIONS = {  # name: the arities gdcli accepts
    "sin": (1,), "cos": (1,), "tan": (1,), "asin": (1,), "acos": (1,), "atan": (1,),
    "sinh": (1,), "cosh": (1,), "tanh": (1,), "exp": (1,), "log": (1, 2), "ln": (1,),
    "sqrt": (1,), "abs": (1,), "sign": (1,), "Heaviside": (1, 2), "heaviside": (1, 2),
    "sigmoid": (1,), "relu": (1,), "softplus": (1,), "max": (1, 2, 3), "min": (1, 2, 3),
    "sum": (1,), "mean": (1,), "dot": (2,), "transpose": (1,), "outer": (2,),
    "softmax": (1,), "logsumexp": (1,),
}  # fmt: skip
SCALAR_FUNCTIONS = {
    name: arities
    for name, arities in FUNCTIONS.items()
    if name not in ("sum", "mean", "dot", "transpose", "outer", "softmax", "logsumexp")
}
UNKNOWN_FUNCTIONS = ["foo", "Max", "gamma", "exp2", "print", "eval", "__import__", "Symbol"]

GOOD_NUMBERS = ["0", "1", "2", "3", "10", "0.5", "0.1", "1e-3", "100", "1.5", "pi", "e"]
EDGE_NUMBERS = [
    # the float range's edges, inside and out
    "1e308", "1.7976931348623157e308", "1.8e308", "1e309", "1e330", "1e331", "1e400",
    "5e-324", "4.9e-324", "2e-324", "1e-320", "1e-323", "1e-330", "1e-331", "1e-400",
    "1e-300", "9" * 320, "9" * 500, "0." + "0" * 330 + "1", "1e-8", "1e20", "710", "1e16",
    # other literals Python reads
    ".5", "3.", "1_000", "0x1f", "0b101", "0o17", "1e+2", "1E5", "0.0", "00", "1j", "2.5j",
    "10**300", "2**1023", "2**1024", "9**9**9", "2**-1074", "(-8)**(1/3)", "0**0", "0**-1",
    "(1/0)", "(0/0)", "sqrt(-1)", "log(0)", "log(-1)", "acos(2)", "exp(1000)", "exp(-1000)",
]  # fmt: skip
ODD_NAMES = [
    "E", "I", "oo", "nan", "inf", "zoo", "_w", "__w", "lambda", "None", "True", "sum",
    "ω", "λ", "x" * 60, "w1__0",
]  # fmt: skip
ARRAYS = ["[1, 2]", "[1, 2, 3]", "[[1, 2], [3, 4]]", "[[1, 2, 3], [4, 5, 6]]", "[w, 2*w]"]
ODD_ARRAYS = ["[]", "[[1], [1, 2]]", "[[]]", "[[[1]]]", "[1e308, -1e308]"]
BINARY = ["+", "-", "*", "/", "**", "^", "@"]
REFUSED_BINARY = ["%", "//", "<<", "&", "|"]
COMPARISONS = ["<", ">", "<=", ">="]
ODD_COMPARISONS = ["==", "!=", "is", "in"]
NOISE = [" ", "(", ")", "[", "]", ",", "=", "#", ";", "\\", "'", ":", "\x00", "\t", "$", "3w"]


@st.composite
def expressions(
    draw: Draw, names: tuple[str, ...], depth: int = 0, hostile: bool = True, arrays: bool = True
) -> str:
    """One expression of gdcli's syntax over `names`; with `hostile`, also what it
    refuses (wrong arities, unknown functions and operators, odd names, noise); with
    `arrays`, lists and the functions of arrays are common (else rare)."""
    bad = hostile
    if depth >= 4 or draw(st.integers(min_value=0, max_value=2)) == 0:
        kind = draw(st.integers(min_value=0, max_value=9))
        if kind <= 4:
            return str(draw(st.sampled_from(names)))
        if kind <= 7:
            return pick(draw, GOOD_NUMBERS, EDGE_NUMBERS, odds=2)
        if kind == 8 and (arrays or maybe(draw, 6)):
            return pick(draw, ARRAYS, ODD_ARRAYS, odds=3)
        return pick(draw, list(names), ODD_NAMES if bad else [], odds=1)

    def inner() -> str:
        return str(draw(expressions(names, depth + 1, hostile, arrays)))

    kind = draw(st.integers(min_value=0, max_value=9))
    if kind <= 3:  # a function, with an arity it takes (or, hostile, any arity)
        name = draw(st.sampled_from(sorted(FUNCTIONS if arrays else SCALAR_FUNCTIONS)))
        arity = draw(st.sampled_from(FUNCTIONS[name]))
        if bad and maybe(draw, 8):
            name = pick(draw, [name], UNKNOWN_FUNCTIONS, odds=1)
            arity = draw(st.integers(min_value=0, max_value=4))
        return f"{name}({', '.join(inner() for _ in range(arity))})"
    if kind <= 6:
        op = pick(draw, BINARY, REFUSED_BINARY if bad else [], odds=12)
        return f"({inner()} {op} {inner()})"
    if kind == 7:
        return f"{draw(st.sampled_from(['-', '+', '-']))}{inner()}"
    if kind == 8:
        op = pick(draw, COMPARISONS, ODD_COMPARISONS if bad else [], odds=6)
        chained = f" {draw(st.sampled_from(COMPARISONS))} {inner()}" if maybe(draw, 5) else ""
        return f"({inner()} {op} {inner()}{chained})"
    if not arrays and not maybe(draw, 6):
        return f"{draw(st.sampled_from(sorted(SCALAR_FUNCTIONS)))}({inner()})"
    size = draw(st.integers(min_value=1, max_value=3))
    return "[" + ", ".join(inner() for _ in range(size)) + "]"


@st.composite
def loss_texts(draw: Draw, names: tuple[str, ...], arrays: bool = True) -> str:
    """A loss: mostly a plain expression, sometimes summed (arrays), noisy, very deep
    or very long."""
    kind = draw(st.integers(min_value=0, max_value=11))
    text = str(draw(expressions(names, hostile=maybe(draw, 3), arrays=arrays)))
    if kind <= (6 if not arrays else 4):
        return text
    if kind <= 8:
        return f"{draw(st.sampled_from(['sum', 'mean', 'logsumexp', 'max']))}({text})"
    if kind == 9:
        return pick(draw, [""], NOISE, odds=1) + text + pick(draw, [""], NOISE, odds=1)
    if kind == 10:  # deep nesting, around the limit
        opener = draw(st.sampled_from(["sin(", "(", "-(", "exp(", "[", "abs(", "w*(", "max(1, "]))
        closer = "]" if opener == "[" else ")"
        n = draw(st.integers(min_value=20, max_value=130))
        return opener * n + text + closer * n
    joiner = draw(st.sampled_from([" + ", " * ", " - ", "**", " @ ", " / ", " < "]))
    n = draw(st.integers(min_value=50, max_value=800))
    return joiner.join([draw(st.sampled_from(names))] * n)


def free_names_of(text: str) -> list[str]:
    """The names a text uses (none when it does not parse)."""
    from gdcli.errors import GdcliError
    from gdcli.parse.syntax import free_names

    try:
        return sorted(n for n in free_names(text) if n.isidentifier())
    except (GdcliError, RecursionError, MemoryError, ValueError):
        return []


# --- option values --------------------------------------------------------------------------------

SCALARS = ["1", "0", "-1", "0.5", "-2/3", "pi/4", "3", "2", "-0.5", "1e-3", "10"]
BAD_SCALARS = [
    "1e308", "-1e308", "1e-320", "1e309", "1e-400", "nan", "inf", "-inf", "sqrt(-1)", "1/0",
    "2**1023", "1j", "", " ", "abc", "w", "1e", "--1", "0x10", "1__0", "1e330", "1e-330",
    "[1, 2]", "9" * 400, "log(0)", "exp(710)", "1e16", "-0",
]  # fmt: skip
VECTORS = ["[1, 2]", "[1, 2, 3]", "[0.5, -1]", "[1, 0, -1]"]
MATRICES = ["[[1, 2], [3, 4]]", "[[1, 2, 3], [4, 5, 6]]", "[[0.1, 0.2], [0.3, 0.4], [0, 1]]"]
BAD_ARRAYS = [
    "[]", "[[]]", "[[1, 2], [3]]", "[1e308, 1e308]", "[nan]", "[[[1]]]", "[1, [2]]", "[w]",
    "[" + ",".join(["1"] * 10_001) + "]", "[1e-320, 1]", "[1, 2,]", "[1 2]",
]  # fmt: skip
SHAPES = ["1", "2", "3", "2x2", "2x3", "3x2", "1x1", "3x1", "1x3"]
BAD_SHAPES = ["100x100", "0", "-1", "0x2", "2x3x4", "1000x1000", "101x100", "10000", "10001",
              "abc", "2 x 3", "", "2*3", "1e3", "99999999999999999999"]  # fmt: skip


def value(draw: Draw) -> str:
    kind = draw(st.integers(min_value=0, max_value=5))
    if kind <= 2:
        return pick(draw, SCALARS, BAD_SCALARS)
    if kind == 3:
        return pick(draw, VECTORS, BAD_ARRAYS)
    if kind == 4:
        return pick(draw, MATRICES, BAD_ARRAYS)
    return pick(draw, SCALARS, BAD_SCALARS, odds=1)


@st.composite
def point_options(
    draw: Draw, names: list[str], shapes: bool = True, wrt: bool = False
) -> list[str]:
    """--at / --set / --shape / --wrt for the names a loss uses: each name a weight,
    an input or left to the defaults; now and then a name that is not used, a name
    given twice, a value that is not a value."""
    weights: list[str] = []
    inputs: list[str] = []
    shaped: list[str] = []
    for name in names:
        role = draw(st.integers(min_value=0, max_value=3))
        if role == 0 and (name == "w" or maybe(draw, 6)):
            continue
        role = role or 1
        if role == 1:
            inputs.append(f"{name}={value(draw)}")
            continue
        weights.append(f"{name}={value(draw)}")
        if shapes and maybe(draw, 3):
            shaped.append(f"{name}={pick(draw, SHAPES, BAD_SHAPES)}")
    if maybe(draw, 8):  # a stranger: a name the loss does not use, or no name at all
        extra = pick(draw, ["z", "q"], ["", "1", "pi", "_x", "w w", "sum", "e"], odds=1)
        target = draw(st.sampled_from([weights, inputs, shaped]))
        target.append(f"{extra}={value(draw)}")
    args: list[str] = []
    if weights:
        if len(weights) == 1 and weights[0].startswith("w=") and maybe(draw, 2):
            weights = [weights[0][2:]]  # the bare value: `--at 0.5`
        args += ["--at", ",".join(weights)]
    elif maybe(draw, 4):
        args += ["--at", value(draw)]
    if maybe(draw, 10):
        args += ["--at", pick(draw, ["w=1,w=2", "=", "w=", ",", "x=1,,y=2", "-2:2:5", "0,1"], [])]
    for item in inputs:
        args += ["--set", item]
    for item in shaped:
        args += ["--shape", item]
    if wrt and maybe(draw, 4):
        args += ["--wrt", pick(draw, names or ["w"], ["pi", "z", "", "1", "W"], odds=2)]
    return args


FLOATS = ["0", "1", "0.5", "0.9", "0.999", "1e-8", "2", "0.1", "10"]
BAD_FLOATS = ["-1", "1e308", "-1e308", "nan", "inf", "-inf", "1e-320", "1e400", "abc", "", "0x1"]
INTS = ["1", "2", "3", "5", "10", "20"]
BAD_INTS = ["0", "-1", "1000000", "10" * 12, "1.5", "abc", "", "99999999999999999999"]
LRS = ["0.1", "0.01", "0.5", "1", "0.3", "1e-3", "2", "1.5"]
BAD_LRS = ["0", "-0.1", "10", "1e-320", "1e308", "nan", "inf", "-inf", "1e400", "abc", "1e-300"]
STEPS = ["1", "2", "5", "20", "50", "200"]
BAD_STEPS = ["0", "-1", "abc", "1.5", "", "10" * 15, "99999999999999999999", "2000"]
TOLS = ["1e-8", "0", "1e-3", "1e-12"]
BAD_TOLS = ["-1", "nan", "inf", "1e308", "abc", "1", "-0", "1e-320"]
FORMATS = ["json", "json", "json", "csv", "plain", "table", "auto"]
BAD_FORMATS = ["dot", "xml", "", "JSON"]
OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop", "adagrad"]
SCHEDULERS = ["step", "multistep", "exponential", "cosine", "linear", "onecycle", "cyclic",
              "plateau"]  # fmt: skip
# what each schedule requires, good values
SCHEDULE_NEEDS = {
    "step": ["--step-size"], "multistep": ["--milestones"], "exponential": ["--gamma"],
    "cosine": ["--t-max"], "onecycle": ["--max-lr", "--total-steps"], "cyclic": ["--max-lr"],
}  # fmt: skip
SCHEDULE_OPTIONS = {
    "--step-size": "int", "--gamma": "fraction", "--milestones": "milestones",
    "--t-max": "int", "--eta-min": "float", "--start-factor": "fraction",
    "--end-factor": "fraction", "--total-iters": "int", "--max-lr": "float",
    "--total-steps": "int", "--epochs": "int", "--steps-per-epoch": "int",
    "--pct-start": "fraction", "--anneal-strategy": "anneal", "--base-momentum": "fraction",
    "--max-momentum": "fraction", "--div-factor": "float", "--final-div-factor": "float",
    "--step-size-up": "int", "--step-size-down": "int", "--mode": "mode",
    "--factor": "fraction", "--patience": "int", "--threshold": "float",
    "--threshold-mode": "threshold_mode", "--cooldown": "int", "--min-lr": "float",
    "--plateau-eps": "float", "--base-lr": "float",
}  # fmt: skip
KINDS = {
    "int": (["1", "2", "5", "10", "50", "200"], BAD_INTS),
    "float": (FLOATS, BAD_FLOATS),
    "fraction": (["0.1", "0.5", "0.9", "0.95", "1"], ["0", "1.5", "-0.5", "nan", "inf", "2"]),
    "milestones": (["1,2", "3", "5,10", "2,4,8"], ["2,1", "0", "-1", "a", "1,1", "", "10" * 12]),
    "anneal": (["cos", "linear"], ["sin", ""]),
    "mode": (["triangular", "triangular2", "exp_range", "min", "max"], ["x", ""]),
    "threshold_mode": (["rel", "abs"], ["x"]),
}
SCHEDULE_FLAGS = ["--cycle-momentum", "--no-cycle-momentum", "--three-phase"]
OPTIMIZER_OPTIONS = {
    "--momentum": "fraction", "--dampening": "fraction", "--weight-decay": "float",
    "--beta1": "fraction", "--beta2": "fraction", "--eps": "float", "--alpha": "fraction",
    "--lr-decay": "float", "--initial-accumulator-value": "float",
}  # fmt: skip
OPTIMIZER_FLAGS = ["--nesterov", "--amsgrad", "--centered"]


def option_value(draw: Draw, kind: str) -> str:
    good, bad = KINDS[kind]
    return pick(draw, good, bad)


SCHEDULE_TAKES = {
    "step": ["--step-size", "--gamma"], "multistep": ["--milestones", "--gamma"],
    "exponential": ["--gamma"], "cosine": ["--t-max", "--eta-min"],
    "linear": ["--start-factor", "--end-factor", "--total-iters"],
    "onecycle": ["--max-lr", "--total-steps", "--epochs", "--steps-per-epoch", "--pct-start",
                 "--anneal-strategy", "--base-momentum", "--max-momentum", "--div-factor",
                 "--final-div-factor"],
    "cyclic": ["--base-lr", "--max-lr", "--step-size-up", "--step-size-down", "--mode",
               "--gamma", "--base-momentum", "--max-momentum"],
    "plateau": ["--mode", "--factor", "--patience", "--threshold", "--threshold-mode",
                "--cooldown", "--min-lr", "--plateau-eps"],
}  # fmt: skip
OPTIMIZER_TAKES = {
    "sgd": ["--momentum", "--dampening", "--weight-decay", "--nesterov"],
    "adam": ["--beta1", "--beta2", "--eps", "--weight-decay", "--amsgrad"],
    "adamw": ["--beta1", "--beta2", "--eps", "--weight-decay", "--amsgrad"],
    "rmsprop": ["--alpha", "--eps", "--weight-decay", "--momentum", "--centered"],
    "adagrad": ["--lr-decay", "--weight-decay", "--initial-accumulator-value", "--eps"],
}


def schedule_options(draw: Draw, name: str) -> list[str]:
    args: list[str] = []
    needs = list(SCHEDULE_NEEDS.get(name, []))
    if needs and maybe(draw, 10):
        needs.pop()
    takes = SCHEDULE_TAKES.get(name, [])
    if not takes or maybe(draw, 8):  # an option of another schedule
        takes = sorted(SCHEDULE_OPTIONS)
    others = draw(st.lists(st.sampled_from(takes), max_size=2, unique=True))
    for option in dict.fromkeys(needs + others):
        args += [option, option_value(draw, SCHEDULE_OPTIONS[option])]
    if maybe(draw, 6):
        args.append(draw(st.sampled_from(SCHEDULE_FLAGS)))
    return args


def schedule_args(draw: Draw) -> list[str]:
    if not maybe(draw, 3):
        return []
    name = pick(draw, SCHEDULERS, ["warmup", ""])
    return ["--scheduler", name, *schedule_options(draw, name)]


def optimizer_args(draw: Draw) -> list[str]:
    name = pick(draw, OPTIMIZERS, ["lbfgs", "", "SGD"])
    args = ["--optimizer", name]
    takes = OPTIMIZER_TAKES.get(name, [])
    if not takes or maybe(draw, 8):  # an option of another update rule
        takes = sorted(OPTIMIZER_OPTIONS) + OPTIMIZER_FLAGS
    for option in draw(st.lists(st.sampled_from(takes), max_size=2, unique=True)):
        if option in OPTIMIZER_FLAGS:
            args.append(option)
        else:
            args += [option, option_value(draw, OPTIMIZER_OPTIONS[option])]
    return args


def steps_args(draw: Draw) -> list[str]:
    return ["--steps", pick(draw, STEPS, BAD_STEPS), "--tol", pick(draw, TOLS, BAD_TOLS)]


def output_args(
    draw: Draw, formats: list[str] = FORMATS, bad: list[str] = BAD_FORMATS
) -> list[str]:
    args = ["--format", pick(draw, formats, bad)]
    args += draw(st.lists(st.sampled_from(["--quiet", "--no-plot", "--color"]), max_size=2))
    return args


GRID_NUMBERS = ["0.01", "0.1", "1", "0.5", "-2", "2", "1e-3", "0"]
BAD_GRID_NUMBERS = ["1e308", "-1e308", "nan", "x", "1e-320", "", "inf", "1/0"]
COUNTS = ["1", "2", "5", "20"]
BAD_COUNTS = ["0", "-1", "1000001", "2.5", "x", "", "99999999999999999999"]


def grid(draw: Draw) -> str:
    kind = draw(st.integers(min_value=0, max_value=3))
    a, b = pick(draw, GRID_NUMBERS, BAD_GRID_NUMBERS), pick(draw, GRID_NUMBERS, BAD_GRID_NUMBERS)
    if kind <= 1:
        return f"{a}:{b}:{pick(draw, COUNTS, BAD_COUNTS)}"
    if kind == 2:
        return ",".join([a, b, *draw(st.lists(st.sampled_from(GRID_NUMBERS), max_size=3))])
    return pick(draw, [a], ["", ":", "1:2", "1:2:3:4", ",", "0.1,,0.2", "1:2:3,4"], odds=1)


def run_spec(draw: Draw) -> str:
    name = pick(draw, OPTIMIZERS, ["", "lbfgs", "sgd sgd"])
    pairs = [f"lr={pick(draw, LRS, BAD_LRS)}"] if not maybe(draw, 4) else []
    keys = {"momentum": "fraction", "beta1": "fraction", "eps": "float", "weight_decay": "float",
            "nesterov": "bool", "t_max": "int", "gamma": "fraction"}  # fmt: skip
    for key in draw(st.lists(st.sampled_from(sorted(keys)), max_size=2, unique=True)):
        kind = keys[key]
        v = (
            pick(draw, ["true", "false"], ["yes", "2", ""])
            if kind == "bool"
            else option_value(draw, kind)
        )
        pairs.append(f"{key}={v}")
    if maybe(draw, 5):
        pairs.append(pick(draw, ["scheduler=cosine t_max=10", "scheduler=step step_size=2"],
                          ["scheduler=x", "bogus=1", "lr", "=1", "lr=1=2"]))  # fmt: skip
    return " ".join([name, *pairs])


Call = tuple[list[str], str]  # argv and stdin


@st.composite
def calls(draw: Draw) -> Call:
    """One call of one command, its loss and options drawn to fit one another."""
    command = draw(
        st.sampled_from(
            ["derive", "slope", "plot", "descend", "grad", "check", "sweep", "compare",
             "schedule", "backprop"]
        )
    )  # fmt: skip
    if command == "schedule":
        name = pick(draw, SCHEDULERS, ["warmup", ""])
        args = ["schedule", name, *schedule_options(draw, name)]
        args += ["--lr", pick(draw, LRS, BAD_LRS), "--steps", pick(draw, STEPS, BAD_STEPS)]
        if name == "plateau" or maybe(draw, 6):
            metrics = ",".join(draw(st.lists(st.sampled_from(["1", "0.9", "0.5"]), max_size=250)))
            args += ["--metrics", pick(draw, [metrics], ["nan,1", "x", "", "1e400"])]
        return args + output_args(draw), ""

    scalar = command in ("derive", "slope", "plot", "check")
    names = ("w", "w", "x", "y") if scalar else ("w", "x", "y", "W", "v", "b")
    text = str(draw(loss_texts(names, arrays=not scalar)))
    used = free_names_of(text)
    args = [command]
    stdin = ""
    where = draw(st.integers(min_value=0, max_value=9))
    if where <= 6:
        args.append(text)
    elif where <= 8:
        args.append("-")
        stdin = text
    else:
        used = ["w"]  # the default loss
    if command == "check":
        answer = str(draw(loss_texts(("w", "w", "x"), arrays=False)))
        args = ["check", text, answer]
        if maybe(draw, 3):
            args += ["--set", f"x={pick(draw, SCALARS, BAD_SCALARS)}"]
        if maybe(draw, 4):
            args += ["--wrt", pick(draw, ["w", "x"], ["z", "", "pi"])]
        return args + output_args(draw), ""
    if command == "derive":
        args += draw(point_options(used, wrt=True))
        for option in draw(st.lists(st.sampled_from(["--scheme", "--h-max", "--h-min", "--latex",
                                                      "--plot"]), max_size=2, unique=True)):  # fmt: skip
            if option == "--scheme":
                args += [option, pick(draw, ["forward", "backward", "central"], ["sideways", ""])]
            elif option.startswith("--h"):
                args += [option, pick(draw, ["0.1", "1e-3", "1e-12", "1"], BAD_FLOATS + ["1e-300"])]
            else:
                args.append(option)
    elif command in ("slope", "plot"):
        args += draw(point_options(used, shapes=False, wrt=True))
        if command == "slope" and maybe(draw, 2):
            args += ["--h", pick(draw, ["0.1", "1e-3", "-0.1", "0.5"], ["0", *BAD_SCALARS])]
        if maybe(draw, 3):
            args += ["--range", pick(draw, ["-2:2", "0:1", "-5:5", "0.5:4"],
                                     ["1:0", "-1e308:1e308", "1e300:1e308", "x", "0:0",
                                      "-1e-320:1e-320", "0:1e-300", "-inf:inf", "1:2:3"])]  # fmt: skip
    elif command == "grad":
        args += draw(point_options(used))
    elif command == "descend":
        args += draw(point_options(used))
        args += ["--lr", pick(draw, LRS, BAD_LRS), *steps_args(draw)]
        args += optimizer_args(draw) + schedule_args(draw)
        extras = [["--every", "3"], ["--every", "0"], ["--show-state"], ["--explain"],
                  ["--explain-steps", "2"], ["--explain-steps", "0"], ["--logy"], ["--no-cache"]]  # fmt: skip
        for extra in draw(st.lists(st.sampled_from(extras), max_size=2)):
            args += extra
    elif command == "sweep":
        args += ["--lr", grid(draw)] + (["--log"] if maybe(draw, 4) else [])
        if maybe(draw, 2):
            args += ["--start", grid(draw)]
        else:
            args += draw(point_options(used))
        args += steps_args(draw) + optimizer_args(draw) + schedule_args(draw)
    elif command == "compare":
        for _ in range(draw(st.integers(min_value=0 if maybe(draw, 8) else 1, max_value=3))):
            args += ["--run", run_spec(draw)]
        args += draw(point_options(used)) + steps_args(draw)
        if maybe(draw, 3):
            args.append("--trace")
        if maybe(draw, 3):
            args += ["--target-loss", pick(draw, ["1e-3", "0", "1"], ["nan", "inf", "-1e308"])]
    else:  # backprop
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            layer = pick(draw, ["h", "z", "u1", "yhat"], ["w", "1", "", "h h", "sum"])
            sign = pick(draw, ["="], ["==", "", ":="], odds=10)
            body = draw(expressions(("W", "x", "b", "h", "z", "w"), hostile=maybe(draw, 3)))
            args += ["--let", f"{layer}{sign}{body}"]
        args += draw(point_options(sorted({*used, "W", "b"} - {"h", "z", "u1", "yhat"})))
        if maybe(draw, 3):
            args.append("--check")
        return args + output_args(draw, FORMATS + ["dot"], ["xml", ""]), stdin
    return args + output_args(draw), stdin


# --- the invariants -------------------------------------------------------------------------------


def _virtual_mb() -> float | None:
    """This process's virtual memory (Linux), None where /proc does not say."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@contextmanager
def memory_ceiling(extra_mb: float = MEMORY_HEADROOM_MB) -> Iterator[None]:
    """Let the block grow this process by at most `extra_mb` of address space (Linux):
    past it an allocation fails (MemoryError, which gdcli words as "out of memory")
    instead of a runaway call taking the machine's memory from everyone else."""
    now = _virtual_mb()
    if now is None or not hasattr(resource, "RLIMIT_AS"):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    ceiling = int((now + extra_mb) * 1024 * 1024)
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def assert_holds(args: list[str], result: Result, cpu: float) -> None:
    """The invariants of every call (see the module's docstring)."""
    where = f"gdcli {' '.join(map(repr, args))}\nexit {result.code}\n{result.err[-2000:]}"
    assert "Traceback" not in result.err, where
    assert "out of memory" not in result.err, where  # a MemoryError: memory not bounded
    assert result.code != 70, where
    allowed = EXIT_CODES | ({1} if args and args[0] == "check" else set())
    assert result.code in allowed, where
    if result.code not in (0, 1):
        assert "gdcli: error:" in result.err, where
    if _format_of(args) == "json" and not {"--quiet", "-q"} & set(args) and result.out:
        strict_json(result.out)  # also when a run diverged (exit 3) after its steps
    if result.code == 0 and _format_of(args) == "json" and not {"--quiet", "-q"} & set(args):
        assert result.out, where
    assert cpu < CPU_BOUND, f"{cpu:.1f} s of CPU time\n{where}"


def _format_of(args: list[str]) -> str:
    for k, arg in enumerate(args[:-1]):
        if arg in ("--format", "-f"):
            return args[k + 1]
    return ""


def run_bounded(args: list[str], stdin: str = "") -> tuple[Result, float]:
    """One call in this process, under the fuzzing budget and a memory ceiling; the
    CPU time it took."""
    with memory_ceiling():
        started = time.process_time()
        result = run_cli(args, stdin=stdin, env={"GDCLI_TIME_LIMIT": str(TIME_LIMIT)})
        return result, time.process_time() - started


@scaled(1.0)
@given(calls())
def test_any_call_of_any_command_holds(call: Call) -> None:
    args, stdin = call
    result, cpu = run_bounded(args, stdin)
    assert_holds(args, result, cpu)
    assert _peak_mb() < MEMORY_BOUND_MB
