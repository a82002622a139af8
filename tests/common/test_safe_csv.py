import csv
import io
from decimal import Decimal

import pytest

from common.safe_csv import FormulaSafeWriter, csv_lines, csv_text, defuse, safe_cell


def parsed(text):
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_each_formula_start_is_defused_with_an_apostrophe(start):
    value = f'{start}HYPERLINK("http://evil.example","x")'

    assert defuse(value) == f"'{value}"
    assert parsed(csv_text(["name"], [[value]]))[1] == [f"'{value}"]


@pytest.mark.parametrize(
    "value",
    ["Ada Lovelace", "ada@example.com", "", "1+1", "a=b", "2024-05-01T10:00:00Z", " =x", "'quoted"],
)
def test_ordinary_text_is_written_untouched(value):
    assert safe_cell(value) == value
    assert parsed(csv_text(["v"], [[value]]))[1] == [value]


@pytest.mark.parametrize(
    ("value", "written"),
    [(-5, "-5"), (-1.5, "-1.5"), (Decimal("-12.30"), "-12.30"), (0, "0"), (42, "42")],
)
def test_numbers_stay_numbers_even_when_negative(value, written):
    assert safe_cell(value) == written


@pytest.mark.parametrize(
    ("value", "written"),
    [(float("-inf"), "'-inf"), (Decimal("-Infinity"), "'-Infinity"), (True, "True")],
)
def test_what_is_not_a_finite_number_is_treated_as_text(value, written):
    assert safe_cell(value) == written


def test_none_is_an_empty_cell():
    assert safe_cell(None) == ""


def test_the_writer_writes_to_any_file_and_quotes_as_csv_does():
    out = io.StringIO()
    writer = FormulaSafeWriter(out)

    writer.writerow(["name", "note"])
    writer.writerows([["=1+2", 'says "hi", twice'], ["Bo", None]])

    assert parsed(out.getvalue()) == [
        ["name", "note"],
        ["'=1+2", 'says "hi", twice'],
        ["Bo", ""],
    ]


def test_lines_stream_one_row_at_a_time_header_first():
    lines = csv_lines(["a", "b"], iter([["@x", 1], ["y", -2]]))

    assert next(lines) == "a,b\r\n"
    assert list(lines) == ["'@x,1\r\n", "y,-2\r\n"]
