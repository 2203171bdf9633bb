"""LaTeX for write-ups, in the course's notation.

SymPy's own printer writes Heaviside(u) as `\\theta(u)` and an indicator `(u > 0)`
as a `cases` block; a write-up for the course reads `\\mathbf{1}[u > 0]` for both
(the step's value at the jump itself is a convention, said elsewhere). The entry
W[i,j] of a matrix weight (the symbol `W_i_j`) is written `W_{i,j}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _printer() -> Any:
    import sympy as sp
    from sympy.printing.latex import LatexPrinter

    class CoursePrinter(LatexPrinter):  # type: ignore[misc]
        def _print_Heaviside(self, expr: Any, exp: Any = None) -> str:
            text = rf"\mathbf{{1}}\left[{self._print(expr.args[0])} > 0\right]"
            return rf"{text}^{{{exp}}}" if exp else text

        def _print_Piecewise(self, expr: Any) -> str:
            pieces = expr.args
            if (
                len(pieces) == 2
                and pieces[0].expr == 1
                and pieces[1].expr == 0
                and pieces[1].cond == sp.true
            ):
                return rf"\mathbf{{1}}\left[{self._print(pieces[0].cond)}\right]"
            return str(super()._print_Piecewise(expr))

        def _print_Function(self, expr: Any, exp: Any = None) -> str:
            if expr.func.__name__ == "indicator":
                text = rf"\mathbf{{1}}\left[{self._print(expr.args[0])}\right]"
                return rf"{text}^{{{exp}}}" if exp else text
            if expr.func.__name__ == "sigma":
                text = rf"\sigma\left({self._print(expr.args[0])}\right)"
                return rf"{text}^{{{exp}}}" if exp else text
            return str(super()._print_Function(expr, exp))

        def _print_Symbol(self, expr: Any, style: str = "plain") -> str:
            head, *index = expr.name.split("_")
            if index and all(part.isdigit() for part in index):
                return f"{head}_{{{','.join(index)}}}"
            return str(super()._print_Symbol(expr, style))

    return CoursePrinter()


def _course_forms(expr: Any) -> Any:
    """The parser writes sigmoid(u) as 1/(1 + exp(-u)); a write-up reads \\sigma(u)."""
    import sympy as sp

    sigma = sp.Function("sigma")

    def is_sigmoid(e: Any) -> bool:
        if not (isinstance(e, sp.Pow) and e.exp == -1 and isinstance(e.base, sp.Add)):
            return False
        parts = e.base.args
        return len(parts) == 2 and sp.S.One in parts and any(isinstance(p, sp.exp) for p in parts)

    def as_sigma(e: Any) -> Any:
        (z,) = next(p for p in e.base.args if isinstance(p, sp.exp)).args
        return sigma(-z)

    indicator = sp.Function("indicator")

    def is_indicator(e: Any) -> bool:
        if not isinstance(e, sp.Piecewise) or len(e.args) != 2:
            return False
        (one, cond), (zero, otherwise) = e.args
        return bool(one == 1 and zero == 0 and otherwise == sp.true)

    if not isinstance(expr, sp.Basic):
        return expr
    expr = expr.replace(is_sigmoid, as_sigma)
    return expr.replace(is_indicator, lambda e: indicator(e.args[0].cond))


def latex(expr: Any) -> str:
    """An expression (a SymPy scalar) in LaTeX."""
    return str(_printer().doprint(_course_forms(expr)))


def bmatrix(cells: Sequence[Sequence[str]]) -> str:
    """Rows of LaTeX cells as a `bmatrix`."""
    body = r" \\ ".join(" & ".join(row) for row in cells)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def loss_and_derivative(
    name: str, loss: Any, derivative: Any, names: Sequence[str] | None = None
) -> str:
    """`l(w) = … ,\\ \\frac{dl}{dw} = …`: the line a write-up takes (with several
    weights `names`, `l(x, y) = …,\\ \\frac{\\partial l}{\\partial x} = …`)."""
    if names and len(names) > 1:
        head = f"l({', '.join(names)})"
        d = rf"\frac{{\partial l}}{{\partial {name}}}"
    else:
        head, d = f"l({name})", rf"\frac{{dl}}{{d{name}}}"
    return rf"{head} = {latex(loss)},\ {d} = {latex(derivative)}"


def verbatim(text: str) -> str:
    """gdcli's text as typed (a formula in matrix form), set in typewriter type."""
    special = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}",
               "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&", "~": r"\~{}"}  # fmt: skip
    return r"\texttt{" + "".join(special.get(ch, ch) for ch in text) + "}"
