"""Text -> a checked Python syntax tree, the first step of every reader.

User text is parsed with `ast.parse(mode="eval")` and never evaluated. Here it is
measured (length, node count, depth) before anything is built, so every accepted
input stays fast; the builders (`parse.expression` for SymPy, `engine` for arrays,
`parse.quick` for plain numbers) then walk the tree with their own allow-lists.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import TYPE_CHECKING, NamedTuple

from gdcli.errors import ParseError, ResourceLimit
from gdcli.limits import (
    MAX_DECIMAL_EXPONENT,
    MAX_DEPTH,
    MAX_DIMENSIONS,
    MAX_LENGTH,
    MAX_NODES,
)

if TYPE_CHECKING:
    from fractions import Fraction

# Python syntax that is not part of gdcli's expressions but that ast would accept
# silently: comments, line continuations, statement separators.
FORBIDDEN_CHARACTERS = {"#": "a comment", "\\": "a backslash", ";": "a semicolon"}

# patterns of syntax_hint, compiled (by re, once) when a hint is wanted, not at start-up
_IMPLICIT = r"(?<![\w.])(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*([A-Za-z(][\w]*)"


# what the allow-list walkers call the syntax they refuse
FORBIDDEN_NODES: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Tuple: "a tuple",
    ast.JoinedStr: "a string",
    ast.FormattedValue: "a string",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.NamedExpr: "assignment",
    ast.Starred: "unpacking",
    ast.Slice: "a slice",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

OPERATOR_NAMES: dict[type, str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.Not: "not",
    ast.Invert: "~",
}


class Syntax(NamedTuple):
    """A checked tree, the normalised source it was parsed from (`^` written as
    `**`), and where each `^` stood in the text as typed (for error columns)."""

    tree: ast.Expression
    source: str
    carets: list[int]

    def column(self, node: ast.AST) -> int:
        """1-based column of a node in the text as typed."""
        return user_column(getattr(node, "col_offset", 0), self.carets)

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""


def quote(text: str, limit: int = 40) -> str:
    """User text for an error message: quoted, and cut when long."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def normalise(text: str) -> str:
    """The text as gdcli reads it: stripped, `^` meaning power."""
    return text.strip().replace("^", "**")


def parse_quietly(source: str) -> ast.Expression:
    """ast.parse in eval mode, without Python's SyntaxWarnings reaching stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, mode="eval")


def user_column(offset: int, carets: list[int]) -> int:
    """1-based column in the text as typed, from a 0-based offset in the normalised
    text (where each `^` became the two characters `**`)."""
    shift = sum(1 for k, c in enumerate(carets) if c + k < offset)
    return max(offset - shift + 1, 1)


RANGE_HINT = "a number typed must be 0 or lie between 5e-324 and 1.8e308 in size, as a float does"
_SMALLEST = 2**-1074  # the smallest positive float (a subnormal)


def shorten(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decimal_literal(source: str, value: int | float | None = None) -> Fraction:
    """A number literal exactly as typed (`0.1` is 1/10, not a binary fraction; an
    integer such as `0x10` or `1_000` as Python reads it, `value`). ValueError when it
    is not a number or lies beyond the range of floats: one rule for every number
    typed, in an expression or an option."""
    import sys
    from decimal import Decimal, InvalidOperation
    from fractions import Fraction

    if isinstance(value, int):
        if value.bit_length() > 1030:  # far beyond the float range: not worth a Fraction
            raise ValueError(f"out of range: {source}")
        exact = Fraction(value)
    else:
        try:
            dec = Decimal(source.replace("_", ""))
        except InvalidOperation:
            raise ValueError(f"not a decimal: {source}") from None
        if not dec.is_finite():
            raise ValueError(f"not a finite decimal: {source}")
        if dec != 0 and abs(dec.adjusted()) > MAX_DECIMAL_EXPONENT:
            raise ValueError(f"out of range: {source}")
        exact = Fraction(dec)
    if exact and not Fraction(_SMALLEST) <= abs(exact) <= Fraction(sys.float_info.max):
        raise ValueError(f"out of range: {source}")
    return exact


def _kind(op: ast.operator) -> str:
    """+ and - chain together, and so do * and /."""
    if isinstance(op, (ast.Add, ast.Sub)):
        return "+"
    if isinstance(op, (ast.Mult, ast.Div)):
        return "*"
    return type(op).__name__


def _check_size(tree: ast.AST) -> None:
    """Count nodes and measure depth without recursion, before anything is built."""
    nodes = dimensions = 0
    stack: list[tuple[ast.AST, int, int]] = [(tree, 0, 0)]  # node, depth, lists around it
    while stack:
        node, depth, lists = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ResourceLimit(f"expression too large (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ResourceLimit(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.List):
            lists += 1
            dimensions = max(dimensions, lists)
        for child in ast.iter_child_nodes(node):
            # a+b+c+... is a left-leaning chain: long (MAX_NODES limits it), not deep
            chain = (
                isinstance(node, ast.BinOp)
                and isinstance(child, ast.BinOp)
                and child is node.left
                and _kind(child.op) == _kind(node.op)
            )
            stack.append((child, depth if chain else depth + 1, lists))
    if dimensions > MAX_DIMENSIONS:  # (after the size: too deep is exit 4 whatever it holds)
        raise ParseError(  # NumPy itself stops at 32 (exit 70), backprop's tables at 3
            f"a list in a list in a list: arrays have at most {MAX_DIMENSIONS} dimensions "
            "(vectors and matrices)"
        )


def syntax_tree(text: str) -> Syntax:
    """Parse and measure `text`; ParseError (with the column) or ResourceLimit."""
    if len(text) > MAX_LENGTH:
        raise ResourceLimit(f"expression too long ({len(text)} characters, at most {MAX_LENGTH})")
    stripped = text.strip()
    if not stripped:
        raise ParseError("empty expression")
    for k, ch in enumerate(stripped):
        if "\ud800" <= ch <= "\udfff":  # a byte of the command line that was not UTF-8
            raise ParseError("a byte that is not UTF-8 text", stripped, k + 1)
        if ch in FORBIDDEN_CHARACTERS:
            raise ParseError(f"{FORBIDDEN_CHARACTERS[ch]} is not allowed", stripped, k + 1)
        if ch in LOOKALIKES:
            raise ParseError(
                f"{ch!r} is not part of gdcli's expressions",
                stripped,
                k + 1,
                lookalike_hint(stripped),
            )
    carets = [i for i, ch in enumerate(stripped) if ch == "^"]
    source = stripped.replace("^", "**")
    try:
        tree = parse_quietly(source)
    except SyntaxError as exc:
        balanced = all(source.count(a) == source.count(b) for a, b in ("()", "[]"))
        if "too many nested" in (exc.msg or "") and balanced:  # Python's limit on nesting
            raise ResourceLimit(
                f"expression nested too deeply (more than {MAX_DEPTH} levels)"
            ) from None
        offset = exc.offset or 0
        at_end = not offset or offset > len(source) or (exc.msg or "").startswith("unexpected EOF")
        column = len(stripped) if at_end else user_column(offset - 1, carets)
        hint = syntax_hint(stripped)
        reason = (exc.msg or "invalid syntax").split(" (")[0]
        raise ParseError(
            f"cannot parse {quote(stripped)}: {reason}", stripped, column, hint
        ) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ParseError(f"cannot parse the expression: {exc}") from None
    _check_size(tree)
    for node in ast.walk(tree):  # SymPy's spellings of gdcli's functions (Max(0, w))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            node.func.id = SYMPY_SPELLINGS.get(node.func.id, node.func.id)
    return Syntax(tree, source, carets)


# SymPy's names for gdcli's functions, read as gdcli's own: text SymPy wrote (the
# derivatives gdcli prints say Max, as SymPy reads them) parses back in gdcli
SYMPY_SPELLINGS = {"Max": "max", "Min": "min", "Abs": "abs"}


CONSTANT_NAMES = ("pi", "e")


def free_names(text: str) -> set[str]:
    """Names a text uses that are neither called functions nor pi/e."""
    tree = syntax_tree(text).tree
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    # `np.exp(w)`: not a name with no value, but attribute access (the parser says so)
    called |= {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and id(n) not in called and n.id not in CONSTANT_NAMES
    }


# ---------------------------------------------------------------------------
# hints: what students type, and what gdcli spells

# the functions a loss may call (parse.expression builds them; a test keeps them equal)
FUNCTION_NAMES = (
    "sin cos tan asin acos atan sinh cosh tanh exp log ln sqrt abs sign Heaviside heaviside "
    "sigmoid relu softplus max min sum mean dot transpose outer softmax logsumexp"
).split()

# other names for gdcli's functions
SPELLINGS = {
    "σ": "sigmoid",
    "logistic": "sigmoid",
    "sigma": "sigmoid",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "sgn": "sign",
    "signum": "sign",
    "step": "Heaviside",
    "heavyside": "Heaviside",
    "ramp": "relu",
    "lse": "logsumexp",
    "average": "mean",
    "maximum": "max",
    "minimum": "min",
}

# functions gdcli has no name for, written with its own ({0} is the argument)
REWRITES = {
    "sech": "1/cosh({0})",
    "csch": "1/sinh({0})",
    "coth": "1/tanh({0})",
    "sec": "1/cos({0})",
    "csc": "1/sin({0})",
    "cosec": "1/sin({0})",
    "cot": "1/tan({0})",
    "log10": "log({0}, 10)",
    "log2": "log({0}, 2)",
    "lg": "log({0}, 10)",
    "log1p": "log(1 + {0})",
    "expm1": "exp({0}) - 1",
    "exp2": "2**{p0}",
    "sqr": "{p0}**2",
    "square": "{p0}**2",
    "cbrt": "{p0}**(1/3)",
    "asinh": "log({0} + sqrt({p0}**2 + 1))",
    "arcsinh": "log({0} + sqrt({p0}**2 + 1))",
    "acosh": "log({0} + sqrt({p0}**2 - 1))",
    "arccosh": "log({0} + sqrt({p0}**2 - 1))",
    "atanh": "log((1 + {0})/(1 - {p0}))/2",
    "arctanh": "log((1 + {0})/(1 - {p0}))/2",
    "leaky_relu": "max(0.01*{p0}, {0})",
    "leakyrelu": "max(0.01*{p0}, {0})",
    "silu": "{p0}*sigmoid({0})",
    "swish": "{p0}*sigmoid({0})",
    "softsign": "{p0}/(1 + abs({0}))",
    "elu": "relu({0}) + min(0, exp({0}) - 1)",
    "hardtanh": "max(-1, min(1, {0}))",
    "pow": "{p0}**{p1}",
    "power": "{p0}**{p1}",
}

# characters that look like gdcli's own, and what gdcli writes instead
LOOKALIKES = {
    "×": "*",
    "·": "*",
    "⋅": "*",
    "∗": "*",
    "÷": "/",
    "−": "-",
    "–": "-",
    "²": "**2",
    "³": "**3",
    "π": "pi",
    "√": "sqrt",
    "|": "abs",  # |x| is abs(x) (`_bars_to_abs`)
}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "")


def _nearest(name: str, known: list[str]) -> str | None:
    """The known name that `name` is a typo of: the same letters in another case,
    else one edit away (two for long names)."""
    same = [k for k in known if _canonical(k) == _canonical(name)]
    if same:
        return same[0]
    if len(name) < 4:
        return None
    import difflib

    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.8)
    return close[0] if close else None


def function_hint(name: str, args: list[str], known: list[str]) -> str | None:
    """What to write for a call of `name`, which gdcli does not know, on `args`
    (their text as typed): its spelling in gdcli, or the formula gdcli writes for it."""
    typed = ", ".join(args)
    for table in (SPELLINGS, {k: k for k in known}):
        spelled = table.get(name) or table.get(_canonical(name))
        if spelled is not None and spelled != name:
            return f"gdcli spells it {spelled}: did you mean {spelled}({typed})?"
    rewrite = REWRITES.get(name) or REWRITES.get(_canonical(name))
    if rewrite is not None and rewrite.count("{1}") <= len(args) - 1 and args:
        wrapped = [a if re.fullmatch(r"[\w.]+", a) else f"({a})" for a in args]
        formula = rewrite.format(*args, **{f"p{k}": a for k, a in enumerate(wrapped)})
        return f"gdcli has no {name}; write it as {formula}"
    nearest = _nearest(name, known)
    if nearest is not None:
        return f"did you mean {nearest}({typed})?"
    return None


def call_refusal(
    node: ast.Call, source: str, known: list[str], values: set[str]
) -> tuple[str, str | None]:
    """(message, hint) for a call gdcli cannot make: of something that is not a
    function (`2(w+1)`, `(w-3)(w+1)`, `w(w+1)`: a product missing its `*`), of a
    function gdcli spells otherwise (`ReLU(w)`, `σ(w)`, `sech(w)`), or of an unknown
    name. `values` are the names that hold values (weights and inputs)."""
    func = node.func
    args = [ast.get_source_segment(source, a) or "…" for a in node.args]
    typed = ast.get_source_segment(source, node) or ""
    called, parenthesised = _split_call(typed)
    product = f"did you mean {called}*{parenthesised}?"
    if isinstance(func, ast.Constant):
        return "a number cannot be called", product
    if isinstance(func, ast.Attribute):
        hint = f"did you mean {func.attr}({', '.join(args)})?" if func.attr in known else None
        return "only functions called by bare name are allowed", hint
    if not isinstance(func, ast.Name):
        if node.keywords:
            return "only functions called by bare name are allowed", None
        return f"{quote(called)} is not a function: a product is written with *", product
    name = func.id
    hint = product if name in values else function_hint(name, args, known)
    if hint is None and len(name) <= 2:
        hint = product
    if hint is None:
        hint = "known functions: " + ", ".join(known)
    return f"unknown function {quote(name)}", hint


def _split_call(typed: str) -> tuple[str, str]:
    """`(w-3)(w+1)` -> (`(w-3)`, `(w+1)`): what is called, and its argument list."""
    depth = 0
    for k in range(len(typed) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(typed[k], 0)
        if depth == 0 and typed[k] == "(":
            return typed[:k].rstrip(), typed[k:]
    return typed, "(...)"


def lookalike_hint(text: str) -> str:
    """The text with gdcli's own characters for the ones that look like them."""
    fixed = re.sub(r"√\s*(\([^()]*\)|[\w.]+)", lambda m: f"sqrt({m.group(1).strip('()')})", text)
    fixed = _bars_to_abs(fixed)
    for ch, own in LOOKALIKES.items():
        if ch not in "√|":
            fixed = fixed.replace(ch, own)
    return f"did you mean {fixed}?" if fixed != text else "write it with gdcli's characters"


def _bars_to_abs(text: str) -> str:
    """|x| written abs(x): a bar opens where an operand is expected (at the start,
    after an operator or an opening bracket) and closes elsewhere."""
    out: list[str] = []
    closing: list[str] = []  # what each open bar closes with
    previous = "("
    for ch in text:
        if ch == "|":
            opening = not closing or previous in "(,+-*/@^=<>["
            if opening:
                name = re.search(r"[A-Za-z_]\w*$", "".join(out).rstrip())
                if name and _callable(name.group()):  # ln|w|: ln(abs(w))
                    out.append("(abs(")
                    closing.append("))")
                elif previous.isalnum() or previous in "_.)":  # w|x|, 2|w|: a product
                    out.append("*abs(")
                    closing.append(")")
                else:
                    out.append("abs(")
                    closing.append(")")
            else:
                out.append(closing.pop())
            previous = "(" if opening else ")"
            continue
        out.append(ch)
        if not ch.isspace():
            previous = ch
    return "".join(out) if not closing else text


def _callable(name: str) -> bool:
    return name in FUNCTION_NAMES or name in SPELLINGS or name in REWRITES


_SPACED = r"(?<![\w.])([A-Za-z_]\w*)\s+(\(|[\w.]+)"
_ASSIGNED = r"^\s*[A-Za-z_]\w*(\s*\([\w\s,]*\))?\s*=(?!=)\s*(.+)$"


def syntax_hint(text: str) -> str | None:
    """A hint for text Python cannot parse, from what students type: `3w`, `sin w`,
    `x w`, `l = (w-3)**2`."""
    assigned = re.match(_ASSIGNED, text)
    if assigned:
        return f"give only the right-hand side: {assigned.group(2).strip()}"
    match = re.search(_IMPLICIT, text)
    if match:
        return f"did you mean {match.group(1)}*{match.group(2)}?"
    for spaced in re.finditer(_SPACED, text):
        first, second = spaced.group(1), spaced.group(2)
        if (
            first in ("and", "or", "not", "if", "else", "for", "in", "is", "lambda")
            or second == "("
        ):
            continue
        if first in FUNCTION_NAMES or first in SPELLINGS or first in REWRITES:
            return f"a function's argument goes in parentheses: did you mean {first}({second})?"
        return f"a product is written with *: did you mean {first}*{second}?"
    return None
