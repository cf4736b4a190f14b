"""What every fuzz test shares: the settings, the malformed-input strategies, the one property
(loads, or raises our own error as one line naming the file) and the count of inputs tried."""

from __future__ import annotations

import codecs
import json
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tools.database import shown
from tools.errors import DevstarlError

T = TypeVar("T")

# Inputs each test generated, by test name; conftest prints the total after the run.
COUNT: Counter[str] = Counter()


def fuzz(max_examples: int) -> settings:
    """Reproducible (CI sees the same inputs every run), no deadline: the machine is shared."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example])


def counted(name: str) -> None:
    COUNT[name] += 1


def outcome(call: Callable[[], T], name: str, *, where: str | None = None,
            kinds: type[DevstarlError] | tuple[type[DevstarlError], ...] = DevstarlError
            ) -> T | DevstarlError:
    """`call()`'s value, or the project error it raised, checked: one line that names the file
    `name` (control characters escaped, as messages show them; and `where`, a line or field,
    when given). Any other exception fails the test."""
    try:
        return call()
    except DevstarlError as e:
        assert isinstance(e, kinds), f"{type(e).__name__}: {e}"
        assert_one_line(str(e), name, where)
        return e


def assert_one_line(text: str, name: str, where: str | None = None) -> None:
    assert text.strip(), "an empty message"
    assert text.splitlines() == [text], f"not one line: {text!r}"
    assert name in text or shown(name) in text, f"{name!r} not named in {text!r}"
    if where is not None:
        assert where in text, f"{where!r} not in {text!r}"


# Strategies ------------------------------------------------------------------------------------

# Text as files hold it: control characters, NUL, line separators, astral and odd code points.
odd_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
numbers = st.one_of(st.integers(-(2**70), 2**70), st.integers(-5, 5),
                    st.floats(allow_nan=True, allow_infinity=True), st.just(10**40))
json_scalars = st.one_of(st.none(), st.booleans(), numbers, odd_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(odd_text, inner, max_size=4)),
    max_leaves=8,
)


def deep(depth: int, opener: str = "[") -> str:
    """JSON nested `depth` levels (json.loads gives up with RecursionError near 1000)."""
    if opener == "{":
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth + "]" * depth


deep_json = st.builds(deep, st.sampled_from([999, 1500, 4000]), st.sampled_from("[{"))

# Bytes that break a line in the ways files really break: cut short, NUL, invalid UTF-8, a BOM
# where it does not belong, a stray CR, a lone surrogate spelled in UTF-8.
BAD_BYTES = [b"\x00", b"\xff", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", codecs.BOM_UTF8, b"\r",
             b"\x1b[31m", b"\xfe\xff", b"\x80\x80"]


@st.composite
def broken_line(draw: st.DrawFn, line: bytes) -> bytes:
    """`line` (at least 2 bytes of JSON) broken once: cut, bytes inserted or overwritten,
    re-encoded, or replaced by other JSON."""
    how = draw(st.sampled_from(["cut", "insert", "overwrite", "utf16", "latin1", "nest",
                                "scalar", "array", "junk"]))
    if how == "cut":
        return line[: draw(st.integers(1, len(line) - 1))]
    if how == "insert":
        at = draw(st.integers(0, len(line)))
        return line[:at] + draw(st.sampled_from(BAD_BYTES)) + line[at:]
    if how == "overwrite":
        at = draw(st.integers(0, len(line) - 1))
        junk = draw(st.binary(min_size=1, max_size=8))
        return line[:at] + junk + line[at + len(junk):]
    if how == "utf16":
        return line.decode("utf-8").encode("utf-16")
    if how == "latin1":  # a non-ASCII value written by a tool that did not use UTF-8
        return line.replace(b'"', b'"\xe9', 1)
    if how == "nest":
        return draw(deep_json).encode()
    if how == "scalar":
        return json.dumps(draw(json_scalars)).encode()
    if how == "array":
        return json.dumps(draw(st.lists(json_values, max_size=3))).encode()
    return draw(st.binary(min_size=1, max_size=40))


@st.composite
def mangled_record(draw: st.DrawFn, record: dict[str, Any], extra: st.SearchStrategy[Any]
                   = json_values) -> dict[str, Any]:
    """`record` with one field dropped, one given a value of any JSON type, or one unknown
    field added (the result may happen to be valid)."""
    record = dict(record)
    how = draw(st.sampled_from(["drop", "retype", "retype", "add"]))
    name = draw(st.sampled_from(sorted(record)))
    if how == "drop":
        del record[name]
    elif how == "retype":
        record[name] = draw(extra)
    else:
        record[draw(odd_text)] = draw(extra)
    return record
