"""exercise: a seeded problem for each student, and (with the key) its answer."""

from __future__ import annotations

from typing import Any

from gdcli.exercises import Exercise
from gdcli.reports.base import Report, Table, constant


def _values_text(values: dict[str, str]) -> str:
    return ";".join(f"{n}={v}" for n, v in values.items())


def exercise(e: Exercise, key: bool, latex: bool = False) -> Report:
    """The exercise as data: JSON `kind, seed, question{text, latex}, loss, values`
    (and with the key `answer`, `answer_latex` and `check`, the question as check
    grades it)."""
    data: dict[str, Any] = {"kind": e.kind, "seed": e.seed}
    if e.level is not None:
        data["level"] = e.level
    data["question"] = {"text": e.question, "latex": e.question_latex}
    data["loss"] = e.loss
    data["loss_latex"] = e.loss_latex
    data["values"] = dict(e.values)
    if e.wrt is not None:
        data["wrt"] = e.wrt
    if e.rule:
        data["rule"] = dict(e.rule)
    if key:
        data["answer"] = e.answer
        data["answer_latex"] = e.answer_latex
        data["check"] = dict(e.check)
    rows: list[list[Any]] = [["kind", e.kind], ["seed", e.seed]]
    if e.level is not None:
        rows.append(["level", e.level])
    rows += [["question", e.question], ["loss", e.loss]]
    rows += [[name, value] for name, value in e.values.items()]
    if latex:
        rows.append(["question_latex", e.question_latex])
    if key:
        rows.append(["answer", e.answer])
        if latex:
            rows.append(["answer_latex", e.answer_latex])
    if key:
        quiet = e.answer_latex if latex else e.answer
    else:
        quiet = e.question_latex if latex else e.question
    notes = []
    if key:
        columns_text = ", ".join(f"{k} = {v}" for k, v in e.check.items())
        if set(e.check) == {"loss"} and _is_number(e.check["loss"]):
            how = (
                f"gdcli check {e.check['loss']} ANSWER asks whether ANSWER equals that value "
                f"(in a row of check's class file: {columns_text})"
            )
        else:
            how = f"a row of check's class file with {columns_text} and the student's answer"
        notes.append(f"the key: {e.answer}. To grade an answer: {how}.")
    return Report(
        data,
        [Table(["quantity", "value"], rows, text_columns=frozenset({"value"}))],
        constant([quiet]),
        notes=constant(notes),
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
