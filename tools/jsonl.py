"""Reading a JSONL file of our own records: each line's JSON value with its line number, or one
error line naming the file and the line. Blank lines and a leading BOM are skipped."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.errors import DevstarlError


def json_lines(path: Path, error: type[DevstarlError], file: str, item: str
               ) -> Iterator[tuple[int, Any]]:
    """(line number, value) of each line of `path`. Raises `error`: "cannot read <file> PATH:
    why" when the file cannot be read, "PATH:N: not <item> (why)" for a line that is not JSON."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise error(f"cannot read {file} {path}: {e.strerror or e}") from e
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            value = _parse(line)
        except ValueError as e:
            raise error(f"{path}:{number}: not {item} ({e})") from e
        yield number, value


def _parse(line: bytes) -> Any:
    """The line's JSON value; ValueError with one line saying why there is none."""
    try:
        return json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8: byte 0x{line[e.start]:02x} at column {e.start + 1}") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON: {e.msg} at column {e.colno}") from e
    except RecursionError as e:
        raise ValueError("not valid JSON: nested too deeply") from e
    except ValueError as e:  # a number of more than 4300 digits
        raise ValueError(f"not valid JSON: {str(e).split(';')[0]}") from e
