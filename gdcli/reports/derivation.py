"""derive's two ways of showing its work: the derivative rule by rule (as a
textbook writes it), and the derivative as the limit of the difference quotient
(the course: dl/dw = lim_{h -> 0} (l(w+h) - l(w)) / h)."""

from __future__ import annotations

from typing import Any

from gdcli.reports.base import Table


def steps_part(
    text: str, name: str, constants: dict[str, Any], latex: bool
) -> tuple[dict[str, Any], Table, list[str]]:
    """JSON `steps`, the table of steps, and the notes (lets, kinks)."""
    from gdcli.derivation import derivation_steps

    d = derivation_steps(text, name, constants)
    records = []
    for s in d.steps:
        record = {"rule": s.rule, "expr": s.expr, "result": s.result}
        if s.note:
            record["note"] = s.note
        if latex:
            record["latex"] = s.latex
        records.append(record)
    data: dict[str, Any] = {
        "steps": records,
        "lets": [{"name": let.name, "expr": let.expr} for let in d.lets],
        "steps_result": d.result,
    }
    if latex:
        data["steps_latex"] = d.latex
    columns = ["rule", "d/d" + name + " of", "is"] + (["latex"] if latex else [])
    rows = [
        [s.rule, "  " * s.depth + s.expr, s.result, *([s.latex] if latex else [])] for s in d.steps
    ]
    table = Table(
        columns,
        rows,
        title="the derivative rule by rule",
        records=False,
        text_columns=frozenset(columns),
    )
    notes = [f"let {let.name} = {let.expr}" for let in d.lets]
    notes += list(d.notes)
    notes.append(f"so dl/d{name} = {d.result}" + (f"   ({d.latex})" if latex else ""))
    return data, table, notes


def limit_part(
    text: str, name: str, at: Any, seconds: float
) -> tuple[dict[str, Any], Table, list[str]]:
    """JSON `limit`, its table and notes: the quotient as algebra and its limit."""
    from gdcli.derivation import limit_of_quotient

    r = limit_of_quotient(text, name, at, seconds)
    h = r.step
    value = r.value_float
    data: dict[str, Any] = {
        "limit": {
            "difference": r.difference,
            "quotient": r.quotient,
            "limit": r.limit,
            "status": r.status,
            "step": h,
            "quotient_at": r.quotient_at,
            "value": value,
            "exists": r.exists,
        }
    }
    rows: list[list[Any]] = [
        [f"(l({name}+{h}) - l({name}))/{h}", r.difference or "too long to write"],
        ["simplified", r.quotient or "too long to write"],
        [f"as {h} -> 0", r.limit if r.limit is not None else "not found"],
    ]
    if r.quotient_at is not None:
        rows.append([f"at {name} = {at}", r.quotient_at])
        left, right = r.left, r.right
        rows.append([f"as {h} -> 0 there", value if value is not None else "does not exist"])
        if value is None and (left is not None or right is not None):
            rows += [["from the left", str(left)], ["from the right", str(right)]]
    table = Table(
        ["the difference quotient", "value"],
        rows,
        title="the derivative as the limit of the difference quotient",
        records=False,
        text_columns=frozenset({"the difference quotient", "value"}),
    )
    notes = []
    if r.step_note:
        notes.append(r.step_note + ".")
    notes += [n + "." for n in r.notes if "too long to write" in n]
    if r.status != "ok":
        notes.append(
            f"SymPy: {r.status} within its time; the table of quotients below shows the "
            "limit numerically."
        )
    return data, table, notes
