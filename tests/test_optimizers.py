"""gdcli.optimizers against independent references: torch.optim (when installed) and closed forms.

The torch tests call pytest.importorskip inside the test, so the closed-form and validation tests
in this module still run where torch is absent.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gdcli.errors import BadInput
from gdcli.optimizers import DEFAULTS, OPTIMIZERS, Optimizer, make_optimizer

STEPS = 100
REL = 1e-9


def close(a: Any, b: Any, rel: float = REL) -> bool:
    """|a - b| <= rel * max(1, |b|): relative for large values, absolute near zero."""
    return abs(float(a) - float(b)) <= rel * max(1.0, abs(float(b)))


# name, lr, options (torch's option names, as the CLI passes them)
CONFIGS: list[tuple[str, float, dict[str, Any]]] = [
    ("sgd", 0.01, {}),
    ("sgd", 0.01, {"momentum": 0.9, "dampening": 0.3}),
    ("sgd", 0.01, {"momentum": 0.8, "nesterov": True}),
    ("sgd", 0.01, {"weight_decay": 0.1}),
    ("sgd", 0.005, {"momentum": 0.5, "weight_decay": 0.05, "nesterov": True}),
    ("adam", 0.05, {}),
    ("adam", 0.05, {"amsgrad": True, "weight_decay": 0.1, "beta1": 0.8, "beta2": 0.99}),
    ("adam", 0.02, {"eps": 1e-3, "beta1": 0.0, "beta2": 0.5}),
    ("adamw", 0.05, {}),
    ("adamw", 0.05, {"amsgrad": True, "weight_decay": 0.2, "eps": 1e-6}),
    ("rmsprop", 0.01, {}),
    ("rmsprop", 0.01, {"centered": True}),
    # with a larger lr this run ends in a chaotic oscillation on the matrix problem, where
    # torch's own trajectory moves by 1e-11 if one starting value moves by one ulp
    (
        "rmsprop",
        0.002,
        {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "alpha": 0.9, "eps": 1e-6},
    ),
    ("adagrad", 0.1, {}),
    (
        "adagrad",
        0.2,
        {"lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.1, "eps": 1e-8},
    ),
]
CONFIG_IDS = [f"{name}-{'-'.join(options) or 'plain'}" for name, _, options in CONFIGS]


# --- the test functions, as Python floats (closed-form gradients) -------------------------------


def grad_1d(w: float) -> list[float]:
    """l(w) = (w - 3)**2 + sin(w)."""
    return [2 * (w - 3) + math.cos(w)]


def grad_2d(x: Any, y: Any) -> list[Any]:
    """l(x, y) = (1 - x)**2 + 5*(y - x**2)**2; plain operators, so floats and arrays alike."""
    return [-2 * (1 - x) - 20 * x * (y - x * x), 10 * (y - x * x)]


def grad_poly(w: Any) -> list[Any]:
    """l(w) = (w - 3)**2 + 0.1*w**4; plain operators, so floats and arrays alike."""
    return [2 * (w - 3) + 0.4 * (w * w * w)]


MATRIX_X = np.array([0.5, -1.0, 2.0])
MATRIX_Y = np.array([1.0, -2.0])
MATRIX_W0 = np.array([[0.1, -0.2, 0.3], [0.0, 0.5, -0.4]])
MATRIX_B0 = np.array([0.2, -0.1])


def grad_matrix(w: Any, b: Any) -> list[Any]:
    """l(W, b) = sum((W @ x + b - y)**2): dW = 2 r x^T, db = 2 r with r = W @ x + b - y."""
    r = w @ MATRIX_X + b - MATRIX_Y
    return [2 * np.outer(r, MATRIX_X), 2 * r]


def run_ours(
    name: str, lr: Any, options: dict[str, Any], init: list[Any], grad: Callable[..., list[Any]]
) -> tuple[list[list[Any]], Optimizer]:
    optimizer = make_optimizer(name, lr, **options)
    params = list(init)
    trajectory = []
    for _ in range(STEPS):
        params = optimizer.step(params, grad(*params))
        trajectory.append(params)
    return trajectory, optimizer


# --- torch as the reference ---------------------------------------------------------------------


def torch_classes(torch: Any) -> dict[str, Any]:
    optim = torch.optim
    return {
        "sgd": optim.SGD,
        "adam": optim.Adam,
        "adamw": optim.AdamW,
        "rmsprop": optim.RMSprop,
        "adagrad": optim.Adagrad,
    }


def torch_optimizer(
    torch: Any, name: str, params: list[Any], lr: float, options: dict[str, Any]
) -> Any:
    """torch.optim's optimizer for our options (torch takes beta1, beta2 as a `betas` pair)."""
    kwargs = {k: v for k, v in options.items() if k not in ("beta1", "beta2")}
    if "beta1" in options or "beta2" in options:
        kwargs["betas"] = (options.get("beta1", 0.9), options.get("beta2", 0.999))
    # foreach=False: the _single_tensor_* code path our module transcribes
    return torch_classes(torch)[name](params, lr=lr, foreach=False, **kwargs)


def run_torch(
    name: str, lr: float, options: dict[str, Any], init: list[Any], loss: Callable[..., Any]
) -> tuple[list[list[np.ndarray]], dict[str, list[np.ndarray]]]:
    torch = pytest.importorskip("torch")
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in init]
    optimizer = torch_optimizer(torch, name, params, lr, options)
    trajectory = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss(torch, *params).backward()
        optimizer.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    state: dict[str, list[np.ndarray]] = {}
    for p in params:
        for key, value in optimizer.state[p].items():
            if key != "step" and value is not None:
                state.setdefault(key, []).append(value.detach().numpy().copy())
    return trajectory, state


def torch_loss_1d(torch: Any, w: Any) -> Any:
    return (w - 3) ** 2 + torch.sin(w)


def torch_loss_2d(torch: Any, x: Any, y: Any) -> Any:
    return (1 - x) ** 2 + 5 * (y - x**2) ** 2


def torch_loss_matrix(torch: Any, w: Any, b: Any) -> Any:
    return torch.sum((w @ torch.tensor(MATRIX_X) + b - torch.tensor(MATRIX_Y)) ** 2)


def assert_same_trajectory(ours: list[list[Any]], reference: list[list[np.ndarray]]) -> None:
    assert len(ours) == len(reference) == STEPS
    for k, (mine, theirs) in enumerate(zip(ours, reference, strict=True)):
        for a, b in zip(mine, theirs, strict=True):
            assert np.shape(a) == np.shape(b)
            for x, y in zip(np.ravel(a), np.ravel(b), strict=True):
                assert close(float(x), float(y)), f"step {k + 1}: {x!r} != torch {y!r}"
    # the runs must actually go somewhere, or the comparison proves little
    last = np.concatenate([np.ravel(v) for v in reference[-1]])
    first = np.concatenate([np.ravel(v) for v in reference[0]])
    assert np.all(np.isfinite(last)) and not np.allclose(first, last)


def assert_same_state(optimizer: Optimizer, reference: dict[str, list[np.ndarray]]) -> None:
    state = optimizer.state()
    assert set(state) == set(reference)
    for key, values in reference.items():
        for a, b in zip(state[key], values, strict=True):
            for x, y in zip(np.ravel(a), np.ravel(b), strict=True):
                assert close(float(x), float(y)), f"state {key}: {x!r} != torch {y!r}"


@pytest.mark.parametrize(("name", "lr", "options"), CONFIGS, ids=CONFIG_IDS)
def test_matches_torch_one_variable(name: str, lr: float, options: dict[str, Any]) -> None:
    reference, torch_state = run_torch(name, lr, options, [-1.0], torch_loss_1d)
    ours, optimizer = run_ours(name, lr, options, [-1.0], grad_1d)
    assert all(type(w) is float for params in ours for w in params)  # floats stay floats
    assert_same_trajectory(ours, reference)
    assert_same_state(optimizer, torch_state)


@pytest.mark.parametrize(("name", "lr", "options"), CONFIGS, ids=CONFIG_IDS)
def test_matches_torch_two_variables(name: str, lr: float, options: dict[str, Any]) -> None:
    reference, torch_state = run_torch(name, lr, options, [-1.0, 1.5], torch_loss_2d)
    ours, optimizer = run_ours(name, lr, options, [-1.0, 1.5], grad_2d)
    assert_same_trajectory(ours, reference)
    assert_same_state(optimizer, torch_state)


@pytest.mark.parametrize(("name", "lr", "options"), CONFIGS, ids=CONFIG_IDS)
def test_matches_torch_matrix_weights(name: str, lr: float, options: dict[str, Any]) -> None:
    init = [MATRIX_W0, MATRIX_B0]
    reference, torch_state = run_torch(name, lr, options, init, torch_loss_matrix)
    ours, optimizer = run_ours(name, lr, options, init, grad_matrix)
    assert_same_trajectory(ours, reference)
    assert_same_state(optimizer, torch_state)
    assert np.array_equal(init[0], MATRIX_W0) and np.array_equal(init[1], MATRIX_B0)


def test_defaults_are_torchs_except_lr() -> None:
    torch = pytest.importorskip("torch")
    classes = torch_classes(torch)
    assert set(DEFAULTS) == set(classes) == set(OPTIMIZERS)
    for name, cls in classes.items():
        theirs = {
            p.name: p.default
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.default is not inspect.Parameter.empty
        }
        if "betas" in theirs:
            theirs["beta1"], theirs["beta2"] = theirs.pop("betas")
        ours = DEFAULTS[name]
        assert ours["lr"] == 0.1
        for option, value in ours.items():
            if option != "lr":
                assert value == theirs[option], (name, option)
                assert isinstance(value, bool) == isinstance(theirs[option], bool), (name, option)


# --- a vectorised sweep equals separate scalar runs, bit for bit --------------------------------


@pytest.mark.parametrize(("name", "lr", "options"), CONFIGS, ids=CONFIG_IDS)
def test_sweep_over_learning_rates_equals_scalar_runs(
    name: str, lr: float, options: dict[str, Any]
) -> None:
    rates = lr * np.array([0.0, 0.25, 0.5, 1.0, 1.5])
    sweep, _ = run_ours(name, rates, options, [np.full(rates.shape, -1.0)], grad_poly)
    for n, rate in enumerate(rates):
        scalar, _ = run_ours(name, float(rate), options, [-1.0], grad_poly)
        assert [params[0][n] for params in sweep] == [params[0] for params in scalar]


@pytest.mark.parametrize(("name", "lr", "options"), CONFIGS, ids=CONFIG_IDS)
def test_sweep_with_column_learning_rates(name: str, lr: float, options: dict[str, Any]) -> None:
    # params (N, 2) hold (x, y) per run; lr has shape (N, 1) and broadcasts along the row
    rates = lr * np.array([[0.5], [1.0], [2.0]])

    def grad(p: np.ndarray) -> list[np.ndarray]:
        return [np.stack(grad_2d(p[:, 0], p[:, 1]), axis=1)]

    sweep, optimizer = run_ours(name, rates, options, [np.tile([-1.0, 1.5], (3, 1))], grad)
    for n, rate in enumerate(rates[:, 0]):
        scalar, _ = run_ours(name, float(rate), options, [-1.0, 1.5], grad_2d)
        assert [list(params[0][n]) for params in sweep] == scalar
    assert all(np.shape(v) == (3, 2) for values in optimizer.state().values() for v in values)


# --- closed forms (no torch needed) -------------------------------------------------------------


def test_sgd_on_a_quadratic_is_geometric() -> None:
    # l(w) = (w - 3)**2, g = 2(w - 3): w_k - 3 = (1 - 2 lr)(w_{k-1} - 3) = -3 * 0.8**k
    optimizer = make_optimizer("sgd", 0.1)
    w: Any = 0.0
    for k in range(1, STEPS + 1):
        [w] = optimizer.step([w], [2 * (w - 3)])
        assert abs(w - (3 - 3 * 0.8**k)) <= 1e-12
    assert optimizer.state() == {}


def test_sgd_momentum_with_a_constant_gradient() -> None:
    # l(w) = c*w: b_1 = c, b_k = mu*b_{k-1} + (1-d)c, so b_k = mu^(k-1) c + (1-d) c (1-mu^(k-1))/(1-mu)
    c, mu, d, lr = 2.0, 0.9, 0.3, 0.05
    optimizer = make_optimizer("sgd", lr, momentum=mu, dampening=d)
    w: Any = 1.0
    expected_w = 1.0
    for k in range(1, STEPS + 1):
        [w] = optimizer.step([w], [c])
        b = mu ** (k - 1) * c + (1 - d) * c * (1 - mu ** (k - 1)) / (1 - mu)
        expected_w -= lr * b
        assert close(optimizer.state()["momentum_buffer"][0], b, 1e-12)
        assert close(w, expected_w, 1e-12)


def test_sgd_nesterov_matches_its_linear_recurrence() -> None:
    # l(w) = (w - 3)**2 with e = w - 3, g = 2e. After the first step (b_1 = g_0),
    # [e, b] evolves linearly: b' = mu b + 2e, e' = e - lr (2e + mu b').
    lr, mu = 0.05, 0.7
    e0 = -3.0
    b1 = 2 * e0
    e1 = e0 - lr * (2 * e0 + mu * b1)
    a = np.array([[1 - lr * (2 + 2 * mu), -lr * mu * mu], [2.0, mu]])  # acts on (e_k, b_k)
    optimizer = make_optimizer("sgd", lr, momentum=mu, nesterov=True)
    [w] = optimizer.step([0.0], [2 * (0.0 - 3)])
    assert close(w - 3, e1, 1e-12)
    for k in range(2, 40):
        [w] = optimizer.step([w], [2 * (w - 3)])
        e_k, b_k = np.linalg.matrix_power(a, k - 1) @ np.array([e1, b1])
        assert abs((w - 3) - e_k) <= 1e-12
        assert abs(optimizer.state()["momentum_buffer"][0] - b_k) <= 1e-12


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_with_a_constant_gradient_moves_lr_per_step(name: str) -> None:
    # bias correction makes m_hat = c and v_hat = c**2 exactly, so each step is lr*c/(|c| + eps)
    c, lr, eps = -4.0, 0.1, 1e-3
    optimizer = make_optimizer(name, lr, eps=eps, weight_decay=0.0)
    w: Any = 2.0
    for t in range(1, STEPS + 1):
        [w] = optimizer.step([w], [c])
        assert close(w, 2.0 - t * lr * c / (abs(c) + eps), 1e-12)


def test_adamw_decay_alone_is_geometric() -> None:
    # zero gradient: m = v = 0, the Adam step is 0/eps = 0, and p shrinks by (1 - lr*wd) per step
    optimizer = make_optimizer("adamw", 0.1, weight_decay=0.5)
    w: Any = np.array([[1.0, -2.0], [3.0, 0.5]])
    for t in range(1, STEPS + 1):
        [w] = optimizer.step([w], [np.zeros((2, 2))])
        assert np.allclose(w, np.array([[1.0, -2.0], [3.0, 0.5]]) * 0.95**t, rtol=1e-12, atol=0)


def test_adagrad_with_a_constant_gradient() -> None:
    # s_t = s_0 + t c**2 and clr_t = lr / (1 + (t-1) lr_decay)
    c, lr, eps, decay, s0 = 3.0, 0.5, 1e-10, 0.1, 0.2
    optimizer = make_optimizer("adagrad", lr, eps=eps, lr_decay=decay, initial_accumulator_value=s0)
    w: Any = 0.0
    expected = 0.0
    for t in range(1, STEPS + 1):
        [w] = optimizer.step([w], [c])
        expected -= lr / (1 + (t - 1) * decay) * c / (math.sqrt(s0 + t * c * c) + eps)
        assert close(w, expected, 1e-12)
    assert close(optimizer.state()["sum"][0], s0 + STEPS * c * c, 1e-12)


def test_rmsprop_first_step() -> None:
    # v_1 = (1 - alpha) g**2, so the first step is lr*g/(sqrt(1 - alpha)|g| + eps)
    g, lr, alpha, eps = 0.5, 0.01, 0.99, 1e-8
    [w] = make_optimizer("rmsprop", lr).step([1.0], [g])
    assert close(w, 1.0 - lr * g / (math.sqrt(1 - alpha) * abs(g) + eps), 1e-12)


def test_rmsprop_centered_first_step() -> None:
    # v_1 - g_avg_1**2 = (1 - alpha) g**2 - (1 - alpha)**2 g**2 = alpha (1 - alpha) g**2
    g, lr, alpha = -2.0, 0.01, 0.9
    [w] = make_optimizer("rmsprop", lr, alpha=alpha, centered=True).step([0.0], [g])
    assert close(w, -lr * g / (math.sqrt(alpha * (1 - alpha)) * abs(g) + 1e-8), 1e-12)


def test_zero_eps_and_zero_gradient_give_nan_like_torch() -> None:
    # 0/0 in float64 is nan (torch's answer), not a ZeroDivisionError
    [w] = make_optimizer("adagrad", 0.1, eps=0.0).step([1.0], [0.0])
    assert math.isnan(w)


def test_step_does_not_mutate_its_inputs_and_counts_from_one() -> None:
    optimizer = make_optimizer("adam", 0.1)
    assert optimizer.t == 0 and optimizer.state() == {}
    w, g = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    [new] = optimizer.step([w], [g])
    assert optimizer.t == 1
    assert list(w) == [1.0, 2.0] and list(g) == [0.5, -0.5] and new is not w
    assert set(optimizer.state()) == {"exp_avg", "exp_avg_sq"}


def test_state_keys() -> None:
    def keys(name: str, **options: Any) -> set[str]:
        optimizer = make_optimizer(name, 0.1, **options)
        optimizer.step([1.0], [1.0])
        return set(optimizer.state())

    assert keys("sgd") == set()
    assert keys("sgd", momentum=0.9) == {"momentum_buffer"}
    assert keys("adam") == keys("adamw") == {"exp_avg", "exp_avg_sq"}
    assert keys("adam", amsgrad=True) == {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert keys("rmsprop") == {"square_avg"}
    assert keys("rmsprop", momentum=0.5, centered=True) == {
        "square_avg",
        "momentum_buffer",
        "grad_avg",
    }
    assert keys("adagrad") == {"sum"}


def test_registry() -> None:
    assert {name: cls.name for name, cls in OPTIMIZERS.items()} == {
        "sgd": "sgd",
        "adam": "adam",
        "adamw": "adamw",
        "rmsprop": "rmsprop",
        "adagrad": "adagrad",
    }
    assert DEFAULTS["adamw"]["weight_decay"] == 0.01 and DEFAULTS["adam"]["weight_decay"] == 0
    assert all(next(iter(options)) == "lr" for options in DEFAULTS.values())
    assert make_optimizer("SGD").name == "sgd"


# --- validation ---------------------------------------------------------------------------------

# inputs torch.optim itself rejects (ValueError), by its own rules
INVALID_BY_TORCH_RULES: list[tuple[str, Any, dict[str, Any]]] = [
    ("sgd", -0.1, {}),
    ("adagrad", -1e-9, {}),
    ("sgd", 0.1, {"nesterov": True}),
    ("sgd", 0.1, {"nesterov": True, "momentum": 0.0}),
    ("sgd", 0.1, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("sgd", 0.1, {"momentum": -0.5}),
    ("sgd", 0.1, {"weight_decay": -1e-3}),
    ("adam", 0.1, {"beta1": 1.0}),
    ("adam", 0.1, {"beta1": -0.1}),
    ("adamw", 0.1, {"beta2": 1.5}),
    ("adam", 0.1, {"eps": -1e-8}),
    ("adamw", 0.1, {"weight_decay": -0.01}),
    ("rmsprop", 0.1, {"alpha": -0.9}),
    ("rmsprop", 0.1, {"eps": -1.0}),
    ("rmsprop", 0.1, {"momentum": -0.1}),
    ("rmsprop", 0.1, {"weight_decay": -0.1}),
    ("adagrad", 0.1, {"lr_decay": -0.1}),
    ("adagrad", 0.1, {"initial_accumulator_value": -1.0}),
    ("adagrad", 0.1, {"eps": -1e-10}),
]

# our own stricter rules: unknown names and options, wrong types, non-finite values, array lrs
INVALID_BY_OUR_RULES: list[tuple[str, Any, dict[str, Any]]] = [
    ("nadam", 0.1, {}),
    ("sgd", 0.1, {"beta1": 0.9}),
    ("adam", 0.1, {"momentum": 0.9}),
    ("adamw", 0.1, {"dampening": 0.0}),
    ("rmsprop", 0.1, {"lr_decay": 0.1}),
    ("adagrad", 0.1, {"nesterov": True}),
    ("adam", math.nan, {}),
    ("rmsprop", math.inf, {}),
    ("sgd", "0.1", {}),
    ("sgd", np.array([0.1, -0.2]), {}),
    ("sgd", np.array([0.1, math.nan]), {}),
    ("sgd", 0.1, {"momentum": math.inf}),
    ("sgd", 0.1, {"dampening": math.nan}),
    ("sgd", 0.1, {"nesterov": 1}),
    ("adamw", 0.1, {"beta2": math.nan}),
    ("adam", 0.1, {"amsgrad": "yes"}),
    ("rmsprop", 0.1, {"centered": None}),
    ("adagrad", 0.1, {"weight_decay": True}),
    ("adagrad", 0.1, {"eps": "1e-10"}),
]


@pytest.mark.parametrize(("name", "lr", "options"), INVALID_BY_TORCH_RULES + INVALID_BY_OUR_RULES)
def test_invalid_input_is_bad_input(name: str, lr: Any, options: dict[str, Any]) -> None:
    with pytest.raises(BadInput) as caught:
        make_optimizer(name, lr, **options)
    assert caught.value.message and "\n" not in caught.value.message


@pytest.mark.parametrize(("name", "lr", "options"), INVALID_BY_TORCH_RULES)
def test_torch_rejects_the_same_inputs(name: str, lr: Any, options: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ValueError):
        torch_optimizer(torch, name, [param], lr, options)


def test_valid_edge_values_are_accepted() -> None:
    make_optimizer("sgd", 0.0, momentum=0.9, nesterov=True, dampening=0.0)
    make_optimizer("adam", 0.1, beta1=0.0, beta2=0.0, eps=0.0)
    make_optimizer("rmsprop", 0.1, alpha=0.0, momentum=0.0)
    make_optimizer("sgd", np.array([[0.0], [0.5]]))
    make_optimizer("adagrad", 1, lr_decay=0, initial_accumulator_value=0)
