"""Database files, through what opens a user's database: `tools.database.resolve`, then
`tools.schema.inspect` (the first thing every flow does with it), and `harness.tasks.resolve_db`
(a task's "db"). A file that is not a readable DuckDB database is one DatabaseError naming it.

Inputs start from a real database copied out of the shared sample folder (never changed there):
cut short, bytes overwritten, its header rewritten with a correct checksum to claim another
storage version (no DuckDB of another storage version is installed here to write a real one),
random bytes with and without the DuckDB magic, an SQLite file, an empty file, a directory, odd
file names."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.tasks import resolve_db
from tests.fuzz.fuzzing import counted, fuzz, outcome
from tools.database import resolve
from tools.errors import DatabaseError
from tools.schema import inspect

SOURCE = "singer.duckdb"  # the smallest sample database (two tables, 800 kB)
BLOCK = 4096  # DuckDB's main header: a checksum (8 bytes), then b"DUCK" and the version
_names = itertools.count()


class Original(bytes):
    """The sample database's bytes, shown by name (Hypothesis prints a failing test's
    arguments)."""

    def __repr__(self) -> str:
        return f"<{SOURCE}, {len(self)} bytes>"


@pytest.fixture(scope="module")
def original(sample_dbs: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    copy = tmp_path_factory.mktemp("db") / SOURCE
    shutil.copyfile(sample_dbs / SOURCE, copy)
    return Original(copy.read_bytes())


def checksum(block: bytes) -> int:
    """DuckDB's block checksum (src/common/checksum.cpp): 5381 xor each little-endian 8-byte
    word times 0xbf58476d1ce4e5b9, mod 2**64 (a 4088-byte header body has no remainder)."""
    result = 5381
    for (word,) in struct.iter_unpack("<Q", block):
        result ^= (word * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    return result


def with_header(data: bytes, offset: int, value: bytes) -> bytes:
    """`data` with `value` at `offset` of the main header and the header's checksum redone, so
    DuckDB believes what the header now says."""
    header = bytearray(data[:BLOCK])
    header[offset:offset + len(value)] = value
    header[:8] = struct.pack("<Q", checksum(bytes(header[8:])))
    return bytes(header) + data[BLOCK:]


def test_the_checksum_is_duckdb_s(original: bytes) -> None:
    """The forged headers below are only honest if the checksum is the one DuckDB computes."""
    assert struct.unpack("<Q", original[:8])[0] == checksum(original[8:BLOCK])
    assert original[8:12] == b"DUCK"


def opens(path: Path, via_tasks: bool = False) -> None:
    """The property: the database opens and has tables, or one DatabaseError names the file."""
    def open_it() -> object:
        db = resolve_db(str(path)) if via_tasks else resolve(path)
        return inspect(db, refresh=True)

    schema = outcome(open_it, path.name, kinds=DatabaseError)
    if not isinstance(schema, DatabaseError):
        assert schema.tables


def write(tmp_path: Path, data: bytes, suffix: str = ".duckdb") -> Path:
    path = tmp_path / f"fuzz-{next(_names)}{suffix}"
    path.write_bytes(data)
    return path


@fuzz(50)
@given(cut=st.floats(0, 1, exclude_max=True))
def test_truncated(tmp_path: Path, original: bytes, cut: float) -> None:
    counted("database files: truncated")
    path = write(tmp_path, original[: int(cut * len(original))])
    opens(path)
    path.unlink()


@fuzz(50)
@given(at=st.floats(0, 1, exclude_max=True), junk=st.binary(min_size=1, max_size=64))
def test_bytes_overwritten(tmp_path: Path, original: bytes, at: float, junk: bytes) -> None:
    counted("database files: bytes overwritten")
    start = int(at * len(original))
    path = write(tmp_path, original[:start] + junk + original[start + len(junk):])
    opens(path)
    path.unlink()


@fuzz(40)
@given(version=st.one_of(st.sampled_from([0, 1, 39, 63, 69, 1000, 2**63]),
                         st.integers(0, 2**64 - 1)))
def test_header_claims_another_storage_version(tmp_path: Path, original: bytes,
                                               version: int) -> None:
    counted("database files: another storage version")
    path = write(tmp_path, with_header(original, 12, struct.pack("<Q", version)))
    opens(path)
    path.unlink()


@fuzz(30)
@given(offset=st.integers(20, BLOCK - 8), junk=st.binary(min_size=1, max_size=32))
def test_header_fields_rewritten(tmp_path: Path, original: bytes, offset: int,
                                 junk: bytes) -> None:
    counted("database files: header fields rewritten")
    path = write(tmp_path, with_header(original, offset, junk[: BLOCK - offset]))
    opens(path)
    path.unlink()


@fuzz(40)
@given(data=st.binary(max_size=3 * BLOCK), magic=st.booleans())
def test_random_bytes(tmp_path: Path, data: bytes, magic: bool) -> None:
    counted("database files: random bytes")
    if magic:  # past the first check: bytes 8..12 say DUCK
        data = data[:8].ljust(8, b"\0") + b"DUCK" + data[12:]
    opens(write(tmp_path, data))


@fuzz(40)
@given(name=st.text(st.characters(exclude_characters="/\x00", codec="utf-8",
                                  exclude_categories=("Cs",)), min_size=1, max_size=20)
       .filter(lambda n: n not in (".", "..") and len(n.encode()) < 200),
       kind=st.sampled_from(["sqlite", "directory", "missing", "empty"]),
       via_tasks=st.booleans())
def test_odd_names_sqlite_directories_empty(tmp_path: Path, name: str, kind: str,
                                           via_tasks: bool) -> None:
    counted("database files: odd names, SQLite, directory, missing, empty")
    path = tmp_path / f"{next(_names)}-{name}.duckdb"
    if kind == "sqlite":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE singer (id INTEGER, name TEXT)")
        con.commit()
        con.close()
    elif kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    opens(path, via_tasks)


def test_sqlite_empty_directory_and_a_wal(tmp_path: Path, original: bytes) -> None:
    """The named cases, once each, through both doors."""
    counted("database files: named cases")
    sqlite = tmp_path / "sqlite.duckdb"
    sqlite3.connect(sqlite).close()  # an SQLite file of 0 bytes: write a table to give it a header
    con = sqlite3.connect(sqlite)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    empty = write(tmp_path, b"")
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    torn_wal = write(tmp_path, original)
    torn_wal.with_name(torn_wal.name + ".wal").write_bytes(b"\x01garbage WAL\x00" * 7)
    for path in (sqlite, empty, folder, torn_wal):
        for via_tasks in (False, True):
            opens(path, via_tasks)
