"""Straight-line programs over NumPy arrays: what a graph's passes lower to.

A `Program` is a list of instructions `slot = numpy.f(args..., key=literal...)`,
each slot assigned once. It runs in two ways: `Program.runner()` calls each NumPy
function in turn (in process, no code generated), and `Program.source` prints the
same calls, in the same order, as the body of one Python function. Both make
exactly the same calls on exactly the same operands, so their numbers agree bit
for bit. Before either, `allocate` maps the slots to a few registers (a slot's
register is reused once its value is dead).

Every value has a static type: its shape per example and whether it carries the
leading example axis (`batched`, of run-time length B). The `Builder` helpers use
the types to align example axes before NumPy broadcasts (a batched value with
fewer axes per example gets axes inserted after the example axis) and to sum a
broadcast contribution back to an argument's shape. An adjoint may be kept
smaller than its node (a scalar standing for its broadcast); `materialize` writes
it out when a rule needs the full array.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gdcli.engine.terms import Shape, broadcast

Literal = float | int | str | bool | tuple[int, ...]

# NumPy functions whose result may share memory with an argument.
VIEWS = frozenset(
    {"asarray", "broadcast_to", "expand_dims", "reshape", "transpose", "swapaxes", "squeeze"}
)


@dataclass(frozen=True)
class Val:
    """A value of the program: a slot, or a float literal (slot -1)."""

    slot: int
    shape: Shape  # per example
    batched: bool = False  # carries the leading example axis
    literal: float | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)


@dataclass(frozen=True)
class ListArg:
    """A list of values as one argument (`numpy.stack([a, b])`)."""

    items: tuple[Val, ...]


@dataclass(frozen=True)
class ArrayLiteral:
    """Nested lists of floats, as one argument (`numpy.array([[1.0, 2.0]])`)."""

    rows: Any


Arg = Val | ListArg | ArrayLiteral | Literal


@dataclass(frozen=True)
class Instr:
    out: int
    fn: str  # a public NumPy name, e.g. "multiply" or "linalg.norm"
    args: tuple[Arg, ...]
    kwargs: tuple[tuple[str, Literal], ...] = ()


@dataclass
class Program:
    nargs: int
    code: list[Instr] = field(default_factory=list)
    slots: int = 0
    register: dict[int, int] = field(default_factory=dict)  # slot -> where it is kept

    def allocate(self, keep: Iterable[int]) -> None:
        """Give each slot a register, reusing the registers of values no longer
        needed (all but `keep` and the arguments): the generated function then holds
        only the live arrays, and NumPy reuses the memory of the dead ones (holding
        every temporary of a large pass costs page faults at each call)."""
        kept = set(keep)
        last: dict[int, int] = {}
        for i, ins in enumerate(self.code):
            for slot in _reads(ins.args):
                last[slot] = i
        register = {k: k for k in range(self.nargs)}
        free: list[int] = []
        count = self.nargs
        for i, ins in enumerate(self.code):
            for slot in set(_reads(ins.args)):
                if slot >= self.nargs and last[slot] == i and slot not in kept:
                    free.append(register[slot])
            if free:
                register[ins.out] = free.pop()
            else:
                register[ins.out] = count
                count += 1
            if ins.out not in last and ins.out not in kept:  # never read
                free.append(register[ins.out])
        self.register = register

    @property
    def size(self) -> int:
        return max(self.register.values()) + 1 if self.register else self.slots

    def where(self, slot: int) -> int:
        return self.register.get(slot, slot) if self.register else slot

    def value(self, env: list[Any], v: Val) -> Any:
        """A value, from the list `run` returns."""
        return v.literal if v.literal is not None else env[self.where(v.slot)]

    # running in process

    def runner(self) -> Callable[[Sequence[Any]], list[Any]]:
        """A function of the arguments that returns the registers at the end."""
        import numpy

        steps: list[tuple[int, Callable[..., Any], tuple[tuple[int, Any], ...], dict[str, Any]]]
        steps = []
        for ins in self.code:
            f: Any = numpy
            for part in ins.fn.split("."):
                f = getattr(f, part)
            spec = tuple(self._spec(a) for a in ins.args)
            steps.append((self.where(ins.out), f, spec, dict(ins.kwargs)))
        size = self.size

        def run(args: Sequence[Any]) -> list[Any]:
            env: list[Any] = [None] * size
            env[: len(args)] = args
            for out, f, spec, kw in steps:
                env[out] = f(*[_get(env, k, x) for k, x in spec], **kw)
            return env

        return run

    def _spec(self, a: Arg) -> tuple[int, Any]:
        """(0, register) for a value, (1, value) for a constant, (2, specs) for a list."""
        if isinstance(a, Val):
            return (1, a.literal) if a.literal is not None else (0, self.where(a.slot))
        if isinstance(a, ListArg):
            return 2, tuple(self._spec(i) for i in a.items)
        if isinstance(a, ArrayLiteral):
            return 1, _nested_copy(a.rows)
        return 1, a

    # printing

    def source(self, name: str, returns: str) -> str:
        """The program as `def name(a0, a1, ...): ...; return <returns>` (write
        `returns` with `arg_text`)."""
        params = ", ".join(self.slot_name(k) for k in range(self.nargs))
        lines = [f"def {name}({params}):"]
        for ins in self.code:
            args = [self.arg_text(a) for a in ins.args]
            args += [f"{k}={_literal_text(v)}" for k, v in ins.kwargs]
            lines.append(f"    {self.slot_name(ins.out)} = numpy.{ins.fn}({', '.join(args)})")
        lines.append(f"    return {returns}")
        return "\n".join(lines) + "\n"

    def slot_name(self, slot: int) -> str:
        return f"a{slot}" if slot < self.nargs else f"v{self.where(slot)}"

    def arg_text(self, a: Arg) -> str:
        if isinstance(a, Val):
            if a.literal is not None:
                return _literal_text(a.literal)
            return self.slot_name(a.slot)
        if isinstance(a, ListArg):
            return "[" + ", ".join(self.arg_text(i) for i in a.items) + "]"
        if isinstance(a, ArrayLiteral):
            return _nested_text(a.rows)
        return _literal_text(a)


def _reads(args: Sequence[Arg]) -> list[int]:
    out: list[int] = []
    for a in args:
        if isinstance(a, Val) and a.literal is None:
            out.append(a.slot)
        elif isinstance(a, ListArg):
            out += _reads(a.items)
    return out


def _get(env: list[Any], kind: int, x: Any) -> Any:
    if kind == 0:
        return env[x]
    if kind == 1:
        return x
    return [_get(env, k, y) for k, y in x]


def _nested_copy(rows: Any) -> Any:
    return [_nested_copy(r) for r in rows] if isinstance(rows, (list, tuple)) else float(rows)


def _nested_text(rows: Any) -> str:
    if isinstance(rows, (list, tuple)):
        return "[" + ", ".join(_nested_text(r) for r in rows) + "]"
    return _literal_text(float(rows))


def _literal_text(v: Any) -> str:
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("a non-finite literal cannot be written")
        return repr(v)
    if isinstance(v, (int, str)):
        return repr(v)
    if isinstance(v, tuple):
        return "(" + "".join(_literal_text(x) + ", " for x in v).rstrip(" ") + ")"
    raise TypeError(f"not a literal: {v!r}")


# ===========================================================================
# building


class Builder:
    """Emits instructions into a program, with typed helpers."""

    def __init__(self, params: Sequence[tuple[Shape, bool]]) -> None:
        self.program = Program(nargs=len(params), slots=len(params))
        self.params = [Val(k, s, b) for k, (s, b) in enumerate(params)]
        self.fresh: set[int] = set()  # slots that share memory with no argument

    def emit(self, fn: str, *args: Arg, shape: Shape, batched: bool, **kwargs: Literal) -> Val:
        slot = self.program.slots
        self.program.slots += 1
        self.program.code.append(Instr(slot, fn, args, tuple(kwargs.items())))
        if fn not in VIEWS:
            self.fresh.add(slot)
        return Val(slot, shape, batched)

    @staticmethod
    def lit(x: float) -> Val:
        return Val(-1, (), False, float(x))

    # element-wise

    def align(self, v: Val, ndim: int) -> Val:
        """A batched value with fewer axes per example than `ndim`: axes inserted
        after the example axis, so that NumPy broadcasts per example."""
        if not v.batched or v.ndim >= ndim:
            return v
        extra = ndim - v.ndim
        axes = tuple(range(1, 1 + extra))
        return self.emit("expand_dims", v, axis=axes, shape=(1,) * extra + v.shape, batched=True)

    def ew(self, fn: str, *vals: Val, **kwargs: Literal) -> Val:
        """An element-wise ufunc of values that broadcast together."""
        shape = broadcast(*(v.shape for v in vals))
        batched = any(v.batched for v in vals)
        folded = _fold(fn, vals)
        if folded is not None:
            return self.lit(folded)
        args = tuple(self.align(v, len(shape)) for v in vals)
        return self.emit(fn, *args, shape=shape, batched=batched, **kwargs)

    def mul(self, a: Val, b: Val) -> Val:
        if a.literal == 1.0 and broadcast(a.shape, b.shape) == b.shape:
            return b
        if b.literal == 1.0 and broadcast(a.shape, b.shape) == a.shape:
            return a
        return self.ew("multiply", a, b)

    def switched(self, g: Val, d: Val) -> Val:
        """g * d where d is a step's slope: 0 where d is 0, whatever g is (the slope of
        sqrt(max(0, u)) where u < 0 is 0, not inf * 0; torch's relu does the same)."""
        product = self.mul(g, d)
        if d.literal is not None or product.literal is not None:
            return product
        off = self.ew("equal", d, self.lit(0.0))
        return self.emit("where", off, 0.0, product, shape=product.shape, batched=product.batched)

    def add(self, a: Val, b: Val) -> Val:
        return self.ew("add", a, b)

    def neg(self, a: Val) -> Val:
        if a.literal is not None:
            return self.lit(-a.literal)
        return self.ew("negative", a)

    def where(self, condition: Val) -> Val:
        """1.0 where a boolean value holds, 0.0 elsewhere."""
        return self.emit(
            "where", condition, 1.0, 0.0, shape=condition.shape, batched=condition.batched
        )

    # reductions and shapes

    def example_axes(self, v: Val) -> tuple[int, ...]:
        off = 1 if v.batched else 0
        return tuple(range(off, off + v.ndim))

    def total(self, fn: str, v: Val) -> Val:
        """sum, max or min over all the entries of each example."""
        if not v.shape:
            return v
        if v.batched:
            return self.emit(fn, v, axis=self.example_axes(v), shape=(), batched=True)
        return self.emit(fn, v, shape=(), batched=False)

    def reduce_to(self, v: Val, target: Val, full: Val) -> Val:
        """A contribution `v`, standing for its broadcast to the type of `full` (the
        node's), summed back to the type of `target` (the argument's): the adjoint
        of broadcasting. Along an axis where `v` is constant (kept smaller) the sum
        is a count. The result may stay smaller than the argument."""
        ndim = full.ndim
        lead = ndim - len(target.shape)  # leading axes of `full` the target lacks
        vt = (1,) * (ndim - v.ndim) + v.shape
        tt = (1,) * lead + target.shape
        off = 1 if v.batched else 0
        first = ndim - v.ndim  # where v's own axes start among full's
        count = 1.0
        keep: list[int] = []  # v's axes summed, kept as 1 (the target has them)
        for axis in range(ndim):
            if tt[axis] == 1 and full.shape[axis] != 1:
                if vt[axis] == 1:
                    count *= full.shape[axis]
                elif axis >= lead:
                    keep.append(off + axis - first)
        drop = [off + axis - first for axis in range(first, lead)]  # v's axes the target lacks
        if v.batched and not target.batched:
            drop.insert(0, 0)
        shape = list(v.shape)
        for axis in keep:
            shape[axis - off] = 1
        if keep:
            v = self.emit(
                "sum", v, axis=tuple(keep), keepdims=True, shape=tuple(shape), batched=v.batched
            )
        if drop:
            shape = shape[max(lead - first, 0) :]
            v = self.emit(
                "sum", v, axis=tuple(drop), shape=tuple(shape), batched=v.batched and target.batched
            )
        if count != 1.0:
            v = self.ew("multiply", v, self.lit(count))
        return v

    def materialize(self, v: Val, like: Val) -> Val:
        """`v` broadcast out to the type of `like` (a view, no copy)."""
        if v.shape == like.shape and v.batched == like.batched:
            return v
        v = self.align(v, like.ndim)
        if v.literal is not None:
            v = self.emit("asarray", v.literal, shape=(), batched=False)
        target: Arg
        if like.batched:
            target = self.emit("shape", like, shape=(), batched=False)
        else:
            target = like.shape
        return self.emit("broadcast_to", v, target, shape=like.shape, batched=like.batched)

    def copy_if_shared(self, v: Val) -> Val:
        if v.literal is None and v.slot in self.fresh:
            return v
        if v.literal is not None:
            return self.emit("array", v.literal, shape=v.shape, batched=v.batched)
        return self.emit("array", v, shape=v.shape, batched=v.batched)


def _fold(fn: str, vals: Sequence[Val]) -> float | None:
    """Arithmetic on float literals done once, when building (IEEE operations are
    correctly rounded, in Python as in NumPy)."""
    if len(vals) != 2 or any(v.literal is None for v in vals):
        return None
    a, b = (float(v.literal) for v in vals if v.literal is not None)
    if fn == "multiply":
        out = a * b
    elif fn == "add":
        out = a + b
    elif fn == "subtract":
        out = a - b
    elif fn == "divide" and b != 0:
        out = a / b
    else:
        return None
    return out if math.isfinite(out) else None
