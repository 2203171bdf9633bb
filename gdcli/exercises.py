"""Seeded exercises with their answer keys: each student gets their own problem.

`make(kind, seed, level)` builds one exercise. The numbers come from SplitMix64, a
generator written out here in integer arithmetic, and every problem is built from
integers and exact fractions: the same seed gives the same problem on every
machine, Python version and hash seed. The texts (the loss, the key) are written
here too, not printed by SymPy, so they do not change with SymPy's version.

Kinds: `derivative` (levels 1-3: powers and sums; products, quotients and the
chain rule; sigmoid, tanh, ReLU and cross-entropy), `partial` (one weight of
several), `matrix` (a layer's loss, its gradient with respect to W in matrix
form), `step` (w after one update of a given rule) and `diverge` (the largest
learning rate for which gradient descent does not diverge).

Every exercise carries `check`: the question as `gdcli check` (and a batch's
columns) grades it, so that the key's answer is accepted. For `step` and
`diverge` the answer is a number: check compares it with the exact value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from gdcli.errors import BadValue

KINDS = ("derivative", "partial", "matrix", "step", "diverge")
LEVELS = (1, 2, 3)
MASK = (1 << 64) - 1
MAX_SEED = MASK
DECIMAL = re.compile(r"-?\d+(\.\d+)?")


class Draw:
    """SplitMix64 (Steele, Lea and Flood, 2014): 64-bit integer arithmetic only."""

    def __init__(self, seed: int, kind: str) -> None:
        salt = int.from_bytes(kind.encode("ascii"), "big") & MASK
        self.state = (seed ^ salt) & MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def integer(self, lo: int, hi: int) -> int:
        """A whole number from lo to hi, both included."""
        return lo + self.next() % (hi - lo + 1)

    def nonzero(self, lo: int, hi: int) -> int:
        while True:
            k = self.integer(lo, hi)
            if k:
                return k

    def choice(self, options: Sequence[Any]) -> Any:
        return options[self.next() % len(options)]


@dataclass(frozen=True)
class Exercise:
    kind: str
    seed: int
    level: int | None
    question: str  # text, with the loss as gdcli writes it
    loss: str  # parses in gdcli
    values: dict[str, str]  # the numbers the question gives (exact texts)
    answer: str  # the key, as text gdcli parses (for a value: the exact number)
    check: dict[str, str]  # the columns of a batch row that grade it (all but `answer`)
    wrt: str | None = None
    rule: dict[str, Any] = field(default_factory=dict)  # step and diverge: the update rule
    variables: str = "w"  # the weights, as l(...) names them
    ask: str = ""  # what is asked, in LaTeX (\frac{dl}{dw}, w_1, ...)
    # filled in by `make`: the loss and the key in LaTeX
    loss_latex: str = ""
    answer_latex: str = ""
    question_latex: str = ""


# ---------------------------------------------------------------------------
# writing numbers and terms


def number(x: Fraction | int) -> str:
    """An exact number as gdcli reads it: a decimal where it has one (1.6, -0.05),
    else p/q."""
    x = Fraction(x)
    if x.denominator == 1:
        return str(x.numerator)
    d = x.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return f"{x.numerator}/{x.denominator}"
    places = max(twos, fives)
    scaled = abs(x.numerator) * 10**places // x.denominator
    text = str(scaled).rjust(places + 1, "0")
    text = f"{text[:-places]}.{text[-places:]}".rstrip("0").rstrip(".")
    return ("-" if x < 0 else "") + text


def times(c: int | Fraction, body: str) -> str:
    """c*body, written as a student would: `w`, `-w`, `3*w`."""
    if c == 1:
        return body
    if c == -1:
        return "-" + body
    return f"{number(c)}*{body}"


def total(terms: Sequence[str]) -> str:
    """Terms joined with + and -, dropping empty ones (`3*w - 2`)."""
    out = ""
    for t in terms:
        if not t or t == "0":
            continue
        if not out:
            out = t
        elif t.startswith("-"):
            out += " - " + t[1:]
        else:
            out += " + " + t
    return out or "0"


def power(n: int, name: str = "w") -> str:
    return "1" if n == 0 else name if n == 1 else f"{name}**{n}"


def monomial(c: int | Fraction, n: int, name: str = "w") -> str:
    return number(c) if n == 0 else times(c, power(n, name))


def linear(a: int, b: int, name: str = "w") -> str:
    """a*w + b."""
    return total([times(a, name), number(b)])


def vector(xs: Sequence[int]) -> str:
    return "[" + ",".join(number(x) for x in xs) + "]"


# ---------------------------------------------------------------------------
# the kinds


def _derivative(d: Draw, level: int) -> tuple[str, str]:
    """(loss, dl/dw)."""
    if level == 1:
        n = d.integer(2, 5)
        m = d.integer(1, n - 1)
        a, b, c = d.nonzero(-5, 5), d.nonzero(-6, 6), d.integer(-9, 9)
        loss = total([monomial(a, n), monomial(b, m), number(c)])
        return loss, total([monomial(a * n, n - 1), monomial(b * m, m - 1)])
    if level == 2:
        a, b = d.nonzero(-4, 4), d.nonzero(-5, 5)
        form = d.integer(1, 5)
        if form == 1:  # the chain rule through a power
            n = d.integer(2, 4)
            inner = linear(a, b)
            outer = f"({inner})" + (f"**{n - 1}" if n > 2 else "")
            return f"({inner})**{n}", times(n * a, outer)
        if form == 2:  # a product
            n = d.integer(1, 3)
            e = f"exp({times(a, 'w')})"
            return f"{power(n)}*{e}", f"{'' if n == 1 else power(n - 1) + '*'}({linear(a, n)})*{e}"
        if form == 3:  # a quotient
            c = d.integer(1, 5)
            top, bottom = linear(1, b), total(["w**2", number(c)])
            numerator = f"{bottom} - 2*w*({top})"
            return f"({top})/({bottom})", f"({numerator})/({bottom})**2"
        if form == 4:  # the chain rule through log
            a, c = abs(a), d.integer(1, 5)
            inner = total([times(a, "w**2"), number(c)])
            return f"log({inner})", f"{times(2 * a, 'w')}/({inner})"
        inner = linear(a, b)  # the chain rule through sin, squared
        return f"sin({inner})**2", times(2 * a, f"sin({inner})*cos({inner})")
    a, b = d.nonzero(-3, 3), d.integer(-3, 3)
    form = d.integer(1, 5)
    inner = linear(a, b)
    if form == 1:
        s = f"sigmoid({inner})"
        return s, times(a, f"{s}*(1 - {s})")
    if form == 2:
        t = d.choice((-1, 0, 1))
        th = f"tanh({times(a, 'w')})"
        diff = total([th, number(-t)])
        return f"({diff})**2", times(2 * a, f"({diff})*(1 - {th}**2)")
    if form == 3:
        return f"relu({inner})", times(a, f"({inner} > 0)")
    if form == 4:
        r = f"relu({inner})"
        return f"{r}**2", times(2 * a, r)
    x, y = d.nonzero(-3, 3), d.choice((0, 1))  # binary cross-entropy of one example
    s = f"sigmoid({times(x, 'w')})"
    loss = f"-log({s})" if y == 1 else f"-log(1 - {s})"
    return loss, times(x, f"({s} - 1)" if y == 1 else s)


def _partial(d: Draw) -> tuple[str, str, str, dict[str, str]]:
    """(loss, weight asked, its partial, inputs)."""
    x, y = d.nonzero(-3, 3), d.integer(-3, 3)
    inputs = {"x": number(x), "y": number(y)}
    form = d.integer(1, 3)
    if form == 1:
        wrt = d.choice(("w", "b"))
        err = "w*x + b - y"
        return f"({err})**2", wrt, f"2*x*({err})" if wrt == "w" else f"2*({err})", inputs
    if form == 2:
        x2 = d.nonzero(-3, 3)
        inputs = {"x1": number(x), "x2": number(x2), "y": number(y)}
        wrt = d.choice(("w1", "w2"))
        err = "w1*x1 + w2*x2 - y"
        return f"({err})**2", wrt, f"2*{'x1' if wrt == 'w1' else 'x2'}*({err})", inputs
    inputs["y"] = number(d.choice((0, 1)))
    wrt = d.choice(("w", "b"))
    s = "sigmoid(w*x + b)"
    grad = f"2*({s} - y)*{s}*(1 - {s})"
    return f"({s} - y)**2", wrt, f"x*{grad}" if wrt == "w" else grad, inputs


NORM = r"\left\lVert {} \right\rVert^{{2}}"


def _matrix(d: Draw) -> tuple[str, str, dict[str, str], tuple[int, int], str, str]:
    """(loss, dl/dW in matrix form, inputs, W's shape, both in LaTeX)."""
    rows, cols = d.integer(2, 3), d.integer(2, 4)
    x = [d.integer(-3, 3) for _ in range(cols)]
    if not any(x):
        x[0] = 1
    form = d.integer(1, 4)
    shape = (rows, cols)
    if form == 4:
        t = [0] * rows
        t[d.integer(0, rows - 1)] = 1
        inputs = {"x": vector(x), "t": vector(t)}
        return (
            "-sum(t*log(softmax(W @ x)))", "outer(softmax(W @ x) - t, x)", inputs, shape,
            r"-\sum_{i} t_{i} \log \operatorname{softmax}\left(W x\right)_{i}",
            r"\left(\operatorname{softmax}\left(W x\right) - t\right) x^{\top}",
        )  # fmt: skip
    y = [d.integer(-3, 3) for _ in range(rows)]
    inputs = {"x": vector(x), "y": vector(y)}
    if form == 1:
        return (
            "sum((W @ x - y)**2)", "2*outer(W @ x - y, x)", inputs, shape,
            NORM.format("W x - y"), r"2 \left(W x - y\right) x^{\top}",
        )  # fmt: skip
    if form == 2:
        scale = Fraction(2, rows)
        return (
            "mean((W @ x - y)**2)", times(scale, "outer(W @ x - y, x)"), inputs, shape,
            rf"\frac{{1}}{{{rows}}} " + NORM.format("W x - y"),
            ("" if scale == 1 else rf"\frac{{2}}{{{rows}}} ") + r"\left(W x - y\right) x^{\top}",
        )  # fmt: skip
    th = "tanh(W @ x)"
    return (
        f"sum(({th} - y)**2)", f"2*outer(({th} - y)*(1 - {th}**2), x)", inputs, shape,
        NORM.format(r"\tanh\left(W x\right) - y"),
        r"2 \left[\left(\tanh\left(W x\right) - y\right) \odot \left(1 - "
        r"\tanh^{2}\left(W x\right)\right)\right] x^{\top}",
    )  # fmt: skip


LRS = (Fraction(1, 10), Fraction(1, 20), Fraction(1, 5), Fraction(1, 100))


def _step(d: Draw) -> tuple[str, dict[str, str], Fraction, dict[str, Any], str]:
    """(loss, values, w after one update, the rule for gdcli descend, its words)."""
    a, b = d.integer(1, 3), d.integer(-3, 3)
    w0 = Fraction(d.nonzero(-30, 30), 10)
    if w0 == b:
        w0 += 1
    lr = d.choice(LRS)
    loss = times(a, f"({linear(1, -b)})**2" if b else "w**2")
    g = 2 * a * (w0 - b)
    values = {"w": number(w0), "lr": number(lr)}
    form = d.integer(1, 4)
    if form == 1:
        return loss, values, w0 - lr * g, {"optimizer": "sgd"}, "plain gradient descent (SGD)"
    if form == 2:
        wd = d.choice((Fraction(1, 10), Fraction(1, 100)))
        values["weight_decay"] = number(wd)
        rule = {"optimizer": "sgd", "weight_decay": float(wd)}
        return (
            loss,
            values,
            w0 - lr * (g + wd * w0),
            rule,
            (f"SGD with weight decay {number(wd)} (torch's: the gradient gets weight_decay * w)"),
        )
    if form == 3:
        mu = d.choice((Fraction(9, 10), Fraction(1, 2)))
        values["momentum"] = number(mu)
        rule = {"optimizer": "sgd", "momentum": float(mu), "nesterov": True}
        return (
            loss,
            values,
            w0 - lr * (1 + mu) * g,
            rule,
            (f"SGD with Nesterov momentum {number(mu)} (torch's; the momentum buffer starts at 0)"),
        )
    rule = {"optimizer": "adam", "eps": 0.0}
    sign = 1 if g > 0 else -1
    return loss, values, w0 - lr * sign, rule, "Adam with torch's defaults but eps = 0"


def _diverge(d: Draw) -> tuple[str, dict[str, str], Fraction, dict[str, Any], str, str]:
    """(loss, values, the largest lr that does not diverge, the rule, its words, wrt)."""
    a, b, c = d.integer(1, 5), d.integer(-3, 3), d.integer(0, 4)
    form = d.integer(1, 3)
    square = f"({linear(1, -b)})**2" if b else "w**2"
    if form == 1:
        loss = total([times(a, square), number(c)])
        return loss, {}, Fraction(1, a), {"optimizer": "sgd"}, "plain gradient descent", "w"
    if form == 2:
        mu = d.choice((Fraction(9, 10), Fraction(1, 2)))
        loss = total([times(a, square), number(c)])
        rule = {"optimizer": "sgd", "momentum": float(mu)}
        words = f"gradient descent with (heavy-ball) momentum {number(mu)}, torch's SGD"
        return loss, {"momentum": number(mu)}, (1 + mu) / a, rule, words, "w"
    a2 = d.integer(1, 5)
    loss = total([times(a, "x**2"), times(a2, "y**2")])
    return loss, {}, Fraction(1, max(a, a2)), {"optimizer": "sgd"}, "plain gradient descent", "x, y"


# ---------------------------------------------------------------------------
# one exercise


def make(kind: str, seed: int, level: int | None = None) -> Exercise:
    """The exercise `kind` number `seed` (derivative: at `level`, 1 by default)."""
    if kind not in KINDS:
        raise BadValue("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise BadValue("seed", f"must be a whole number from 0 to {MAX_SEED} (got {seed})")
    if kind != "derivative" and level is not None:
        raise BadValue("level", f"is for derivative exercises, not {kind}")
    if level is not None and level not in LEVELS:
        raise BadValue("level", f"must be 1, 2 or 3 (got {level})")
    d = Draw(seed, kind)
    builders: dict[str, Callable[[], Exercise]] = {
        "derivative": lambda: _make_derivative(d, seed, level or 1),
        "partial": lambda: _make_partial(d, seed),
        "matrix": lambda: _make_matrix(d, seed),
        "step": lambda: _make_step(d, seed),
        "diverge": lambda: _make_diverge(d, seed),
    }
    return _with_latex(builders[kind]())


def _make_derivative(d: Draw, seed: int, level: int) -> Exercise:
    loss, answer = _derivative(d, level)
    question = f"Find the derivative dl/dw of l(w) = {loss}."
    return Exercise(
        "derivative", seed, level, question, loss, {}, answer,
        {"loss": loss, "wrt": "w"}, "w", ask=r"\frac{dl}{dw}",
    )  # fmt: skip


def _make_partial(d: Draw, seed: int) -> Exercise:
    loss, wrt, answer, inputs = _partial(d)
    given = ", ".join(f"{n} = {v}" for n, v in inputs.items())
    question = (
        f"l = {loss}, where {given} are inputs (fixed) and the other names are weights. "
        f"Find the partial derivative dl/d{wrt} (every other weight held constant)."
    )
    sets = ",".join(f"{n}={v}" for n, v in inputs.items())
    return Exercise(
        "partial", seed, None, question, loss, dict(inputs), answer,
        {"loss": loss, "wrt": wrt, "set": sets}, wrt,
        ask=rf"\frac{{\partial l}}{{\partial {_name_latex(wrt)}}}",
    )  # fmt: skip


def _make_matrix(d: Draw, seed: int) -> Exercise:
    loss, answer, inputs, (rows, cols), loss_tex, answer_tex = _matrix(d)
    given = ", ".join(f"{n} = {v}" for n, v in inputs.items())
    question = (
        f"l = {loss}, where W is a {rows}x{cols} matrix of weights and {given} are inputs. "
        "Find the gradient dl/dW in matrix form (the shape of W; outer(a, b) is the matrix "
        "of a[i]*b[j])."
    )
    sets = ",".join(f"{n}={v}" for n, v in inputs.items())
    values = {**inputs, "W": f"{rows}x{cols}"}
    check = {"loss": loss, "wrt": "W", "shape": f"W={rows}x{cols}", "set": sets}
    return Exercise(
        "matrix", seed, None, question, loss, values, answer, check, "W",
        ask=r"\frac{\partial l}{\partial W}", loss_latex=loss_tex, answer_latex=answer_tex,
    )  # fmt: skip


def _make_step(d: Draw, seed: int) -> Exercise:
    loss, values, after, rule, words = _step(d)
    question = (
        f"l(w) = {loss}. Starting at w = {values['w']}, make one update of {words} "
        f"with learning rate lr = {values['lr']}. What is w after the update?"
    )
    return Exercise(
        "step", seed, None, question, loss, values, number(after),
        {"loss": number(after)}, "w", rule, ask="w_1",
    )  # fmt: skip


def _make_diverge(d: Draw, seed: int) -> Exercise:
    loss, values, lr_max, rule, words, names = _diverge(d)
    question = (
        f"l({names}) = {loss}. Run {words} with a learning rate lr from any start but the "
        "minimum. What is the largest lr for which it does not diverge?"
    )
    return Exercise(
        "diverge", seed, None, question, loss, values, number(lr_max),
        {"loss": number(lr_max)}, None, rule, names, ask=r"\mathrm{lr}_{\max}",
    )  # fmt: skip


def _with_latex(e: Exercise) -> Exercise:
    """The loss, the question and the key in LaTeX (SymPy's printer, course notation;
    a matrix exercise writes its own)."""
    from dataclasses import replace

    from gdcli.latex import latex
    from gdcli.parse.expression import parse_array

    loss_tex = e.loss_latex or latex(parse_array(e.loss))
    if e.answer_latex:
        answer_tex = e.answer_latex
    elif e.kind in ("step", "diverge"):
        answer_tex = _value_latex(e.answer)
    else:
        answer_tex = latex(parse_array(e.answer))
    head = f"l({e.variables}) = " if e.kind in ("derivative", "step", "diverge") else "l = "
    given = ",\\ ".join(
        f"{_name_latex(n)} = {_value_latex(v)}" for n, v in e.values.items() if n != "W"
    )
    question_tex = head + loss_tex + (rf",\quad {given}" if given else "")
    question_tex += rf".\quad {e.ask} = ?"
    return replace(e, loss_latex=loss_tex, answer_latex=answer_tex, question_latex=question_tex)


def _name_latex(name: str) -> str:
    words = {"lr": r"\mathrm{lr}", "momentum": r"\mu", "weight_decay": r"\lambda_{\mathrm{wd}}"}
    if name in words:
        return words[name]
    head, digits = name.rstrip("0123456789"), name[len(name.rstrip("0123456789")) :]
    return f"{head}_{{{digits}}}" if digits else name


def _value_latex(text: str) -> str:
    from gdcli.latex import bmatrix, latex
    from gdcli.parse.expression import parse_value

    if DECIMAL.fullmatch(text):
        return text  # 2.2, not 11/5
    value = parse_value(text)
    if hasattr(value, "shape"):
        return bmatrix([[latex(v)] for v in value.flat])
    return latex(value)
