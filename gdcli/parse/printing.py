"""SymPy expressions written back as text both gdcli and SymPy read.

The inverse of `parse.expression`: every text `gdcli_text` writes parses back with
gdcli's parser to the same function (a test holds it to that for many losses), so a
derivative, a partial or a note can be copied into the next command as it is; and
SymPy's `sympify` reads it too (the JSON contract). Where the two spell a thing
differently, gdcli writes what both read: `exp(1)` for e (SymPy's `E`), `abs(w)`,
`Max(0, w)` (gdcli reads SymPy's Max, Min and Abs), `1/tan(w)` for SymPy's `cot(w)`,
and an indicator such as SymPy's `Piecewise((1, w > 0), (0, True))`, gdcli's
`(w > 0)`, as the step `Heaviside(w, 0)` (0 at w = 0, as the comparison is).

LaTeX, in the course's notation, is `gdcli.latex`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sympy

# SymPy functions gdcli has no name for, as gdcli writes them (x is the argument)
REWRITTEN = {
    "sec": "1/cos({})",
    "csc": "1/sin({})",
    "cot": "1/tan({})",
    "sech": "1/cosh({})",
    "csch": "1/sinh({})",
    "coth": "1/tanh({})",
    "asinh": "log({0} + sqrt({0}**2 + 1))",
    "acosh": "log({0} + sqrt({0}**2 - 1))",
    "atanh": "log((1 + {0})/(1 - {0}))/2",
    "acot": "atan(1/{})",
}


def gdcli_text(expr: sympy.Basic) -> str:
    """`expr` as gdcli's parser reads it (and as a student would type it)."""
    return _text_printer().doprint(expr)  # type: ignore[no-any-return]


def value_text(value: Any) -> str:
    """An exact value as gdcli reads it: `2/3` (a Fraction), `pi/4`, `exp(1)` (SymPy's
    E, which gdcli writes e)."""
    if hasattr(value, "free_symbols"):  # a SymPy number
        short = _scientific(value)
        return short if short is not None else gdcli_text(value)
    return str(value)


def _scientific(value: Any) -> str | None:
    """A long exact decimal as gdcli reads it back, exactly: 10**300 as `1e300`,
    3/10**40 as `3e-40`; None for anything else (or short enough as it is)."""
    import sympy as sp

    if not isinstance(value, sp.Rational):
        return None
    p, q = int(value.p), int(value.q)
    if q == 1:
        digits = str(abs(p))
        zeros = len(digits) - len(digits.rstrip("0"))
        if len(digits) <= 16 or zeros < 6:
            return None
        return f"{p // 10**zeros}e{zeros}"
    k = len(str(q)) - 1
    if q != 10**k or k <= 16:
        return None
    return f"{p}e-{k}"


@functools.cache
def _text_printer() -> Any:
    import sympy as sp
    from sympy.printing.precedence import PRECEDENCE
    from sympy.printing.str import StrPrinter

    ORDERS = (sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan, sp.LessThan)

    class GdcliPrinter(StrPrinter):  # type: ignore[misc]
        """SymPy's str(), with gdcli's names where SymPy's differ."""

        def _call(self, name: str, args: Sequence[Any]) -> str:
            return f"{name}({', '.join(self._print(a) for a in args)})"

        def _print_Abs(self, expr: Any) -> str:
            return self._call("abs", expr.args)

        def _print_Exp1(self, expr: Any) -> str:
            return "exp(1)"

        def _print_Heaviside(self, expr: Any) -> str:
            import sympy as sp

            u, *h0 = expr.args
            if not h0 or h0[0] == sp.S.Half:  # SymPy's default value at 0
                return self._call("Heaviside", [u])
            return self._call("Heaviside", [u, h0[0]])

        def _print_Function(self, expr: Any) -> str:
            pattern = REWRITTEN.get(type(expr).__name__)
            if pattern is None or len(expr.args) != 1:
                return str(super()._print_Function(expr))
            return "(" + pattern.format(self._print(expr.args[0])) + ")"

        def _print_Piecewise(self, expr: Any) -> str:
            """Each piece times the indicator of its condition (and of no earlier
            condition): Heaviside(w, 0) for Piecewise((1, w > 0), (0, True))."""
            import sympy as sp

            terms: list[list[str]] = []
            earlier: list[Any] = []
            for value, condition in expr.args:
                holds = [*(sp.Not(c) for c in earlier), condition]
                earlier.append(condition)
                if value == 0:
                    continue
                factors = [self._indicator(c) for c in holds if c is not sp.true]
                if value != 1 or not factors:
                    factors.insert(0, self.parenthesize(value, PRECEDENCE["Mul"]))
                terms.append(factors)
            if not terms:
                return "0"
            if len(terms) == 1 and len(terms[0]) == 1:
                return terms[0][0]
            return "(" + " + ".join("*".join(t) for t in terms) + ")"

        def _indicator(self, condition: Any) -> str:
            """1 where `condition` holds, 0 elsewhere, as steps: a > b is
            Heaviside(a - b, 0), a >= b is Heaviside(a - b, 1)."""
            import sympy as sp

            if isinstance(condition, sp.Not):
                inner = condition.args[0]
                if isinstance(inner, ORDERS):
                    return self._indicator(inner.negated)
                return f"(1 - {self._indicator(inner)})"
            if isinstance(condition, sp.And):
                return "(" + "*".join(self._indicator(c) for c in condition.args) + ")"
            if isinstance(condition, sp.Or):
                return "Max(" + ", ".join(self._indicator(c) for c in condition.args) + ")"
            if isinstance(condition, ORDERS):
                a, b = condition.args
                if isinstance(condition, (sp.StrictLessThan, sp.LessThan)):
                    a, b = b, a  # a < b is b > a
                return self._step(a - b, isinstance(condition, (sp.GreaterThan, sp.LessThan)))
            if isinstance(condition, sp.Eq):
                a, b = condition.args
                return f"{self._step(a - b, True)}*{self._step(b - a, True)}"
            if isinstance(condition, sp.Ne):
                a, b = condition.args
                return f"(1 - {self._step(a - b, True)}*{self._step(b - a, True)})"
            if condition is sp.true:
                return "1"
            if condition is sp.false:
                return "0"
            raise TypeError(f"no indicator for {condition!r}")

        def _step(self, u: Any, at_zero: bool) -> str:
            return f"Heaviside({self._print(u)}, {1 if at_zero else 0})"

    return GdcliPrinter()
