"""Issue 17, checked from outside: other members of each class than the issue's
examples. Every expectation here comes from the documented contract (exit codes,
one error line) or from an independent computation, never from gdcli's own output."""

from __future__ import annotations

import signal

import pytest
from helpers import run_cli


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[0].startswith("gdcli: error: "), err
    assert all(ln.startswith(("gdcli: error: ", "hint: ")) for ln in lines), err
    assert "Traceback" not in err
    return lines[0]


# --- class 4: the environment ----------------------------------------------------------


@pytest.mark.parametrize("value", ["1e10", "9.3e9", "1e18", "1e300", "2e6"])
def test_a_time_limit_beyond_a_cpu_timer_is_bad_input(value: str) -> None:
    """A finite but huge GDCLI_TIME_LIMIT overflowed setitimer's time_t (exit 70)."""
    r = run_cli(["derive", "w**2"], env={"GDCLI_TIME_LIMIT": value})
    assert r.code == 2
    assert "GDCLI_TIME_LIMIT" in one_error_line(r.err)


def test_the_budget_itself_never_overflows_the_timer() -> None:
    """The core is safe whatever the CLI passes in: a budget beyond what the CPU timer
    holds is simply no limit in practice."""
    from gdcli.budget import time_limit

    if not hasattr(signal, "setitimer"):
        pytest.skip("no CPU timer on this platform")
    for seconds in (1e10, 1e300, float("inf")):
        with time_limit(seconds):
            assert signal.getitimer(signal.ITIMER_PROF)[0] > 0
        assert signal.getitimer(signal.ITIMER_PROF)[0] == 0


def test_ctrl_c_inside_a_command_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer turns a KeyboardInterrupt inside a command into a silent Exit(130): the
    exit code was right, but stderr had no line at all."""
    from gdcli.cli import env

    def interrupted() -> float:
        raise KeyboardInterrupt

    monkeypatch.setattr(env, "time_limit", interrupted)
    r = run_cli(["derive", "w**2"])
    assert r.code == 130
    assert one_error_line(r.err) == "gdcli: error: interrupted"


def _interrupt_while_stdout_is_full(args: list[str]) -> tuple[int, str, str]:
    """Start gdcli with stdout a pipe nobody reads: once it has written, the pipe fills
    and gdcli blocks in write(); Ctrl-C then, and read everything."""
    import os
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("GDCLI_")}
    env["GDCLI_NO_CACHE"] = "1"
    p = subprocess.Popen(
        [sys.executable, "-m", "gdcli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert p.stdout is not None
    first = os.read(p.stdout.fileno(), 1)  # output has started (unbuffered: nothing lost)
    time.sleep(0.8)  # ... and the pipe (64 KB) is full long before this
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    return p.returncode, (first + out).decode(), err.decode()


LONG_RUN = [
    "descend",
    "sin(w)**2 + w**2/1000",
    "--lr",
    "1e-4",
    "--steps",
    "100000000",
    "--tol",
    "0",
]


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or signal.SIGINT is None, reason="POSIX")
def test_ctrl_c_while_the_pipe_is_full_keeps_the_json_whole() -> None:
    """A write longer than the stream's buffer, into a full pipe, lost its tail when
    the deferred Ctrl-C's handler ran: a cut document (invalid JSON, exit 130)."""
    import json

    code, out, err = _interrupt_while_stdout_is_full([*LONG_RUN, "--format", "json"])
    assert code == 130
    assert one_error_line(err) == "gdcli: error: interrupted"
    doc = json.loads(out)
    assert doc["status"] == "interrupted"
    steps = [s["step"] for s in doc["steps"]]
    assert steps == list(range(len(steps)))  # every step, none cut out
    assert doc["final"]["step"] == steps[-1]


@pytest.mark.parametrize("fmt", ["csv", "plain"])
def test_ctrl_c_ends_csv_and_plain_at_a_row_boundary(fmt: str) -> None:
    """csv and plain were cut mid-row by Ctrl-C: a cut number is a wrong number."""
    import csv
    import io

    code, out, err = _interrupt_while_stdout_is_full([*LONG_RUN, "--format", fmt])
    assert code == 130
    assert one_error_line(err) == "gdcli: error: interrupted"
    assert out.endswith("\n")
    rows = list(csv.reader(io.StringIO(out), delimiter="," if fmt == "csv" else "\t"))
    header, body = rows[0], rows[1:]
    assert body and all(len(row) == len(header) for row in body)
    assert [int(row[0]) for row in body] == list(range(len(body)))
    for row in body:  # every number whole: w - lr * grad reproduces the next w
        float(row[1]), float(row[2])


# --- class 1: kinks inside logs and roots -----------------------------------------------


@pytest.mark.parametrize("loss", ["max(log(w), 0)", "relu(log(w))", "min(sqrt(w), 1)"])
@pytest.mark.parametrize("at", ["-1", "-2.5"])
def test_check_at_a_point_outside_the_domain_of_a_kink(loss: str, at: str) -> None:
    """The derivative holds Heaviside(log(w)): SymPy raises building it at w < 0
    (Heaviside of a complex number), which was exit 70. The slope is not a real
    number there: exit 3, one line."""
    r = run_cli(["check", loss, "0", "--at", at])
    assert r.code == 3
    assert "not a real number" in one_error_line(r.err)


@pytest.mark.parametrize("answer", ["Heaviside(log(w))", "1/w*Heaviside(log(w))"])
def test_check_an_answer_undefined_at_the_point(answer: str) -> None:
    """An answer SymPy cannot build at the point (Heaviside(log(-1))) is no exit 70."""
    r = run_cli(["check", "abs(log(w))", answer, "--at", "-1"])
    assert r.code in (1, 3)
    assert "Traceback" not in r.err and "internal error" not in r.err


def test_check_right_and_wrong_answers_with_a_kink_in_a_log() -> None:
    """d/dw max(log(w), 0) = 1/w for w > 1, 0 for 0 < w < 1 (by hand)."""
    assert run_cli(["check", "max(log(w), 0)", "Heaviside(log(w))/w"]).code == 0
    assert run_cli(["check", "max(log(w), 0)", "0", "--at", "0.5"]).code == 0
    assert run_cli(["check", "max(log(w), 0)", "1/w", "--at", "4"]).code == 0
    assert run_cli(["check", "max(log(w), 0)", "0", "--at", "4"]).code == 1


# --- classes 6 and 7: a sweep over vectors and matrices ---------------------------------


def _json(args: list[str]) -> dict[str, object]:
    import json

    r = run_cli([*args, "--format", "json"])
    assert r.code in (0, 3), r.err
    doc = json.loads(r.out)
    assert isinstance(doc, dict)
    return doc


@pytest.mark.parametrize("shape", ["30x30", "100x100"])
def test_a_sweep_over_a_big_matrix_just_works(shape: str) -> None:
    """sum(W**2) over 30x30 was 'too deeply nested' (exit 4), over 100x100 exit 70 (the
    scalar source of 10,000 squares broke Python's parser). By hand: from W = 1 one step
    of lr = 1/4 halves every entry, so the loss is a quarter of the entries' count."""
    rows, cols = map(int, shape.split("x"))
    doc = _json(
        ["sweep", "sum(W**2)", "--shape", f"W={shape}", "--start", "W=1"]
        + ["--lr", "0.25,0.5", "--steps", "1", "--tol", "0"]
    )
    runs = doc["runs"]
    assert isinstance(runs, list)
    assert runs[0]["final_loss"] == rows * cols / 4
    assert runs[1]["final_loss"] == 0.0
    assert runs[0]["params"]["W"] == [[0.5] * cols] * rows


LOSSES_OVER_ARRAYS = [
    ["sum(W**2*0.37 + sin(W))", "--shape", "W=3x4",
     "--start", "W=[[0.1,0.2,0.3,0.4],[1.1,1.2,1.3,1.4],[2.1,2.2,2.3,2.4]]"],
    ["sum((W @ x - y)**2)", "--set", "x=[1,2,0.3]", "--set", "y=[1,-1]",
     "--start", "W=[[0.1,0.7,-0.3],[0.2,0.5,1.1]]", "--shape", "W=2x3"],
    ["mean((tanh(w*x) - y)**2)", "--set", "x=[1,-1,2,0.5,3,1.7,-2.2,0.1,0.9]",
     "--set", "y=[0,1,0.5,0.2,0.1,0.3,0.9,0.4,1]", "--start", "w=0.7"],
]  # fmt: skip
RULES = [
    [],
    ["--optimizer", "adam"],
    ["--optimizer", "rmsprop", "--centered"],
    ["--optimizer", "adagrad"],
    ["--optimizer", "sgd", "--momentum", "0.9", "--nesterov"],
    ["--scheduler", "cosine", "--t-max", "20"],
]


@pytest.mark.parametrize("loss", LOSSES_OVER_ARRAYS, ids=["sin", "matmul", "data"])
@pytest.mark.parametrize(
    "rule", RULES, ids=["sgd", "adam", "rmsprop", "adagrad", "nesterov", "cosine"]
)
def test_a_sweep_over_arrays_is_descend_to_the_bit(loss: list[str], rule: list[str]) -> None:
    """The README: each run of a sweep is what descend gives. Over arrays the sweep
    ran SymPy's scalar source (its own order of terms) while descend runs the array
    engine: the final loss of sum(W**2*0.37 + sin(W)) at lr 0.3 differed in the last
    bit (-4.470658978779605 vs ...606)."""
    lrs = ["0.01", "0.3", "0.9"]
    sweep = _json(["sweep", *loss, *rule, "--lr", ",".join(lrs), "--steps", "40"])
    runs = sweep["runs"]
    assert isinstance(runs, list)
    for lr, run in zip(lrs, runs, strict=True):
        descend = _json(["descend", *loss, *rule, "--lr", lr, "--steps", "40"])
        final = descend["final"]
        assert isinstance(final, dict)
        assert (run["status"], run["final_loss"], run["params"]) == (
            descend["status"], final["loss"], final["params"]
        )  # fmt: skip


# --- class 7: one rule for every number typed -------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["descend", "--lr", "1e-330"],  # was lr 0 (w never moved), exit 0
        ["descend", "--lr=-1e-330"],
        ["descend", "--lr", "1e330"],
        ["descend", "--tol", "1e-400"],
        ["descend", "--optimizer", "adam", "--eps", "1e-330"],
        ["descend", "--scheduler", "step", "--step-size", "2", "--gamma", "1e-400"],
        ["derive", "w**2", "--h-min", "1e-330"],
        ["compare", "--run", "sgd lr=1e-331"],  # was lr 0, exit 0
        ["compare", "--run", "sgd lr=0.1 momentum=1e-330"],
        ["descend", "--start", "1e-330"],  # the expression side, for comparison
    ],
)
def test_a_number_beyond_the_float_range_is_bad_input_in_every_option(args: list[str]) -> None:
    """The README: a number typed must be 0 or lie between 5e-324 and 1.8e308 in size.
    Float options read by Click took 1e-330 for 0 without a word."""
    r = run_cli(args)
    assert r.code == 2
    assert "out of range" in one_error_line(r.err)


@pytest.mark.parametrize("value", ["5e-324", "0", "1.7e308", "2.5e-310"])
def test_a_number_inside_the_float_range_is_taken(value: str) -> None:
    r = run_cli(["descend", "--tol", value, "--steps", "3"])
    assert r.code == 0, r.err


@pytest.mark.parametrize("loss", ["w - w + 1", "w/w", "log(w, w)", "0*w**2 + 3"])
def test_check_a_loss_whose_weight_cancels(loss: str) -> None:
    """A loss that does not depend on its weight has derivative 0 (by hand): a wrong
    answer (1) is exit 1. With no weight left the point search took max(1.0, *[])
    (exit 70)."""
    assert run_cli(["check", loss, "0"]).code == 0
    r = run_cli(["check", loss, "1"])
    assert r.code == 1, r.err
    assert "false" in r.out.splitlines()[1].split("\t")  # the equal column


@pytest.mark.parametrize(
    ("loss", "at"),
    [("sign(log(w))", "-1"), ("sign(acos(w))", "3"), ("Heaviside(log(w))", "-1"),
     ("sign(sqrt(w))", "-1"), ("sin(w)/w", "0")],
)  # fmt: skip
def test_check_at_a_point_where_the_loss_is_undefined_agrees_with_derive(
    loss: str, at: str
) -> None:
    """log(-1), acos(3), sqrt(-1) are not real numbers, so neither is the loss nor its
    slope there: derive says so (exit 3) while check called the answer 0 'correct'
    (its derivative, 0 wherever sign is flat, never looked at the loss)."""
    assert run_cli(["derive", loss, "--at", at]).code == 3
    r = run_cli(["check", loss, "0", "--at", at])
    assert r.code == 3
    assert "not a real number" in one_error_line(r.err)


# --- class 4: the OS: a pipe as the data file -------------------------------------------


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="POSIX")
def test_training_data_from_a_pipe(tmp_path: pytest.TempPathFactory) -> None:
    """`--data <(...)` and a FIFO cannot seek: the two-pass reader raised
    UnsupportedOperation (exit 70). By hand: the least squares w of y = w*x through
    (1, 2) and (3, 5) is (1*2 + 3*5) / (1 + 9) = 1.7."""
    import os
    import threading
    from pathlib import Path

    fifo = Path(str(tmp_path)) / "data.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "w", encoding="utf-8") as f:
            f.write("x,y\n1,2\n3,5\n")

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        r = run_cli(["descend", "(w*x - y)**2", "--data", str(fifo), "--steps", "200", "-q"])
    finally:
        writer.join(timeout=10)
    assert r.code == 0, r.err
    w, loss = map(float, r.out.split())
    assert w == pytest.approx(1.7, abs=1e-9)
    assert loss == pytest.approx(((1.7 - 2) ** 2 + (5.1 - 5) ** 2) / 2, abs=1e-9)


@pytest.mark.parametrize("where", ["argument", "GDCLI_LOSS"])
@pytest.mark.parametrize("command", ["descend", "grad", "derive", "check"])
def test_an_expression_with_a_byte_that_is_not_utf8(
    where: str, command: str, tmp_path: pytest.TempPathFactory
) -> None:
    """`gdcli descend $'w\\xff'`: Python hands the byte over as a lone surrogate, and
    the cache key could not encode it (exit 70, with the cache on). Bad input: exit 2,
    one line, with the column."""
    text = "w\udcff"
    args = (
        [command] + ([text] if where == "argument" else []) + (["1"] if command == "check" else [])
    )
    if command == "check" and where == "GDCLI_LOSS":
        pytest.skip("check takes its loss as an argument")
    env = {"GDCLI_NO_CACHE": "", "XDG_CACHE_HOME": str(tmp_path)}
    if where == "GDCLI_LOSS":
        env["GDCLI_LOSS"] = text
    r = run_cli(args, env=env)
    assert r.code == 2, r.err
    line = one_error_line(r.err)
    assert "UTF-8" in line and "column 2" in line


# --- found by `make fuzz` ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [3, 17, 33])
@pytest.mark.parametrize("command", ["grad", "descend", "backprop", "derive"])
def test_lists_nested_past_a_matrix(command: str, depth: int) -> None:
    """Found by the fuzz profile: 33 nested lists passed the depth bound (60) but not
    NumPy's 32 dimensions (exit 70); backprop failed at 3 already (exit 70). gdcli's
    arrays are vectors and matrices: bad input, exit 2."""
    lists = "[" * depth + "w" + "]" * depth
    r = run_cli([command, f"sum({lists})"])
    assert r.code == 2
    assert "at most 2 dimensions" in one_error_line(r.err)


@pytest.mark.parametrize("option", [["--set", "x={}"], ["--at", "W={}"]])
def test_values_nested_past_a_matrix(option: list[str]) -> None:
    value = "[" * 33 + "1" + "]" * 33
    args = ["grad", "sum(W*x)" if option[0] == "--set" else "sum(W)", "--shape", "W=1"]
    args += [option[0], option[1].format(value)]
    if option[0] == "--set":
        args += ["--at", "W=1"]
    r = run_cli(args)
    assert r.code == 2
    assert "at most 2 dimensions" in one_error_line(r.err)


@pytest.mark.parametrize(
    ("args", "code"),
    [(["descend", "--steps", "3"], 0), (["descend", "--lr", "5", "--steps", "100"], 3),
     (["check", "w**2", "3*w"], 1), (["descend", "--lr", "abc"], 2)],
)  # fmt: skip
def test_a_closed_stderr_keeps_the_exit_code(args: list[str], code: int) -> None:
    """`gdcli descend 2>&-`: the notes had nowhere to go and the run ended in exit 70
    (sys.stderr is None); the data is written and the exit code is the command's."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("GDCLI_")}
    env["GDCLI_NO_CACHE"] = "1"
    p = subprocess.run(
        [sys.executable, "-m", "gdcli", *args],  # plain: the notes go to stderr
        stdout=subprocess.PIPE,
        preexec_fn=lambda: os.close(2),  # noqa: PLW1509  (a child of the test only)
        env=env,
        timeout=60,
    )
    assert p.returncode == code
    if code in (0, 3):
        assert p.stdout.decode().startswith("step\t")


@pytest.mark.parametrize("h", ["1e308", "-1e308", "1.7e308"])
def test_a_secant_as_wide_as_the_floats_in_a_table(h: str) -> None:
    """Found by the fuzz profile: slope x --at x=1 --h 1e308 --format table drew a
    picture whose axis (0 to 1e308) plotext's scaling overflowed (exit 70). The table is
    written; the picture says why it is not there."""
    r = run_cli(["slope", "x", "--at", "x=1", "--h", h, "--format", "table"])
    assert r.code in (0, 3), r.err
    assert "Traceback" not in r.err and "internal error" not in r.err


@pytest.mark.parametrize("loss", ["(log(1/2, 2))**w", "(-2)**w", "(-1/3)**w"])
def test_steps_of_a_power_of_a_negative_constant(loss: str) -> None:
    """Found by the fuzz profile: the derivative of (-2)**w holds log(-2), no real
    number, so it is undefined everywhere (exit 2); the message called it a 0/0."""
    r = run_cli(["derive", loss, "--steps"])
    assert r.code == 2
    line = one_error_line(r.err)
    assert "undefined everywhere" in line and "not a real number" in line
    assert "0/0" not in line


# --- class 3: bounded memory ------------------------------------------------------------


def test_compare_over_a_matrix_keeps_no_point_per_step() -> None:
    """compare kept every weight at up to 4000 steps of every run for a picture drawn
    only for two weights: 3 runs of a 100x100 matrix over 5000 steps took 6 GB. The
    final point is still exact: by hand, sgd on sum(W**2)/900 from W = 1 multiplies
    every entry by (1 - 2*lr/900) per step."""
    import json
    import tracemalloc

    steps, lr = 2000, 0.9
    args = ["compare", "sum(W**2)/900", "--shape", "W=30x30", "--start", "W=1"]
    args += ["--run", f"sgd lr={lr}", "--run", "sgd lr=0.45", "--steps", str(steps)]
    tracemalloc.start()
    try:
        r = run_cli([*args, "--tol", "0", "--format", "json"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.code == 0, r.err
    assert peak < 40e6, peak  # was about 120 MB (2 runs x 2000 steps x 900 floats)
    final = json.loads(r.out)["runs"][0]["final"]["params"]["W"]
    factor = 1.0
    for _ in range(steps):
        factor *= 1 - 2 * lr / 900
    assert final[0][0] == pytest.approx(factor, rel=1e-9)
