"""Reading training data: a CSV with a header, one example per row, columns bound by
their header's names; and every bad file worded as one line naming the file, the row
and the column, exit 2.

Row numbers are a spreadsheet's: the header is row 1, the first example row 2.
Expected values are written out by hand or read back with the csv module.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from helpers import assert_clean_failure, json_output

from gdcli.data import Batches, parse_vectors, read_data
from gdcli.errors import BadValue, DataError

LINE = "x,y\n1,3\n2,5\n3,7.5\n"
LOSS = "(w*x + b - y)**2"


def write(tmp_path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- reading ------------------------------------------------------------------------------------


def test_columns_bind_by_header_name():
    data = read_data(LINE, "line.csv", {"w", "b", "x", "y"})
    assert data.size == 3
    assert data.columns["x"].tolist() == [1.0, 2.0, 3.0]
    assert data.columns["y"].tolist() == [3.0, 5.0, 7.5]
    assert data.shapes == {"x": (), "y": ()}
    assert data.row_numbers() == [2, 3, 4]


def test_only_the_columns_the_loss_uses_are_read():
    """A column of words the loss does not use is no error (it is never read)."""
    text = "name,x,y\nada,1,2\nbob,3,4\n"
    data = read_data(text, "d.csv", {"w", "x", "y"})
    assert set(data.columns) == {"x", "y"}
    assert data.columns["y"].tolist() == [2.0, 4.0]


def test_a_vector_groups_columns_in_the_order_given():
    text = "a,b,c,y\n1,2,3,9\n4,5,6,8\n"
    data = read_data(text, "d.csv", {"W", "x", "y"}, parse_vectors(["x=c,a"]))
    assert data.columns["x"].tolist() == [[3.0, 1.0], [6.0, 4.0]]
    assert data.shapes["x"] == (2,)
    assert data.groups == {"x": ("c", "a"), "y": ("y",)}


@pytest.mark.parametrize(
    "text",
    [
        '"x","y"\n"1","3"\n"2","5"\n"3","7.5"\n',  # quoted (the csv module's path)
        "x,y\r\n1,3\r\n2,5\r\n3,7.5\r\n",  # Windows line ends
        "\ufeffx,y\n1,3\n2,5\n3,7.5",  # a byte-order mark, no final newline
        " x , y \n 1 , 3 \n2,5\n3 ,7.5\n",  # spaces around names and numbers
    ],
)
def test_the_same_numbers_from_every_spelling_of_a_file(text):
    data = read_data(text, "d.csv", {"x", "y", "w"})
    assert data.columns["x"].tolist() == [1.0, 2.0, 3.0]
    assert data.columns["y"].tolist() == [3.0, 5.0, 7.5]
    assert data.row_numbers() == [2, 3, 4]


def test_blank_lines_are_skipped_but_counted_as_rows():
    data = read_data("x,y\n1,3\n\n2,5\n   \n3,7.5\n\n", "d.csv", {"x", "y", "w"})
    assert data.columns["x"].tolist() == [1.0, 2.0, 3.0]
    assert data.row_numbers() == [2, 4, 6]  # as a spreadsheet numbers them


def test_fast_and_careful_readers_agree_on_many_rows():
    """NumPy reads the plain file; a quoted copy goes through the csv module."""
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(size=(500, 3)), 6)
    plain = "a,b,c\n" + "".join(",".join(repr(v) for v in row) + "\n" for row in values.tolist())
    quoted = io.StringIO()
    writer = csv.writer(quoted, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["a", "b", "c"])
    writer.writerows(values.tolist())
    fast = read_data(plain, "p.csv", {"x"}, {"x": ("a", "b", "c")})
    slow = read_data(quoted.getvalue(), "q.csv", {"x"}, {"x": ("a", "b", "c")})
    assert np.array_equal(fast.columns["x"], values)
    assert np.array_equal(slow.columns["x"], values)


# --- errors: one line naming the file, the row and the column, exit 2 ---------------------------

BAD_FILES = [
    ("", ["data.csv", "is empty"]),
    ("\n\n", ["data.csv", "is empty"]),
    ("x,y\n", ["data.csv", "has a header but no examples"]),
    ("1,3\n2,5\n", ["data.csv", "row 1", "has no header"]),
    ("x,y\n1,3\n2,abc\n", ["data.csv", "row 3", "column 2 (y)", "'abc' is not a number"]),
    ("x,y\n1,3\n2,\n", ["data.csv", "row 3", "column 2 (y)", "is empty"]),
    ("x,y\n1,3\n,5\n", ["data.csv", "row 3", "column 1 (x)", "is empty"]),
    ("x,y\n1,3\n2,5,7\n", ["data.csv", "row 3", "has 3 cells", "2 columns (x, y)"]),
    ("x,y\n1,3\n2\n", ["data.csv", "row 3", "has 1 cells", "2 columns (x, y)"]),
    ("x,y\n1,3\n\n4,nan\n", ["data.csv", "row 4", "column 2 (y)", "'nan' is not a finite"]),
    ("x,y\n1,1e999\n", ["data.csv", "row 2", "column 2 (y)", "not a finite number"]),
    ("x,x\n1,3\n", ["data.csv", "row 1", "column 2 (x)", "names two columns (1 and 2)"]),
    ("x,,y\n1,2,3\n", ["data.csv", "row 1", "column 2", "has no name"]),
]


@pytest.mark.parametrize(("text", "needles"), BAD_FILES)
def test_a_bad_file_is_one_line_with_where(run, tmp_path, text, needles):
    path = write(tmp_path, text)
    r = run(["grad", LOSS, "--data", path, "--at", "w=1,b=0"])
    line = assert_clean_failure(r, 2, *needles[1:])
    assert path in line


def test_ragged_rows_are_found_where_the_comma_counts_balance(tmp_path, run):
    """One row short and one row long: as many commas in all as a good file has."""
    path = write(tmp_path, "x,y,z\n1,2\n3,4,5,6\n")
    r = run(["grad", "(w*x - y)**2", "--data", path])
    assert_clean_failure(r, 2, "row 2", "has 2 cells", "3 columns (x, y, z)")


def test_a_missing_file(run, tmp_path):
    path = str(tmp_path / "nowhere.csv")
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0"])
    assert_clean_failure(r, 2, path, "does not exist")


def test_a_directory_is_not_a_file(run, tmp_path):
    r = run(["descend", LOSS, "--data", str(tmp_path), "--start", "w=0,b=0"])
    assert_clean_failure(r, 2, str(tmp_path), "is a directory")


def test_a_column_the_loss_needs_names_the_columns_the_file_has(run, tmp_path):
    path = write(tmp_path, "x,t\n1,3\n")
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0"])
    line = assert_clean_failure(r, 2, "y has no value", f"{path} has no column y")
    assert "(its columns: x, t)" in line
    assert "--start y=" in line and "--set y=" in line


def test_a_vector_of_unknown_columns_names_them_and_the_file(run, tmp_path):
    path = write(tmp_path, "x1,x2,y\n1,2,3\n")
    r = run(["grad", "(dot(w, x) - y)**2", "--data", path, "--vector", "x=x1,x3,x4",
             "--at", "w=0", "--shape", "w=3"])  # fmt: skip
    line = assert_clean_failure(r, 2, "--vector", "x=x1,x3,x4", f"{path} has no column x3, x4")
    assert "(its columns: x1, x2, y)" in line


def test_a_vector_that_cannot_be_read(run, tmp_path):
    path = write(tmp_path, LINE)
    r = run(["grad", "(w*x - y)**2", "--data", path, "--vector", "x"])
    assert_clean_failure(r, 2, "--vector", "expected NAME=COLUMN,COLUMN")


@pytest.mark.parametrize("size", ["0", "-3"])
def test_a_batch_size_below_one(run, tmp_path, size):
    path = write(tmp_path, LINE)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0", "--batch-size", size])
    assert_clean_failure(r, 2, "--batch-size must be at least 1", f"(got {size})")


def test_steps_and_epochs_together(run, tmp_path):
    path = write(tmp_path, LINE)
    r = run(["descend", LOSS, "--data", path, "--start", "w=0,b=0",
             "--steps", "5", "--epochs", "2"])  # fmt: skip
    assert_clean_failure(r, 2, "--steps and --epochs cannot be given together")


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--batch-size", "2"), ("--seed", "1"), ("--epochs", "2"), ("--vector", "x=a,b")],
)
def test_an_option_of_data_without_data(run, flag, value):
    r = run(["descend", "(w - 3)**2", flag, value])
    assert_clean_failure(r, 2, flag, "needs training data", "--data FILE.csv")


def test_per_example_without_data(run):
    r = run(["grad", "(w - 3)**2", "--per-example"])
    assert_clean_failure(r, 2, "--per-example needs training data")


def test_a_column_cannot_be_a_weight_or_be_set(run, tmp_path):
    path = write(tmp_path, LINE)
    r = run(["grad", LOSS, "--data", path, "--at", "w=1,b=0,x=2"])
    assert_clean_failure(r, 2, f"x is a column of {path}", "cannot be a weight")
    r = run(["grad", LOSS, "--data", path, "--at", "w=1,b=0", "--set", "x=2"])
    assert_clean_failure(r, 2, f"x is a column of {path}", "--set")


def test_a_loss_that_uses_no_column(run, tmp_path):
    path = write(tmp_path, LINE)
    r = run(["grad", "(w - 3)**2", "--data", path])
    assert_clean_failure(r, 2, path, "the loss uses none of its columns (x, y)")


def test_the_expression_and_the_data_cannot_both_read_stdin(run):
    r = run(["grad", "-", "--data", "-"], stdin="x,y\n1,2\n")
    assert_clean_failure(r, 2, "both read stdin")


def test_errors_are_data_in_the_core():
    """The core's error carries the file, the row and the column as fields."""
    with pytest.raises(DataError) as caught:
        read_data("x,y\n1,2\n3,oops\n", "f.csv", {"x", "y"})
    assert (caught.value.source, caught.value.row, caught.value.column) == ("f.csv", 3, 2)
    assert caught.value.name == "y"
    with pytest.raises(BadValue) as bad:
        Batches(10, 0, None, None)
    assert bad.value.parameter == "batch_size"


# --- stdin --------------------------------------------------------------------------------------


def test_data_from_stdin(run):
    r = run(["grad", LOSS, "--data", "-", "--at", "w=1,b=0", "--format", "json"], stdin=LINE)
    data = json_output(r)
    assert data["data"]["file"] == "stdin"
    # residuals w*x + b - y at w=1, b=0: -2, -3, -4.5; the mean of their squares
    assert data["loss"] == pytest.approx((4 + 9 + 20.25) / 3, rel=1e-15)


def test_an_error_in_stdin_data_names_stdin(run):
    r = run(["grad", LOSS, "--data", "-", "--at", "w=1,b=0"], stdin="x,y\n1,2\n3,x\n")
    assert_clean_failure(r, 2, "stdin, row 3, column 2 (y)")


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbfx,y\r\n1,3\r\n2,5\r\n3,7.5\r\n",  # a spreadsheet's export: BOM and CRLF
        b"x,y\r1,3\r2,5\r3,7.5",  # old Mac line ends
        b'x,y\n1,3\n"2","5"\n3,7.5\n',  # quotes: the csv module reads the file
    ],
)
def test_files_as_spreadsheets_write_them(run, tmp_path, raw):
    path = tmp_path / "export.csv"
    path.write_bytes(raw)
    data = json_output(run(["grad", LOSS, "--data", str(path), "--at", "w=1,b=0",
                            "--per-example", "--format", "json"]))  # fmt: skip
    assert [e["row"] for e in data["per_example"]] == [2, 3, 4]
    assert [e["loss"] for e in data["per_example"]] == [4.0, 9.0, 20.25]


def test_a_file_that_is_not_text(run, tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"x,y\n1,2\n\xff\xfe\x00garbage\n")
    r = run(["grad", LOSS, "--data", str(path), "--at", "w=1,b=0"])
    assert_clean_failure(r, 2, str(path), "is not text (UTF-8)")


def test_a_non_finite_cell_far_down_a_plain_file_is_found(run, tmp_path):
    """NumPy reads the file; the row and the cell's text are then found again."""
    rows = [f"{k},{2 * k}" for k in range(3000)]
    rows[2500] = "2500,inf"
    path = write(tmp_path, "x,y\n" + "\n".join(rows) + "\n")
    r = run(["grad", LOSS, "--data", path, "--at", "w=1,b=0"])
    assert_clean_failure(r, 2, "row 2502, column 2 (y): 'inf' is not a finite number")
