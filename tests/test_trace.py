"""Traces and fused loops (issue 16): the generated loops of compile/trace give the step
loop's numbers to the last bit, for every update rule, and the chunked writers keep the
json/csv/plain contract; an interrupted trace still ends its document, a closed pipe
ends it quietly.

The reference is always the step loop: `Descent` with the optimizers, through the same
report and writer, its rows one by one."""

from __future__ import annotations

import io
import json
import random
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from helpers import json_output, run_cli, step_loop, strict_json

from gdcli.compile import trace as traces
from gdcli.compile.chunks import Chunk, Chunked
from gdcli.compile.codegen import build
from gdcli.compile.verify import UnsafeSource, verify
from gdcli.descent import Descent
from gdcli.errors import Interrupted
from gdcli.optimizers import make_optimizer, optimizer_factory
from gdcli.parse.expression import parse_loss
from gdcli.render.output import write_csv, write_json, write_plain
from gdcli.reports.descend import descend
from gdcli.stopping import StopRule

RULES = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.1}),
    ("sgd", {"momentum": 0.9, "dampening": 0.3}),
    ("sgd", {"momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("adam", {}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1, "beta1": 0.5}),
    ("adamw", {}),
    ("adamw", {"amsgrad": True, "eps": 0.0}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("rmsprop", {"alpha": 0.5, "eps": 0.0}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.05}),
]
RULE_IDS = [f"{name}-{'-'.join(map(str, hyper.values())) or 'plain'}" for name, hyper in RULES]

# smooth, kinked, diverging, undefined beyond a point, overflowing, of several weights
LOSSES = [
    "(w-3)**2",
    "w**4 - 3*w**2 + w",
    "max(0, 3*w+2) + 0.5*w**2",
    "abs(w - 1) + w**2",
    "exp(-w) + w**2 / 10",
    "sigmoid(w) * w**2",
    "log(w)",
    "sqrt(w) + w**2",
    "exp(w)",
    "w**3",
    "1/w + w**2",
    "sin(w)*w",
    "relu(w) + Heaviside(w)*w",
    "max(w, 2*w)",
    "(w**2)**(1/3)",
    "(x-1)**2 + 10*(y+2)**2",
    "x*y + x**2 + y**4",
    "x**2 + y**2 + z**2 + x*z",
]


def _report(compiled: Any, start: list[float], name: str, hyper: dict[str, Any], lr: float,
            steps: int, every: int = 1, tol: float = 1e-8) -> Any:  # fmt: skip
    return descend(
        compiled, start, optimizer_factory(name, lr, **hyper), StopRule(steps, tol), every,
        False, False, False,
    )  # fmt: skip


def _outputs(compiled: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
    """csv, plain and json of one run: through the trace (chunks) and through the step
    loop (the same report with its rows read one by one)."""
    out: dict[str, str] = {}
    for how in ("trace", "steps"):
        for fmt in ("csv", "plain", "json"):
            report = _report(compiled, *args, **kwargs)
            text = io.StringIO()
            table = report.tables[0]
            if how == "steps":
                table = table._replace(rows=iter(table.rows))
                report.records = iter(report.records)
            else:
                assert isinstance(table.rows, Chunked) and isinstance(report.records, Chunked)
            if fmt == "csv":
                write_csv(table, text)
            elif fmt == "plain":
                write_plain([table], text)
            else:
                write_json(report, text)
            out[f"{how} {fmt}"] = text.getvalue()
    return out


def _cases(seed: int, count: int) -> list[tuple[str, list[float], float, int, int]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        text = rng.choice(LOSSES)
        size = len(parse_loss(text).variables)
        start = [rng.choice([rng.uniform(-3, 3), 0.5, 2.0, -2.0 / 3.0]) for _ in range(size)]
        lr = rng.choice([0.0, 0.01, 0.1, 0.45, 1.5, 30.0, rng.uniform(0, 2)])
        cases.append((text, start, lr, rng.choice([1, 7, 60, 250]), rng.choice([1, 1, 3])))
    return cases


@pytest.mark.parametrize(("name", "hyper"), RULES, ids=RULE_IDS)
@pytest.mark.parametrize("seed", [1, 2])
def test_a_trace_writes_the_step_loops_rows_to_the_bit(name, hyper, seed):
    """csv, plain and json from the trace loop equal the step loop's, every byte: the
    numbers, the updates, the directions, the last row, the tail."""
    for text, start, lr, steps, every in _cases(seed * 100 + len(name), 12):
        compiled = build(parse_loss(text))
        try:
            out = _outputs(compiled, start, name, hyper, lr, steps, every)
        except Exception as exc:  # a start where the loss is not defined: no run at all
            assert "not a real number at the start" in str(exc), exc
            continue
        for fmt in ("csv", "plain", "json"):
            assert out[f"trace {fmt}"] == out[f"steps {fmt}"], (text, start, lr, steps, fmt)


@pytest.mark.parametrize(("name", "hyper"), RULES, ids=RULE_IDS)
def test_the_fused_loop_ends_where_the_step_loop_ends(name, hyper):
    """--quiet's loop: the same outcome, point and loss, bit for bit (or no answer, and
    then the step loop runs)."""
    fused_runs = 0
    for text, start, lr, steps, _ in _cases(7 + len(hyper), 40):
        compiled = build(parse_loss(text))
        rule = StopRule(steps, 1e-8)
        try:
            d = Descent(compiled.evaluate_params, start, optimizer_factory(name, lr, **hyper), rule)
        except Exception:
            continue
        last, outcome = step_loop(d)
        fused = traces.fused(compiled, start, d.first, make_optimizer(name, lr, **hyper), rule)
        if fused is None:
            continue
        fused_runs += 1
        assert fused.outcome == outcome, (text, start, lr)
        assert [repr(p) for p in fused.params] == [repr(p) for p in last.params], (text, start)
        assert repr(fused.loss) == repr(last.loss), (text, start, lr)
    assert fused_runs >= 20


def test_adam_past_its_bias_corrections():
    """Adam's loop stops computing 1 - beta**t once it is 1.0 for good: the same numbers
    as torch's formula at every step, far past that point (beta2 = 0.999: 38,797)."""
    compiled = build(parse_loss("(w-3)**2 + 0.001*w**4"))
    for hyper in ({}, {"amsgrad": True, "beta2": 0.99}):
        rule = StopRule(40_000, 0.0)
        d = Descent(compiled.evaluate_params, [1.0], optimizer_factory("adam", 0.01, **hyper), rule)
        *_, last = d.run()
        fused = traces.fused(compiled, [1.0], d.first, make_optimizer("adam", 0.01, **hyper), rule)
        assert fused is not None and (fused.params, fused.loss) == (last.params, last.loss)
    for beta in (0.0, 0.5, 0.9, 0.999, 0.9999999):
        k = traces.settled(beta)
        assert all(1 - beta**j == 1.0 for j in range(k, k + 2000))


def test_a_long_trace_spans_chunks_and_still_matches():
    """More rows than one chunk (16,384), sampled with --every: the rows at the seams."""
    compiled = build(parse_loss("(w-3)**2 + sin(w)"))
    out = _outputs(compiled, [1.0], "sgd", {"momentum": 0.5}, 0.01, 40_000, 3, 0.0)
    assert out["trace csv"] == out["steps csv"]
    assert out["trace json"] == out["steps json"]
    rows = out["trace csv"].splitlines()
    assert len(rows) == 1 + 40_000 // 3 + 2  # the header, every 3rd step, the last


def test_chunked_json_is_strict_and_complete_when_the_run_diverges():
    """The last record of a diverged run holds inf or nan: null in JSON, the rest
    written from chunks."""
    compiled = build(parse_loss("exp(w*w)"))
    report = _report(compiled, [1.0], "sgd", {}, 1.0, 50)
    text = io.StringIO()
    write_json(report, text)
    data = strict_json(text.getvalue())
    assert data["status"] == "diverged"
    assert data["steps"][-1]["step"] == data["final"]["step"] == data["diverged_at"]
    last = data["steps"][-1]
    assert last["loss"] is None or abs(last["loss"]) > 1e12
    assert last["params"] == data["final"]["params"]


def test_csv_of_a_weight_that_goes_to_inf():
    """update = inf - w and no direction on the row before, nan on the last row, as the
    step loop writes them."""
    compiled = build(parse_loss("-w"))  # at 1e308 the limit of |loss| is inf
    out = _outputs(compiled, [1e308], "sgd", {}, 1e308, 5)
    assert out["trace csv"] == out["steps csv"]
    assert out["trace json"] == out["steps json"]
    first, last = out["trace csv"].splitlines()[-2:]
    assert first.split(",")[4] == "inf" and first.endswith(",")
    assert last.split(",")[1:4] == ["inf", "nan", "nan"]


def test_a_trace_falls_back_to_the_step_loop_mid_run():
    """log(w) raises (a math domain error) when w crosses 0: the loop gives up, the step
    loop writes the rest, from the row where the chunks stopped."""
    compiled = build(parse_loss("log(w) + w*w/1e6"))
    out = _outputs(compiled, [5.0], "sgd", {}, 3.0, 40_000, 1, 0.0)
    assert out["trace csv"] == out["steps csv"]
    assert out["trace json"] == out["steps json"]


def test_a_loss_that_is_int_valued_is_written_as_floats():
    """The slope of max(0, 3*w) is the int 3 (a branch of ints times 3) in Python: the
    rows still say 3.0, as the step loop's float() makes them."""
    compiled = build(parse_loss("max(0, 3*w)"))
    out = _outputs(compiled, [2.0], "sgd", {}, 0.1, 5)
    assert out["trace csv"] == out["steps csv"]
    assert out["trace json"] == out["steps json"]
    assert out["trace csv"].splitlines()[1].startswith("0,2.0,6.0,3.0,")


def test_the_chunked_csv_follows_the_csv_module():
    """A direction text has commas: the chunks quote it as csv does; the header and the
    rows read back as the same table."""
    r = run_cli(["descend", "--steps", "20000", "--tol", "0", "-f", "csv"])
    assert r.code == 0
    import csv

    rows = list(csv.reader(io.StringIO(r.out)))
    assert rows[0] == ["step", "w", "loss", "grad_w", "update_w", "direction"]
    assert rows[1] == ["0", "1.0", "4.0", "-4.0", "0.3999999999999999", "slope < 0, so w increases"]
    assert len(rows) == 20_002 and rows[-1][-2:] == ["", ""]
    assert all(len(row) == 6 for row in rows)


def test_the_chunked_json_is_the_records_contract():
    r = run_cli(["descend", "(x-1)**2 + 10*(y+2)**2", "--start", "x=0,y=0", "--lr", "0.01",
                 "--steps", "20000", "--tol", "0", "-f", "json"])  # fmt: skip
    data = json_output(r)
    assert len(data["steps"]) == 20_001
    first = data["steps"][0]
    assert first == {"step": 0, "params": {"x": 0.0, "y": 0.0}, "loss": 41.0,
                     "grad": {"x": -2.0, "y": 40.0}}  # fmt: skip
    assert [s["step"] for s in data["steps"]] == list(range(20_001))
    assert data["final"]["params"] == data["steps"][-1]["params"]


def test_every_writer_keeps_a_trace_with_a_percent_in_no_name():
    """A template is built from the names: '%' would be read as a format."""
    from gdcli.render.output import _json_template

    assert _json_template({"a%d": "float", "b": {"c%%": "int"}}) % (1.5, 2) == (
        '{"a%d": 1.5, "b": {"c%%": 2}}'
    )


def test_chunks_are_handed_out_as_chunks():
    compiled = build(parse_loss("(w-3)**2"))
    report = _report(compiled, [1.0], "sgd", {}, 0.1, 40_000, 1, 0.0)
    items = list(report.tables[0].rows.chunked(str))
    chunks = [i for i in items if isinstance(i, Chunk)]
    assert [c.rows for c in chunks] == [16_384, 16_384, 40_000 - 2 * 16_384]
    assert items[-1][0] == 40_000  # the last row, written by itself


# --- the verifier's loop ------------------------------------------------------------------


def test_every_composed_loop_passes_the_verifier():
    compiled = build(parse_loss("(x-1)**2 + 10*(y+2)**2 + sin(x)"))
    lines = traces.evaluation(compiled.tree, 2)
    for name, hyper in RULES:
        update = traces.update_rule(make_optimizer(name, 0.1, **hyper))
        assert update is not None
        for kind in ("fused", "trace"):
            extra = ["_push"] if kind == "trace" else []
            verify(traces.loop_source(lines, 2, update, name=kind, limit=1e12, extra=extra,
                                      every=3, updates=True))  # fmt: skip


@pytest.mark.parametrize(
    "source",
    [
        # the count undone
        "def fused(k, steps):\n    while True:\n        if k >= steps:\n            return k\n"
        "        k = k + 1\n        k = k - 1\n",
        # the bound moved
        "def fused(k, steps):\n    while True:\n        if k >= steps:\n            return k\n"
        "        k = k + 1\n        steps = steps + 1\n",
        # the bound moved from a branch
        "def trace(k, steps, _push):\n    while True:\n        if k >= steps:\n"
        "            return k\n        k = k + 1\n        if k > 3:\n            steps = k + 9\n",
        # the test inside a branch, not at the loop's top level
        "def fused(k, steps):\n    while True:\n        k = k + 1\n        if k > 0:\n"
        "            if k >= steps:\n                return k\n",
        # two loops
        "def fused(k, steps):\n    while True:\n        k = k + 1\n        if k >= steps:\n"
        "            return k\n    while True:\n        k = k + 1\n        if k >= steps:\n"
        "            return k\n",
        # rows handed out by a loop that is not a trace
        "def fused(k, steps, _push):\n    while True:\n        k = k + 1\n        _push((k,))\n"
        "        if k >= steps:\n            return k\n",
        # a tuple assignment to k
        "def fused(k, steps):\n    while True:\n        k = k + 1\n        if k >= steps:\n"
        "            return k\n        (k, a) = (0, 1)\n",
    ],
    ids=[
        "undone",
        "bound-moved",
        "bound-in-branch",
        "test-in-branch",
        "two-loops",
        "push-outside-trace",
        "tuple-target",
    ],  # fmt: skip
)
def test_the_verifier_refuses_a_loop_that_might_not_end(source):
    with pytest.raises(UnsafeSource):
        verify(source)


# --- interrupted traces and closed pipes -----------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_in_a_trace_ends_the_document_with_every_row_computed(tmp_path):
    target = tmp_path / "run.json"
    with target.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gdcli", "descend", "(w-3)**2 + sin(w)", "--optimizer",
             "adam", "--steps", "100000000", "--tol", "0", "--lr", "0.001", "-f", "json"],
            stdout=sink, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(3.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "gdcli: error: interrupted\n"
    data = strict_json(target.read_text())
    assert data["status"] == "interrupted"
    steps = [s["step"] for s in data["steps"]]
    assert steps == list(range(len(steps))) and steps[-1] == data["final"]["step"] > 0
    assert data["final"]["params"] == data["steps"][-1]["params"]
    # the rows are the step loop's
    compiled = build(parse_loss("(w-3)**2 + sin(w)"))
    d = Descent(compiled.evaluate_params, [1.0], optimizer_factory("adam", 0.001),
                StopRule(100, 0.0))  # fmt: skip
    for record, step in zip(data["steps"], d.run(), strict=False):
        assert record["params"]["w"] == step.params[0] and record["loss"] == step.loss


def test_an_interrupt_between_chunks_keeps_the_rows_written():
    """Ctrl-C while a chunk is computed: the chunk is written whole, the document ends
    with status interrupted and the last row written as its final step."""
    compiled = build(parse_loss("(w-3)**2"))
    report = _report(compiled, [1.0], "sgd", {}, 0.001, 10_000_000, 1, 0.0)
    records = report.records
    assert isinstance(records, Chunked)
    original = records.chunked

    def chunked(encode):
        for n, item in enumerate(original(encode)):
            if n == 1:
                signal.raise_signal(signal.SIGINT)
            yield item

    records.chunked = chunked
    out = io.StringIO()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(Interrupted):
            write_json(report, out)
    finally:
        signal.signal(signal.SIGINT, previous)
    data = strict_json(out.getvalue())
    assert data["status"] == "interrupted"
    assert len(data["steps"]) == 2 * 16_384
    assert data["final"]["step"] == data["steps"][-1]["step"] == 2 * 16_384 - 1


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "json", "plain"])
def test_a_closed_pipe_ends_a_trace_quietly(fmt):
    """`gdcli descend ... | head -1`: exit 0, nothing on stderr, long before 1e8 steps."""
    started = time.monotonic()
    proc = subprocess.run(
        f"{sys.executable} -m gdcli descend --steps 100000000 --tol 0 -f {fmt} | head -1",
        shell=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.strip() in ("{", "step,w,loss,grad_w,update_w,direction",
                                   "step\tw\tloss\tgrad_w\tupdate_w\tdirection")  # fmt: skip
    assert time.monotonic() - started < 30


@pytest.mark.slow
def test_a_closed_pipe_exits_zero_for_the_trace(tmp_path):
    script = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-m', 'gdcli', 'descend', '--steps', "
        "'100000000', '--tol', '0', '-f', 'csv'], stdout=subprocess.PIPE, "
        "stderr=subprocess.PIPE)\n"
        "p.stdout.read(100000)\np.stdout.close()\n_, err = p.communicate(timeout=60)\n"
        "print(p.returncode, repr(err.decode()))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=90)  # fmt: skip
    assert proc.stdout.strip() == "0 ''", proc.stdout + proc.stderr


def test_a_memory_bounded_trace_writes_in_pieces():
    """Streamed: the writer gets one chunk at a time, never the whole run."""

    class Counting(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.largest = 0

        def write(self, text: str) -> int:
            self.largest = max(self.largest, len(text))
            return super().write(text)

    compiled = build(parse_loss("(w-3)**2"))
    report = _report(compiled, [1.0], "sgd", {}, 0.1, 100_000, 1, 0.0)
    out = Counting()
    write_csv(report.tables[0], out)
    assert out.getvalue().count("\n") == 100_002
    assert out.largest < 16_384 * 120  # one chunk's text at most


def test_json_of_a_trace_parses_to_the_same_document_as_thestep_loop():
    compiled = build(parse_loss("w**4 - 3*w**2 + w"))
    out = _outputs(compiled, [-2.0], "rmsprop", {"centered": True}, 0.05, 3_000, 1, 0.0)
    assert json.loads(out["trace json"]) == json.loads(out["steps json"])


# array weights (the array engine), with inputs: smooth, kinked, saturating, diverging
ARRAY_CASES = [
    ("sum((W @ x - y)**2)", "W=0.1", ["x=[1,2,3]", "y=[3,-1]"], ["W=2x3"], 0.05),
    ("sum((W @ x - y)**2)", "W=0.1", ["x=[1,2,3]", "y=[3,-1]"], ["W=2x3"], 0.5),
    ("mean((tanh(V @ tanh(W @ x)) - y)**2)", "W=0.3,V=-0.2", ["x=[1,-2]", "y=[0.5,-0.5]"],
     ["W=3x2", "V=2x3"], 0.3),
    ("sum(relu(W @ x) - y)**2 + b**2", "W=0.2,b=1", ["x=[1,-1]", "y=[1,2]"], ["W=2x2"], 0.1),
    ("sum(exp(W @ x))", "W=1", ["x=[3,4]"], ["W=1x2"], 2.0),
    ("sum(sigmoid(w * x)) + dot(w, w)", "w=0.5", ["x=[1,2,3]"], ["w=3"], 0.2),
]  # fmt: skip


@pytest.mark.parametrize(("name", "hyper"), RULES, ids=RULE_IDS)
def test_the_fused_loop_of_array_weights_ends_where_the_step_loop_ends(name, hyper):
    """--quiet with vectors and matrices: the same outcome, entries and loss as the step
    loop, bit for bit, for every update rule (converging, stopping at max_steps and
    diverging runs)."""
    from gdcli.compile.arrays import ArrayCompiled
    from gdcli.compile.cache import Cache
    from gdcli.compile.load import load_or_build
    from gdcli.params import flatten

    fused_runs = 0
    for text, start_text, sets, shapes, lr in ARRAY_CASES:
        compiled, start = load_or_build(text, start_text, sets, shapes, Cache(None), 10.0)
        assert isinstance(compiled, ArrayCompiled)
        for steps, tol in ((40, 0.0), (3000, 1e-6)):
            rule = StopRule(steps, tol)
            factory = optimizer_factory(name, lr, **hyper)
            d = Descent(compiled.evaluate_params, start, factory, rule)
            last, outcome = step_loop(d)
            fused = traces.fused(compiled, start, d.first, make_optimizer(name, lr, **hyper), rule)
            assert fused is not None, (text, lr)
            fused_runs += 1
            assert fused.outcome == outcome, (text, lr, steps)
            assert [repr(p) for p in fused.params] == [repr(p) for p in flatten(last.params)]
            assert repr(fused.loss) == repr(last.loss), (text, lr, steps)
    assert fused_runs == 2 * len(ARRAY_CASES)
