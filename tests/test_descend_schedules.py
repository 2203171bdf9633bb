"""descend and sweep with a learning-rate schedule: the lr of every step and the
parameters equal torch.optim driven by torch.optim.lr_scheduler, step by step."""

from __future__ import annotations

import pytest
from helpers import json_output

torch = pytest.importorskip("torch")
from torch.optim import lr_scheduler  # noqa: E402

LOSS = "(x - 1)**2 + 10*(y + 2)**2 + x*y"
STEPS = 40

# (gdcli options, torch scheduler maker)
SCHEDULES = [
    (["--scheduler", "step", "--step-size", "7", "--gamma", "0.5"],
     lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    (["--scheduler", "multistep", "--milestones", "5,12,12,30", "--gamma", "0.3"],
     lambda o: lr_scheduler.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3)),
    (["--scheduler", "exponential", "--gamma", "0.93"],
     lambda o: lr_scheduler.ExponentialLR(o, gamma=0.93)),
    (["--scheduler", "cosine", "--t-max", "15", "--eta-min", "0.001"],
     lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=15, eta_min=0.001)),
    (["--scheduler", "linear", "--start-factor", "0.2", "--total-iters", "10"],
     lambda o: lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=10)),
    (["--scheduler", "onecycle", "--max-lr", "0.05", "--total-steps", str(STEPS)],
     lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.05, total_steps=STEPS)),
    (["--scheduler", "cyclic", "--base-lr", "0.001", "--max-lr", "0.04", "--step-size-up", "6",
      "--mode", "triangular2"],
     lambda o: lr_scheduler.CyclicLR(o, base_lr=0.001, max_lr=0.04, step_size_up=6,
                                     mode="triangular2")),
    (["--scheduler", "plateau", "--patience", "2", "--factor", "0.5", "--threshold", "0.1"],
     lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=2, factor=0.5, threshold=0.1)),
]  # fmt: skip

OPTIMIZERS = [
    (["--momentum", "0.9"], lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9)),
    (["--optimizer", "adam"], lambda p: torch.optim.Adam(p, lr=0.02)),
]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=[s[0][1] for s in SCHEDULES])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=["sgd-momentum", "adam"])
def test_descend_with_a_schedule_equals_torch(run, schedule, optimizer):
    options, make_scheduler = schedule
    opt_options, make_optimizer = optimizer
    data = json_output(
        run(
            [
                "descend",
                LOSS,
                "--start",
                "x=0.5,y=0.5",
                "--lr",
                "0.02",
                "--steps",
                str(STEPS),
                "--tol",
                "0",
                *opt_options,
                *options,
                "-f",
                "json",
            ]
        )  # fmt: skip
    )
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([x, y])
    scheduler = make_scheduler(opt)
    plateau = isinstance(scheduler, lr_scheduler.ReduceLROnPlateau)
    assert len(data["steps"]) == STEPS + 1
    for record in data["steps"]:
        assert record["params"]["x"] == pytest.approx(x.item(), rel=1e-12, abs=1e-15)
        assert record["params"]["y"] == pytest.approx(y.item(), rel=1e-12, abs=1e-15)
        # the lr of the next update (the one torch's optimizer holds now)
        assert record["lr"] == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        if record["step"] == STEPS:
            break
        opt.zero_grad()
        loss = (x - 1) ** 2 + 10 * (y + 2) ** 2 + x * y
        loss.backward()
        opt.step()
        scheduler.step(loss.item()) if plateau else scheduler.step()
    assert data["scheduler"]["name"] == options[1]


def test_a_schedule_option_without_a_scheduler_is_refused(run):
    r = run(["descend", "--gamma", "0.5"])
    assert r.code == 2 and r.out == ""
    assert r.err == (
        "gdcli: error: --gamma is an option of a learning-rate schedule: give --scheduler too\n"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--scheduler", "onecycle", "--max-lr", "0.5"], "--total-steps is required"),
        (["--scheduler", "step"], "--step-size is required by schedule 'step'"),
        (["--scheduler", "onecycle", "--max-lr", "0.5", "--total-steps", "10"],
         "--total-steps is 10, fewer than the 50 updates asked for"),
        (["--scheduler", "cosine", "--t-max", "0"], "--t-max"),
        (["--scheduler", "step", "--step-size", "3", "--base-lr", "0.1"],
         "--base-lr is an option of cyclic, not of step"),
    ],
)  # fmt: skip
def test_bad_schedules_are_refused_before_any_step(run, options, message):
    r = run(["descend", *options, "-f", "json"])
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("gdcli: error: " + message)


def test_adagrad_cannot_cycle_momentum(run):
    r = run(["descend", "--optimizer", "adagrad", "--scheduler", "cyclic", "--max-lr", "0.5"])
    assert r.code == 2 and "--cycle-momentum must be false" in r.err
    ok = run(["descend", "--optimizer", "adagrad", "--scheduler", "cyclic", "--max-lr", "0.5",
              "--no-cycle-momentum", "-q"])  # fmt: skip
    assert ok.code == 0


def test_sweep_runs_equal_descend_with_the_same_schedule(run):
    options = ["--scheduler", "exponential", "--gamma", "0.9", "--steps", "30", "--tol", "0"]
    swept = json_output(run(["sweep", "(w - 3)**2", "--lr", "0.1,0.4", "--start", "0",
                             *options, "-f", "json"]))  # fmt: skip
    for record in swept["runs"]:
        single = json_output(run(["descend", "(w - 3)**2", "--lr", repr(record["lr"]),
                                  "--start", "0", *options, "-f", "json"]))  # fmt: skip
        assert record["params"]["w"] == single["final"]["params"]["w"]


@pytest.mark.parametrize("schedule", SCHEDULES[:-1], ids=[s[0][1] for s in SCHEDULES[:-1]])
def test_the_schedule_preview_is_torchs(run, schedule):
    options, make_scheduler = schedule
    data = json_output(run(["schedule", *options[1:], "--lr", "0.02", "--steps", "35",
                            "-f", "json"]))  # fmt: skip
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.02, momentum=0.9)
    scheduler = make_scheduler(opt)
    expected = []
    for _ in range(35):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    assert data["lrs"] == pytest.approx(expected, rel=1e-12)
    assert data["scheduler"] == options[1]


def test_the_plateau_preview_reads_the_metrics(run):
    r = run(["schedule", "plateau", "--patience", "1", "--metrics", "1,1,1,1", "--steps", "5",
             "-f", "json"])  # fmt: skip
    assert json_output(r)["lrs"] == pytest.approx([0.1, 0.1, 0.1, 0.01, 0.01])
    missing = run(["schedule", "plateau", "--steps", "5"])
    assert missing.code == 2 and missing.err.startswith("gdcli: error: --metrics are needed")
