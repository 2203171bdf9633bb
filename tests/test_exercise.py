"""gdcli exercise KIND --seed N [--key] (issue 15, item 4).

Every key is checked twice: `gdcli check` accepts it (through the `check` columns the
exercise gives), and an independent reference agrees with it — mpmath's numerical
derivative of the loss (50 digits), NumPy finite differences for matrices, torch.optim
for one update, and a plain Python loop for the largest stable learning rate. The
same seed gives the same bytes in fresh processes with different hash seeds.
"""

from __future__ import annotations

import math
import os
import random
import re
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from helpers import assert_clean_failure, json_output, strict_json

SEEDS = range(12)
KINDS = ["derivative", "partial", "matrix", "step", "diverge"]
CASES = [("derivative", s, level) for level in (1, 2, 3) for s in SEEDS]
CASES += [(kind, s, None) for kind in KINDS[1:] for s in SEEDS]
IDS = [f"{k}-{s}" + (f"-level{lv}" if lv else "") for k, s, lv in CASES]


def exercise(run, kind: str, seed: int, level: int | None = None, key: bool = True) -> dict:
    args = ["exercise", kind, "--seed", str(seed), "--format", "json"]
    args += ["--level", str(level)] if level else []
    return json_output(run([*args, *(["--key"] if key else [])]))


def check_args(data: dict) -> list[str]:
    """The check call the exercise's `check` columns describe."""
    columns = data["check"]
    args = ["check", columns["loss"], data["answer"]]
    for name, flag in (("wrt", "--wrt"), ("at", "--at"), ("shape", "--shape"), ("set", "--set")):
        if columns.get(name):
            args += [flag, columns[name]]
    return args


@pytest.mark.parametrize(("kind", "seed", "level"), CASES, ids=IDS)
def test_check_accepts_the_key(run, kind, seed, level):
    data = exercise(run, kind, seed, level)
    r = run([*check_args(data), "--format", "json"])
    assert r.code == 0, (data, r.out, r.err)
    assert strict_json(r.out)["equal"] is True


@pytest.mark.parametrize(("kind", "seed", "level"), CASES[:6], ids=IDS[:6])
def test_check_rejects_a_key_a_little_off(run, kind, seed, level):
    data = exercise(run, kind, seed, level)
    args = check_args(data)
    args[2] = f"{data['answer']} + 1e-9"
    assert run(args).code == 1


# --- the keys against independent references -----------------------------------------------------


def _functions(module):
    if module is mpmath:
        sig = lambda u: 1 / (1 + mpmath.exp(-u))  # noqa: E731
        return {"sigmoid": sig, "relu": lambda u: max(0, u), "tanh": mpmath.tanh,
                "exp": mpmath.exp, "log": mpmath.log, "sin": mpmath.sin, "cos": mpmath.cos}  # fmt: skip
    return {"sigmoid": lambda u: 1 / (1 + np.exp(-u)), "tanh": np.tanh, "log": np.log,
            "exp": np.exp, "sum": np.sum, "mean": np.mean, "outer": np.outer,
            "softmax": lambda v: np.exp(v - v.max()) / np.exp(v - v.max()).sum()}  # fmt: skip


def evaluate(text: str, names: dict, module=mpmath):
    """The generated text (the exercise's own, not a student's) evaluated by Python."""
    return eval(text, {"__builtins__": {}, **_functions(module)}, dict(names))  # noqa: S307


@pytest.mark.parametrize(("kind", "seed", "level"), [c for c in CASES if c[0] == "derivative"])
def test_derivative_keys_against_mpmath(run, kind, seed, level):
    data = exercise(run, kind, seed, level)
    rng = random.Random(seed)
    with mpmath.workdps(50):
        for _ in range(5):
            w = mpmath.mpf(rng.uniform(-2, 2))
            loss = lambda t: evaluate(data["loss"], {"w": t})  # noqa: E731
            try:
                slope = mpmath.diff(loss, w)
                answer = evaluate(data["answer"], {"w": w})
            except (ValueError, ZeroDivisionError):
                continue  # outside the loss's domain
            if "relu" in data["loss"] and abs(slope - answer) > 1e-20:
                # the kink: mpmath's central difference straddles it; step away
                continue
            assert float(abs(slope - answer)) <= 1e-30 * max(1, float(abs(slope))), (data, w)


@pytest.mark.parametrize("seed", SEEDS)
def test_partial_keys_against_mpmath(run, seed):
    data = exercise(run, "partial", seed)
    rng = random.Random(seed)
    fixed = {n: mpmath.mpf(v) for n, v in data["values"].items()}
    wrt = data["wrt"]
    names = set(re.findall(r"[A-Za-z_]\w*", data["loss"])) - {"sigmoid"}
    weights = names - set(fixed)
    with mpmath.workdps(50):
        point = {n: mpmath.mpf(rng.uniform(-2, 2)) for n in weights}

        def loss(t):
            return evaluate(data["loss"], {**fixed, **point, wrt: t})

        slope = mpmath.diff(loss, point[wrt])
        answer = evaluate(data["answer"], {**fixed, **point})
        assert float(abs(slope - answer)) <= 1e-30 * max(1, float(abs(slope)))


@pytest.mark.parametrize("seed", SEEDS)
def test_matrix_keys_against_finite_differences(run, seed):
    data = exercise(run, "matrix", seed)
    rows, cols = map(int, data["values"]["W"].split("x"))
    inputs = {n: np.array(eval(v), float) for n, v in data["values"].items() if n != "W"}  # noqa: S307
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(rows, cols))
    answer = evaluate(data["answer"], {**inputs, "W": W}, np)
    assert answer.shape == (rows, cols)
    h = 1e-6
    for i in range(rows):
        for j in range(cols):
            E = np.zeros_like(W)
            E[i, j] = h
            up = evaluate(data["loss"], {**inputs, "W": W + E}, np)
            down = evaluate(data["loss"], {**inputs, "W": W - E}, np)
            assert answer[i, j] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("seed", SEEDS)
def test_step_keys_against_torch(run, seed):
    torch = pytest.importorskip("torch")
    data = exercise(run, "step", seed)
    values, rule = data["values"], dict(data["rule"])
    w = torch.tensor(float(values["w"]), dtype=torch.float64, requires_grad=True)
    name = rule.pop("optimizer")
    options = {"lr": float(values["lr"]), **rule}
    optimizer = (torch.optim.SGD if name == "sgd" else torch.optim.Adam)([w], **options)
    optimizer.zero_grad()
    loss = eval(data["loss"], {"__builtins__": {}}, {"w": w})  # noqa: S307
    loss.backward()
    optimizer.step()
    after = float(w.detach())
    assert after == pytest.approx(float(eval(data["answer"])), rel=1e-14, abs=1e-15)  # noqa: S307


@pytest.mark.parametrize("seed", SEEDS)
def test_step_keys_against_gdcli_descend(run, seed):
    data = exercise(run, "step", seed)
    values, rule = data["values"], dict(data["rule"])
    args = ["descend", data["loss"], "--start", values["w"], "--lr", values["lr"], "--steps", "1",
            "--tol", "0", "--optimizer", rule.pop("optimizer"), "--quiet"]  # fmt: skip
    for option, value in rule.items():
        flag = "--" + option.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    r = run(args)
    assert r.code == 0, r.err
    assert float(r.out.split()[0]) == pytest.approx(float(eval(data["answer"])), rel=1e-14)  # noqa: S307


@pytest.mark.parametrize("seed", SEEDS)
def test_diverge_keys_by_running_the_rule(run, seed):
    """Just below the key's lr the run stays bounded; just above it, it blows up."""
    data = exercise(run, "diverge", seed)
    lr_max = float(eval(data["answer"]))  # noqa: S307
    momentum = float(data["values"].get("momentum", 0))
    names = data["question"]["text"].split(")")[0].removeprefix("l(").split(", ")

    def grad(point: dict) -> dict:
        with mpmath.workdps(30):
            return {
                n: float(
                    mpmath.diff(lambda t, n=n: evaluate(data["loss"], {**point, n: t}), point[n])
                )
                for n in names
            }

    def final_distance(lr: float) -> float:
        point = {n: 0.7 + k for k, n in enumerate(names)}
        buffer = dict.fromkeys(names, 0.0)
        for step in range(3000):
            g = grad(point) if step < 3 else _quadratic_grad(data["loss"], point, names)
            for n in names:  # torch's SGD: buf = momentum * buf + g; w -= lr * buf
                buffer[n] = momentum * buffer[n] + g[n]
                point[n] -= lr * buffer[n]
        return max(abs(v) for v in point.values())

    assert final_distance(lr_max * 0.99) < 1e3
    assert final_distance(lr_max * 1.01) > 1e6


def _quadratic_grad(loss: str, point: dict, names: list[str]) -> dict:
    """A quadratic's gradient from three evaluations per weight (exact for a quadratic)."""
    out = {}
    for n in names:
        up = evaluate(loss, {**point, n: point[n] + 1}, math)
        down = evaluate(loss, {**point, n: point[n] - 1}, math)
        out[n] = (up - down) / 2
    return out


# --- the same seed, the same problem -------------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes_in_fresh_processes(tmp_path):
    outputs = set()
    for hash_seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, GDCLI_NO_CACHE="1")
        text = ""
        for kind in KINDS:
            proc = subprocess.run(
                [sys.executable, "-m", "gdcli", "exercise", kind, "--seed", "7", "--key",
                 "-f", "json"],
                capture_output=True, text=True, env=env, timeout=60,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            text += proc.stdout
        outputs.add(text)
    assert len(outputs) == 1


PINNED = {  # the generator is integer arithmetic only: these never change
    ("derivative", 0, 1): "5*w**4 - 2*w**2 - 3",
    ("derivative", 1, 2): "(w - 4)/(w**2 + 1)",
    ("derivative", 2, 3): "-log(1 - sigmoid(3*w))",
    ("partial", 1, None): "(w1*x1 + w2*x2 - y)**2",
    ("matrix", 1, None): "sum((W @ x - y)**2)",
    ("step", 1, None): "(w + 3)**2",
    ("diverge", 2, None): "4*(w - 3)**2 + 2",
}


@pytest.mark.parametrize(("case", "loss"), PINNED.items(), ids=[str(c) for c in PINNED])
def test_pinned_problems(run, case, loss):
    assert exercise(run, *case)["loss"] == loss


def test_pinned_answers(run):
    assert exercise(run, "step", 1)["answer"] == "-2.6352"  # -2.4 - 0.2*(2*0.6 - 0.01*2.4)
    assert exercise(run, "diverge", 2)["answer"] == "0.25"  # 2 / l'' = 2 / 8
    assert exercise(run, "matrix", 1)["values"] == {"x": "[3,-3,-1]", "y": "[3,-1]", "W": "2x3"}


@pytest.mark.parametrize("kind", KINDS)
def test_seeds_give_different_problems(run, kind):
    problems = {
        (d["loss"], str(d["values"]), d.get("wrt"))
        for d in (exercise(run, kind, s) for s in range(20))
    }
    assert len(problems) >= 12


# --- output ---------------------------------------------------------------------------------------


def test_without_the_key_there_is_no_answer(run):
    for kind in KINDS:
        data = exercise(run, kind, 3, key=False)
        assert {"kind", "seed", "question", "loss", "values"} <= set(data)
        assert not {"answer", "answer_latex", "check"} & set(data)
        assert set(data["question"]) == {"text", "latex"}


@pytest.mark.parametrize("kind", KINDS)
def test_latex(run, kind):
    data = exercise(run, kind, 4)
    for text in (data["question"]["latex"], data["answer_latex"], data["loss_latex"]):
        assert text.count("{") == text.count("}") and text.count(r"\left") == text.count(r"\right")
    assert data["question"]["latex"].endswith("= ?")


def test_quiet(run):
    plain = run(["exercise", "derivative", "--seed", "0", "--quiet"])
    assert plain.out == "Find the derivative dl/dw of l(w) = 5*w**4 - 2*w**2 - 3.\n"
    key = run(["exercise", "derivative", "--seed", "0", "--quiet", "--key"])
    assert key.out == "20*w**3 - 4*w\n"
    tex = run(["exercise", "derivative", "--seed", "0", "--quiet", "--key", "--latex"])
    assert tex.out == "20 w^{3} - 4 w\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["exercise", "integral", "--seed", "1"], "KIND"),
        (["exercise", "step", "--seed", "-1"], "--seed"),
        (["exercise", "step", "--seed", str(2**64)], "--seed"),
        (["exercise", "derivative", "--seed", "1", "--level", "4"], "--level"),
        (["exercise", "matrix", "--seed", "1", "--level", "2"], "--level"),
        (["exercise", "step"], "--seed"),
    ],
)
def test_bad_input_is_exit_2_naming_the_option(run, args, needle):
    assert_clean_failure(run(args), 2, needle)


def test_the_command_knows_every_kind():
    from gdcli.cli.commands import EXERCISE_KINDS
    from gdcli.exercises import KINDS as ALL

    assert EXERCISE_KINDS == ALL == tuple(KINDS)
