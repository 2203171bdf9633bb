"""A report as data and back: what the result cache keeps.

`freeze` reads a report once, whole (its head, tables, records, tail, notes,
figures and quiet line), into JSON-ready data; `thaw` makes a report from such
data, checking every field's type: data that is not exactly what `freeze` writes
gives None (the caller then computes the report again). A report with a `finish`
of its own is not frozen (it may raise after the rows, and that is not data).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import chain
from typing import Any

from gdcli.reports.base import Report, Table, _nothing, constant
from gdcli.reports.figures import Figure, Series

TABLE_FIELDS = ("title", "records", "highlight", "highlight_text", "head_tail")
SERIES_KINDS = ("line", "points")


def _cell(x: Any) -> Any:
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else {"float": repr(x)}
    raise TypeError(f"a cell of type {type(x).__name__}")


def _json(x: Any) -> Any:
    """JSON-ready data (non-finite floats written as {"float": "nan"})."""
    if isinstance(x, dict):
        if not all(isinstance(k, str) for k in x):
            raise TypeError("a key that is not text")
        return {k: _json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json(v) for v in x]
    return _cell(x)


_SCALARS = frozenset({type(None), bool, int, float, str})  # what JSON reads, besides containers


def _scalars(values: list[Any]) -> bool:
    """Are all values plain (no list, no dict: nothing to read further)? One pass in C
    (a gradient of 10,000 entries is read at every warm call)."""
    return set(map(type, values)) <= _SCALARS


def _unjson(x: Any) -> Any:
    if isinstance(x, dict):
        if set(x) == {"float"} and x["float"] in ("nan", "inf", "-inf"):
            return float(x["float"])
        return {k: _unjson(v) for k, v in x.items()}
    if isinstance(x, list):
        return list(x) if _scalars(x) else [_unjson(v) for v in x]
    if type(x) in _SCALARS:
        return x
    raise TypeError(f"a value of type {type(x).__name__}")


# what each way of writing a report reads of it (`render.output`)
VIEWS = {
    "quiet": frozenset({"quiet"}),
    "json": frozenset({"head", "records", "tail"}),
    "csv": frozenset({"tables"}),
    "plain": frozenset({"tables", "notes"}),
    "table": frozenset({"tables", "notes"}),
}
EVERY_PART = frozenset({"head", "tables", "quiet", "records", "tail", "notes", "figures"})


def view(fmt: str, quiet: bool) -> str:
    """The view of a report a call writes (`fmt` resolved: never auto)."""
    return "quiet" if quiet else fmt if fmt in VIEWS else "table"


def freeze(report: Report, code: int, plot: bool, seen: str | None = None) -> dict[str, Any] | None:
    """The report as data: the parts its view `seen` reads (None: every part), the
    others left empty, so that a gradient of 10,000 entries is kept once, not three
    times, and nothing is computed that the call does not write. None when it cannot
    be kept (a finish of its own, a value that is not plain data, or a part that
    fails: the caller then writes the report itself, as without a cache)."""
    if report.finish is not _nothing:
        return None
    parts = set(EVERY_PART if seen is None else VIEWS[seen])
    if seen in ("plain", "table") and (report.figure_is_data or (seen == "table" and plot)):
        parts.add("figures")
    report.records = list(report.records) if "records" in parts else report.records
    try:
        tables = [
            {
                "columns": list(t.columns),
                "rows": [[_cell(c) for c in row] for row in t.rows],
                "title": t.title,
                "records": t.records,
                "highlight": t.highlight,
                "highlight_text": t.highlight_text,
                "head_tail": t.head_tail,
                "shown": None if t.shown is None else sorted(t.shown),
                "text_columns": sorted(t.text_columns),
            }
            for t in (report.tables if "tables" in parts else [])
        ]
        quiet = [_cell(v) for v in report.quiet()] if "quiet" in parts else []
        missing = any(v is None or (isinstance(v, float) and not math.isfinite(v)) for v in quiet)
        data = {
            "head": _json(report.head) if "head" in parts else {},
            "tables": tables,
            "quiet": quiet,
            "rows_key": report.rows_key,
            "records": _json(list(report.records)) if "records" in parts else [],
            "tail": _json(report.tail()) if "tail" in parts else {},
            "notes": [str(n) for n in report.notes()] if "notes" in parts else [],
            "figures": [_figure(f) for f in report.figures()] if "figures" in parts else [],
            "figure_is_data": report.figure_is_data,
            "undefined": report.undefined() if missing else "",
            "code": code,
            "plot": plot,
        }
    except Exception:  # noqa: BLE001  (written as without a cache, which says what failed)
        return None
    return data


def _figure(f: Figure) -> dict[str, Any]:
    return {
        "series": [
            {
                "label": s.label,
                "xs": [_cell(_number(x)) for x in s.xs],
                "ys": [_cell(_number(y)) for y in s.ys],
                "kind": s.kind,
                "marker": s.marker,
            }
            for s in f.series
        ],
        "title": f.title,
        "xlabel": f.xlabel,
        "ylabel": f.ylabel,
        "logx": f.logx,
        "logy": f.logy,
        "xticks": None if f.xticks is None else [float(x) for x in f.xticks],
    }


def _number(x: Any) -> float | None:
    """A point of a figure: a float, or None for anything a plot drops anyway."""
    from gdcli.reports.figures import finite

    return finite(x)


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind) and not (isinstance(value, bool) and bool not in _kinds(kind))


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _check(condition: bool) -> None:
    if not condition:
        raise TypeError("not what freeze writes")


def thaw(data: dict[str, Any]) -> tuple[Report, int, bool] | None:
    """The report, its exit code and whether its command lets a plot be drawn; None
    when `data` is anything but what `freeze` writes."""
    try:
        return _thaw(data)
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError):
        return None


def _thaw(data: dict[str, Any]) -> tuple[Report, int, bool]:
    keys = {"head", "tables", "quiet", "rows_key", "records", "tail", "notes", "figures"}
    keys |= {"figure_is_data", "undefined", "code", "plot"}
    _check(isinstance(data, dict) and set(data) == keys)
    head, tail = _unjson(data["head"]), _unjson(data["tail"])
    _check(isinstance(head, dict) and isinstance(tail, dict))
    records = _unjson(data["records"])
    _check(isinstance(records, list) and all(isinstance(r, dict) for r in records))
    tables = [_table(t) for t in _list(data["tables"])]
    quiet = _unjson(data["quiet"])
    _check(isinstance(quiet, list) and all(not isinstance(v, (list, dict)) for v in quiet))
    notes = _list(data["notes"])
    _check(all(isinstance(n, str) for n in notes))
    figures = [_figure_back(f) for f in _list(data["figures"])]
    rows_key, undefined, code = data["rows_key"], data["undefined"], data["code"]
    _check(rows_key is None or isinstance(rows_key, str))
    _check(isinstance(undefined, str) and code in (0, 1) and _is(code, int))  # ok, or wrong
    _check(isinstance(data["figure_is_data"], bool) and isinstance(data["plot"], bool))
    report = Report(
        head,
        tables,
        constant(quiet),
        rows_key=rows_key,
        records=records,
        tail=constant(tail),
        notes=constant(notes),
        figures=constant(figures),
        figure_is_data=data["figure_is_data"],
        undefined=_text(undefined),
    )
    return report, code, data["plot"]


def _text(text: str) -> Callable[[], str]:
    return lambda: text


def _list(value: Any) -> list[Any]:
    _check(isinstance(value, list))
    return list(value)


def _table(t: Any) -> Table:
    _check(isinstance(t, dict))
    _check(set(t) == {"columns", "rows", "shown", "text_columns", *TABLE_FIELDS})
    columns = _list(t["columns"])
    _check(all(isinstance(c, str) for c in columns))
    rows = _list(t["rows"])
    _check(set(map(type, rows)) <= {list} and set(map(len, rows)) <= {len(columns)})
    if _scalars(list(chain.from_iterable(rows))):  # every cell plain: one pass over all
        rows = [list(r) for r in rows]
    else:  # a cell written as {"float": "nan"}
        rows = [_unjson(r) for r in rows]
        _check(all(_scalars(r) for r in rows))
    text_columns = _list(t["text_columns"])
    _check(all(isinstance(c, str) for c in text_columns))
    _check(isinstance(t["title"], str) and isinstance(t["records"], bool))
    _check(isinstance(t["highlight_text"], str))
    for name in ("highlight", "head_tail"):
        _check(t[name] is None or (_is(t[name], int) and t[name] >= 0))
    shown = t["shown"]
    _check(shown is None or all(_is(k, int) and k >= 0 for k in _list(shown)))
    return Table(
        columns,
        rows,
        title=t["title"],
        records=t["records"],
        highlight=t["highlight"],
        highlight_text=t["highlight_text"],
        head_tail=t["head_tail"],
        shown=None if shown is None else frozenset(shown),
        text_columns=frozenset(text_columns),
    )


def _figure_back(f: Any) -> Figure:
    _check(
        isinstance(f, dict)
        and set(f) == {"series", "title", "xlabel", "ylabel", "logx", "logy", "xticks"}
    )
    series = []
    for s in _list(f["series"]):
        _check(isinstance(s, dict) and set(s) == {"label", "xs", "ys", "kind", "marker"})
        xs, ys = _list(s["xs"]), _list(s["ys"])
        _check(len(xs) == len(ys))
        _check(all(v is None or _is(v, (int, float)) for v in xs + ys))
        _check(isinstance(s["label"], str) and s["kind"] in SERIES_KINDS)
        _check(s["marker"] is None or isinstance(s["marker"], str))
        series.append(Series(s["label"], xs, ys, s["kind"], s["marker"]))
    for name in ("title", "xlabel", "ylabel"):
        _check(isinstance(f[name], str))
    _check(isinstance(f["logx"], bool) and isinstance(f["logy"], bool))
    xticks = f["xticks"]
    _check(xticks is None or all(_is(x, (int, float)) for x in _list(xticks)))
    return Figure(
        series,
        f["title"],
        f["xlabel"],
        f["ylabel"],
        f["logx"],
        f["logy"],
        None if xticks is None else tuple(float(x) for x in xticks),
    )
