"""Safe parser: text -> `Loss` (a SymPy expression of real symbols).

User text never reaches `eval`, `sympify` or `parse_expr`: it is parsed with
`ast.parse(mode="eval")` and the tree is walked with an allow-list that builds
SymPy objects directly. Size limits are checked before SymPy computes anything,
so every accepted input stays fast.

Arrays (vectors, matrices) are NumPy object arrays of SymPy scalars: a weight
`W` of shape 2x3 becomes the real symbols `W_1_1 ... W_2_3` (1-based, as the
course writes W_ij), and the loss is one scalar expression of those entries.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from gdcli.errors import ParseError, ResourceLimit, ShapeError, ShapeMismatch, ShapeNeeded
from gdcli.limits import (
    MAX_ARGUMENTS,
    MAX_BITS,
    MAX_ENTRIES,
    MAX_PRODUCT_TERMS,
    MAX_SYMBOLIC_EXPONENT,
    MAXN,
)
from gdcli.params import Shape, entries, entry_labels, shape_text
from gdcli.parse.syntax import (
    FORBIDDEN_NODES,
    OPERATOR_NAMES,
    RANGE_HINT,
    Syntax,
    call_refusal,
    decimal_literal,
    shorten,
    syntax_tree,
)
from gdcli.parse.syntax import FUNCTION_NAMES as FUNCTION_NAMES  # the parser's, for others
from gdcli.parse.syntax import quote as _quote

if TYPE_CHECKING:
    import sympy

# Names SymPy itself would read differently when a printed derivative is parsed back.
RESERVED = {"I", "E", "S", "N", "O", "Q", "oo", "zoo", "nan", "pi", "e"}


class Loss(NamedTuple):
    """A parsed loss: a scalar SymPy expression of the entries of its weights."""

    text: str  # normalised source text (`^` written as `**`)
    expr: sympy.Expr
    variables: tuple[str, ...]  # weight names, sorted
    shapes: Mapping[str, Shape]  # () for a scalar weight
    entries: Mapping[str, tuple[sympy.Symbol, ...]]  # each weight's entry symbols, row-major

    def symbols(self) -> list[sympy.Symbol]:
        """All entry symbols, weight by weight (the order of a flat parameter vector)."""
        return [s for name in self.variables for s in self.entries[name]]

    def entry_names(self, name: str) -> list[str]:
        """Display names of a weight's entries: `w`, or `W[1,2]` (1-based)."""
        return entry_labels(name, self.shapes[name])

    def uses(self, name: str) -> bool:
        return name in self.variables


# ---------------------------------------------------------------------------
# functions a user may call, by bare name


def _functions() -> dict[str, tuple[int, int, Callable[..., Any]]]:
    """name -> (min args, max args, builder over SymPy scalars or arrays)."""
    import sympy as sp

    def unary(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda a: _elementwise(f, a)

    def log(a: Any, base: Any = None) -> Any:
        if base is None:
            return _elementwise(sp.log, a)

        def logarithm(x: Any, b: Any) -> Any:
            # log(x)/log(b): a constant x <= 0 or base b <= 0 or 1 is undefined, even
            # where SymPy would absorb its log into a 0 (w / log(0, w + 3) is not 0)
            for part, what in ((x, "log's argument"), (b, "log's base")):
                if isinstance(part, sp.Expr) and part.is_number and part.is_positive is False:
                    raise ValueError(f"{what} is {part}, not positive: the log is undefined")
            if isinstance(b, sp.Expr) and b == 1:
                raise ValueError("log's base is 1: the log is undefined (a division by zero)")
            return sp.log(x) / sp.log(b)

        return _broadcast(logarithm, a, base)

    def heaviside(a: Any, h0: Any = None) -> Any:
        if h0 is None:
            return _elementwise(sp.Heaviside, a)
        return _broadcast(sp.Heaviside, a, h0)

    def extreme(f: Callable[..., Any]) -> Callable[..., Any]:
        def build(*args: Any) -> Any:
            if len(args) == 1:  # max(v): the largest entry of an array
                return f(*entries(args[0]))
            return _broadcast(f, *args)

        return build

    return {
        "sin": (1, 1, unary(sp.sin)),
        "cos": (1, 1, unary(sp.cos)),
        "tan": (1, 1, unary(sp.tan)),
        "asin": (1, 1, unary(sp.asin)),
        "acos": (1, 1, unary(sp.acos)),
        "atan": (1, 1, unary(sp.atan)),
        "sinh": (1, 1, unary(sp.sinh)),
        "cosh": (1, 1, unary(sp.cosh)),
        "tanh": (1, 1, unary(sp.tanh)),
        "exp": (1, 1, unary(sp.exp)),
        "log": (1, 2, log),
        "ln": (1, 1, unary(sp.log)),
        "sqrt": (1, 1, unary(sp.sqrt)),
        "abs": (1, 1, unary(sp.Abs)),
        "sign": (1, 1, unary(sp.sign)),
        "Heaviside": (1, 2, heaviside),
        "heaviside": (1, 2, heaviside),
        "sigmoid": (1, 1, unary(lambda x: 1 / (1 + sp.exp(-x)))),
        "relu": (1, 1, unary(lambda x: sp.Max(0, x))),
        "softplus": (1, 1, unary(lambda x: sp.log(1 + sp.exp(x)))),
        "max": (1, MAX_ARGUMENTS, extreme(sp.Max)),
        "min": (1, MAX_ARGUMENTS, extreme(sp.Min)),
        "sum": (1, 1, lambda a: sp.Add(*entries(a))),
        "mean": (1, 1, lambda a: sp.Add(*entries(a)) / len(entries(a))),
        "dot": (2, 2, lambda a, b: _matmul(a, b)),
        "transpose": (1, 1, _transpose),
        "outer": (2, 2, _outer),
        "softmax": (1, 1, _softmax),
        "logsumexp": (1, 1, lambda a: sp.log(sp.Add(*(sp.exp(x) for x in entries(a))))),
    }


def _is_array(a: Any) -> bool:
    return hasattr(a, "shape") and hasattr(a, "dtype")


def _elementwise(f: Callable[[Any], Any], a: Any) -> Any:
    if not _is_array(a):
        return f(a)
    import numpy as np

    out = np.empty(a.shape, dtype=object)
    for idx, x in np.ndenumerate(a):
        out[idx] = f(x)
    return out


def _broadcast(f: Callable[..., Any], *args: Any) -> Any:
    if not any(_is_array(a) for a in args):
        return f(*args)
    import numpy as np

    try:
        parts = np.broadcast_arrays(*(np.asarray(a, dtype=object) for a in args))
    except ValueError:
        shapes = ", ".join(_shape_text(a) for a in args)
        raise ShapeError(f"shapes do not broadcast together: {shapes}") from None
    out = np.empty(parts[0].shape, dtype=object)
    for idx in np.ndindex(*parts[0].shape):
        out[idx] = f(*(p[idx] for p in parts))
    return out


def _transpose(a: Any) -> Any:
    return a.T if _is_array(a) else a


def _outer(a: Any, b: Any) -> Any:
    """outer(a, b)[i, j] = a[i] * b[j], for vectors."""
    if not (_is_array(a) and _is_array(b) and a.ndim == 1 and b.ndim == 1):
        raise ShapeError(f"outer takes two vectors, got {_shape_text(a)} and {_shape_text(b)}")
    import numpy as np

    out = np.empty((a.shape[0], b.shape[0]), dtype=object)
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            out[i, j] = a[i] * b[j]
    return out


def _softmax(a: Any) -> Any:
    """exp(a) / sum(exp(a)), over the entries of a vector."""
    import sympy as sp

    if not _is_array(a):
        return sp.S.One
    total = sp.Add(*(sp.exp(x) for x in a.flat))
    return _elementwise(lambda x: sp.exp(x) / total, a)


def _shape_text(a: Any) -> str:
    return shape_text(tuple(a.shape)) if _is_array(a) else "a number"


def shape_needed(
    error: ShapeError,
    names: Sequence[str | None],
    shapes: Sequence[Shape],
    matmul: bool = True,
) -> ShapeError:
    """For `a @ b` (or `dot`, or with `matmul=False` a function of vectors such as
    `outer`) that failed with `error`: when an operand is a weight given a number with
    no shape (`names` holds the operands that are such weights), the shape it needs,
    as far as the other operand tells it (W @ x with x of 2 entries: Rx2)."""
    if isinstance(error, ShapeNeeded):
        return error
    for k, name in enumerate(names):
        if name is None or shapes[k]:
            continue
        other = shapes[1 - k] if matmul and len(shapes) == 2 else ()
        if not matmul:
            needed = "N"
        elif other and k == 0:
            needed = f"Rx{other[0]}"
        elif other:
            needed = f"{other[-1]}xC"
        else:
            needed = "RxC"
        return ShapeNeeded(name, error.message, needed)
    return error


def _matmul(a: Any, b: Any) -> Any:
    if not (_is_array(a) and _is_array(b)) or a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"@ multiplies vectors and matrices, got {_shape_text(a)} @ {_shape_text(b)}"
        )
    if a.ndim > 2 or b.ndim > 2:
        raise ShapeError("@ supports vectors and matrices only")
    inner_a = a.shape[-1]
    inner_b = b.shape[0]
    if inner_a != inner_b:
        raise ShapeError(
            f"@ needs matching inner sizes: {_shape_text(a)} @ {_shape_text(b)} "
            f"({inner_a} != {inner_b})"
        )
    import numpy as np
    import sympy as sp

    rows = a.shape[0] if a.ndim == 2 else 1
    cols = b.shape[1] if b.ndim == 2 else 1
    if rows * inner_a * cols > MAX_PRODUCT_TERMS:
        raise ResourceLimit(
            f"@ of {_shape_text(a)} and {_shape_text(b)} is too large to expand symbolically"
        )
    a2 = a if a.ndim == 2 else a.reshape(1, -1)
    b2 = b if b.ndim == 2 else b.reshape(-1, 1)
    out = np.empty((a2.shape[0], b2.shape[1]), dtype=object)
    for i in range(a2.shape[0]):
        for j in range(b2.shape[1]):
            out[i, j] = sp.Add(*(a2[i, k] * b2[k, j] for k in range(inner_a)))
    if a.ndim == 1 and b.ndim == 1:
        return out[0, 0]
    if a.ndim == 1:
        return out[0]
    if b.ndim == 1:
        return out[:, 0]
    return out


# ---------------------------------------------------------------------------
# the parser


class _Parser:
    def __init__(
        self,
        syntax: Syntax,
        shapes: Mapping[str, Shape],
        constants: Mapping[str, Any],
        allow_variables: bool,
        functions: dict[str, tuple[int, int, Callable[..., Any]]],
    ) -> None:
        self.syntax = syntax
        self.shapes = shapes
        self.constants = constants
        self.allow_variables = allow_variables
        self.functions = functions
        self.symbols: dict[str, Any] = {}

    def column(self, node: ast.AST) -> int:
        return self.syntax.column(node)

    def fail(self, message: str, node: ast.AST, hint: str | None = None) -> ParseError:
        return ParseError(message, self.syntax.source, self.column(node), hint)

    def build(self, node: ast.AST) -> Any:
        try:
            value = self._build(node)
            if not isinstance(node, (ast.Expression, ast.Name, ast.Constant)):
                self.defined(value, node)
        except (OverflowError, RecursionError):
            # SymPy evaluating a constant far beyond any float (exp(exp(exp(1e308))))
            text = self.syntax.segment(node) or "the expression"
            raise ResourceLimit(
                f"{_quote(text)} is too large to compute with (at column {self.column(node)})"
            ) from None
        return value

    def defined(self, value: Any, node: ast.AST) -> None:
        """A part without weights must be a real number: `1/0`, `0/0`, `sqrt(-1)` are
        undefined everywhere, whatever the weights are."""
        import sympy as sp

        if _is_array(value):  # each entry, as a number is (ln(w - w) of a vector w)
            for entry in value.flat:
                self.defined(entry, node)
            return
        if not isinstance(value, sp.Expr) or value.free_symbols:
            return
        text = self.syntax.segment(node) or "the expression"
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise self.fail(f"{text} is undefined (a division by zero?)", node)
        if not isinstance(value, sp.Number):
            # a number SymPy cannot evaluate (exp(exp(1e308))) raises here, every time;
            # its assumptions below would raise or not depending on the order they run in
            sp.N(value, 2)
        if value.is_real is False or (value.is_number and value.as_real_imag()[1] != 0):
            raise self.fail(f"{text} is not a real number", node)

    def _build(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return self.build(node.body)
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            raise self.fail(
                f"operator {OPERATOR_NAMES.get(type(node.op), '?')!r} is not supported", node
            )
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.List):
            return self.array(node)
        what = FORBIDDEN_NODES.get(type(node), type(node).__name__)
        raise self.fail(f"{what} is not allowed", node)

    def number(self, node: ast.Constant) -> Any:
        import sympy as sp

        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.fail(f"{value!r} is not a number", node)
        if isinstance(value, (str, bytes)):
            raise self.fail("a string is not allowed", node)
        if isinstance(value, complex):
            raise self.fail("complex numbers are not supported (weights are real)", node)
        # keep exactly what was typed (0.1 is 1/10, not a binary fraction)
        source = self.syntax.segment(node) or repr(value)
        try:
            exact = decimal_literal(source, value)
        except ValueError:
            raise self.fail(f"number out of range: {shorten(source)}", node, RANGE_HINT) from None
        return sp.Rational(exact.numerator, exact.denominator)

    def name(self, node: ast.Name) -> Any:
        import sympy as sp

        name = node.id
        if name in ("pi",):
            return sp.pi
        if name == "e":
            return sp.E
        if name in self.constants:
            return self.constants[name]
        if name in self.functions:
            raise self.fail(f"{name} is a function: call it as {name}(...)", node)
        if name.startswith("_"):
            raise self.fail(
                f"name {_quote(name)} is not allowed (names may not start with _)", node
            )
        if name in RESERVED or _sympy_name(name):
            raise self.fail(
                f"name {_quote(name)} is reserved: it means something else to SymPy",
                node,
                hint="choose another name (a derivative's text must read back in SymPy)",
            )
        if not self.allow_variables:
            raise self.fail(f"unknown name {_quote(name)} (a value must be a number)", node)
        if name not in self.symbols:
            self.symbols[name] = make_symbols(name, self.shapes.get(name, ()))
        return self.symbols[name]

    def binop(self, node: ast.BinOp) -> Any:
        left = self.build(node.left)
        right = self.build(node.right)
        op = node.op
        if isinstance(op, ast.MatMult):
            try:
                return _matmul(left, right)
            except ShapeError as exc:
                names = [self.unshaped(node.left), self.unshaped(node.right)]
                raise shape_needed(exc, names, [shape_of(left), shape_of(right)]) from None
        if isinstance(op, ast.Pow):
            self.check_power(left, right, node)
            return self.arith(lambda a, b: a**b, left, right)
        if isinstance(op, ast.Add):
            return self.arith(lambda a, b: a + b, left, right)
        if isinstance(op, ast.Sub):
            return self.arith(lambda a, b: a - b, left, right)
        if isinstance(op, ast.Mult):
            self.check_product(left, right, node)
            return self.arith(lambda a, b: a * b, left, right)
        if isinstance(op, ast.Div):
            return self.arith(lambda a, b: a / b, left, right)
        symbol = OPERATOR_NAMES.get(type(op), type(op).__name__)
        raise self.fail(f"operator {symbol!r} is not supported", node)

    def unshaped(self, node: ast.AST) -> str | None:
        """The weight `node` names, if it was given no shape (so it is a number)."""
        if isinstance(node, ast.Name) and node.id in self.symbols and not self.shapes.get(node.id):
            return node.id
        return None

    def arith(self, f: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
        if _is_array(a) or _is_array(b):
            return _broadcast(f, a, b)
        return f(a, b)

    def check_product(self, a: Any, b: Any, node: ast.AST) -> None:
        bits = _bits(a) + _bits(b)
        if bits > MAX_BITS:
            raise ResourceLimit(f"number too large at column {self.column(node)}")

    def check_power(self, base: Any, exponent: Any, node: ast.AST) -> None:
        """Refuse, before SymPy computes it, a power whose exact value would be huge."""
        import sympy as sp

        for b in entries(base):
            for x in entries(exponent):
                if not isinstance(x, sp.Rational):
                    continue
                if isinstance(b, sp.Rational):
                    if b in (0, 1, -1):
                        continue
                    # (p/q)**x has about x * (log2 p + log2 q) bits
                    magnitude = math.log2(abs(int(b.p))) + math.log2(int(b.q))
                    if abs(float(x)) * magnitude > MAX_BITS:
                        raise ResourceLimit(
                            f"number too large at column {self.column(node)}: "
                            f"about 2^{abs(float(x)) * magnitude:.3g}"
                        )
                elif max(abs(x.p), x.q) > MAX_SYMBOLIC_EXPONENT:
                    raise ResourceLimit(
                        f"exponent too large at column {self.column(node)} "
                        f"(at most {MAX_SYMBOLIC_EXPONENT})"
                    )

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in self.functions:
            values = {*self.constants, *self.shapes, *self.symbols}
            message, hint = call_refusal(node, self.syntax.source, FUNCTION_NAMES, values)
            raise self.fail(message, node, hint)
        name = func.id
        if node.keywords:
            raise self.fail(f"{name}() takes no keyword arguments", node)
        lo, hi, builder = self.functions[name]
        if not lo <= len(node.args) <= hi:
            count = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(f"{name}() takes {count} argument(s), got {len(node.args)}", node)
        args = [self.build(a) for a in node.args]
        try:
            return builder(*args)
        except ValueError as exc:  # a constant argument outside the function's domain
            raise self.fail(str(exc), node) from None
        except ShapeError as exc:  # outer(W, x) with W a weight given a number
            names = [self.unshaped(a) for a in node.args]
            shapes = [shape_of(a) for a in args]
            raise shape_needed(exc, names, shapes, matmul=name == "dot") from None

    def compare(self, node: ast.Compare) -> Any:
        """`(3*w + 2 > 0)` is an indicator: 1 where it holds, 0 elsewhere."""
        import sympy as sp

        if len(node.ops) != 1:
            raise self.fail("chained comparisons are not supported", node)
        relations: dict[type, Callable[[Any, Any], Any]] = {
            ast.Gt: sp.StrictGreaterThan,
            ast.GtE: sp.GreaterThan,
            ast.Lt: sp.StrictLessThan,
            ast.LtE: sp.LessThan,
        }
        relation = relations.get(type(node.ops[0]))
        if relation is None:
            raise self.fail("only <, <=, > and >= comparisons are supported", node)
        left = self.build(node.left)
        right = self.build(node.comparators[0])

        holds: Callable[[int], bool] = {
            ast.Gt: lambda d: d > 0,
            ast.GtE: lambda d: d >= 0,
            ast.Lt: lambda d: d < 0,
            ast.LtE: lambda d: d <= 0,
        }[type(node.ops[0])]

        def indicator(a: Any, b: Any) -> Any:
            difference = a - b
            if isinstance(difference, sp.Expr) and difference.is_number:
                # two numbers: ordered here, to as many digits as it takes (SymPy's
                # own order gives up on 1 > sigmoid(1000), 1 - 5e-435 apart)
                return sp.S.One if holds(self.sign(difference, node)) else sp.S.Zero
            try:
                return sp.Piecewise((1, relation(a, b)), (0, True))
            except TypeError:  # a side SymPy cannot order anywhere (log(0) inside)
                text = self.syntax.segment(node) or "the comparison"
                raise self.fail(
                    f"{text}: SymPy cannot order its sides (a log of 0 inside?)", node
                ) from None

        return self.arith(indicator, left, right)

    def sign(self, value: Any, node: ast.AST) -> int:
        """-1, 0 or 1: the sign of a real number, exactly (digits until they show it)."""
        import sympy as sp

        if value.is_zero:
            return 0
        approx = sp.N(value, 30, maxn=MAXN)
        if approx.is_Number and approx != 0 and approx.is_comparable:
            return 1 if approx > 0 else -1
        text = self.syntax.segment(node) or "the comparison"
        raise ResourceLimit(f"cannot tell which side of {text} is larger (too close to call)")

    def array(self, node: ast.List) -> Any:
        import numpy as np

        if not node.elts:
            raise self.fail("an empty list is not a value", node)
        items = [self.build(e) for e in node.elts]
        shapes = {getattr(i, "shape", ()) for i in items}
        if len(shapes) != 1:
            raise ShapeError(f"rows of different lengths in the list at column {self.column(node)}")
        inner = shapes.pop()
        out = np.empty((len(items), *inner), dtype=object)
        for k, item in enumerate(items):
            out[k] = item
        if out.size > MAX_ENTRIES:
            raise ResourceLimit(f"array too large ({out.size} entries)")
        return out


def _bits(a: Any) -> int:
    """Size of an exact number in bits (0 for anything that is not a Rational)."""
    import sympy as sp

    total = 0
    for x in entries(a):
        if isinstance(x, sp.Rational):
            total = max(total, int(x.p).bit_length() + int(x.q).bit_length())
    return total


def _sympy_name(name: str) -> bool:
    """Is `name` one of SymPy's own (beta, gamma, re, Symbol, ...)? Single letters
    other than the few SymPy reserves (RESERVED) are always free. Read from a list
    written out (`parse/sympy_names.py`), so that the question imports no SymPy."""
    from gdcli.parse.sympy_names import SYMPY_NAMES

    return len(name) > 1 and name in SYMPY_NAMES


def make_symbols(name: str, shape: Shape) -> Any:
    """The real symbol(s) of a weight: `w`, or an array of `W_1_1 ...` (1-based)."""
    import sympy as sp

    if not shape:
        return sp.Symbol(name, real=True)
    import numpy as np

    size = math.prod(shape)
    if size > MAX_ENTRIES:
        raise ResourceLimit(f"shape of {name} too large ({size} entries)")
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sp.Symbol(name + "_" + "_".join(str(i + 1) for i in idx), real=True)
    return out


def parse_loss(
    text: str,
    shapes: Mapping[str, Shape] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> Loss:
    """Parse a loss expression. `shapes` gives weights that are vectors or matrices,
    `constants` names with fixed values (numbers or arrays of SymPy numbers)."""
    import sympy as sp

    syntax = syntax_tree(text)
    source = syntax.source
    value, parser = _build(syntax, shapes or {}, constants, True)
    if _is_array(value):
        if value.ndim == 0:
            value = value.item()
        else:
            raise ShapeError(
                f"the loss must be a single number, but this expression has shape "
                f"{_shape_text(value)}",
                hint="wrap it in sum(...) or mean(...)",
            )
    if not isinstance(value, sp.Expr):
        raise ParseError(f"{_quote(source)} is not an expression of numbers")
    expr = _real_parts(value)
    _check_defined(expr, source)
    variables = tuple(sorted(parser.symbols))
    _check_entry_names(parser.symbols)
    used_shapes = {name: tuple(shapes.get(name, ())) if shapes else () for name in variables}
    symbols = {name: tuple(entries(parser.symbols[name])) for name in variables}
    return Loss(source, expr, variables, used_shapes, symbols)


def _real_parts(expr: Any) -> Any:
    """SymPy, unsure that a part is real, writes abs(u**v) as Abs(u)**re(v): every
    value here is real (where it is defined at all), so re(v) is v, im(v) is 0 and
    conjugate(v) is v. Left in, they could be neither differentiated nor compiled."""
    import sympy as sp

    if not expr.has(sp.re, sp.im, sp.conjugate):
        return expr
    return (
        expr.replace(sp.re, lambda a: a)
        .replace(sp.im, lambda a: sp.S.Zero)
        .replace(sp.conjugate, lambda a: a)
    )


def parse_array(
    text: str,
    shapes: Mapping[str, Shape] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> Any:
    """Parse an expression of any shape (a gradient written in matrix form): a SymPy
    expression, or a NumPy object array of them, entry by entry."""
    import sympy as sp

    syntax = syntax_tree(text)
    value, _ = _build(syntax, shapes or {}, constants, True)
    if _is_array(value) and value.ndim == 0:
        value = value.item()
    for x in entries(value):
        if not isinstance(x, sp.Expr):
            raise ParseError(f"{_quote(syntax.source)} is not an expression of numbers")
        _check_defined(x, syntax.source)
    return value


def _check_entry_names(symbols: Mapping[str, Any]) -> None:
    """A scalar weight named like an entry of a matrix (W_1_1 beside W) would be the
    same symbol as W[1,1]."""
    taken: dict[str, str] = {}
    for name, value in symbols.items():
        for entry in entries(value):
            owner = taken.setdefault(entry.name, name)
            if owner != name:
                array = name if _is_array(value) else owner
                raise ParseError(
                    f"{entry.name} is the name of an entry of {array}; choose another name"
                )


def _check_defined(expr: Any, text: str) -> None:
    import sympy as sp

    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ParseError(f"{_quote(text)} is undefined (a division by zero?)")
    if expr.has(sp.I):  # log(-1) = i*pi, sqrt(-1) = i: a loss is real
        raise ParseError(
            f"{_quote(text)} is not a real number (a log or root of a negative constant?)"
        )


def _build(
    syntax: Syntax, shapes: Mapping[str, Shape], constants: Mapping[str, Any] | None, weights: bool
) -> tuple[Any, _Parser]:
    """The value of a checked syntax tree (`weights`: names may be weights), and the
    parser that built it (it knows the weights' symbols)."""
    parser = _Parser(
        syntax=syntax,
        shapes=shapes,
        constants=constants or {},
        allow_variables=weights,
        functions=_functions(),
    )
    return parser.build(syntax.tree), parser


def parse_value(text: str, constants: Mapping[str, Any] | None = None) -> Any:
    """Parse a constant value: a number (`-2/3`, `pi/4`) or a nested list (a vector
    or matrix). Returns a SymPy number or a NumPy object array of them, exact."""
    import sympy as sp

    syntax = syntax_tree(text)
    source = syntax.source
    value, _ = _build(syntax, {}, constants, False)
    for x in entries(value):
        if not isinstance(x, sp.Basic) or x.free_symbols:
            raise ParseError(f"{_quote(source)} is not a number")
        if x.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or not x.is_real:
            raise ParseError(f"{_quote(source)} is not a finite real number")
    return value


def shape_of(value: Any) -> Shape:
    return tuple(value.shape) if _is_array(value) else ()


def broadcast_to(value: Any, shape: Shape, name: str) -> Any:
    """A weight's value in its shape: a number fills the shape; an array must match it."""
    if shape_of(value) == tuple(shape):
        return value
    if shape and not _is_array(value):
        import numpy as np

        return np.full(shape, value, dtype=object)
    raise ShapeMismatch(name, shape_of(value), tuple(shape))
