"""gdcli's benchmark suite (`make bench`): speed and memory, each against a baseline.

Every speed figure is a ratio: the median time of gdcli over the median time of a
hand-written baseline (benchmarks/baselines/), both measured in this run, in
interleaved rounds (baseline and gdcli alternate, the order flips every round) so
that machine noise hits both. Each side runs once untimed first (page cache, and
the compiled-expression cache where a figure wants it warm); that run's output is
what the correctness checks read. Memory is the peak RSS of one process, read
with os.wait4 for that process alone (see RSS_HELPER).

PYTHONDONTWRITEBYTECODE may be set, so gdcli and the baselines are byte-compiled
first (as `make install` does). A baseline runs as `python script.py`, so its main
file is compiled at each start, like gdcli's console-script wrapper: 0.1-0.3 ms.

The script prints a report and exits 0 even when a target is missed (the summary
line says so); it exits 1 only when a benchmark could not run at all.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINES = Path(__file__).resolve().parent / "baselines"
PYTHON = sys.executable
GDCLI = Path(PYTHON).parent / "gdcli"
TIMEOUT = 120.0  # seconds, for every process
SHORT, LONG = 11, 5  # timed rounds for start-up figures and for long ones
LOSS = "(w-3)**2"
MATRIX = [
    "descend",
    "sum((W @ x - y)**2)",
    "--set",
    "x=[1,2,3,4,5,6,7,8,9,10]",
    "--set",
    "y=[10,9,8,7,6,5,4,3,2,1]",
    "--start",
    "W=0",
    "--shape",
    "W=10x10",
]
MB = 1e6  # bytes


class BenchError(Exception):
    """A benchmark that could not run (a crash, a timeout, a wrong answer)."""


@dataclass
class Row:
    figure: str
    gdcli: str
    baseline: str
    value: str
    target: str
    ok: bool | None  # None: information, no target


@dataclass
class Figure:
    rows: list[Row]
    notes: list[str]


# ---------------------------------------------------------------------------
# running processes


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("GDCLI_NO_CACHE", "GDCLI_LOSS", "GDCLI_DEBUG", "TYPER_USE_RICH"):
        env.pop(name, None)
    return env


class Caches:
    """Environments with their own XDG_CACHE_HOME, all under one temporary root."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="gdcli-bench-")

    def fresh(self) -> dict[str, str]:
        return {**base_env(), "XDG_CACHE_HOME": tempfile.mkdtemp(dir=self.root)}

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def show(cmd: list[str]) -> str:
    return " ".join(a if a.replace("-", "").replace("=", "").isalnum() else repr(a) for a in cmd)


def timed(cmd: list[str], env: dict[str, str], capture: bool = False) -> tuple[float, str]:
    """Wall time of one run; its stdout when `capture`."""
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            cmd,
            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            timeout=TIMEOUT,
            text=True,
        )
        elapsed = time.perf_counter() - start
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {TIMEOUT:.0f} s: {show(cmd)}") from None
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise BenchError(f"exit {proc.returncode} from {show(cmd)}: {tail}")
    return elapsed, proc.stdout or ""


# Peak RSS is read with os.wait4 by a small Python process that forks and execs the
# command: Linux carries the RSS high-water mark of the forked (pre-exec) process over
# into the child's ru_maxrss, so measuring from this (larger) process would put a floor
# under every figure. The helper's floor is a bare interpreter, below any gdcli run.
RSS_HELPER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss * 1024, time.perf_counter() - start)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in bytes, wall seconds) of one run of `cmd`, its stdout to /dev/null."""
    proc = subprocess.Popen(
        [PYTHON, "-c", RSS_HELPER, *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        text=True,
        start_new_session=True,  # one process group: a timeout ends the helper and its child
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise BenchError(f"timed out after {TIMEOUT:.0f} s: {show(cmd)}") from None
    if proc.returncode != 0:
        tail = " | ".join(err.strip().splitlines()[-3:])
        raise BenchError(f"exit {proc.returncode} from {show(cmd)}: {tail}")
    rss, seconds = out.split()
    return float(rss), float(seconds)


Side = Callable[[bool], tuple[float, str]]  # capture? -> (seconds, stdout)


def side(cmd: list[str], env: dict[str, str] | Callable[[], dict[str, str]]) -> Side:
    """A command to time; `env` may be a factory (a fresh cache for every run)."""
    return lambda capture: timed(cmd, env() if callable(env) else env, capture)


def gdcli(*args: str) -> list[str]:
    return [str(GDCLI), *args]


def baseline(script: str, *args: str) -> list[str]:
    return [PYTHON, str(BASELINES / script), *args]


def interleaved(sides: dict[str, Side], rounds: int) -> tuple[dict[str, float], dict[str, str]]:
    """Median seconds per side over `rounds` alternating rounds, and each side's
    stdout from its untimed warm-up run."""
    names = list(sides)
    outputs = {name: sides[name](True)[1] for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(sides[name](False)[0])
    return {name: statistics.median(t) for name, t in times.items()}, outputs


def secs(t: float) -> str:
    return f"{t * 1000:.0f} ms" if t < 1 else f"{t:.2f} s"


def ratio_row(figure: str, g: float, b: float, limit: float | None) -> Row:
    r = g / b
    target = f"<= {limit:.1f}x" if limit is not None else "(info)"
    return Row(figure, secs(g), secs(b), f"{r:.2f}x", target, None if limit is None else r <= limit)


# ---------------------------------------------------------------------------
# the figures


def fig_help(caches: Caches) -> Figure:
    env = caches.fresh()
    plain = {**env, "TYPER_USE_RICH": "0"}
    t, _ = interleaved(
        {
            "gdcli": side(gdcli("--help"), env),
            "mini": side(baseline("mini_typer.py", "--help"), env),
            "plain": side(baseline("mini_typer.py", "--help"), plain),
        },
        SHORT,
    )
    return Figure(
        [
            ratio_row("1  gdcli --help / mini Typer --help", t["gdcli"], t["mini"], 1.0),
            ratio_row(
                "1i gdcli --help / mini --help, TYPER_USE_RICH=0", t["gdcli"], t["plain"], None
            ),
        ],
        [
            "1: Typer's default help is drawn by Rich (the mini app imports it for --help); "
            "gdcli sets rich_markup_mode=None and does not, so row 1i is the like-for-like one."
        ],
    )


def fig_derive(caches: Caches) -> Figure:
    t, out = interleaved(
        {
            "gdcli": side(gdcli("derive", LOSS, "--format", "json"), caches.fresh),
            "base": side(baseline("sympy_derive.py"), caches.fresh),
        },
        SHORT,
    )
    data = json.loads(out["gdcli"])
    if data.get("derivative") != "2*w - 6" or data.get("slope") != -4.0:
        raise BenchError(f"gdcli derive gave {data.get('derivative')!r}, {data.get('slope')!r}")
    if out["base"].split() != ["2*w", "-", "6", "-4.0"]:
        raise BenchError(f"sympy_derive.py printed {out['base']!r}")
    row = ratio_row("2  cold derive --format json / SymPy script", t["gdcli"], t["base"], 1.1)
    return Figure([row], [])


def fig_warm(caches: Caches) -> Figure:
    env = caches.fresh()
    cmd = ["descend", LOSS, "--format", "json"]
    t, out = interleaved(
        {
            "gdcli": side(gdcli(*cmd), env),
            "base": side(baseline("mini_typer.py", "a", "--x", "1"), env),
        },
        SHORT,
    )
    if len(json.loads(out["gdcli"]).get("steps", [])) != 51:
        raise BenchError("warm gdcli descend did not write the 51 steps of --steps 50")
    try:
        proc = subprocess.run(
            [PYTHON, "-X", "importtime", "-m", "gdcli", *cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            timeout=TIMEOUT,
            text=True,
        )
    except subprocess.TimeoutExpired:
        raise BenchError("python -X importtime -m gdcli descend timed out") from None
    modules = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line]
    heavy = sorted({m.split(".")[0] for m in modules} & {"sympy", "numpy", "rich", "plotext"})
    no_sympy = proc.returncode == 0 and "sympy" not in proc.stderr
    return Figure(
        [
            ratio_row("3  warm descend --format json / mini a --x 1", t["gdcli"], t["base"], 1.3),
            Row(
                "3b warm descend imports no sympy",
                "sympy" if "sympy" in proc.stderr else "no sympy",
                "",
                f"{len(modules)} modules",
                "no sympy",
                no_sympy,
            ),
        ],
        [
            "3b: python -X importtime -m gdcli descend (warm cache) imported "
            f"{len(modules)} modules; heavy ones: {', '.join(heavy) or 'none'}"
            + ("" if proc.returncode == 0 else f" (exit {proc.returncode})")
        ],
    )


ADAM_LOSS = "(w-3)**2 + 0.001*w**4"  # its minimum is not a float: Adam takes every step


def fig_million(caches: Caches) -> Figure:
    args = gdcli("descend", LOSS, "--steps", "1000000", "--tol", "0", "--quiet")
    adam = gdcli("descend", ADAM_LOSS, "--optimizer", "adam", "--steps", "1000000", "--tol", "0",
                 "--quiet")  # fmt: skip
    t, out = interleaved(
        {
            "base": side(baseline("descend_loop.py"), caches.fresh()),
            "warm": side(args, caches.fresh()),
            "cold": side(args, caches.fresh),
            "adam base": side(baseline("adam_loop.py"), caches.fresh()),
            "adam": side(adam, caches.fresh()),
        },
        LONG,
    )
    w_gdcli, w_base = float(out["warm"].split()[0]), float(out["base"].split()[0])
    w_cold = float(out["cold"].split()[0])
    rel = max(abs(w - w_base) for w in (w_gdcli, w_cold)) / max(abs(w_base), 1e-300)
    w_adam, w_adam_base = float(out["adam"].split()[0]), float(out["adam base"].split()[0])
    rel_adam = abs(w_adam - w_adam_base) / abs(w_adam_base)
    return Figure(
        [
            ratio_row("4  1e6 steps --quiet, warm / Python loop", t["warm"], t["base"], 0.6),
            ratio_row("4i 1e6 steps --quiet, cold / Python loop", t["cold"], t["base"], 1.0),
            Row(
                "4b same final w (rel. diff <= 1e-12)",
                repr(w_gdcli),
                repr(w_base),
                f"{rel:.1e}",
                "<= 1e-12",
                rel <= 1e-12,
            ),
            ratio_row(
                "4a Adam 1e6 steps --quiet, warm / Python Adam loop", t["adam"], t["adam base"], 0.8
            ),
            Row(
                "4c Adam: same final w (rel. diff <= 1e-6)",
                repr(w_adam),
                repr(w_adam_base),
                f"{rel_adam:.1e}",
                "<= 1e-6",
                rel_adam <= 1e-6,
            ),
        ],
        [
            "4: the baselines are plain Python loops over the SymPy-lambdified loss and "
            "derivative (benchmarks/baselines/descend_loop.py, adam_loop.py); cold: a fresh "
            "cache for every run of gdcli, and SymPy imported by both sides.",
            f"4a: {ADAM_LOSS} (its minimum is not a float, so no step lands on a zero "
            "gradient); the loops may part in the last bits (x**4 as a product, torch's "
            "operation order) and Adam near its minimum magnifies that: 4c allows 1e-6.",
        ],
    )


def _same_rows(ours: str, theirs: str, fmt: str) -> bool:
    """The same rows, but for the loss's last bit: gdcli computes (w-3)**2 as a product,
    lambdify's code as pow."""
    if fmt == "json":
        a, b = json.loads(ours)["steps"], json.loads(theirs)["steps"]
        rows_a = [[r["step"], r["params"]["w"], r["loss"], r["grad"]["w"]] for r in a]
        rows_b = [[r["step"], r["params"]["w"], r["loss"], r["grad"]["w"]] for r in b]
    else:
        rows_a = list(csv.reader(io.StringIO(ours)))
        rows_b = list(csv.reader(io.StringIO(theirs)))
    if len(rows_a) != len(rows_b):
        return False
    for x, y in zip(rows_a, rows_b, strict=True):
        loss_x, loss_y = (float(x[2]), float(y[2])) if x[2] != "loss" else (0.0, 0.0)
        if x[:2] + x[3:] != y[:2] + y[3:] or abs(loss_x - loss_y) > 4e-16 * abs(loss_y):
            return False
    return True


def fig_traces(caches: Caches) -> Figure:
    """Long traces written as json and csv, against the stdlib chunked writer."""
    env = caches.fresh()
    timed(gdcli("descend", LOSS, "--steps", "1", "--quiet"), env)  # warm the cache
    rows, notes = [], []
    for fmt in ("json", "csv"):
        check = gdcli("descend", LOSS, "--steps", "20000", "--tol", "0", "--format", fmt)
        _, ours = timed(check, env, capture=True)
        _, theirs = timed(baseline("trace_writer.py", fmt, "20000"), env, capture=True)
        if not _same_rows(ours, theirs, fmt):
            raise BenchError(f"descend --format {fmt} and trace_writer.py wrote different rows")
        long = gdcli("descend", LOSS, "--steps", "1000000", "--tol", "0", "--format", fmt)
        base = baseline("trace_writer.py", fmt, "1000000")
        t, _ = interleaved(  # 120 MB of text each: to /dev/null, never captured
            {
                "gdcli": lambda capture, cmd=long: timed(cmd, env),
                "base": lambda capture, cmd=base: timed(cmd, env),
            },
            LONG,
        )
        rows.append(
            ratio_row(f"T  1e6 steps --format {fmt} / stdlib writer", t["gdcli"], t["base"], 1.3)
        )
        short = gdcli("descend", LOSS, "--steps", "1000", "--tol", "0", "--format", fmt)
        rss_long, _ = peak_rss(long, env)
        rss_short, _ = peak_rss(short, env)
        rows.append(
            Row(
                f"Tm peak RSS --format {fmt}: 1e6 steps - 1e3 steps",
                f"{rss_long / MB:.1f} MB",
                f"{rss_short / MB:.1f} MB",
                f"{(rss_long - rss_short) / MB:+.1f} MB",
                "<= +20 MB",
                rss_long - rss_short <= 20 * MB,
            )
        )
    notes.append(
        "T: warm cache; the baseline (benchmarks/baselines/trace_writer.py) is a Python loop "
        "over the lambdified loss and derivative that gathers 16,384 rows and writes them "
        "with one %-template; both write the same rows (checked at 20,000 steps; the loss "
        "to its last bit: gdcli runs (w-3)**2 as a product, lambdify's code as pow)."
    )
    return Figure(rows, notes)


SWEEP = ["sweep", LOSS, "--lr", "1e-4:1.9:10000", "--start", "0", "--steps", "1000", "--tol", "0"]


def fig_sweep(caches: Caches) -> Figure:
    env = caches.fresh()
    t, out = interleaved(
        {
            "gdcli": side(gdcli(*SWEEP, "--quiet"), env),
            "base": side(baseline("sweep_numpy.py"), env),
        },
        LONG,
    )
    best_gdcli = float(out["gdcli"].split()[0])
    best_base, *counts = out["base"].split()
    base_stats = dict(c.split("=") for c in counts)
    _, table = timed(gdcli(*SWEEP, "--format", "csv"), env, capture=True)
    records = list(csv.DictReader(io.StringIO(table)))
    status = Counter(r["status"] for r in records)
    run_steps = sum(int(r["steps_used"]) for r in records)
    same_best = abs(best_gdcli - float(best_base)) <= 1e-12 * abs(float(best_base))
    big = [*SWEEP[:3], "1e-4:1.9:1000000", *SWEEP[4:], "--quiet"]
    t_big, out_big = interleaved(
        {"gdcli": side(gdcli(*big), env), "base": side(baseline("sweep_numpy.py", "1000000"), env)},
        3,
    )
    best_big, base_big = float(out_big["gdcli"].split()[0]), float(out_big["base"].split()[0])
    if abs(best_big - base_big) > 1e-9 * abs(base_big):
        raise BenchError(f"sweep of 1e6 lrs: best lr {best_big!r}, the NumPy loop's {base_big!r}")
    rss_gdcli, _ = peak_rss(gdcli(*big), env)
    rss_base, _ = peak_rss(baseline("sweep_numpy.py", "1000000"), env)
    return Figure(
        [
            ratio_row("5  sweep 10k lr x 1000 steps / NumPy loop", t["gdcli"], t["base"], 1.1),
            Row(
                "5b same best lr",
                repr(best_gdcli),
                best_base,
                "same" if same_best else "differs",
                "same",
                same_best,
            ),
            ratio_row(
                "5c sweep 1e6 lr x 1000 steps / NumPy loop", t_big["gdcli"], t_big["base"], 1.5
            ),  # fmt: skip
            Row(
                "5d peak RSS, sweep 1e6 lr: gdcli / NumPy loop",
                f"{rss_gdcli / MB:.1f} MB",
                f"{rss_base / MB:.1f} MB",
                f"{rss_gdcli / rss_base:.2f}x",
                "<= 1.3x",
                rss_gdcli <= 1.3 * rss_base,
            ),
        ],
        [
            "5: statuses, gdcli: "
            + ", ".join(f"{k} {status[k]}" for k in ("converged", "diverged", "max_steps"))
            + f", run-steps {run_steps}; baseline: "
            + ", ".join(f"{k} {base_stats.get(k)}" for k in ("converged", "diverged", "max_steps"))
            + f", run-steps {base_stats.get('run_steps')}.",
            "5: the NumPy loop makes all 1000 iterations over the full arrays (the lr=1e-4 run "
            "never stops; stopped runs are masked); gdcli takes stopped runs out of its arrays.",
            "5c: the best lr agrees to 1e-9 (gdcli's grid A:B:N is exact until one rounding, "
            "NumPy's linspace may differ in the last bit).",
        ],
    )


def fig_memory(caches: Caches) -> Figure:
    env = caches.fresh()
    timed(gdcli("descend", LOSS, "--steps", "1", "--quiet"), env)  # warm the cache
    rows, notes = [], []
    for label, extra in (
        ("json", ["--format", "json"]),
        ("quiet", ["--quiet"]),
        ("csv", ["--format", "csv"]),
    ):
        rss, wall = {}, {}
        for steps in ("1000", "1000000"):
            cmd = gdcli("descend", LOSS, "--steps", steps, "--tol", "0", *extra)
            rss[steps], wall[steps] = peak_rss(cmd, env)
        delta = (rss["1000000"] - rss["1000"]) / MB
        rows.append(
            Row(
                f"6  peak RSS {label}: 1e6 steps - 1e3",
                f"{rss['1000000'] / MB:.1f} MB",
                f"{rss['1000'] / MB:.1f} MB",
                f"{delta:+.1f} MB",
                "<= +20 MB",
                delta <= 20,
            )
        )
        notes.append(
            f"6: {label}: 1e3 steps {secs(wall['1000'])}, 1e6 steps {secs(wall['1000000'])} "
            "(one run each, stdout to /dev/null)"
        )
    floor, _ = peak_rss([shutil.which("true") or "/bin/true"], env)
    notes.append(
        f"6: the RSS floor of the method (the forked helper, running `true`): {floor / MB:.1f} MB"
    )
    return Figure(rows, notes)


def fig_matrix(caches: Caches) -> Figure:
    env = caches.fresh()
    full = [*MATRIX, "--lr", "0.001", "--steps", "1000", "--quiet"]
    long = [*MATRIX, "--lr", "0.00001", "--tol", "0", "--steps", "1000", "--quiet"]
    t, _ = interleaved(
        {
            "one": side(gdcli(*MATRIX, "--lr", "0.001", "--steps", "1", "--quiet"), env),
            "full": side(gdcli(*full), env),
            "long": side(gdcli(*long), env),
        },
        SHORT,
    )
    _, report = timed(gdcli(*full[:-1], "--format", "json"), env, capture=True)
    data = json.loads(report)
    _, report = timed(gdcli(*long[:-1], "--format", "json"), env, capture=True)
    data_long = json.loads(report)
    compute, compute_long = t["full"] - t["one"], t["long"] - t["one"]
    return Figure(
        [
            Row(
                "M  matrix 10x10 --steps 1000: compute",
                secs(t["full"]),
                secs(t["one"]),
                secs(compute),
                "< 1 s",
                compute < 1,
            ),
            Row(
                "Mi same, --lr 1e-5 --tol 0: compute",
                secs(t["long"]),
                secs(t["one"]),
                secs(compute_long),
                "(info)",
                None,
            ),
        ],
        [
            "M: compute = wall time - wall time of the same command with --steps 1 (warm cache); "
            "the baseline column is that --steps 1 run; a negative compute is noise around 0.",
            f"M: the brief's command (--lr 0.001) stops early: {data['status']} at step "
            f"{data['final']['step']}; row Mi (--lr 1e-5 --tol 0) makes all the updates: "
            f"{data_long['status']} at step {data_long['final']['step']}.",
        ],
    )


def _vector(n: int, scale: float = 1.0) -> str:
    return "[" + ",".join(repr(round(scale * (i % 7 - 3), 2)) for i in range(n)) + "]"


def _linear_grad(n: int) -> list[str]:
    x = _vector(n)
    return gdcli("grad", "sum((W @ x - y)**2)", "--set", f"x={x}", "--set", f"y={x}",
                 "--at", "W=0.01", "--shape", f"W={n}x{n}", "--format", "json")  # fmt: skip


TWO_LAYER = "mean((tanh(W2 @ tanh(W1 @ x)) - y)**2)"


def _two_layer(steps: int) -> list[str]:
    x = _vector(50, 0.1)
    return gdcli("descend", TWO_LAYER, "--set", f"x={x}", "--set", f"y={x}",
                 "--start", "W1=0.01,W2=0.02", "--shape", "W1=50x50", "--shape", "W2=50x50",
                 "--lr", "0.5", "--tol", "0", "--steps", str(steps), "--quiet")  # fmt: skip


def fig_arrays(caches: Caches) -> Figure:
    """The array engine: cost follows the arithmetic, not the symbolic size."""
    env = caches.fresh()
    t, outputs = interleaved(
        {"10": side(_linear_grad(10), env), "100": side(_linear_grad(100), env)}, SHORT
    )
    big = json.loads(outputs["100"])
    if big["formula"] != {"W": "2*outer(W @ x - y, x)"} or len(big["gradient"]["W"]) != 100:
        raise BenchError("grad 100x100 did not give the matrix form and a 100x100 gradient")
    small = gdcli("grad", "sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]",
                  "--at", "W=0.01", "--shape", "W=2x2", "--format", "json")  # fmt: skip
    rss_small, _ = peak_rss(small, env)
    rss_big, _ = peak_rss(_linear_grad(100), env)
    warm = caches.fresh()
    timed(_two_layer(1), warm)  # fill the cache: both sides below start warm
    t2, out2 = interleaved(
        {
            "one": side(_two_layer(1), warm),
            "full": side(_two_layer(1000), warm),
            "base1": side(baseline("two_layer_numpy.py", "1"), env),
            "base": side(baseline("two_layer_numpy.py", "1000"), env),
        },
        LONG,
    )
    ours = float(out2["full"].split()[-1])
    theirs = float(out2["base"])
    if abs(ours - theirs) > 1e-9 * max(1.0, abs(theirs)):
        raise BenchError(f"two-layer descend: loss {ours!r} but the hand loop gives {theirs!r}")
    per_step = (t2["full"] - t2["one"]) / 999
    per_step_base = (t2["base"] - t2["base1"]) / 999
    ratio = per_step / per_step_base if per_step_base > 0 else float("inf")
    delta = (rss_big - rss_small) / MB
    return Figure(
        [
            ratio_row("A1 grad 100x100 / grad 10x10 (whole process)", t["100"], t["10"], 1.6),
            Row(
                "A2 peak RSS: grad 100x100 - grad 2x2",
                f"{rss_big / MB:.1f} MB",
                f"{rss_small / MB:.1f} MB",
                f"{delta:+.1f} MB",
                "<= +60 MB",
                delta <= 60,
            ),
            Row(
                "A3 two-layer 50x50 descend, per step / hand NumPy",
                f"{per_step * 1e6:.0f} us",
                f"{per_step_base * 1e6:.0f} us",
                f"{ratio:.2f}x",
                "<= 3.0x",
                ratio <= 3.0,
            ),
            Row(
                "A3i two-layer 50x50, 1000 steps, whole process",
                secs(t2["full"]),
                secs(t2["base"]),
                f"{t2['full'] / t2['base']:.2f}x",
                "(info)",
                None,
            ),
        ],  # fmt: skip
        [
            "A1: sum((W @ x - y)**2) at W = 0.01, x = y = a fixed vector; the engine's reverse "
            "pass, no symbolic expansion (10x10 and 100x100 both exceed the 64 entries that "
            "get partials one by one).",
            "A3: per step = (time of 1000 steps - time of 1 step) / 999 on both sides, so "
            "start-up and imports cancel; gdcli's cache is warm; the same final loss on both.",
        ],
    )


FEATURES = 10
DATA_LOSS = "(dot(w, x) + b - y)**2"


def _data_file(caches: Caches, rows: int) -> Path:
    """A CSV of `rows` examples (x1..x10, y), y = x . linspace(-1, 1, 10) + 0.5 + noise,
    seeded, 6 significant digits (about 10 MB for 100,000 rows)."""
    import numpy as np

    rng = np.random.default_rng(2024)
    X = rng.normal(size=(rows, FEATURES))
    y = X @ np.linspace(-1, 1, FEATURES) + 0.5 + rng.normal(0, 0.1, rows)
    path = Path(caches.root) / f"data-{rows}.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join([*(f"x{i + 1}" for i in range(FEATURES)), "y"]) + "\n")
        for features, target in zip(X.tolist(), y.tolist(), strict=True):
            f.write(",".join(f"{v:.6g}" for v in [*features, target]) + "\n")
    return path


def _data_descend(path: Path, epochs: int, *extra: str) -> list[str]:
    columns = ",".join(f"x{i + 1}" for i in range(FEATURES))
    return gdcli("descend", DATA_LOSS, "--data", str(path), "--vector", f"x={columns}",
                 "--start", "w=0,b=0", "--shape", f"w={FEATURES}", "--batch-size", "64",
                 "--epochs", str(epochs), "--lr", "0.01", *(extra or ("--quiet",)))  # fmt: skip


def fig_data(caches: Caches) -> Figure:
    """Training data: one epoch of mini-batch SGD over 100,000 rows x 10 features."""
    env = caches.fresh()
    big, small = _data_file(caches, 100_000), _data_file(caches, 10_000)
    t, out = interleaved(
        {
            "gdcli": side(_data_descend(big, 1), env),
            "base": side(baseline("minibatch_numpy.py", str(big), "0.01", "1"), env),
        },
        LONG,
    )
    ours = [float(v) for v in out["gdcli"].split()]
    theirs = [float(v) for v in out["base"].split()]
    rel = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(ours, theirs, strict=True))
    _, report = timed(_data_descend(big, 1, "--format", "json"), env, capture=True)
    steps = json.loads(report)["steps"]
    if len(steps) != 1564 or len(steps[0]["batch"]) != 64 or len(steps[-2]["batch"]) != 32:
        raise BenchError("one epoch of 100,000 rows in batches of 64 is not 1,563 steps")
    rss1, _ = peak_rss(_data_descend(big, 1), env)
    rss10, _ = peak_rss(_data_descend(big, 10), env)
    rss_small, _ = peak_rss(_data_descend(small, 1), env)
    rss_base, _ = peak_rss(baseline("minibatch_numpy.py", str(big), "0.01", "1"), env)
    floats = 90_000 * (FEATURES + 1) * 8  # the floats of the 90,000 more rows
    grows = (rss1 - rss_small) / floats
    return Figure(
        [
            ratio_row(
                "D1 1 epoch 1e5x10, batch 64, --quiet / NumPy loop", t["gdcli"], t["base"], 2.5
            ),
            Row(
                "D1b same final w, b and loss (rel. diff <= 1e-9)",
                repr(ours[-1]),
                repr(theirs[-1]),
                f"{rel:.1e}",
                "<= 1e-9",
                rel <= 1e-9,
            ),
            Row(
                "D2 peak RSS: 10 epochs - 1 epoch (15,630 - 1,563 steps)",
                f"{rss10 / MB:.1f} MB",
                f"{rss1 / MB:.1f} MB",
                f"{(rss10 - rss1) / MB:+.1f} MB",
                "<= +10 MB",
                rss10 - rss1 <= 10 * MB,
            ),
            Row(
                "D3 peak RSS: 1e5 rows - 1e4 rows, per byte of their floats",
                f"{rss1 / MB:.1f} MB",
                f"{rss_small / MB:.1f} MB",
                f"{grows:.2f}x",
                "<= 3.0x",
                grows <= 3.0,
            ),
            Row(
                "D3i peak RSS: gdcli / NumPy loop, 1e5 rows",
                f"{rss1 / MB:.1f} MB",
                f"{rss_base / MB:.1f} MB",
                f"{rss1 / rss_base:.2f}x",
                "(info)",
                None,
            ),
        ],  # fmt: skip
        [
            f"D1: {DATA_LOSS} with --vector x=x1..x10 over a 10 MB CSV (100,000 rows, 11 "
            "columns, 6 significant digits), one epoch of batches of 64 (1,563 updates, the last "
            "batch 32), --quiet; the baseline (baselines/minibatch_numpy.py) reads the CSV with "
            "numpy.loadtxt and shuffles with default_rng(0) as gdcli documents; both print the "
            "same final weights and the loss over every example.",
            "D2/D3: memory follows the data (NumPy's floats, read from the file as a stream), "
            "not the steps: the run keeps no history with --quiet.",
        ],
    )


# --- G: grading a class (issue 15) --------------------------------------------------------------

QUESTIONS = [  # loss, right answers (several forms), wrong answers
    ("(w-3)**2", ["2*(w-3)", "2*w-6", "-2*(3-w)", "2*(w - 3)"], ["2*(w+3)", "w-3", "2*w"]),
    ("w**3 - 2*w", ["3*w**2 - 2", "3*w^2-2", "-2 + 3*w*w"], ["3*w**2", "3*w - 2", "w**2-2"]),
    ("sin(w)**2", ["2*sin(w)*cos(w)", "sin(2*w)"], ["2*sin(w)", "cos(w)**2", "2*cos(w)"]),
    ("exp(2*w)", ["2*exp(2*w)", "exp(2*w)*2"], ["exp(2*w)", "2*exp(w)"]),
    ("max(0, 3*w+2)", ["3*(3*w+2 > 0)", "3*Heaviside(3*w+2)", "3*(w > -2/3)"],
     ["3", "3*(w > 0)", "(3*w+2 > 0)", "3*(w > -0.66)"]),
    ("sigmoid(w)", ["sigmoid(w)*(1-sigmoid(w))", "exp(-w)/(1+exp(-w))**2"],
     ["sigmoid(w)", "1-sigmoid(w)"]),
    ("log(1+exp(w))", ["sigmoid(w)", "exp(w)/(1+exp(w))", "1/(1+exp(-w))"],
     ["1/(1+exp(w))", "exp(w)"]),
    ("tanh(w)", ["1-tanh(w)**2", "1 - tanh(w)^2"], ["tanh(w)**2", "1+tanh(w)**2"]),
    ("abs(w-1)", ["sign(w-1)", "(w-1)/abs(w-1)", "(w-1)/sqrt(w**2-2*w+1)"], ["sign(w)", "1"]),
    ("(w*x - y)**2", ["2*x*(w*x - y)", "2*x**2*w - 2*x*y"], ["2*(w*x-y)", "x*(w*x-y)"]),
]  # fmt: skip
UNPARSABLE = ["2w", "sin w", "(w-3)(w+1)", "2*w +", "foo(w)", "w^^2"]
SLOW = "max(" + ", ".join(f"{k}*w+{k * k}" for k in range(32)) + ")"  # takes its whole budget


def class_file(path: Path, rows: int = 300, seed: int = 15) -> Counter[str]:
    """A class's answers: right in several forms, wrong, unparsable, and one row that
    runs out of time; returns the statuses expected of them."""
    import random

    rng = random.Random(seed)
    expected: Counter[str] = Counter()
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "student", "loss", "answer"])
        for k in range(rows - 1):
            loss, right, wrong = QUESTIONS[k % len(QUESTIONS)]
            r = rng.random()
            kind, answers = (("correct", right) if r < 0.55 else ("wrong", wrong) if r < 0.9
                             else ("unparsable", UNPARSABLE))  # fmt: skip
            writer.writerow([k + 1, f"student {k // len(QUESTIONS)}", loss, rng.choice(answers)])
            expected[kind] += 1
        writer.writerow([rows, "the slow one", SLOW, "1"])
        expected["error"] += 1
    return expected


def fig_grading(caches: Caches) -> Figure:
    folder = Path(caches.root)
    answers = folder / "class.csv"
    expected = class_file(answers)
    env = {**caches.fresh(), "GDCLI_NO_CACHE": "1"}
    batch = gdcli("check", "--batch", str(answers), "--format", "csv")
    t, out = interleaved(
        {"batch": side(batch, env), "one": side(gdcli("check", "w**2", "2*w"), env)}, LONG
    )
    records = list(csv.DictReader(io.StringIO(out["batch"])))
    got = Counter(r["status"] for r in records)
    slow = records[-1]
    if len(records) != 300 or got != expected or not slow["reason"].startswith("too slow"):
        raise BenchError(f"check --batch judged {dict(got)}, expected {dict(expected)}")
    with answers.open(encoding="utf-8") as f:
        distinct = len({(r["loss"], r["answer"]) for r in csv.DictReader(f)})
    rows = [ratio_row("G1 check --batch 300 rows / one check call", t["batch"], t["one"], 15.0)]

    warm_env = caches.fresh()
    calls = {
        "derive": gdcli("derive", "(w-3)**2", "--format", "json"),
        "grad": gdcli("grad", "(x-1)**2 + 10*(y+2)**2", "--at", "x=0,y=0", "--format", "json"),
        "check": gdcli("check", "sin(w)**2", "sin(2*w)", "--format", "json"),
    }
    sides = {name: side(cmd, warm_env) for name, cmd in calls.items()}
    sides["mini"] = side(baseline("mini_typer.py", "a", "--x", "1"), warm_env)
    tw, outw = interleaved(sides, SHORT)  # the untimed first run of each fills the cache
    if json.loads(outw["derive"]).get("slope") != -4.0:
        raise BenchError("warm derive did not give the slope -4")
    if json.loads(outw["grad"]).get("gradient") != {"x": -2.0, "y": 40.0}:
        raise BenchError("warm grad did not give the gradient (-2, 40)")
    if json.loads(outw["check"]).get("equal") is not True:
        raise BenchError("warm check did not accept sin(2*w)")
    for k, name in enumerate(calls, start=2):
        rows.append(ratio_row(f"G{k} warm {name} --format json / mini a --x 1", tw[name],
                              tw["mini"], 1.5))  # fmt: skip
    heavy = []
    for name, cmd in calls.items():
        proc = subprocess.run([PYTHON, "-X", "importtime", "-m", "gdcli", *cmd[1:]],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=warm_env,
                              cwd=ROOT, timeout=TIMEOUT, text=True)  # fmt: skip
        if "sympy" in proc.stderr or proc.returncode != 0:
            heavy.append(name)
    rows.append(Row("G5 warm derive/grad/check import no sympy",
                    ", ".join(heavy) or "no sympy", "", "", "no sympy", not heavy))  # fmt: skip
    rows.append(_bad_input_row(folder))
    return Figure(
        rows,
        [
            f"G1: {len(records)} rows ({distinct} distinct questions and answers), judged "
            f"{dict(got)}; the last row ({SLOW[:24]}..., answer 1) runs out of its 3 s budget, "
            "as it would alone. Both sides start a fresh process; no cache.",
            "G2-G4: the same command again (warm result cache) against the two-command Typer "
            "app; G5: python -X importtime of each warm call.",
        ],
    )


COMPARE_LOSS = "(x-1)**2 + 10*(y+2)**2"
COMPARE_RUNS = [("sgd lr=0.01", ["--lr", "0.01"]),
                ("sgd lr=0.01 momentum=0.9", ["--lr", "0.01", "--momentum", "0.9"]),
                ("adam lr=0.01", ["--optimizer", "adam", "--lr", "0.01"])]  # fmt: skip


def fig_compare(caches: Caches) -> Figure:
    """compare: three runs of 10,000 steps in one process, against the three descend
    calls it replaces (each writing its JSON)."""
    env = caches.fresh()
    common = ["--start", "x=0,y=0", "--steps", "10000", "--tol", "0", "--format", "json"]
    runs = [a for text, _ in COMPARE_RUNS for a in ("--run", text)]
    compare_cmd = gdcli("compare", COMPARE_LOSS, *runs, *common)
    descends = [gdcli("descend", COMPARE_LOSS, *opts, *common) for _, opts in COMPARE_RUNS]

    def three(capture: bool) -> tuple[float, str]:
        total, outs = 0.0, []
        for cmd in descends:
            seconds, out = timed(cmd, env, capture)
            total += seconds
            outs.append(out)
        return total, "\n".join(outs)

    t, outputs = interleaved({"compare": side(compare_cmd, env), "descend": three}, LONG)
    data = json.loads(outputs["compare"])
    singles = [json.loads(text) for text in outputs["descend"].split("\n{")[:1]]
    if data["runs"][0]["final"]["params"] != singles[0]["final"]["params"]:
        raise BenchError("compare's first run differs from descend's")
    return Figure(
        [
            ratio_row(
                "C  compare 3 runs x 1e4 steps / 3 descend calls", t["compare"], t["descend"], 0.5
            )
        ],  # fmt: skip
        [
            "C: both sides --format json (descend writes every step, compare the summaries); "
            "target: well under 2x, stated here as <= 0.5x."
        ],
    )


def _fifty() -> list[str]:
    """The inputs and weights of the two 50x50 layers (as the A3 figure has them)."""
    x = _vector(50, 0.1)
    return ["--set", f"x={x}", "--set", f"y={x}", "--at", "W1=0.01,W2=0.02",
            "--shape", "W1=50x50", "--shape", "W2=50x50"]  # fmt: skip


def _backprop(*extra: str) -> list[str]:
    return gdcli("backprop", "mean((yhat - y)**2)", "--let", "h=tanh(W1@x)",
                 "--let", "yhat=tanh(W2@h)", *_fifty(), *extra)  # fmt: skip


def fig_backprop(caches: Caches) -> Figure:
    """backprop through two 50x50 layers, whole process: against grad of the same loss
    (the gradient alone), and against a hand-written NumPy backprop (start, one step)."""
    env = caches.fresh()
    t, out = interleaved(
        {
            "json": side(_backprop("--format", "json"), env),
            "grad": side(
                gdcli("grad", TWO_LAYER, *_fifty(), "--format", "json", "--no-cache"), env
            ),
            "check": side(_backprop("--check", "--quiet"), env),
            "base": side(baseline("two_layer_numpy.py", "1"), env),
        },
        LONG,
    )
    data = json.loads(out["json"])
    grad = json.loads(out["grad"])
    nodes = {n["name"]: n for n in data["nodes"]}
    if any(nodes[w]["grad"] != grad["gradient"][w] for w in ("W1", "W2")):
        raise BenchError("backprop 50x50: the weights' gradients are not grad's")
    if float(out["check"]) > 1e-6:
        raise BenchError(f"backprop 50x50 --check: relative difference {out['check'].strip()}")
    return Figure(
        [
            ratio_row(
                "B1 backprop 50x50 / grad 50x50 (whole process, json)", t["json"], t["grad"], 1.5
            ),
            ratio_row(
                "B2 backprop 50x50 / hand NumPy backprop (start + 1 step)",
                t["json"],
                t["base"],
                None,
            ),
            ratio_row(
                "B3 backprop 50x50 --check / hand NumPy backprop", t["check"], t["base"], None
            ),
        ],
        [
            "B: mean((tanh(W2 @ tanh(W1 @ x)) - y)**2) with W1, W2 of 50x50, named as layers "
            "(--let h=tanh(W1@x) --let yhat=tanh(W2@h)); the gdcli column of B1 is the time a "
            "student waits (target: about a second). B1 checks that every weight's gradient is "
            "grad's, B3 (5000 entries, two losses each) that the gradient check agrees; the "
            "baseline of B2, B3 is benchmarks/baselines/two_layer_numpy.py 1. grad runs with "
            "--no-cache: it computes the gradient each time, as backprop does (a warm grad is "
            "a cached answer, row G3)."
        ],
    )


def _bad_input_row(folder: Path) -> Row:
    """A missing column, an empty file, too many fields, a negative tolerance, an unknown
    exercise kind: exit 2, naming the row or option, with the rows judged before kept."""
    (folder / "nocolumn.csv").write_text("id,loss,reply\n1,w**2,2*w\n")
    (folder / "empty.csv").write_text("")
    (folder / "fields.csv").write_text("id,loss,answer\n1,w**2,2*w\n2,max(0,w),1\n")
    (folder / "rtol.csv").write_text("id,loss,answer,rtol\n1,w**2,2*w,\n2,w**2,2*w,-1\n")
    cases = [
        (["check", "--batch", str(folder / "nocolumn.csv")], "'answer' column", 0),
        (["check", "--batch", str(folder / "empty.csv")], "is empty", 0),
        (["check", "--batch", str(folder / "fields.csv"), "-f", "csv"], "row 2 (line 3)", 1),
        (["check", "--batch", str(folder / "rtol.csv"), "-f", "csv"], "row 2 (line 3)", 1),
        (["check", "w**2", "2*w", "--rtol", "-1"], "--rtol", 0),
        (["exercise", "integral", "--seed", "1"], "KIND", 0),
    ]
    failed = []
    for args, needle, kept in cases:
        proc = subprocess.run([str(GDCLI), *args], capture_output=True, text=True,
                              env=base_env(), cwd=ROOT, timeout=TIMEOUT)  # fmt: skip
        judged = proc.stdout.count("correct")
        if proc.returncode != 2 or needle not in proc.stderr or judged != kept:
            failed.append(args[1])
    return Row("G6 bad input: exit 2, row or option named, judged rows kept",
               f"{len(cases) - len(failed)}/{len(cases)}", "", "", "all", not failed)  # fmt: skip


FIGURES: list[tuple[str, Callable[[Caches], Figure]]] = [
    ("1 --help", fig_help),
    ("2 cold derive", fig_derive),
    ("3 warm descend", fig_warm),
    ("4 1e6 steps", fig_million),
    ("T traces", fig_traces),
    ("5 sweep", fig_sweep),
    ("6 peak RSS", fig_memory),
    ("M matrix", fig_matrix),
    ("A arrays", fig_arrays),
    ("C compare", fig_compare),
    ("B backprop", fig_backprop),
    ("D data", fig_data),
    ("G grading", fig_grading),
]


# ---------------------------------------------------------------------------
# report


def table(rows: list[Row]) -> str:
    head = Row("figure", "gdcli", "baseline", "value", "target", None)
    cells = [
        [r.figure, r.gdcli, r.baseline, r.value, r.target, "result" if r is head else verdict(r)]
        for r in [head, *rows]
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(row: Row) -> str:
    return {True: "PASS", False: "FAIL", None: "info"}[row.ok]


def check_install() -> None:
    if not GDCLI.exists():
        sys.exit(
            f"bench: error: gdcli is not installed next to {PYTHON} ({GDCLI} is missing); "
            "run `make install` or run this script with the venv's python"
        )
    try:
        subprocess.run(
            [str(GDCLI), "--version"],
            check=True,
            capture_output=True,
            timeout=TIMEOUT,
            env=base_env(),
        )
        # PYTHONDONTWRITEBYTECODE may be set: compile both sides once, as `make install` does
        subprocess.run(
            [PYTHON, "-m", "compileall", "-q", "gdcli", "benchmarks/baselines"],
            check=True,
            capture_output=True,
            timeout=TIMEOUT,
            cwd=ROOT,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        sys.exit(f"bench: error: {GDCLI} does not run: {exc}")


def main() -> int:
    check_install()
    print(f"gdcli benchmarks: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {GDCLI}")
    print(
        f"times are medians of {SHORT} (start-up) or {LONG} (long) interleaved runs; "
        "ratio = gdcli / baseline; MB = 10^6 bytes\n"
    )
    caches = Caches()
    rows: list[Row] = []
    notes: list[str] = []
    errors: list[str] = []
    begin = time.perf_counter()
    only = sys.argv[1:]  # `run.py A M`: only the figures whose names start so
    try:
        for name, figure in FIGURES:
            if only and not any(name.startswith(prefix) for prefix in only):
                continue
            print(f"running {name} ...", file=sys.stderr, flush=True)
            try:
                result = figure(caches)
            except (BenchError, ValueError, KeyError, IndexError) as exc:
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
                rows.append(Row(name, "", "", "", "", False))
                continue
            rows.extend(result.rows)
            notes.extend(result.notes)
    finally:
        caches.close()
    print(table(rows))
    print()
    for note in notes:
        print(note)
    for error in errors:
        print(f"ERROR {error}")
    judged = [r for r in rows if r.ok is not None]
    failed = [r.figure.split()[0] for r in judged if not r.ok]
    print(
        f"\nsummary: {len(judged) - len(failed)}/{len(judged)} targets met"
        + (f"; missed: {', '.join(failed)}" if failed else "")
        + (f"; {len(errors)} benchmark(s) could not run" if errors else "")
        + f" ({time.perf_counter() - begin:.0f} s)"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
