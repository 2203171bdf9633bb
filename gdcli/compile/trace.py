"""Whole descents in one generated loop: the fused loop of a quiet run, and the trace
loop that hands a run's rows out in chunks, for every update rule of `optimizers`.

A loop is composed for one run. The loss and its gradient are the compiled
`value_and_grad` inlined (no call per step); the update is the optimizer's own
arithmetic in its own order, its hyper-parameters written in as constants; the stop
rule is `stopping.StopRule`'s. So every number equals the step loop's (`Descent`
with the optimizer) to the last bit. Where a value raises on the way (a math domain
error, an overflow, a division by zero, a complex number) the loop gives up and the
caller runs the step loop, which knows what each of those means.

The composed source passes `verify` like every generated source: one bounded loop
(`k = k + 1`, a return when `k >= steps`), arithmetic, and `_push`, the one call a
trace loop makes per row (a list's `extend`).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from gdcli.compile.arrays import ArrayCompiled
from gdcli.compile.chunks import Chunk
from gdcli.compile.runtime import Compiled
from gdcli.compile.verify import MATH_NAMES, UnsafeSource, load, math_namespace, verify
from gdcli.descent import Outcome, Step, norm_threshold
from gdcli.optimizers import Optimizer
from gdcli.params import Params, flatten
from gdcli.stopping import CONVERGED, DIVERGED, MAX_STEPS, StopRule, finite, norm

CHUNK_ROWS = 16_384  # rows of one chunk: about a megabyte of text, written in one go
FAILURES = (ArithmeticError, ValueError, TypeError)  # what a generated loop may raise

# one weight's direction texts, keyed by the signs of its slope and of its update
Directions = Mapping[tuple[int, int], str]


class Fused(NamedTuple):
    """A run's end, from the fused loop."""

    outcome: Outcome
    params: list[float]  # flat
    loss: float


# ---------------------------------------------------------------------------
# the parts of a loop


def _constant(value: float) -> str:
    """A float as source text that reads back as the same float."""
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


def _is_float(node: ast.expr, floats: set[str]) -> bool:
    """Is this expression a float (or complex) whenever the weights are floats? Where it
    may be an int or a bool (`max(0, w)`, a branch of constants) the loop multiplies by
    1.0, as the step loop's `float()` does."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, float)
    if isinstance(node, ast.Name):
        return node.id in floats or node.id in ("pi", "e")
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Div):
            return True
        return _is_float(node.left, floats) or _is_float(node.right, floats)
    if isinstance(node, ast.UnaryOp):
        return not isinstance(node.op, ast.Not) and _is_float(node.operand, floats)
    if isinstance(node, ast.IfExp):
        return _is_float(node.body, floats) and _is_float(node.orelse, floats)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name in MATH_NAMES or name in ("_sqrt", "_fsum"):
            return True
        if name in ("abs", "max", "min"):
            return all(_is_float(a, floats) for a in node.args)
    return False


def evaluation(function: ast.FunctionDef | None, size: int) -> list[str]:
    """The statements of `value_and_grad` (its syntax tree, as `Compiled` runs it: the
    small powers as products) that compute `loss` and `g0, g1, ...` from `x0, x1, ...`,
    to inline in a loop."""
    if function is None or [a.arg for a in function.args.args] != [f"x{k}" for k in range(size)]:
        raise UnsafeSource("no value_and_grad of the weights' entries")
    *temps, last = function.body
    value = last.value if isinstance(last, ast.Return) else None
    if not (isinstance(value, ast.Tuple) and len(value.elts) == 2):
        raise UnsafeSource("value_and_grad does not return (loss, grads)")
    loss, grads = value.elts
    if not (isinstance(grads, ast.Tuple) and len(grads.elts) == size):
        raise UnsafeSource("value_and_grad does not return one partial per entry")
    floats = {f"x{k}" for k in range(size)}
    lines = []
    for statement in temps:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id.startswith(("_t", "_p"))
        ):
            raise UnsafeSource("value_and_grad assigns something other than a temporary")
        lines.append(ast.unparse(statement))
        if _is_float(statement.value, floats):
            floats.add(statement.targets[0].id)

    def real(node: ast.expr) -> str:
        text = ast.unparse(node)
        return text if _is_float(node, floats) else f"({text}) * 1.0"

    lines.append(f"loss = {real(loss)}")
    lines += [f"g{k} = {real(g)}" for k, g in enumerate(grads.elts)]
    return lines


class Rule(NamedTuple):
    """An update rule as source: its buffers per entry (name prefix and start value),
    the lines computed once per update (with `k`, torch's step count t), and the lines
    of entry i, which end with the new value `n{i}`; lines run once, before the loop."""

    buffers: list[tuple[str, float]]
    shared: list[str]
    entry: Callable[[int], list[str]]
    prologue: list[str] = []


TINY = 2.0**-56  # 1 - x is 1.0 exactly for every 0 <= x < 2**-54


def settled(beta: float) -> int:
    """The first step count k from which `1 - beta**k` is 1.0 exactly (and stays so:
    beta**k falls, and pow is within an ulp of it)."""
    if beta == 0:
        return 1
    k = max(1, int(math.log(TINY) / math.log(beta)))
    while k > 1 and beta ** (k - 1) < TINY:
        k -= 1
    while beta**k >= TINY:
        k += 1
    return k


def update_rule(optimizer: Optimizer, lr: str | None = None) -> Rule | None:
    """The update rule of `optimizer` as source (None for one this module does not
    know). `lr` replaces the learning rate by a name (the loop then takes it)."""
    name = optimizer.name
    rate = optimizer.lr
    if not isinstance(rate, float):
        return None
    c = _constant
    lr_text = lr or c(rate)
    hyper = optimizer.hyperparameters()
    decay = float(hyper.get("weight_decay", 0.0))

    def decayed(i: int, out: list[str]) -> str:
        """g + weight_decay * p, where the rule adds it (else g itself)."""
        if decay == 0:
            return f"g{i}"
        out.append(f"d{i} = g{i} + {c(decay)} * x{i}")
        return f"d{i}"

    if name == "sgd":
        momentum, damping = float(hyper["momentum"]), 1 - float(hyper["dampening"])
        nesterov = bool(hyper["nesterov"])

        def sgd(i: int) -> list[str]:
            out: list[str] = []
            g = decayed(i, out)
            if momentum != 0:
                out += [
                    "if k == 1:",
                    f"    b{i} = {g}",
                    "else:",
                    f"    b{i} = {c(momentum)} * b{i} + {c(damping)} * {g}",
                ]
                if nesterov:
                    out.append(f"s{i} = {g} + {c(momentum)} * b{i}")
                g = f"s{i}" if nesterov else f"b{i}"
            return [*out, f"n{i} = x{i} - {lr_text} * {g}"]

        return Rule([("b", 0.0)] if momentum != 0 else [], [], sgd)
    if name in ("adam", "adamw"):
        beta1, beta2 = float(hyper["beta1"]), float(hyper["beta2"])
        eps, amsgrad = float(hyper["eps"]), bool(hyper["amsgrad"])
        decoupled = bool(getattr(optimizer, "decoupled_weight_decay", False))
        if lr is not None and decay != 0 and decoupled:
            return None  # p * (1 - lr * weight_decay) is folded with the lr's value

        def adam(i: int) -> list[str]:
            out: list[str] = []
            p, g = f"x{i}", f"g{i}"
            if decay != 0 and decoupled:
                out.append(f"p{i} = x{i} * {c(1 - rate * decay)}")
                p = f"p{i}"
            elif decay != 0:
                g = decayed(i, out)
            out += [
                f"m{i} = {c(beta1)} * m{i} + {c(1 - beta1)} * {g}",
                f"v{i} = {c(beta2)} * v{i} + {c(1 - beta2)} * {g} * {g}",
            ]
            v = f"v{i}"
            if amsgrad:  # torch.maximum: nan if either is nan
                out.append(
                    f"w{i} = w{i} + v{i} if w{i} != w{i} or v{i} != v{i} "
                    f"else (v{i} if v{i} > w{i} else w{i})"
                )
                v = f"w{i}"
            return [*out, f"n{i} = {p} - ss * m{i} / (_sqrt({v}) / r2 + {c(eps)})"]

        # the bias corrections 1 - beta**t, until they are 1.0 for good (torch computes
        # them at every step: the same numbers)
        first, second = settled(beta1), settled(beta2)
        shared = [
            f"if k < {first}:",
            f"    ss = {lr_text} / (1 - {c(beta1)} ** k)",
            f"if k < {second}:",
            f"    r2 = (1 - {c(beta2)} ** k) ** 0.5",
        ]
        prologue = [f"ss = {lr_text} / 1.0", "r2 = 1.0"]
        buffers = [("m", 0.0), ("v", 0.0)] + ([("w", 0.0)] if amsgrad else [])
        return Rule(buffers, shared, adam, prologue)
    if name == "rmsprop":
        alpha, eps = float(hyper["alpha"]), float(hyper["eps"])
        momentum, centered = float(hyper["momentum"]), bool(hyper["centered"])

        def rmsprop(i: int) -> list[str]:
            out: list[str] = []
            g = decayed(i, out)
            out.append(f"q{i} = {c(alpha)} * q{i} + {c(1 - alpha)} * {g} * {g}")
            v = f"q{i}"
            if centered:
                out += [
                    f"h{i} = {c(alpha)} * h{i} + {c(1 - alpha)} * {g}",
                    f"z{i} = q{i} - h{i} * h{i}",
                ]
                v = f"z{i}"
            # math.sqrt raises where optimizers' sqrt gives nan (a negative variance)
            out.append(f"a{i} = _sqrt({v}) + {c(eps)}")
            if momentum > 0:
                return [
                    *out,
                    f"b{i} = {c(momentum)} * b{i} + {g} / a{i}",
                    f"n{i} = x{i} - {lr_text} * b{i}",
                ]
            return [*out, f"n{i} = x{i} - {lr_text} * {g} / a{i}"]

        buffers = [("q", 0.0)] + ([("h", 0.0)] if centered else [])
        buffers += [("b", 0.0)] if momentum > 0 else []
        return Rule(buffers, [], rmsprop)
    if name == "adagrad":
        lr_decay, eps = float(hyper["lr_decay"]), float(hyper["eps"])
        initial = float(hyper["initial_accumulator_value"])
        # lr / (1 + (t - 1) * 0.0) is lr itself, to the bit
        shared = [f"clr = {lr_text} / (1 + (k - 1) * {c(lr_decay)})"] if lr_decay != 0 else []
        clr = "clr" if lr_decay != 0 else lr_text

        def adagrad(i: int) -> list[str]:
            out: list[str] = []
            g = decayed(i, out)
            return [
                *out,
                f"s{i} = s{i} + {g} * {g}",
                f"n{i} = x{i} - {clr} * {g} / (_sqrt(s{i}) + {c(eps)})",
            ]

        return Rule([("s", initial)], shared, adagrad)
    return None


def loop_source(
    lines: list[str],
    size: int,
    update: Rule,
    *,
    name: str = "fused",
    limit: float | None = None,
    extra: Sequence[str] = (),
    every: int = 1,
    updates: bool = False,
    directions: Directions | None = None,
) -> str:
    """The source of one loop: `name(x.., loss, g.., buffers.., k, steps, tol, *extra)`
    returns (status, x.., loss, g.., buffers.., k) with status converged, max_steps (k
    reached steps), diverged, or error (a weight became inf or nan: the loss and
    gradient the loop holds then are not the step loop's, which does not compute them).
    `tol` is `norm_threshold(rule.tol)`; `limit` the largest |loss| (written in; None: the
    loop takes it as an argument `limit`). A trace loop (name "trace") pushes the row
    of each step k-1 it leaves (every `every`-th, counted from its first step, which the
    caller makes a multiple of `every`): step, entries, loss, partials, and with
    `updates` the update of every entry, and with `directions` the one weight's
    direction text."""
    trace = name == "trace"
    xs = [f"x{i}" for i in range(size)]
    gs = [f"g{i}" for i in range(size)]
    buffers = [f"{prefix}{i}" for prefix, _ in update.buffers for i in range(size)]
    state = ", ".join([*xs, "loss", *gs, *buffers, "k"])
    squares = [f"{g} * {g}" for g in gs]
    norm = squares[0] if size == 1 else f"_fsum(({', '.join(squares)}))"
    head = ", ".join(
        [
            *xs,
            "loss",
            *gs,
            *buffers,
            "k",
            "steps",
            "tol",
            *(["limit"] if limit is None else []),
            *extra,
        ]
    )
    body = [
        f"if {norm} <= tol:",
        f"    return {CONVERGED!r}, {state}",
        "if k >= steps:",
        f"    return {MAX_STEPS!r}, {state}",
        "k = k + 1",
        *update.shared,
    ]
    for i in range(size):
        entry = update.entry(i)
        if not trace:  # nothing needs the point before: the new value takes its place
            entry[-1] = entry[-1].replace(f"n{i} = ", f"x{i} = ", 1)
        body += entry
    if trace:
        row = ["k - 1", *xs, "loss", *gs]
        push: list[str] = []
        if updates:
            push += [f"u{i} = n{i} - x{i}" for i in range(size)]
            row += [f"u{i}" for i in range(size)]
        if directions is not None:
            push.append(f"dr = {_direction(directions)}")
            row.append("dr")
        push.append(f"_push(({', '.join(row)},))")
        if every > 1:  # a countdown from the call's first step, a multiple of every
            body += ["j = j - 1", "if j < 0:", *(f"    {line}" for line in push)]
            body.append(f"    j = {every - 1}")
        else:
            body += push
        body += [f"x{i} = n{i}" for i in range(size)]
    # the loss and gradient where a weight is inf or nan are evaluated too (the step loop
    # does not, and nor does anyone read them: the status says error)
    body += lines
    if limit is None:
        bound, low = "limit", "-limit"
    else:
        bound = repr(limit) if math.isfinite(limit) else "1e999"
        low = f"(-{bound})"
    # inf - inf and nan - nan are nan, and so is any sum with them: one test for all
    finite = " + ".join(f"({v} - {v})" for v in [*gs, *xs])
    if limit is None or not math.isfinite(limit):  # an inf limit: the loss may be inf too
        finite = f"(loss - loss) + {finite}"
    healthy = f"{low} <= loss <= {bound} and {finite} == 0"
    moved = " and ".join(f"{x} - {x} == 0" for x in xs)
    status = f"('error' if not ({moved}) else {DIVERGED!r})"
    body += [f"if not ({healthy}):", f"    return {status}, {state}"]
    count = ["j = 0"] if trace and every > 1 else []
    count = [f"    {line}" for line in [*count, *update.prologue]]
    return "\n".join(
        [f"def {name}({head}):", *count, "    while True:", *(f"        {line}" for line in body)]
    )


def _direction(texts: Directions) -> str:
    """The one weight's direction as an expression of its slope g0 and its update u0:
    no text where the update is not finite (g0 always is, in a row the loop writes)."""

    def by_update(slope: int) -> str:
        down, up, still = (repr(texts[(slope, u)]) for u in (-1, 1, 0))
        return f"({down} if u0 < 0 else {up} if u0 > 0 else {still})"

    return (
        f"'' if not (u0 - u0 == 0) else {by_update(1)} if g0 > 0 else "
        f"{by_update(-1)} if g0 < 0 else {by_update(0)}"
    )


# ---------------------------------------------------------------------------
# running a loop


class _Loop(NamedTuple):
    function: Callable[..., Any]
    buffers: list[float]  # the buffers' start values, one per entry and buffer
    tol: float  # norm_threshold(rule.tol)
    limit: float


def _compose(
    compiled: Compiled,
    optimizer: Optimizer,
    stop: StopRule,
    loss: float,
    name: str,
    **options: Any,
) -> _Loop | None:
    """The loop for this run, verified and loaded (None where none applies)."""
    if not isinstance(compiled, Compiled) or any(compiled.shapes[n] for n in compiled.variables):
        return None
    update = update_rule(optimizer)
    if update is None:
        return None
    limit = stop.limit(loss)
    try:
        lines = evaluation(compiled.tree, compiled.size)
        extra = ["_push"] if name == "trace" else []
        source = loop_source(
            lines, compiled.size, update, name=name, limit=limit, extra=extra, **options
        )
        verify(source)
    except (UnsafeSource, SyntaxError, ValueError, RecursionError):
        return None
    function = load(source + "\n", math_namespace())[name]
    buffers = [value for _, value in update.buffers for _ in range(compiled.size)]
    return _Loop(function, buffers, norm_threshold(stop.tol), limit)


def _end(
    status: str, k: int, x: list[float], loss: Any, grad: list[Any], stop: StopRule, limit: float
) -> tuple[Outcome, float, list[float]]:
    """How a loop's run ended, with the loss and gradient the step loop records there:
    nan where a weight is not finite (they are not computed) or a value is complex."""
    if status == "error" or any(isinstance(v, complex) for v in (loss, *grad)):
        loss, grad = math.nan, [math.nan] * len(x)
    loss, grad = float(loss), [float(g) for g in grad]
    if status in ("error", DIVERGED):
        return Outcome(DIVERGED, k, stop.divergence(x, loss, grad, limit)), loss, grad
    return Outcome(status, k), loss, grad


def fused(
    compiled: Any, start: Params, first: tuple[float, Params], optimizer: Optimizer, stop: StopRule
) -> Fused | None:
    """A whole run in one generated loop, for the final point only (a quiet run): the
    step loop's numbers, without a call per step. `first` is the loss and gradient at
    the start (checked). Array weights run `_fused_arrays`. None where it does not
    apply (a rule it does not know) or a value raised on the way: the step loop then
    finds out why."""
    loss, grad = first
    if isinstance(compiled, ArrayCompiled):
        return _fused_arrays(compiled, start, first, optimizer, stop)
    loop = _compose(compiled, optimizer, stop, loss, "fused")
    if loop is None:
        return None
    x, g = flatten(start), flatten(grad)
    try:
        status, *state = loop.function(*x, loss, *g, *loop.buffers, 0, stop.steps, loop.tol)
    except FAILURES:
        return None
    n = len(x)
    x, loss, g, k = [float(v) for v in state[:n]], state[n], state[n + 1 : 2 * n + 1], state[-1]
    outcome, loss, g = _end(status, k, x, loss, g, stop, loop.limit)
    return Fused(outcome, x, loss)


class Trace:
    """A run's rows from a generated loop, in chunks of CHUNK_ROWS rows: each row is
    the step, the entries, the loss and the partials (and with `updates` each entry's
    next update, and with `directions` the one weight's direction text), for every
    `every`-th step before the last. Then `outcome` and `last` (the last step, whose
    row the caller writes itself). `shown` is the last row handed out, as a step.

    If the loop raises, the chunks end early with `failed` set: the caller runs the
    step loop and writes its rows from step `resume` on."""

    def __init__(
        self,
        compiled: Any,
        start: Params,
        first: tuple[float, Params],
        optimizer: Optimizer,
        stop: StopRule,
        *,
        every: int = 1,
        updates: bool = False,
        directions: Directions | None = None,
    ) -> None:
        loss, grad = first
        self.rule = stop
        self.every = every
        self.size = len(flatten(start))
        self.first = Step(0, list(flatten(start)), loss, list(flatten(grad)))
        self.loop = _compose(
            compiled,
            optimizer,
            stop,
            loss,
            "trace",
            every=every,
            updates=updates,
            directions=directions,
        )
        self.width = 2 + 2 * self.size + (self.size if updates else 0) + (directions is not None)
        self.shown: Step | None = None
        self.failed = False
        self.outcome: Outcome | None = None
        self.last: Step | None = None

    @property
    def usable(self) -> bool:
        return self.loop is not None

    @property
    def resume(self) -> int:
        """The first step whose row has not been handed out."""
        return 0 if self.shown is None else self.shown.step + 1

    def chunks(self) -> Iterator[Chunk]:
        loop = self.loop
        if loop is None:
            self.failed = True
            return
        n, total = self.size, self.rule.steps
        state = [*self.first.params, self.first.loss, *self.first.grad, *loop.buffers, 0]
        span = CHUNK_ROWS * self.every
        while True:
            values: list[Any] = []
            end = min(state[-1] + span, total)
            try:
                status, *state = loop.function(*state, end, loop.tol, values.extend)
            except FAILURES:
                self.failed = True
                return
            if values:
                last = values[-self.width :]
                self.shown = Step(last[0], last[1 : n + 1], last[n + 1], last[n + 2 : 2 * n + 2])
                yield Chunk(len(values) // self.width, values)
            k = state[-1]
            if status == MAX_STEPS and k < total:
                continue
            x = [float(v) for v in state[:n]]
            grad = state[n + 1 : 2 * n + 1]
            outcome, loss, grad = _end(status, k, x, state[n], grad, self.rule, loop.limit)
            self.outcome, self.last = outcome, Step(k, x, loss, grad)
            return


def _fused_arrays(
    compiled: ArrayCompiled,
    start: Params,
    first: tuple[float, Params],
    optimizer: Optimizer,
    stop: StopRule,
) -> Fused | None:
    """A whole run of array weights in one loop, for the final point only: the step
    loop (`Descent.run`) without its per-step records, NumPy's warnings silenced once
    for the run instead of twice per step. The same calls in the same order (the
    update rule's own `_update`, the compiled gradient, `norm`, `finite`, the stop
    rule), so the same numbers to the last bit. None where a value raises: the step
    loop finds out why."""
    import numpy as np

    if optimizer.record or not isinstance(optimizer.lr, float):
        return None
    update, evaluate = optimizer._update, compiled.evaluate_quietly
    params, (loss, grad) = list(start), first
    limit, tol = stop.limit(loss), stop.tol
    try:
        with np.errstate(all="ignore"):
            for k in range(1, stop.steps + 1):
                if norm(grad) <= tol:
                    return Fused(Outcome(CONVERGED, k - 1), flatten(params), loss)
                optimizer.t += 1  # what Optimizer.step does, parameter by parameter
                params = [
                    update(i, p, g) for i, (p, g) in enumerate(zip(params, grad, strict=True))
                ]
                moved = finite(params)
                loss, grad = (
                    evaluate(params) if moved else (math.nan, [p * math.nan for p in params])
                )
                if not (moved and math.isfinite(loss) and abs(loss) <= limit and finite(grad)):
                    reason = stop.divergence(params, loss, grad, limit)
                    if reason:
                        return Fused(Outcome(DIVERGED, k, reason), flatten(params), loss)
    except FAILURES:
        return None
    status = CONVERGED if norm(grad) <= tol else MAX_STEPS
    return Fused(Outcome(status, stop.steps), flatten(params), loss)
