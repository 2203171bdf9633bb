"""check --batch FILE (issue 15, item 1): a whole class in one process.

Each row's record is compared with what one `gdcli check` call says about the same
question (the reference for a row is the single call, whose verdicts other tests pin
against calculus), and the file's problems with the exit codes the issue asks for.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import assert_one_error, json_output, strict_json

ROWS = [
    # id, loss, answer, comment (passed through), status
    ("ann", "w**2", "2*w", "right", "correct"),
    ("bob", "w**2", "2*w + 1", "off by one", "wrong"),
    ("cy", "w**2", "2w", "typo", "unparsable"),
    ("di", "max(0, 3*w+2)", "3*(w > -2/3)", "kink, comma in the loss", "correct"),
    ("ed", "max(0, w)", "(w > 1e-7)", "kink a hair away", "wrong"),
    ("fay", "sin(w)**2", "sin(2*w)", 'quote " and, comma', "correct"),
    ("gus", "log(w)", "", "no answer", "unparsable"),
]


def write(tmp_path, rows, header=("id", "loss", "answer", "comment"), name="answers.csv"):
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
    return str(path)


def records(r) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(r.out)))


@pytest.fixture
def answers(tmp_path):
    return write(tmp_path, [row[:4] for row in ROWS])


def test_one_record_per_row_in_order(run, answers):
    r = run(["check", "--batch", answers, "--format", "csv"])
    assert r.code == 0, r.err
    out = records(r)
    assert list(out[0]) == ["id", "comment", "status", "reason", "method"]
    assert [(o["id"], o["comment"], o["status"]) for o in out] == [
        (row[0], row[3], row[4]) for row in ROWS
    ]
    for o in out:
        assert "\n" not in o["reason"] and o["reason"]
        assert o["method"] in (("symbolic", "numeric") if o["status"] != "unparsable" else ("",))


def test_each_row_is_judged_as_one_call_judges_it(run, answers):
    out = records(run(["check", "--batch", answers, "--format", "csv"]))
    for row, o in zip(ROWS, out, strict=True):
        _, loss, answer, _, _ = row
        if not answer:
            continue
        single = run(["check", loss, answer, "--format", "json"])
        if single.code == 2:
            assert o["status"] == "unparsable"
            message = single.err.splitlines()[0].removeprefix("gdcli: error: ")
            assert o["reason"].startswith(message)
            continue
        data = strict_json(single.out)
        assert o["status"] == ("correct" if data["equal"] else "wrong")
        assert o["reason"] == data["reason"] and o["method"] == data["method"]


def test_reasons(run, answers):
    out = {o["id"]: o for o in records(run(["check", "--batch", answers, "-f", "csv"]))}
    assert out["bob"]["reason"] == "at w = 1 dl/dw is 2, but the answer gives 3 (difference 1)"
    assert out["cy"]["reason"].startswith("ANSWER: cannot parse '2w'")
    assert "column 1" in out["cy"]["reason"] and "2*w" in out["cy"]["reason"]
    assert out["gus"]["reason"] == "ANSWER: is empty"
    assert out["ed"]["reason"].startswith("at w = 5e-08 dl/dw is 1, but the answer gives 0")


def test_json_is_one_document(run, answers):
    data = json_output(run(["check", "--batch", answers, "--format", "json"]))
    assert data["columns"] == ["id", "comment", "status", "reason", "method"]
    assert [r["status"] for r in data["rows"]] == [row[4] for row in ROWS]
    assert data["counts"] == {"correct": 3, "wrong": 2, "unparsable": 2, "error": 0}
    assert data["rows_read"] == len(ROWS)


def test_plain_table_and_quiet(run, answers):
    plain = run(["check", "--batch", answers, "--format", "plain"])
    lines = plain.out.splitlines()
    assert lines[0] == "id\tcomment\tstatus\treason\tmethod"
    assert len(lines) == 1 + len(ROWS)
    assert plain.err == "7 rows: 3 correct, 2 wrong, 2 unparsable, 0 error.\n"
    table = run(["check", "--batch", answers, "--format", "table"])
    assert table.code == 0 and "unparsable" in table.out
    quiet = run(["check", "--batch", answers, "--quiet"])
    assert (quiet.code, quiet.out) == (0, "3 2 2 0\n")


def test_stdin(run, answers):
    with open(answers, encoding="utf-8") as f:
        text = f.read()
    r = run(["check", "--batch", "-", "--format", "csv"], stdin=text)
    assert r.code == 0 and [o["status"] for o in records(r)] == [row[4] for row in ROWS]


def test_latex_column(run, answers):
    out = records(run(["check", "--batch", answers, "--format", "csv", "--latex"]))
    assert out[0]["latex"] == "2 w"
    assert out[3]["latex"] == r"3 \mathbf{1}\left[w > - \frac{2}{3}\right]"
    assert out[2]["latex"] == ""  # unparsable: nothing to write


def test_optional_columns(run, tmp_path):
    header = ("id", "loss", "answer", "wrt", "at", "set", "shape", "rtol", "atol")
    rows = [
        ("p1", "x**2*y", "2*x*y", "x", "", "", "", "", ""),
        ("p2", "x**2*y", "x**2", "y", "", "", "", "", ""),
        ("p3", "(w*x - y)**2", "2*x*(w*x - y)", "", "", "x=2;y=1", "", "", ""),
        ("p4", "w**3", "12", "", "2", "", "", "", ""),
        ("p5", "w**2", "2*w*(1 + 1e-7)", "", "", "", "", "1e-6", ""),
        ("p6", "w**2", "2*w + 1e-10", "", "", "", "", "", "1e-9"),
        ("p7", "sum((W @ x - y)**2)", "2*outer(W @ x - y, x)", "W", "", "x=[1,2,3],y=[0,1]",
         "W=2x3", "", ""),
        ("p8", "sum((W @ x - y)**2)", "2*outer(x, W @ x - y)", "W", "", "x=[1,2,3],y=[0,1]",
         "W=2x3", "", ""),
        ("p9", "8/5", "1.6", "", "", "", "", "", ""),
    ]  # fmt: skip
    r = run(["check", "--batch", write(tmp_path, rows, header), "-f", "csv"])
    assert r.code == 0, r.err
    out = records(r)
    assert list(out[0]) == ["id", "status", "reason", "method"]
    statuses = [o["status"] for o in out]
    assert statuses == ["correct"] * 7 + ["wrong", "correct"]
    assert "transposed" in out[7]["reason"]
    assert [o["method"] for o in out][3:] == ["point", "numeric", "numeric", "numeric", "shape",
                                              "value"]  # fmt: skip


def test_command_line_values_are_defaults_for_the_rows(run, tmp_path):
    path = write(tmp_path, [("a", "w**2", "2*w*(1 + 1e-7)", "")])
    assert records(run(["check", "--batch", path, "-f", "csv"]))[0]["status"] == "wrong"
    out = records(run(["check", "--batch", path, "-f", "csv", "--rtol", "1e-6"]))
    assert out[0]["status"] == "correct"


def test_a_slow_row_is_that_rows_error(run, tmp_path):
    """A 32-piece max takes SymPy well over 0.5 s: that row is `error`, too slow, and the
    rows after it are judged as usual; the run ends with exit 0."""
    slow = "max(" + ", ".join(f"{k}*w+{k * k}" for k in range(32)) + ")"
    rows = [("a", "w**2", "2*w", ""), ("s", slow, "1", ""), ("b", "w**3", "3*w**2", "")]
    r = run(["check", "--batch", write(tmp_path, rows), "-f", "csv"],
            env={"GDCLI_TIME_LIMIT": "0.5"})  # fmt: skip
    assert r.code == 0, r.err
    out = records(r)
    assert [o["status"] for o in out] == ["correct", "error", "correct"]
    assert out[1]["reason"].startswith("too slow: gave up after 0.5 s")


def test_a_bom_and_quoted_fields(run, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        '\ufeffid,loss,answer,name\r\n7,"max(0, w)","Heaviside(w)","Zoë, ""Z"""\r\n'.encode()
    )
    out = records(run(["check", "--batch", str(path), "-f", "csv"]))
    assert out == [
        {"id": "7", "name": 'Zoë, "Z"', "status": "correct",
         "reason": "SymPy simplifies their difference to 0", "method": "symbolic"},
    ]  # fmt: skip


# --- the file is bad: exit 2, naming the row or the option; nothing judged is lost ---------------


def test_a_missing_column(run, tmp_path):
    path = write(tmp_path, [("1", "w**2", "2*w")], header=("id", "loss", "reply"))
    r = run(["check", "--batch", path])
    assert (r.code, r.out) == (2, "")
    assert_one_error(r.err, "--batch", "no 'answer' column", "line 1")


def test_an_empty_file(run, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    r = run(["check", "--batch", str(path)])
    assert (r.code, r.out) == (2, "")
    assert_one_error(r.err, "--batch", "is empty")


def test_a_missing_file(run, tmp_path):
    r = run(["check", "--batch", str(tmp_path / "nope.csv")])
    assert (r.code, r.out) == (2, "")
    assert_one_error(r.err, "--batch", "no such file")


def test_a_row_with_too_many_fields(run, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,loss,answer\n1,w**2,2*w\n2,max(0,w),1\n3,w**3,3*w**2\n")
    r = run(["check", "--batch", str(path), "-f", "csv"])
    assert r.code == 2
    out = records(r)
    assert [(o["id"], o["status"]) for o in out] == [("1", "correct"), ("2", "error"),
                                                     ("3", "correct")]  # fmt: skip
    assert "has 4 fields, but the header has 3" in out[1]["reason"]
    assert_one_error(r.err, "--batch", "row 2 (line 3)", "quote")


def test_a_negative_tolerance_in_a_row(run, tmp_path):
    rows = [("1", "w**2", "2*w", "", ""), ("2", "w**2", "2*w", "-1", ""),
            ("3", "w**2", "2*w", "", "nan")]  # fmt: skip
    path = write(tmp_path, rows, header=("id", "loss", "answer", "rtol", "atol"))
    r = run(["check", "--batch", path, "-f", "json"])
    assert r.code == 2
    data = strict_json(r.out)  # the document is complete
    assert [row["status"] for row in data["rows"]] == ["correct", "error", "error"]
    assert_one_error(r.err, "row 2 (line 3)", "rtol must be a number >= 0", "1 more bad row")


def test_a_negative_tolerance_option(run, answers):
    r = run(["check", "--batch", answers, "--rtol", "-1"])
    assert (r.code, r.out) == (2, "")
    assert_one_error(r.err, "--rtol")


def test_a_loss_that_does_not_parse_is_the_files_fault(run, tmp_path):
    path = write(tmp_path, [("1", "w**2 +", "2*w", ""), ("2", "w**2", "2*w", "")])
    r = run(["check", "--batch", path, "-f", "csv"])
    assert r.code == 2
    assert [o["status"] for o in records(r)] == ["error", "correct"]
    assert_one_error(r.err, "row 1 (line 2)", "column 6")


def test_expr_and_batch_together(run, answers):
    r = run(["check", "w**2", "2*w", "--batch", answers])
    assert (r.code, r.out) == (2, "")
    assert_one_error(r.err, "--batch")


def test_a_header_only_file_is_fine(run, tmp_path):
    r = run(["check", "--batch", write(tmp_path, []), "-f", "json"])
    assert r.code == 0
    assert json.loads(r.out)["rows"] == []


def test_an_output_can_be_graded_again(run, answers, tmp_path):
    """Re-grading a graded file replaces its status, reason and method columns."""
    first = run(["check", "--batch", answers, "--format", "csv"]).out
    with open(answers, encoding="utf-8") as f:
        original = list(csv.DictReader(f))
    graded = [dict(row, **{k: v for k, v in o.items() if k in ("status", "reason", "method")})
              for row, o in zip(original, csv.DictReader(io.StringIO(first)), strict=True)]  # fmt: skip
    path = tmp_path / "graded.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(graded[0]))
        writer.writeheader()
        writer.writerows(graded)
    again = run(["check", "--batch", str(path), "--format", "csv"])
    assert (again.code, again.out) == (0, first)


def test_a_row_that_is_not_utf8_is_a_bad_row(run, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"id,loss,answer\n1,w**2,2*w\n2,w**2,2*w \xe9\n3,w**2,2*w\n")
    r = run(["check", "--batch", str(path), "-f", "json"])
    assert r.code == 2
    data = strict_json(r.out)  # complete: every other row judged
    assert [row["status"] for row in data["rows"]] == ["correct", "error", "correct"]
    assert_one_error(r.err, "--batch", "row 2 (line 3)", "not text (UTF-8)")


def test_a_bom_from_stdin(run):
    r = run(["check", "--batch", "-", "-f", "csv"], stdin="\ufeffid,loss,answer\n1,w**2,2*w\n")
    assert records(r) == [{"id": "1", "status": "correct",
                           "reason": "SymPy simplifies their difference to 0",
                           "method": "symbolic"}]  # fmt: skip
