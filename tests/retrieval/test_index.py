"""The corpus harvested from the installed ibis, and the on-disk index cache."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from retrieval.corpus import CORPUS_VERSION, build_corpus
from retrieval.index import CACHE_NAME, Index, load_index
from tools.policy import denied_attribute


def test_corpus_covers_the_api_a_program_needs(index: Index) -> None:
    ids = set(index.by_id)
    assert {"Table.group_by", "Table.filter", "Table.order_by", "Table.join", "Table.select",
            "GroupedTable.aggregate", "NumericColumn.mean", "Column.nunique",
            "StringValue.contains", "DateValue.year", "ibis.desc", "ibis.cases",
            "ibis.row_number", "selectors.numeric", "ibis._"} <= ids
    assert len([d for d in index.docs if d.source == "api"]) > 350


def test_doc_ids_unique_and_records_versioned(index: Index) -> None:
    assert len(index.by_id) == len(index.docs)
    assert all(d.version >= 1 for d in index.docs)


def test_aliases_documented_once() -> None:
    docs = {d.id: d for d in build_corpus()}
    assert docs["GroupedTable.aggregate"].aliases == ["agg"]
    assert docs["Table.select"].aliases == ["projection"]  # the deprecated name is the alias
    assert "Table.agg" not in docs and "Table.projection" not in docs


def test_left_out_what_a_program_must_not_use(index: Index) -> None:
    api = [d for d in index.docs if d.source == "api"]
    # `ibis._` is the one exception: `_` is a name in the program's scope, not an attribute.
    assert not [d.id for d in api if d.id != "ibis._" and any(map(denied_attribute, d.attrs))]
    assert "Table.fillna" not in index.by_id and "Value.case" not in index.by_id  # deprecated
    assert not [d.id for d in api if "GeoSpatial" in d.name]


def test_example_output_is_stripped(index: Index) -> None:
    doc = index.by_id["Table.group_by"]
    assert "┃" not in doc.text and not any("┃" in e for e in doc.examples)
    assert any("group_by" in e for e in doc.examples)
    assert "import ibis" not in doc.examples


def test_snippet_is_bounded_and_shows_the_call(index: Index) -> None:
    assert max(len(d.snippet()) for d in index.docs) <= 600
    snippet = index.by_id["StringValue.contains"].snippet()
    assert snippet.startswith("StringValue.contains(") and ".contains(" in snippet.split("\n", 2)[2]


def test_cache_written_then_used(tmp_path: Path) -> None:
    load_index(tmp_path)
    path = tmp_path / CACHE_NAME
    data = json.loads(path.read_text())
    assert data["key"]["ibis"] == metadata.version("ibis-framework")
    # Prove the second load reads the file: a change made there shows up.
    data["docs"][0]["summary"] = "from the cache"
    path.write_text(json.dumps(data))
    assert load_index(tmp_path).docs[0].summary == "from the cache"


def test_cache_rebuilt_when_ibis_version_changes(tmp_path: Path) -> None:
    load_index(tmp_path)
    path = tmp_path / CACHE_NAME
    data = json.loads(path.read_text())
    data["key"]["ibis"] = "9.0.0"  # as if written under another ibis
    data["docs"][0]["summary"] = "stale"
    path.write_text(json.dumps(data))
    index = load_index(tmp_path)
    assert index.docs[0].summary != "stale"
    assert json.loads(path.read_text())["key"]["ibis"] == metadata.version("ibis-framework")


def test_cache_rebuilt_when_corpus_code_changes(tmp_path: Path) -> None:
    load_index(tmp_path)
    path = tmp_path / CACHE_NAME
    data = json.loads(path.read_text())
    data["key"]["corpus"] = CORPUS_VERSION - 1
    data["docs"] = data["docs"][:1]
    data["tokens"] = data["tokens"][:1]
    path.write_text(json.dumps(data))
    assert len(load_index(tmp_path).docs) > 1
    assert json.loads(path.read_text())["key"]["corpus"] == CORPUS_VERSION


def test_torn_cache_rebuilt(tmp_path: Path) -> None:
    (tmp_path / CACHE_NAME).write_text('{"key": ')
    assert len(load_index(tmp_path).docs) > 350


def test_refresh_ignores_the_cache(tmp_path: Path) -> None:
    load_index(tmp_path)
    path = tmp_path / CACHE_NAME
    data = json.loads(path.read_text())
    data["docs"][0]["summary"] = "from the cache"
    path.write_text(json.dumps(data))
    assert load_index(tmp_path, refresh=True).docs[0].summary != "from the cache"


def test_cache_hit_imports_neither_ibis_nor_agents(tmp_path: Path) -> None:
    load_index(tmp_path)
    code = ("import sys; from pathlib import Path; from retrieval import load_index; "
            f"load_index(Path({str(tmp_path)!r})).search('group by', 3); "
            "bad = [m for m in sys.modules if m == 'ibis' or m.startswith('agents')]; "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
