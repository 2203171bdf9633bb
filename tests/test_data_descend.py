"""Mini-batch descent on training data, step by step against a loop written by hand in
NumPy over the same rows.

The documented convention: step k is the point after k updates; its `loss` and `grad`
are over the batch of the next update (`batch`: the rows, numbered as a spreadsheet
numbers them, the header being row 1), which that update uses; the last step's are over
every example (`batch` null). Shuffled batches follow numpy.random.default_rng(seed),
one permutation per epoch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import json_output

LOSS = "(w*x + b - y)**2"
REL = 1e-12


def write(tmp_path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def line_data(n: int = 7, seed: int = 5) -> tuple[np.ndarray, np.ndarray, str]:
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(-2, 2, n), 3)
    y = np.round(1.5 * x - 0.5 + rng.normal(0, 0.3, n), 3)
    text = "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True))
    return x, y, text


def order(n: int, size: int, epochs: int, seed: int | None) -> list[tuple[int, np.ndarray]]:
    """(epoch, positions) of every batch: the documented order, written out again."""
    rng = np.random.default_rng(seed) if seed is not None else None
    out = []
    for epoch in range(1, epochs + 1):
        perm = rng.permutation(n) if rng is not None else np.arange(n)
        out += [(epoch, perm[lo : lo + size]) for lo in range(0, n, size)]
    return out


def line_loss(x, y, w, b):
    r = w * x + b - y
    return float(np.mean(r * r)), float(np.mean(2 * r)), float(np.mean(2 * r * x))


def hand_line(x, y, lr, size, steps, seed, w=0.0, b=0.0):
    """Plain SGD on the mean of (w*x + b - y)**2 over each batch: the expected records."""
    batches = order(len(x), size, steps // math.ceil(len(x) / size) + 2, seed)
    records = []
    for k in range(steps):
        epoch, idx = batches[k]
        loss, gb, gw = line_loss(x[idx], y[idx], w, b)
        records.append({"step": k, "w": w, "b": b, "loss": loss, "gb": gb, "gw": gw,
                        "epoch": epoch, "batch": (idx + 2).tolist()})  # fmt: skip
        w, b = w - lr * gw, b - lr * gb
    loss, gb, gw = line_loss(x, y, w, b)
    records.append({"step": steps, "w": w, "b": b, "loss": loss, "gb": gb, "gw": gw,
                    "epoch": None, "batch": None})  # fmt: skip
    return records


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-14)


def same_records(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, h in zip(got, want, strict=True):
        assert g["step"] == h["step"]
        assert g["epoch"] == h["epoch"], (g, h)
        assert g["batch"] == h["batch"], (g, h)
        assert close(g["params"]["w"], h["w"]) and close(g["params"]["b"], h["b"]), (g, h)
        assert close(g["loss"], h["loss"]), (g, h)
        assert close(g["grad"]["w"], h["gw"]) and close(g["grad"]["b"], h["gb"]), (g, h)


@pytest.mark.parametrize(("size", "seed"), [(3, 0), (2, 7), (7, 0), (1, 3)])
def test_every_step_equals_sgd_by_hand_on_the_same_rows(run, tmp_path, size, seed):
    x, y, text = line_data()
    path = write(tmp_path, text)
    steps = 11
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "0.05",
             "--batch-size", str(size), "--seed", str(seed), "--steps", str(steps),
             "--tol", "0", "--format", "json"])  # fmt: skip
    data = json_output(r)
    shuffled = size < len(x)
    want = hand_line(x, y, 0.05, size, steps, seed if shuffled else None)
    same_records(data["steps"], want)
    assert data["data"]["shuffle"] is shuffled
    assert data["final"]["loss"] == data["steps"][-1]["loss"]


def test_no_shuffle_takes_the_rows_in_the_files_order(run, tmp_path):
    x, y, text = line_data()
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0.5,b=0", "--lr", "0.1",
             "--batch-size", "3", "--no-shuffle", "--steps", "6", "--format", "json"])  # fmt: skip
    data = json_output(r)
    assert [s["batch"] for s in data["steps"][:6]] == [
        [2, 3, 4], [5, 6, 7], [8], [2, 3, 4], [5, 6, 7], [8]
    ]  # fmt: skip
    same_records(data["steps"], hand_line(x, y, 0.1, 3, 6, None, w=0.5))


def test_full_batch_is_plain_gradient_descent_on_the_mean(run, tmp_path):
    """Without --batch-size every step uses every example, in the file's order."""
    x, y, text = line_data()
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "0.1",
             "--steps", "20", "--format", "json"])  # fmt: skip
    data = json_output(r)
    rows = list(range(2, 2 + len(x)))
    assert all(s["batch"] == rows for s in data["steps"][:-1])
    assert data["steps"][-1]["batch"] is None
    assert data["data"]["shuffle"] is False and data["data"]["batch_size"] == len(x)
    same_records(data["steps"], hand_line(x, y, 0.1, len(x), 20, None))


def test_epochs_visit_every_example_once_and_the_last_batch_is_smaller(run, tmp_path):
    x, y, text = line_data(n=10)
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "0.01",
             "--batch-size", "4", "--epochs", "3", "--tol", "0", "--format", "json"])  # fmt: skip
    data = json_output(r)
    steps = data["steps"]
    assert len(steps) == 3 * 3 + 1  # 3 epochs x ceil(10 / 4) updates, and the start
    assert data["final"]["step"] == 9
    assert [len(s["batch"]) for s in steps[:-1]] == [4, 4, 2] * 3
    for epoch in (1, 2, 3):
        rows = [r for s in steps[:-1] if s["epoch"] == epoch for r in s["batch"]]
        assert sorted(rows) == list(range(2, 12))  # each example exactly once
    orders = [[r for s in steps[:-1] if s["epoch"] == e for r in s["batch"]] for e in (1, 2, 3)]
    assert orders[0] != orders[1] != orders[2]  # a new permutation each epoch


def test_the_same_seed_gives_the_same_output_and_another_seed_another_order(run, tmp_path):
    _, _, text = line_data(n=12)
    path = write(tmp_path, text)
    args = ["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "0.05",
            "--batch-size", "4", "--epochs", "2", "--format", "csv"]  # fmt: skip
    first, again = run([*args, "--seed", "4"]), run([*args, "--seed", "4"])
    other = run([*args, "--seed", "5"])
    assert first.code == again.code == other.code == 0
    assert first.out == again.out
    default, zero = run(args), run([*args, "--seed", "0"])
    assert default.out == zero.out  # the default seed is 0
    batches = [line.split(",")[2] for line in first.out.splitlines()[1:]]
    others = [line.split(",")[2] for line in other.out.splitlines()[1:]]
    assert batches != others
    assert batches[-1] == others[-1] == "all"


def test_full_adds_the_loss_and_gradient_over_every_example_and_the_cosine(run, tmp_path):
    x, y, text = line_data(n=9)
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "0.05",
             "--batch-size", "2", "--steps", "8", "--full", "--format", "json"])  # fmt: skip
    for s in json_output(r)["steps"]:
        w, b = s["params"]["w"], s["params"]["b"]
        loss, gb, gw = line_loss(x, y, w, b)
        assert close(s["full_loss"], loss)
        assert close(s["full_grad"]["w"], gw) and close(s["full_grad"]["b"], gb)
        bw, bb = s["grad"]["w"], s["grad"]["b"]
        cos = (bw * gw + bb * gb) / math.hypot(bw, bb) / math.hypot(gw, gb)
        assert math.isclose(s["cosine"], cos, rel_tol=1e-12)
    assert s["cosine"] == 1.0 and s["batch"] is None  # the last step: batch = every example


def classes_data() -> tuple[np.ndarray, np.ndarray, str]:
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 3, 11)
    x = np.round(rng.normal(size=(11, 2)) + labels[:, None], 3)
    t = np.eye(3)[labels]
    rows = [f"{a!r},{b!r},{int(c)},{int(d)},{int(e)}\n" for (a, b), (c, d, e) in
            zip(x.tolist(), t.tolist(), strict=True)]  # fmt: skip
    return x, t, "x1,x2,t1,t2,t3\n" + "".join(rows)


def softmax_grads(W, b, x, t):
    z = x @ W.T + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = float(np.mean(-np.sum(t * np.log(p), axis=1)))
    d = p - t
    return loss, d.T @ x / len(x), d.mean(axis=0)


def test_a_layer_with_a_matrix_of_weights_on_vectors_of_columns(run, tmp_path):
    """softmax cross-entropy over W @ x + b, x and t grouped with --vector."""
    x, t, text = classes_data()
    path = write(tmp_path, text)
    r = run(["descend", "-sum(t*log(softmax(W @ x + b)))", "--data", path,
             "--vector", "x=x1,x2", "--vector", "t=t1,t2,t3", "--start", "W=0,b=0",
             "--shape", "W=3x2", "--shape", "b=3", "--lr", "0.3", "--batch-size", "4",
             "--seed", "2", "--epochs", "2", "--tol", "0", "--format", "json"])  # fmt: skip
    data = json_output(r)
    W, b = np.zeros((3, 2)), np.zeros(3)
    batches = order(11, 4, 2, 2)
    for k, s in enumerate(data["steps"]):
        idx = batches[k][1] if k < len(batches) else np.arange(11)
        loss, gW, gb = softmax_grads(W, b, x[idx], t[idx])
        assert np.allclose(s["params"]["W"], W, rtol=1e-12, atol=1e-14)
        assert math.isclose(s["loss"], loss, rel_tol=1e-12)
        assert np.allclose(s["grad"]["W"], gW, rtol=1e-12, atol=1e-14)
        assert np.allclose(s["grad"]["b"], gb, rtol=1e-12, atol=1e-14)
        W, b = W - 0.3 * gW, b - 0.3 * gb
    assert len(data["steps"]) == 2 * 3 + 1


def test_a_schedule_steps_once_per_epoch(run, tmp_path):
    """step_size=1, gamma=0.5: the lr halves from one epoch to the next."""
    x, y, text = line_data(n=6)
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "0.2",
             "--batch-size", "4", "--epochs", "3", "--scheduler", "step", "--step-size", "1",
             "--gamma", "0.5", "--tol", "0", "--format", "json"])  # fmt: skip
    steps = json_output(r)["steps"]
    assert [s["lr"] for s in steps[:-1]] == [0.2, 0.2, 0.1, 0.1, 0.05, 0.05]
    w = b = 0.0
    for s in steps[:-1]:
        idx = np.array(s["batch"]) - 2
        _, gb, gw = line_loss(x[idx], y[idx], w, b)
        w, b = w - s["lr"] * gw, b - s["lr"] * gb
    assert close(steps[-1]["params"]["w"], w) and close(steps[-1]["params"]["b"], b)


def test_data_exactly_on_a_line_converges(run, tmp_path):
    path = write(tmp_path, "x,y\n0,1\n1,3\n2,5\n3,7\n")
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "0.1",
             "--steps", "2000", "--format", "json"])  # fmt: skip
    data = json_output(r)
    assert data["status"] == "converged"
    assert math.isclose(data["final"]["params"]["w"], 2, rel_tol=1e-8)
    assert math.isclose(data["final"]["params"]["b"], 1, rel_tol=1e-7)
    last = data["steps"][-1]
    assert last["batch"] is None and math.hypot(*last["grad"].values()) <= 1e-8


def test_a_diverging_run_exits_3_with_every_step_written(run, tmp_path):
    _, _, text = line_data()
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "5",
             "--batch-size", "2", "--steps", "500", "--format", "json"])  # fmt: skip
    data = json_output(r, 3)
    assert data["status"] == "diverged"
    assert data["diverged_at"] == data["steps"][-1]["step"] == len(data["steps"]) - 1


def test_quiet_prints_the_final_weights_and_the_loss_over_every_example(run, tmp_path):
    x, y, text = line_data()
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "0.05",
             "--batch-size", "3", "--steps", "9", "--quiet"])  # fmt: skip
    assert r.code == 0, r.err
    b, w, loss = (float(v) for v in r.out.split())
    want = hand_line(x, y, 0.05, 3, 9, 0)[-1]
    assert close(w, want["w"]) and close(b, want["b"]) and close(loss, want["loss"])


def test_csv_columns_and_the_last_row(run, tmp_path):
    _, _, text = line_data(n=5)
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--batch-size", "2",
             "--no-shuffle", "--steps", "3", "--full", "--format", "csv"])  # fmt: skip
    lines = r.out.splitlines()
    assert lines[0] == (
        "step,epoch,batch,b,w,loss,grad_b,grad_w,full_loss,full_grad_b,full_grad_w,cosine,"
        "update_b,update_w"
    )
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["0", "1", "2 3"], ["1", "1", "4 5"], ["2", "1", "6"], ["3", "", "all"]
    ]  # fmt: skip


def test_the_output_says_the_loss_is_the_mean_over_the_examples(run, tmp_path):
    _, _, text = line_data()
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--batch-size", "3"])
    assert r.code == 0
    assert "7 examples" in r.err and "mean over the examples" in r.err
    assert "how wrong the model is" in r.err
    assert "numpy.random.default_rng(0)" in r.err
    data = json_output(run(["descend", LOSS, "--data", path, "--start", "w=0,b=0",
                            "--format", "json"]))  # fmt: skip
    assert data["data"]["loss"] == "the mean over the examples of the loss written per example"


def test_the_terminal_table_and_plot_show_epochs_rows_and_both_losses(run, tmp_path):
    _, _, text = line_data(n=20)
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--batch-size", "4",
             "--no-shuffle", "--epochs", "2", "--full"], tty=True)  # fmt: skip
    assert r.code == 0, r.err
    for header in ("epoch", "rows", "full loss", "cosine"):
        assert header in r.out
    assert "2-5" in r.out and "18-21" in r.out  # consecutive rows written as a range
    assert "batch loss" in r.out and "full loss" in r.out  # the plot's two curves


def test_sweep_runs_equal_descend_with_the_same_options(run, tmp_path):
    _, _, text = line_data(n=9)
    path = write(tmp_path, text)
    common = ["--data", path, "--start", "w=0,b=0", "--batch-size", "2", "--seed", "3",
              "--epochs", "4"]  # fmt: skip
    r = run(["sweep", LOSS, *common, "--lr", "0.01,0.1,0.3", "--format", "json"])
    runs = json_output(r)["runs"]
    for item in runs:
        one = run(["descend", LOSS, *common, "--lr", repr(item["lr"]), "--format", "json"])
        final = json_output(one)["final"]
        assert item["params"] == final["params"]
        assert item["final_loss"] == final["loss"]
        assert item["steps_used"] == final["step"]


def test_a_mini_batch_run_converges_on_the_next_batch_and_ends_on_every_example(run, tmp_path):
    """Converged: the gradient of the batch the next update would use is <= tol; the
    last step then shows the loss and gradient over every example at that point."""
    x, y, text = line_data(n=8)
    path = write(tmp_path, text)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--lr", "0.05",
             "--batch-size", "2", "--tol", "0.5", "--steps", "500", "--format", "json"])  # fmt: skip
    data = json_output(r)
    assert data["status"] == "converged"
    last = data["steps"][-1]
    assert last["batch"] is None and last["epoch"] is None
    w, b = last["params"]["w"], last["params"]["b"]
    loss, gb, gw = line_loss(x, y, w, b)
    assert close(last["loss"], loss) and close(last["grad"]["w"], gw)
    # the batch that stopped it: the next one in the documented order, its gradient small
    k = last["step"]
    idx = order(8, 2, k // 4 + 2, 0)[k][1]
    _, bb, bw = line_loss(x[idx], y[idx], w, b)
    assert math.hypot(bw, bb) <= 0.5 < math.hypot(data["steps"][-2]["grad"]["w"],
                                                  data["steps"][-2]["grad"]["b"])  # fmt: skip
    assert not close(loss, line_loss(x[idx], y[idx], w, b)[0])


def test_compare_runs_equal_descend_on_the_same_batches(run, tmp_path):
    _, _, text = line_data(n=9)
    path = write(tmp_path, text)
    common = ["--data", path, "--start", "w=0,b=0", "--batch-size", "2", "--seed", "5",
              "--epochs", "3"]  # fmt: skip
    r = run(["compare", LOSS, *common, "--run", "sgd lr=0.05", "--run", "adam lr=0.1",
             "--trace", "--format", "json"])  # fmt: skip
    runs = json_output(r)["runs"]
    for item, flags in zip(runs, (["--lr", "0.05"], ["--optimizer", "adam", "--lr", "0.1"]),
                           strict=True):  # fmt: skip
        one = json_output(run(["descend", LOSS, *common, *flags, "--format", "json"]))
        assert item["final"]["params"] == one["final"]["params"]
        assert item["final"]["loss"] == one["final"]["loss"]
        assert [s["batch"] for s in item["steps"]] == [s["batch"] for s in one["steps"]]


def test_a_fixed_input_holds_for_every_example_of_every_batch(run, tmp_path):
    """--set c=0.5 beside the data: the same c in each example of each batch."""
    x, y, text = line_data(n=7)
    path = write(tmp_path, text)
    r = run(["descend", "c*(w*x + b - y)**2", "--data", path, "--set", "c=0.5",
             "--start", "w=0,b=0", "--lr", "0.1", "--batch-size", "3", "--steps", "5",
             "--tol", "0", "--format", "json"])  # fmt: skip
    want = hand_line(x, y, 0.05, 3, 5, 0)  # half the loss: half the gradient
    for s, h in zip(json_output(r)["steps"], want, strict=True):
        assert s["batch"] == h["batch"]
        assert close(s["params"]["w"], h["w"]) and close(s["loss"], h["loss"] / 2)
