"""Lowering: the parser's checked syntax tree -> graph nodes, shapes checked.

The tree is walked twice, never evaluated. The first walk is the allow-list, as
strict as the parser's (`gdcli.parse.expression._Parser.build`), with its messages and
columns: numbers, names, + - * / ** @, unary + and -, one comparison (< <= > >=,
an indicator), lists, and calls of known functions by bare name. Names that have
no role are reported after it (a syntax error anywhere comes first). The second
walk makes the nodes and checks every shape before any number is computed.
Equal subexpressions (the same text) become one node.
"""

from __future__ import annotations

import ast
import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from gdcli.engine._links import (
    FORBIDDEN,
    FUNCTION_NAMES,
    MAX_BITS,
    MAX_ENTRIES,
    MAX_NODE_ENTRIES,
    OPERATOR_NAMES,
    RANGE_HINT,
    RESERVED,
    BadInput,
    MissingValue,
    NameRole,
    ParseError,
    ResourceLimit,
    ShapeError,
    call_refusal,
    decimal_literal,
    quote,
    shape_needed,
    shorten,
    sympy_name,
    user_column,
)
from gdcli.engine.node import Node
from gdcli.engine.terms import (
    Bin,
    Call,
    Cmp,
    Lst,
    Name,
    Num,
    Shape,
    Term,
    Un,
    broadcast,
    matmul_shape,
    shape_text,
    show,
)

# Beyond the parser's functions, the engine knows three more.
NEW_FUNCTIONS = ("outer", "softmax", "logsumexp")
FUNCTIONS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(FUNCTION_NAMES, (1, 1)),
    "log": (1, 2),
    "Heaviside": (1, 2),
    "heaviside": (1, 2),
    "max": (1, 32),
    "min": (1, 32),
    "dot": (2, 2),
    "outer": (2, 2),
    "softmax": (1, 1),
    "logsumexp": (1, 1),
}
UNARY_OPS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos",
    "atan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "exp": "exp",
    "log": "log", "ln": "log", "sqrt": "sqrt", "abs": "abs", "sign": "sign",
    "Heaviside": "heaviside", "heaviside": "heaviside", "sigmoid": "sigmoid",
    "relu": "relu", "softplus": "softplus",
}  # fmt: skip
BINARY = {ast.Add: ("+", "add"), ast.Sub: ("-", "sub"), ast.Mult: ("*", "mul"),
          ast.Div: ("/", "div"), ast.Pow: ("**", "pow"), ast.MatMult: ("@", "matmul")}  # fmt: skip
COMPARE = {ast.Gt: (">", "gt"), ast.GtE: (">=", "ge"), ast.Lt: ("<", "lt"),
           ast.LtE: ("<=", "le")}  # fmt: skip


@dataclass
class Lowering:
    source: str  # normalised text (`^` written `**`)
    carets: list[int]
    weights: Mapping[str, Shape]
    inputs: Mapping[str, Shape]
    batched: bool
    nodes: list[Node] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)  # text -> node id
    missing: list[str] = field(default_factory=list)

    # errors

    def column(self, node: ast.AST) -> int:
        return user_column(getattr(node, "col_offset", 0), self.carets)

    def fail(self, message: str, node: ast.AST, hint: str | None = None) -> ParseError:
        return ParseError(message, self.source, self.column(node), hint)

    # the first walk: the allow-list

    def check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Expression):
            self.check(node.body)
        elif isinstance(node, ast.Constant):
            self.number(node)
        elif isinstance(node, ast.Name):
            self.check_name(node)
        elif isinstance(node, ast.UnaryOp):
            self.check(node.operand)
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                symbol = OPERATOR_NAMES.get(type(node.op), "?")
                raise self.fail(f"operator {symbol!r} is not supported", node)
        elif isinstance(node, ast.BinOp):
            self.check(node.left)
            self.check(node.right)
            if type(node.op) not in BINARY:
                symbol = OPERATOR_NAMES.get(type(node.op), type(node.op).__name__)
                raise self.fail(f"operator {symbol!r} is not supported", node)
        elif isinstance(node, ast.Call):
            self.check_call(node)
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise self.fail("chained comparisons are not supported", node)
            if type(node.ops[0]) not in COMPARE:
                raise self.fail("only <, <=, > and >= comparisons are supported", node)
            self.check(node.left)
            self.check(node.comparators[0])
        elif isinstance(node, ast.List):
            if not node.elts:
                raise self.fail("an empty list is not a value", node)
            for item in node.elts:
                self.check(item)
        else:
            what = FORBIDDEN.get(type(node), type(node).__name__)
            raise self.fail(f"{what} is not allowed", node)

    def number(self, node: ast.Constant) -> tuple[float, Fraction]:
        """A typed number: its float and its exact value (0.1 is 1/10, as typed)."""
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.fail(f"{value!r} is not a number", node)
        if isinstance(value, (str, bytes)):
            raise self.fail("a string is not allowed", node)
        if isinstance(value, complex):
            raise self.fail("complex numbers are not supported (weights are real)", node)
        typed = self.typed(node)
        try:  # the parser's own rule: exact as typed, within the range of floats
            exact = decimal_literal(typed, value)
        except ValueError:
            raise self.fail(f"number out of range: {shorten(typed)}", node, RANGE_HINT) from None
        return float(exact), exact

    def typed(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or repr(getattr(node, "value", ""))

    def check_name(self, node: ast.Name) -> None:
        name = node.id
        if name in ("pi", "e") or name in self.inputs:
            return
        if name in FUNCTIONS:
            raise self.fail(f"{name} is a function: call it as {name}(...)", node)
        if name.startswith("_"):
            raise self.fail(f"name {quote(name)} is not allowed (names may not start with _)", node)
        # SymPy's own names (of two letters or more)
        if name in RESERVED or (len(name) > 1 and sympy_name(name)):
            raise self.fail(
                f"name {quote(name)} is reserved: it means something else to SymPy",
                node,
                hint="choose another name (a derivative's text must read back in SymPy)",
            )
        if name not in self.weights and name not in self.missing:
            self.missing.append(name)

    def check_call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
            values = {*self.inputs, *self.weights}
            message, hint = call_refusal(node, self.source, list(FUNCTIONS), values)
            raise self.fail(message, node, hint)
        name = func.id
        if node.keywords:
            raise self.fail(f"{name}() takes no keyword arguments", node)
        lo, hi = FUNCTIONS[name]
        if not lo <= len(node.args) <= hi:
            count = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(f"{name}() takes {count} argument(s), got {len(node.args)}", node)
        for arg in node.args:
            self.check(arg)

    # the second walk: nodes

    def make(
        self,
        op: str,
        args: tuple[int, ...],
        shape: Shape,
        term: Term,
        **extra: Any,
    ) -> int:
        text = show(term)
        if text in self.index:
            return self.index[text]
        size = math.prod(shape)
        if size > MAX_NODE_ENTRIES:
            raise ResourceLimit(
                f"{text if len(text) < 40 else 'a part of the expression'} would have "
                f"{size} entries (at most {MAX_NODE_ENTRIES})"
            )
        batched = (op == "input" and self.batched) or any(self.nodes[a].batched for a in args)
        node = Node(len(self.nodes), op, args, shape, text, batched, term=term, **extra)
        self.nodes.append(node)
        self.index[text] = node.id
        return node.id

    def term(self, i: int) -> Term:
        return self.nodes[i].term

    def shape(self, i: int) -> Shape:
        return self.nodes[i].shape

    def build(self, node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return self.build(node.body)
        if isinstance(node, ast.Constant):
            value, exact = self.number(node)
            return self.make(
                "const", (), (), Num(exact, self.typed(node)), value=value, exact=exact
            )
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            a = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return a
            inner = self.nodes[a].exact
            return self.make(
                "neg", (a,), self.shape(a), Un(self.term(a), self.shape(a)),
                exact=None if inner is None else -inner,
            )  # fmt: skip
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            try:
                return self.call(node)
            except ShapeError as exc:  # outer(W, x) with W a weight given a number
                names = [self.weight_named(a) for a in node.args]
                shapes = [self.known_shape(a) for a in node.args]
                fn = getattr(node.func, "id", "")
                raise shape_needed(exc, names, shapes, matmul=fn == "dot") from None
        if isinstance(node, ast.Compare):
            a = self.build(node.left)
            b = self.build(node.comparators[0])
            symbol, op = COMPARE[type(node.ops[0])]
            shape = broadcast(self.shape(a), self.shape(b))
            return self.make(op, (a, b), shape, Cmp(symbol, self.term(a), self.term(b), shape))
        if isinstance(node, ast.List):
            return self.array(node)
        raise self.fail("not allowed", node)  # the first walk has refused it

    def weight_named(self, node: ast.AST) -> str | None:
        return node.id if isinstance(node, ast.Name) and node.id in self.weights else None

    def known_shape(self, node: ast.AST) -> Shape:
        """The shape of a weight or an input named by `node` (else unknown, ())."""
        if isinstance(node, ast.Name):
            return tuple({**self.inputs, **self.weights}.get(node.id, ()))
        return ()

    def name(self, node: ast.Name) -> int:
        name = node.id
        if name in ("pi", "e"):
            value = math.pi if name == "pi" else math.e
            return self.make("const", (), (), Name(name), value=value)
        if name in self.inputs:
            shape = tuple(self.inputs[name])
            return self.make("input", (), shape, Name(name, shape), name=name)
        shape = tuple(self.weights[name])
        return self.make("weight", (), shape, Name(name, shape), name=name)

    def binop(self, node: ast.BinOp) -> int:
        a = self.build(node.left)
        b = self.build(node.right)
        symbol, op = BINARY[type(node.op)]
        sa, sb = self.shape(a), self.shape(b)
        try:
            shape = matmul_shape(sa, sb) if op == "matmul" else broadcast(sa, sb)
        except ShapeError as exc:  # W @ x with W a weight given a number and no shape
            names = [self.weight_named(n) for n in (node.left, node.right)]
            raise shape_needed(exc, names, [sa, sb]) from None
        term = Bin(symbol, self.term(a), self.term(b), shape)
        ea, eb = self.nodes[a].exact, self.nodes[b].exact
        if op == "pow":
            return self.make(op, (a, b), shape, term, exponent=eb)
        return self.make(op, (a, b), shape, term, exact=_arithmetic(op, ea, eb))

    def call(self, node: ast.Call) -> int:
        assert isinstance(node.func, ast.Name)
        fn = node.func.id
        if fn in ("max", "min") and len(node.args) > 1:
            return self.extreme(fn, node)
        args = tuple(self.build(a) for a in node.args)
        shapes = [self.shape(a) for a in args]
        terms = tuple(self.term(a) for a in args)

        def make(op: str, shape: Shape, *, ids: tuple[int, ...] = args) -> int:
            return self.make(op, ids, shape, Call(fn, terms, shape), fn=fn)

        if fn in ("max", "min"):
            return make("amax" if fn == "max" else "amin", ())
        if fn in ("log", "Heaviside", "heaviside") and len(args) == 2:
            return make("logb" if fn == "log" else "heaviside2", broadcast(*shapes))
        if fn in UNARY_OPS:
            return make(UNARY_OPS[fn], shapes[0])
        if fn in ("sum", "mean"):
            return make(fn, ())
        if fn == "dot":
            return make("matmul", matmul_shape(shapes[0], shapes[1]))
        if fn == "transpose":
            return make("transpose", shapes[0][::-1])
        if fn == "outer":
            if len(shapes[0]) != 1 or len(shapes[1]) != 1:
                raise ShapeError(
                    f"outer needs two vectors, got {shape_text(shapes[0])} and "
                    f"{shape_text(shapes[1])}"
                )
            return make("outer", shapes[0] + shapes[1])
        if fn in ("softmax", "logsumexp"):
            if len(shapes[0]) != 1:
                raise ShapeError(f"{fn} needs a vector, got {shape_text(shapes[0])}")
            return make(fn, shapes[0] if fn == "softmax" else ())
        raise self.fail(f"unknown function {quote(fn)}", node)  # the first walk has refused it

    def extreme(self, fn: str, node: ast.Call) -> int:
        """max(a, b, ...) entry by entry, its pieces as SymPy's Max has them: nested
        max(...) of several pieces flattened, repeated pieces once (the same text, or
        the same number), so that ties share the slope as in the parser's derivative."""
        pieces: dict[Any, int] = {}

        def collect(call: ast.Call) -> Term:
            terms = []
            for arg in call.args:
                nested = (
                    isinstance(arg, ast.Call)
                    and isinstance(arg.func, ast.Name)
                    and arg.func.id == fn
                    and len(arg.args) > 1
                )
                if nested:
                    assert isinstance(arg, ast.Call)
                    terms.append(collect(arg))
                    continue
                i = self.build(arg)
                exact = self.nodes[i].exact if self.nodes[i].op != "pow" else None
                pieces.setdefault(("number", exact) if exact is not None else i, i)
                terms.append(self.term(i))
            shape = broadcast(*(t.shape for t in terms))
            return Call(fn, tuple(terms), shape)

        term = collect(node)
        op = "maximum" if fn == "max" else "minimum"
        return self.make(op, tuple(pieces.values()), term.shape, term, fn=fn)

    def array(self, node: ast.List) -> int:
        constant = self.constant_rows(node)
        if constant is not None:
            rows, term = constant
            return self.make("array", (), term.shape, term, value=rows)
        items = tuple(self.build(e) for e in node.elts)
        shapes = [self.shape(i) for i in items]
        for s in shapes[1:]:
            if s != shapes[0]:
                raise ShapeError(
                    f"rows of different lengths in the list at column {self.column(node)}: "
                    f"{shape_text(shapes[0])} and {shape_text(s)}"
                )
        shape = (len(items), *shapes[0])
        self.check_entries(shape)
        term = Lst(tuple(self.term(i) for i in items), shape)
        return self.make("list", items, shape, term)

    def check_entries(self, shape: Shape) -> None:
        if math.prod(shape) > MAX_ENTRIES:
            raise ResourceLimit(f"array too large ({math.prod(shape)} entries)")

    def constant_rows(self, node: ast.List) -> tuple[Any, Term] | None:
        """A list of typed numbers (signs allowed), nested: its values and its text,
        or None when an entry is anything else."""

        def read(item: ast.AST) -> tuple[Any, Term] | None:
            if isinstance(item, ast.Constant):
                value, exact = self.number(item)
                return value, Num(exact, self.typed(item))
            if isinstance(item, ast.UnaryOp) and isinstance(item.op, (ast.USub, ast.UAdd)):
                inner = read(item.operand)
                if inner is None or not isinstance(inner[0], float):
                    return None
                if isinstance(item.op, ast.UAdd):
                    return inner
                return -inner[0], Un(inner[1])
            if isinstance(item, ast.List):
                parts = [read(e) for e in item.elts]
                if any(p is None for p in parts):
                    return None
                known = [p for p in parts if p is not None]
                shapes = [p[1].shape for p in known]
                for s in shapes[1:]:
                    if s != shapes[0]:
                        raise ShapeError(
                            f"rows of different lengths in the list at column "
                            f"{self.column(item)}: {shape_text(shapes[0])} and {shape_text(s)}"
                        )
                shape = (len(known), *shapes[0])
                self.check_entries(shape)
                return tuple(p[0] for p in known), Lst(tuple(p[1] for p in known), shape)
            return None

        return read(node)


def _arithmetic(op: str, a: Fraction | None, b: Fraction | None) -> Fraction | None:
    """The exact value of + - * / of two typed constants (kept small)."""
    if a is None or b is None:
        return None
    if op == "add":
        out = a + b
    elif op == "sub":
        out = a - b
    elif op == "mul":
        out = a * b
    elif op == "div" and b != 0:
        out = a / b
    else:
        return None
    if max(out.numerator.bit_length(), out.denominator.bit_length()) > MAX_BITS:
        return None
    try:
        return out if math.isfinite(float(out)) else None
    except OverflowError:  # beyond floats: computed as a float, like any other value
        return None


def check_roles(weights: Mapping[str, Shape], inputs: Mapping[str, Shape]) -> None:
    """Each name has one role, and each shape is a tuple of positive sizes."""
    for name in weights:
        if name in inputs:
            raise NameRole(name, "both")
    for role in (weights, inputs):
        for name, shape in role.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise BadInput(f"{name!r} is not a name")
            if not isinstance(shape, tuple) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape
            ):
                raise ShapeError(f"bad shape for {name}: {shape!r} (sizes must be positive)")


def _call(node: ast.AST | None, name: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and len(node.args) == 1
    )


def _one(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value == 1


class _Stable(ast.NodeTransformer):
    """The same function, written so that floats keep its digits: 1 - sigmoid(u) as
    sigmoid(-u) (1 - sigmoid(40) is 0 in floats, 4.2e-18 exactly), log(1 + exp(u))
    as softplus(u) (no overflow from u = 710 on, no lost digits below -37) and
    log(sigmoid(u)) as -softplus(-u) (sigmoid(-800) is 0 in floats)."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Sub) and _one(node.left) and _call(node.right, "sigmoid"):
            (u,) = node.right.args  # type: ignore[attr-defined]
            flipped = ast.Call(ast.Name("sigmoid", ast.Load()), [ast.UnaryOp(ast.USub(), u)], [])
            return ast.fix_missing_locations(ast.copy_location(flipped, node))
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        inner = node.args[0] if _call(node, "log") else None
        if _call(inner, "sigmoid"):  # log(sigmoid(u)) = -softplus(-u)
            (u,) = inner.args  # type: ignore[union-attr]
            minus = ast.UnaryOp(ast.USub(), u)
            out = ast.UnaryOp(ast.USub(), ast.Call(ast.Name("softplus", ast.Load()), [minus], []))
            return ast.fix_missing_locations(ast.copy_location(out, node))
        if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Add):
            for one, other in ((inner.left, inner.right), (inner.right, inner.left)):
                if _one(one) and _call(other, "exp"):
                    u = other.args[0]  # type: ignore[attr-defined]
                    softplus = ast.Call(ast.Name("softplus", ast.Load()), [u], [])
                    return ast.fix_missing_locations(ast.copy_location(softplus, node))
        return node


def lower_tree(
    tree: ast.Expression,
    source: str,
    carets: list[int],
    weights: Mapping[str, Shape],
    inputs: Mapping[str, Shape],
    batched: bool,
    scalar: bool,
) -> list[Node]:
    """The nodes of an expression, in topological order (its value last)."""
    lowering = Lowering(source, carets, weights, inputs, batched)
    lowering.check(tree)
    if lowering.missing:
        raise MissingValue(lowering.missing[0])
    root = lowering.build(_Stable().visit(copy.deepcopy(tree)))
    nodes = lowering.nodes
    if nodes[root].id != len(nodes) - 1:  # pragma: no cover - the root is made last
        raise AssertionError("the root must be the last node")
    if scalar and nodes[root].shape:
        raise ShapeError(
            f"the loss must be a single number, but this expression has shape "
            f"{shape_text(nodes[root].shape)}",
            hint="wrap it in sum(...) or mean(...)",
        )
    return nodes
