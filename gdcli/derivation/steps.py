"""The derivative rule by rule, as a textbook writes it.

The derivation works on the syntax tree of the student's text, not on SymPy's
canonical form, so each step shows the student's own functions: the derivative
of `sigmoid(w)` is `sigmoid(w)*(1 - sigmoid(w))`, of `tanh(u)` it is
`1 - tanh(u)**2`, of `relu(u)` it is `(u > 0)`.

Steps come in the order of the derivation tree (a rule, then the steps it needs,
one level deeper). The chain rule names a compound inner expression (`let u =
3*w + 2`) and continues with du/dw; a name is reused wherever the same inner
expression comes back, and a derivative already worked out is not worked out
again ("as above"), so the steps stay short.

The vector functions (`sum`, `mean`, `dot`, `transpose`, `outer`, `softmax`,
`logsumexp`), lists and `@` are refused
(BadInput): the steps are written for a loss of one scalar weight.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gdcli.derivation._imports import (
    FUNCTION_NAMES,
    RESERVED,
    BadInput,
    BadValue,
    NameRole,
    ResourceLimit,
    parse_loss,
    partial,
)
from gdcli.derivation.reading import from_syntax, refuse_arrays
from gdcli.derivation.terms import (
    ONE,
    ZERO,
    Add,
    Call,
    Cmp,
    Const,
    Div,
    Mul,
    Neg,
    Node,
    Num,
    Pow,
    Printer,
    Var,
    add,
    call,
    div,
    is_num,
    latex_name,
    mul,
    names,
    neg,
    num,
    number_value,
    power,
    substitute,
)
from gdcli.derivation.tidy import tidy

# Every rule a step may name: (name, what it says). Written for the weight w; in a
# step the variable may be w or a name the chain rule introduced (u, v, ...).
RULES: tuple[tuple[str, str], ...] = (
    ("constant", "d/dw c = 0, for c that does not depend on w"),
    ("variable", "d/dw w = 1"),
    ("sum", "d/dw (f + g - k) = df/dw + dg/dw - dk/dw"),
    (
        "constant multiple",
        "d/dw (c*f) = c * df/dw and d/dw (f/c) = (df/dw)/c, for c that does not depend on w",
    ),
    ("power", "d/dw w**n = n * w**(n - 1), for a constant n (1/w is w**(-1))"),
    ("exponential", "d/dw a**w = a**w * log(a), for a constant base a > 0 (e**w gives e**w)"),
    (
        "general power",
        "d/dw f**g = f**g * (dg/dw * log(f) + g * (df/dw)/f), as f**g = exp(g*log(f)) for f > 0",
    ),
    ("product", "d/dw (f*g) = df/dw * g + f * dg/dw"),
    ("quotient", "d/dw (f/g) = (df/dw * g - f * dg/dw)/g**2"),
    ("chain", "d/dw f(u) = f'(u) * du/dw, where u is the inner expression"),
    ("exp", "d/dw exp(w) = exp(w)"),
    ("log", "d/dw log(w) = 1/w (ln is log); log(w, b) = log(w)/log(b) has 1/(w*log(b))"),
    ("sqrt", "d/dw sqrt(w) = 1/(2*sqrt(w))"),
    ("sin", "d/dw sin(w) = cos(w)"),
    ("cos", "d/dw cos(w) = -sin(w)"),
    ("tan", "d/dw tan(w) = 1/cos(w)**2"),
    ("asin", "d/dw asin(w) = 1/sqrt(1 - w**2)"),
    ("acos", "d/dw acos(w) = -1/sqrt(1 - w**2)"),
    ("atan", "d/dw atan(w) = 1/(1 + w**2)"),
    ("sinh", "d/dw sinh(w) = cosh(w)"),
    ("cosh", "d/dw cosh(w) = sinh(w)"),
    ("tanh", "d/dw tanh(w) = 1 - tanh(w)**2"),
    ("sigmoid", "d/dw sigmoid(w) = sigmoid(w)*(1 - sigmoid(w))"),
    ("softplus", "d/dw softplus(w) = sigmoid(w), as softplus(w) = log(1 + exp(w))"),
    ("relu", "d/dw relu(w) = (w > 0): 0 left of the kink at w = 0, 1 right of it"),
    ("max", "d/dw max(f, g) = df/dw * (f >= g) + dg/dw * (g > f): the slope of the larger piece"),
    ("min", "d/dw min(f, g) = df/dw * (f <= g) + dg/dw * (g < f): the slope of the smaller piece"),
    ("abs", "d/dw abs(w) = sign(w): -1 left of the kink at w = 0, 1 right of it"),
    ("sign", "d/dw sign(w) = 0, away from its jump at w = 0"),
    ("Heaviside", "d/dw Heaviside(w) = 0, away from its jump at w = 0"),
    ("comparison", "d/dw (f > g) = 0, away from its jump where f = g (and so for >=, <, <=)"),
    ("simplify", "write the assembled derivative more simply: numbers, like terms, equal factors"),
)
RULE_NAMES = frozenset(name for name, _ in RULES)

# what gdcli's derivative (and so descend) takes at a kink: SymPy's convention
RELU_AT_KINK = "Heaviside(0) = 1/2"
ABS_AT_KINK = "sign(0) = 0"

# Names the chain rule gives inner expressions, in this order (then u1, u2, ...).
LET_NAMES = ("u", "v", "z", "s", "t", "p", "q", "r", "g", "k")

MAX_TEXT = 2_000_000  # characters of all steps together


@dataclass(frozen=True)
class Step:
    """One step: d/d`var` of `expr` is `result`, by `rule` (a name in RULES).

    `expr` and `result` are in gdcli's expression language and may use names the
    chain rule introduced (see Derivation.lets). For the last step, "simplify",
    `expr` is the assembled derivative and `result` its simpler form. `depth` is
    the step's level in the derivation tree (0 for the whole loss)."""

    rule: str
    expr: str
    result: str
    note: str = ""
    var: str = "w"
    depth: int = 0
    latex: str = ""


@dataclass(frozen=True)
class Let:
    """A name the chain rule gave an inner expression: `name` = `expr` (in w)."""

    name: str
    expr: str
    latex: str


@dataclass(frozen=True)
class Derivation:
    expression: str  # the loss, as gdcli reads it
    variable: str  # the weight it is differentiated by
    steps: list[Step]
    lets: list[Let]
    result: str  # dl/dw in gdcli's expression language, in the weight alone
    latex: str  # \frac{dl}{dw} = ...
    notes: list[str]  # where the loss has a kink or a jump, and what gdcli does there


def derivation_steps(
    text: str, wrt: str = "w", constants: Mapping[str, Any] | None = None
) -> Derivation:
    """The derivative of the loss `text` with respect to `wrt`, rule by rule.

    Names other than `wrt` are constants (their derivative is 0); a name given a
    value in `constants` is replaced by that value. Every `expr` and `result`
    parses back with gdcli's parser when it fits the parser's size limits (a
    derivative can be longer than its loss), and `result` equals SymPy's
    derivative away from kinks and jumps."""
    check_name(wrt)
    constants = dict(constants or {})
    if wrt in constants:
        raise NameRole(wrt, "both", expression=text)
    refuse_arrays(text)
    loss = parse_loss_cleanly(text, constants)  # every check of the parser, first
    _check_defined(loss, wrt)
    node, decimal = from_syntax(text, constants)
    deriver = _Deriver(wrt, names(node) | set(constants) | {wrt, "l"}, Printer(decimal))
    try:
        return deriver.run(loss.text, node)
    except RecursionError:
        raise ResourceLimit("expression nested too deeply to write out step by step") from None


def parse_loss_cleanly(text: str, constants: Mapping[str, Any] | None = None) -> Any:
    """The parser's Loss. SymPy itself may refuse what the parser lets through
    (max(w, asin(2)): "not comparable"); that is bad input here, not a crash."""
    try:
        return parse_loss(text, constants=constants)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"SymPy cannot build this expression: {exc}") from None


def _check_defined(loss: Any, wrt: str) -> None:
    """As `gdcli derive` does: no steps towards a derivative SymPy finds undefined
    (0**w, whose derivative is nan everywhere)."""
    import sympy as sp

    if wrt not in loss.variables:
        return
    if partial(loss.expr, loss.entries[wrt][0]).has(sp.nan):
        raise BadInput(f"the derivative of {loss.text} is undefined (SymPy gives nan)")


def _written_well(text: str) -> bool:
    """Does the text parse back? A text beyond the parser's size limits counts as
    well written (a derivative may be longer than its loss); one SymPy reads as
    undefined (0/0, the log of a negative constant) does not."""
    return _undefined(text) is None


def _undefined(text: str) -> str | None:
    """Why the text does not parse back (None when it does)."""
    try:
        parse_loss(text)
    except ResourceLimit:
        return None
    except (BadInput, ValueError, TypeError) as exc:
        return str(exc)
    return None


def check_name(wrt: str) -> None:
    if (
        not wrt.isidentifier()
        or keyword.iskeyword(wrt)
        or wrt.startswith("_")
        or wrt in RESERVED
        or wrt in FUNCTION_NAMES
    ):
        raise BadValue("wrt", f"must be the name of a weight (got {wrt!r})")


class _Deriver:
    def __init__(self, wrt: str, taken: set[str], printer: Printer) -> None:
        self.wrt = wrt
        self.printer = printer
        self.steps: list[Step | None] = []
        self.memo: dict[tuple[Node, str], tuple[str, Node]] = {}
        self.let_of: dict[Node, str] = {}
        self.lets: dict[str, Node] = {}
        self.notes: list[str] = []
        self.free_names = self._fresh_names(taken)
        self.names_cache: dict[int, frozenset[str]] = {}
        self.keep: list[Node] = []  # nodes whose id() is cached stay alive

    # ---- the whole derivation

    def run(self, expression: str, node: Node) -> Derivation:
        p = self.printer
        derivative = self.derive(node, self.wrt, 0)
        assembled = substitute(derivative, self.lets)
        final = tidy(assembled, p.decimal)
        why = _undefined(p.text(final))
        if why is not None:  # (-2)**w: log(-2) is no real number; a 0/0
            reason = why.split(" at column ")[0]
            undefined = "not a real number" in reason or "undefined" in reason
            what = "is undefined everywhere" if undefined else "gdcli cannot read back"
            raise BadInput(f"the rules give a derivative that {what}: {p.text(final)} ({reason})")
        if p.text(final) != p.text(assembled):
            # Written in the weight, unless that is a 0/0 for SymPy (sqrt(w**2 - w**2)
            # gives (2*w - 2*w)/(2*sqrt(w**2 - w**2))): then with the names of the steps.
            shown = assembled if _written_well(p.text(assembled)) else derivative
            self.emit(
                "simplify",
                p.text(shown),
                p.text(final),
                "numbers multiplied out, like terms and equal factors collected",
                self.wrt,
                0,
                f"{p.latex(shown)} = {p.latex(final)}",
            )
        steps = [s for s in self.steps if s is not None]
        if sum(len(s.expr) + len(s.result) for s in steps) > MAX_TEXT:
            raise ResourceLimit("the derivation is too long to write out step by step")
        lets = [Let(n, p.text(v), f"{latex_name(n)} = {p.latex(v)}") for n, v in self.lets.items()]
        d = latex_name(self.wrt)
        return Derivation(
            expression=expression,
            variable=self.wrt,
            steps=steps,
            lets=lets,
            result=p.text(final),
            latex=rf"\frac{{dl}}{{d{d}}} = {p.latex(final)}",
            notes=list(dict.fromkeys(self.notes)),
        )

    def emit(
        self, rule: str, expr: str, result: str, note: str, var: str, depth: int, latex: str
    ) -> int:
        self.steps.append(Step(rule, expr, result, note, var, depth, latex))
        return len(self.steps) - 1

    def step_latex(self, node: Node, result: Node, var: str, depth: int) -> str:
        p = self.printer
        operand = p.latex(node)
        if isinstance(node, (Add, Neg, Mul, Div, Cmp)) or (
            isinstance(node, Num) and node.value < 0
        ):
            operand = rf"\left({operand}\right)"
        else:
            operand = " " + operand
        head = rf"\frac{{d}}{{d{latex_name(var)}}}{operand}"
        if depth == 0 and var == self.wrt:
            head = rf"\frac{{dl}}{{d{latex_name(var)}}} = " + head
        return f"{head} = {p.latex(result)}"

    # ---- one node

    def depends(self, node: Node, var: str) -> bool:
        key = id(node)
        found = self.names_cache.get(key)
        if found is None:
            found = frozenset(names(node))
            self.names_cache[key] = found
            self.keep.append(node)
        return var in found

    def derive(self, node: Node, var: str, depth: int) -> Node:
        p = self.printer
        if not self.depends(node, var):
            others = sorted(names(node))
            note = ""
            if others:
                verb = "does" if len(others) == 1 else "do"
                note = f"{', '.join(others)} {verb} not depend on {var}"
            self.emit(
                "constant",
                p.text(node),
                "0",
                note,
                var,
                depth,
                self.step_latex(node, ZERO, var, depth),
            )
            return ZERO
        key = (node, var)
        if key in self.memo:
            rule, result = self.memo[key]
            self.emit(
                rule,
                p.text(node),
                p.text(result),
                "as above",
                var,
                depth,
                self.step_latex(node, result, var, depth),
            )
            return result
        index = self.emit("", "", "", "", var, depth, "")  # filled in below, steps in tree order
        rule, result, note = self.rule(node, var, depth + 1)
        self.steps[index] = Step(
            rule,
            p.text(node),
            p.text(result),
            note,
            var,
            depth,
            self.step_latex(node, result, var, depth),
        )
        self.memo[key] = (rule, result)
        return result

    def rule(self, node: Node, var: str, depth: int) -> tuple[str, Node, str]:
        """The rule for this node, its derivative, and a note. Deeper steps are
        emitted on the way (at `depth`)."""
        if isinstance(node, Var):
            return "variable", ONE, ""
        if isinstance(node, Add):
            parts = []
            for t in node.terms:
                if isinstance(t, Neg):
                    parts.append(neg(self.derive(t.arg, var, depth)))
                else:
                    parts.append(self.derive(t, var, depth))
            return "sum", add(*parts), ""
        if isinstance(node, Neg):
            inner = self.derive(node.arg, var, depth)
            return "constant multiple", neg(inner), "-f is (-1)*f"
        if isinstance(node, Mul):
            return self.product(node, var, depth)
        if isinstance(node, Div):
            return self.quotient(node, var, depth)
        if isinstance(node, Pow):
            return self.power(node, var, depth)
        if isinstance(node, Call):
            return self.function(node, var, depth)
        if isinstance(node, Cmp):
            where = f"{self.original_text(node.left)} = {self.original_text(node.right)}"
            self.notes.append(
                f"{self.original_text(node)} jumps where {where}: no derivative there; "
                "elsewhere its slope is 0"
            )
            return "comparison", ZERO, f"0 away from the jump where {where}"
        raise AssertionError(f"no rule for {node!r}")  # Num and Const are constants

    def product(self, node: Mul, var: str, depth: int) -> tuple[str, Node, str]:
        p = self.printer
        factors = node.factors
        moving = [k for k, f in enumerate(factors) if self.depends(f, var)]
        constant = [p.text(f) for k, f in enumerate(factors) if k not in moving]
        if len(moving) == 1:
            k = moving[0]
            d = self.derive(factors[k], var, depth)
            result = mul(*(d if i == k else f for i, f in enumerate(factors)))
            verb = "does" if len(constant) == 1 else "do"
            return "constant multiple", result, f"{', '.join(constant)} {verb} not depend on {var}"
        derivatives = {k: self.derive(factors[k], var, depth) for k in moving}
        terms = [
            mul(*(derivatives[k] if i == k else f for i, f in enumerate(factors))) for k in moving
        ]
        note = ""
        if len(moving) > 2:
            note = f"one term for each of the {len(moving)} factors that depend on {var}"
        if constant:
            note = (note + "; " if note else "") + "the constant factors stay as they are"
        return "product", add(*terms), note

    def quotient(self, node: Div, var: str, depth: int) -> tuple[str, Node, str]:
        top, bottom = node.num, node.den
        if not self.depends(bottom, var):
            d = self.derive(top, var, depth)
            note = f"{self.printer.text(bottom)} does not depend on {var}"
            return "constant multiple", div(d, bottom), note
        d_top = self.derive(top, var, depth)
        d_bottom = self.derive(bottom, var, depth)
        numerator = add(mul(d_top, bottom), neg(mul(top, d_bottom)))
        return "quotient", div(numerator, power(bottom, num(2))), ""

    def power(self, node: Pow, var: str, depth: int) -> tuple[str, Node, str]:
        p = self.printer
        base, exponent = node.base, node.exp
        base_moves, exponent_moves = self.depends(base, var), self.depends(exponent, var)
        if base_moves and not exponent_moves:
            if base == Var(var):
                n = number_value(exponent)
                if n is not None:  # w**(1/3): 1/3 is one number
                    return "power", mul(Num(n), power(base, Num(n - 1))), ""
                return "power", mul(exponent, power(base, add(exponent, num(-1)))), ""
            return self.chain(node, var, depth, base, lambda u: Pow(u, exponent))
        if exponent_moves and not base_moves:
            if exponent == Var(var):
                if base == Const("e"):
                    return "exponential", node, "log(e) = 1"
                return "exponential", mul(node, call("log", base)), ""
            return self.chain(node, var, depth, exponent, lambda u: Pow(base, u))
        d_base = self.derive(base, var, depth)
        d_exponent = self.derive(exponent, var, depth)
        inside = add(mul(d_exponent, call("log", base)), div(mul(exponent, d_base), base))
        note = (
            f"{p.text(node)} = exp({p.text(exponent)}*log({p.text(base)})), for {p.text(base)} > 0"
        )
        return "general power", mul(node, inside), note

    def function(self, node: Call, var: str, depth: int) -> tuple[str, Node, str]:
        name, args = node.name, node.args
        if name in ("max", "min"):
            return self.extreme(node, var, depth)
        if name in ("sign", "Heaviside", "heaviside"):
            at = self.original_text(args[0])
            self.notes.append(
                f"{self.original_text(node)} jumps where {at} = 0: no derivative there; "
                "elsewhere its slope is 0"
            )
            rule = "sign" if name == "sign" else "Heaviside"
            return rule, ZERO, f"0 away from the jump where {self.where(args[0])} = 0"
        if name == "log" and len(args) == 2 and self.depends(args[1], var):
            rewritten = Div(Call("log", args[:1]), Call("log", args[1:]))
            d = self.derive(rewritten, var, depth)
            return "log", d, "a base that depends on the weight: log(u, b) = log(u)/log(b)"
        arg = args[0]
        if arg != Var(var):
            return self.chain(node, var, depth, arg, lambda u: Call(name, (u, *args[1:])))
        rule = {"ln": "log"}.get(name, name)
        return rule, _outer(name, args), self.kink_note(name, arg)

    def extreme(self, node: Call, var: str, depth: int) -> tuple[str, Node, str]:
        pieces = list(dict.fromkeys(node.args))  # max(u, u) is max(u)
        if len(pieces) == 1:
            d = self.derive(pieces[0], var, depth)
            return node.name, d, f"{node.name} of one value is that value"
        strict, tie = (">", ">=") if node.name == "max" else ("<", "<=")
        terms = []
        for i, piece in enumerate(pieces):
            d = self.derive(piece, var, depth)
            if is_num(d, 0):
                continue
            # where two pieces are equal on a stretch (min(w, max(1/2, w))) the first
            # one's slope is taken; against a constant piece the comparison is strict
            # (max(0, u) has (u > 0)), as the other piece is flat where they are equal
            indicators = [
                Cmp(tie if j > i and self.depends(other, var) else strict, piece, other)
                for j, other in enumerate(pieces)
                if j != i
            ]
            terms.append(mul(d, *indicators))
        larger = "larger" if node.name == "max" else "smaller"
        if len(pieces) > 2:
            where = "two of its pieces are equal"
        else:  # max(0, 3*w + 2): where 3*w + 2 = 0
            first, second = sorted(pieces, key=lambda x: not self.depends(x, var))
            where = f"{self.original_text(first)} = {self.original_text(second)}"
        self.notes.append(
            f"{self.original_text(node)}: no derivative where {where} (the {larger} piece "
            f"changes, a kink); there gdcli derive and descend use {RELU_AT_KINK} in each "
            "indicator: the mean of the two slopes"
        )
        note = f"the slope of the {larger} piece; no derivative where {where}"
        return node.name, add(*terms), note

    def chain(
        self, node: Node, var: str, depth: int, inner: Node, rebuild: Callable[[Node], Node]
    ) -> tuple[str, Node, str]:
        p = self.printer
        u = self.let_for(inner)
        outer = rebuild(Var(u))
        d_outer = self.derive(outer, u, depth)
        d_inner = self.derive(inner, var, depth)
        note = (
            f"let {u} = {p.text(inner)}: d/d{var} {p.text(outer)} = "
            f"d/d{u} {p.text(outer)} * d{u}/d{var}"
        )
        return "chain", mul(d_outer, d_inner), note

    def kink_note(self, name: str, arg: Node) -> str:
        """What happens where relu or abs has its kink (empty for smooth functions)."""
        if name not in ("relu", "abs"):
            return ""
        where = self.where(arg)
        if name == "relu":
            slopes, convention = "0 to the left, 1 to the right", RELU_AT_KINK
        else:
            slopes, convention = "-1 to the left, 1 to the right", ABS_AT_KINK
        text = (
            f"no derivative where {where} = 0 (a kink: slope {slopes}); there gdcli derive "
            f"and descend use the subgradient {convention}, the mean of the two slopes"
        )
        self.notes.append(f"{name}({self.original_text(arg)}): {text}")
        return text

    # ---- names

    def let_for(self, inner: Node) -> str:
        name = self.let_of.get(inner)
        if name is None:
            name = next(self.free_names)
            self.let_of[inner] = name
            self.lets[name] = inner
        return name

    def original_text(self, node: Node) -> str:
        return self.printer.text(substitute(node, self.lets))

    def where(self, node: Node) -> str:
        """`u` as the step writes it, and in the weight when it is a let name."""
        own = self.printer.text(node)
        original = self.original_text(node)
        return own if own == original else f"{own} = 0, that is {original}"

    @staticmethod
    def _fresh_names(taken: set[str]) -> Iterator[str]:
        for name in LET_NAMES:
            if name not in taken:
                yield name
        k = 1
        while True:
            for stem in ("u", "v"):
                name = f"{stem}{k}"
                if name not in taken:
                    yield name
            k += 1


def _outer(name: str, args: tuple[Node, ...]) -> Node:
    """f'(x) for a function of one variable x (args[0] is that variable)."""
    x = args[0]
    two = num(2)
    if name == "sin":
        return call("cos", x)
    if name == "cos":
        return neg(call("sin", x))
    if name == "tan":
        return div(ONE, power(call("cos", x), two))
    if name in ("asin", "acos"):
        d = div(ONE, call("sqrt", add(ONE, neg(power(x, two)))))
        return d if name == "asin" else neg(d)
    if name == "atan":
        return div(ONE, add(ONE, power(x, two)))
    if name == "sinh":
        return call("cosh", x)
    if name == "cosh":
        return call("sinh", x)
    if name == "tanh":
        return add(ONE, neg(power(call("tanh", x), two)))
    if name == "exp":
        return call("exp", x)
    if name in ("log", "ln"):
        if len(args) == 2:
            return div(ONE, mul(x, call("log", args[1])))
        return div(ONE, x)
    if name == "sqrt":
        return div(ONE, mul(two, call("sqrt", x)))
    if name == "sigmoid":
        return mul(call("sigmoid", x), add(ONE, neg(call("sigmoid", x))))
    if name == "softplus":
        return call("sigmoid", x)
    if name == "relu":
        return Cmp(">", x, ZERO)
    if name == "abs":
        return call("sign", x)
    raise AssertionError(f"no rule for {name}")
