"""Training data against torch (float64): the mean loss's gradient by autograd, and
mini-batch runs by torch.optim and torch.optim.lr_scheduler fed the very batches gdcli
reports (its JSON `batch` rows), as a DataLoader loop feeds them.

Skipped without torch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from helpers import json_output

torch = pytest.importorskip("torch")

LOSS = "-sum(t*log(softmax(W @ x + b)))"
VECTORS = ["--vector", "x=x1,x2,x3", "--vector", "t=t1,t2"]
START = ["--start", "W=[[0.1,-0.2,0.3],[0,0.2,-0.1]],b=[0.05,0]"]


def classes(tmp_path, n: int = 13) -> tuple[np.ndarray, np.ndarray, str]:
    rng = np.random.default_rng(12)
    X = np.round(rng.normal(size=(n, 3)), 4)
    labels = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    T = np.eye(2)[labels]
    rows = [",".join(repr(float(v)) for v in [*a, *b]) for a, b in zip(X, T, strict=True)]
    path = tmp_path / "classes.csv"
    path.write_text("x1,x2,x3,t1,t2\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return X, T, str(path)


def torch_loss(W: Any, b: Any, X: np.ndarray, T: np.ndarray) -> Any:
    z = torch.tensor(X) @ W.T + b
    return torch.mean(-torch.sum(torch.tensor(T) * torch.log_softmax(z, dim=1), dim=1))


def start_tensors() -> tuple[Any, Any]:
    W = torch.tensor([[0.1, -0.2, 0.3], [0.0, 0.2, -0.1]], dtype=torch.float64)
    b = torch.tensor([0.05, 0.0], dtype=torch.float64)
    return W.requires_grad_(), b.requires_grad_()


def close(a: Any, b: Any, rel: float = 1e-10) -> bool:
    return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                            rtol=rel, atol=1e-13))  # fmt: skip


def test_grad_equals_autograd_of_the_mean(run, tmp_path):
    X, T, path = classes(tmp_path)
    data = json_output(run(["grad", LOSS, "--data", path, *VECTORS,
                            "--at", START[1], "--format", "json"]))  # fmt: skip
    W, b = start_tensors()
    loss = torch_loss(W, b, X, T)
    loss.backward()
    assert math.isclose(data["loss"], loss.item(), rel_tol=1e-12)
    assert close(data["gradient"]["W"], W.grad.numpy(), 1e-12)
    assert close(data["gradient"]["b"], b.grad.numpy(), 1e-12)


OPTIMIZERS = [
    (["--momentum", "0.9", "--nesterov"], "SGD", {"momentum": 0.9, "nesterov": True}),
    (["--optimizer", "adam"], "Adam", {}),
    (["--optimizer", "rmsprop", "--centered"], "RMSprop", {"centered": True}),
]


@pytest.mark.parametrize(("flags", "name", "options"), OPTIMIZERS, ids=["sgd", "adam", "rmsprop"])
def test_mini_batch_run_equals_torch_optim_on_the_same_batches(run, tmp_path, flags, name, options):
    X, T, path = classes(tmp_path)
    data = json_output(run(["descend", LOSS, "--data", path, *VECTORS, *START, "--lr", "0.05",
                            *flags, "--batch-size", "4", "--seed", "9", "--epochs", "3",
                            "--tol", "0", "--format", "json"]))  # fmt: skip
    W, b = start_tensors()
    optimizer = getattr(torch.optim, name)([W, b], lr=0.05, **options)
    for s in data["steps"][:-1]:
        assert close(s["params"]["W"], W.detach().numpy())
        idx = np.array(s["batch"]) - 2  # spreadsheet rows -> positions
        optimizer.zero_grad()
        loss = torch_loss(W, b, X[idx], T[idx])
        loss.backward()
        assert math.isclose(s["loss"], loss.item(), rel_tol=1e-10)
        assert close(s["grad"]["W"], W.grad.numpy())
        optimizer.step()
    last = data["steps"][-1]
    assert close(last["params"]["W"], W.detach().numpy()) and close(
        last["params"]["b"], b.detach().numpy()
    )
    assert math.isclose(last["loss"], torch_loss(W, b, X, T).item(), rel_tol=1e-10)


def test_a_per_epoch_schedule_equals_torchs_epoch_loop(run, tmp_path):
    """ExponentialLR stepped once per epoch, as torch's examples step it."""
    X, T, path = classes(tmp_path)
    data = json_output(run(["descend", LOSS, "--data", path, *VECTORS, *START, "--lr", "0.3",
                            "--batch-size", "5", "--epochs", "4", "--scheduler", "exponential",
                            "--gamma", "0.7", "--tol", "0", "--format", "json"]))  # fmt: skip
    W, b = start_tensors()
    optimizer = torch.optim.SGD([W, b], lr=0.3)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.7)
    steps = iter(data["steps"])
    for _epoch in range(4):
        for _batch in range(3):  # ceil(13 / 5)
            s = next(steps)
            assert math.isclose(s["lr"], optimizer.param_groups[0]["lr"], rel_tol=1e-15)
            idx = np.array(s["batch"]) - 2
            optimizer.zero_grad()
            torch_loss(W, b, X[idx], T[idx]).backward()
            optimizer.step()
        scheduler.step()
    assert close(next(steps)["params"]["W"], W.detach().numpy())


def test_plateau_watches_each_epochs_mean_loss(run, tmp_path):
    X, T, path = classes(tmp_path)
    data = json_output(run(["descend", LOSS, "--data", path, *VECTORS, *START, "--lr", "2",
                            "--batch-size", "5", "--epochs", "6", "--scheduler", "plateau",
                            "--patience", "0", "--factor", "0.5", "--threshold", "0.3",
                            "--tol", "0",
                            "--format", "json"]))  # fmt: skip
    W, b = start_tensors()
    optimizer = torch.optim.SGD([W, b], lr=2.0)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, patience=0, factor=0.5, threshold=0.3
    )
    steps = iter(data["steps"])
    for _epoch in range(6):
        total = 0.0
        for _batch in range(3):
            s = next(steps)
            assert math.isclose(s["lr"], optimizer.param_groups[0]["lr"], rel_tol=1e-15)
            idx = np.array(s["batch"]) - 2
            optimizer.zero_grad()
            loss = torch_loss(W, b, X[idx], T[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        scheduler.step(total / 13)  # the epoch's mean loss over its examples
    lrs = {s["lr"] for s in data["steps"][:-1]}
    assert len(lrs) > 1  # the schedule did act
    assert close(next(steps)["params"]["W"], W.detach().numpy())


def test_onecycle_steps_every_batch_with_torchs_epochs_and_steps_per_epoch(run, tmp_path):
    X, T, path = classes(tmp_path)
    data = json_output(run(["descend", LOSS, "--data", path, *VECTORS, *START,
                            "--batch-size", "5", "--epochs", "3", "--scheduler", "onecycle",
                            "--max-lr", "0.4", "--no-cycle-momentum", "--tol", "0",
                            "--format", "json"]))  # fmt: skip
    W, b = start_tensors()
    optimizer = torch.optim.SGD([W, b], lr=0.1, momentum=0.0)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.4, epochs=3, steps_per_epoch=3, cycle_momentum=False
    )
    for s in data["steps"][:-1]:
        assert math.isclose(s["lr"], optimizer.param_groups[0]["lr"], rel_tol=1e-12)
        idx = np.array(s["batch"]) - 2
        optimizer.zero_grad()
        torch_loss(W, b, X[idx], T[idx]).backward()
        optimizer.step()
        scheduler.step()
    assert close(data["steps"][-1]["params"]["W"], W.detach().numpy())
