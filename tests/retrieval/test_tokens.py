"""The code-aware tokenizer: identifiers kept whole and split, plain words stemmed."""

from __future__ import annotations

import pytest

from retrieval.tokens import plain_tokens, stem, tokenize


@pytest.mark.parametrize(("text", "expected"), [
    ("group_by", ["group_by", "group", "by"]),
    ("GroupedTable", ["groupedtable", "group", "table"]),
    ("Table.group_by", ["table.group_by", "table", "group_by", "group", "by"]),
    ("sortValues", ["sortvalues", "sort", "value"]),
    ("HTTPServer", ["httpserver", "http", "server"]),
    ("fill_null", ["fill_null", "fill", "null"]),
])
def test_identifiers_kept_whole_and_split(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_dotted_chain_gives_every_part() -> None:
    tokens = tokenize("_.time_hour.day_of_week.index()")
    assert "_.time_hour.day_of_week.index" in tokens
    assert {"time_hour", "day_of_week", "index", "week"} <= set(tokens)


def test_whole_identifiers_are_not_stemmed() -> None:
    assert "isnull" in tokenize("isnull")
    assert "values" not in tokenize("values")  # a plain word is stemmed ...
    assert tokenize("value_counts")[0] == "value_counts"  # ... an identifier is not


def test_stopwords_digits_and_single_letters_dropped() -> None:
    assert tokenize("What is the total of x for each of 2013 flights?") == ["total", "flight"]


def test_error_line_yields_the_names_it_quotes() -> None:
    tokens = tokenize("AttributeError: 'Table' object has no attribute 'groupby'")
    assert "groupby" in tokens and "table" in tokens


@pytest.mark.parametrize(("word", "expected"), [
    ("delays", "delay"), ("cities", "city"), ("grouped", "group"), ("sorting", "sort"),
    ("class", "class"), ("status", "status"), ("is", "is"), ("speed", "speed"),
])
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_query_and_doc_meet_on_plurals() -> None:
    assert set(tokenize("count the rows")) & set(tokenize("counts"))


def test_baseline_tokens_are_whitespace_split() -> None:
    assert plain_tokens("Table.group_by(*by)  X") == ["table.group_by(*by)", "x"]
