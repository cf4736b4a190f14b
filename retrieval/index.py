"""The BM25 index over the corpus, cached on disk and rebuilt when its inputs change.

The cache is keyed by the installed ibis version (read from package metadata, so a cache hit
never imports ibis) and by the versions of the corpus, Doc record and tokenizer code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from rank_bm25 import BM25Okapi

from retrieval.corpus import CORPUS_VERSION
from retrieval.doc import DOC_VERSION, Doc
from retrieval.tokens import TOKENIZER_VERSION, tokenize
from tools.paths import write_atomic

INDEX_VERSION = 2  # bump when the field weights below change
CACHE_NAME = "index.json"
# A doc's name words count more than its prose: a query for `group_by` should land on
# Table.group_by, not on every doc whose example happens to group.
NAME_WEIGHT = 3
SUMMARY_WEIGHT = 1
# The first examples show the usual call; later ones cover edge cases and only add length,
# which BM25 holds against a doc (Table.join has dozens).
INDEX_EXAMPLES = 4
# Notes are dense with common API words and would crowd out the API docs; one recipe is enough.
MAX_NOTES = 1
CLAUSE = " | "
NESTED = {"ArrayValue": "array", "MapValue": "map", "StructValue": "struct", "JSONValue": "json"}
NESTED_FACTOR = 0.5


def cache_key(ibis_version: str | None = None) -> dict[str, Any]:
    return {
        "ibis": ibis_version or metadata.version("ibis-framework"),
        "corpus": CORPUS_VERSION, "doc": DOC_VERSION, "tokenizer": TOKENIZER_VERSION,
        "index": INDEX_VERSION,
    }


def doc_tokens(doc: Doc) -> list[str]:
    name = tokenize(doc.id.replace("note.", "").replace("-", " ")) + tokenize(" ".join(doc.aliases))
    return (
        name * NAME_WEIGHT
        + tokenize(doc.signature)
        + tokenize(doc.summary) * SUMMARY_WEIGHT
        + tokenize(doc.text)
        + tokenize("\n".join(doc.examples[:INDEX_EXAMPLES]))
    )


@dataclass
class Index:
    docs: list[Doc] = field(repr=False)
    tokens: list[list[str]] = field(repr=False)
    key: dict[str, Any]
    tokenizer: Callable[[str], list[str]] = field(default=tokenize, repr=False)  # baseline swaps

    def __post_init__(self) -> None:
        self.bm25 = BM25Okapi(self.tokens)
        self.by_id = {d.id: d for d in self.docs}
        self.nested = [(i, NESTED[d.owners[0]]) for i, d in enumerate(self.docs)
                       if d.owners and d.owners[0] in NESTED]
        # "fillnull" or "dayofweek" in a query: the API name written without its underscores
        self.squashed = {a.replace("_", ""): a for d in self.docs for a in d.attrs if "_" in a}

    def scores(self, query_tokens: list[str]) -> list[float]:
        if not query_tokens:
            return [0.0] * len(self.docs)
        query_tokens = [self._respell(t) for t in query_tokens]
        scores = self.bm25.get_scores(query_tokens).tolist()
        # Methods of nested types (ArrayValue.filter, MapValue.contains) share names with the
        # table and string methods most questions need; they rank lower unless the query
        # names their type (question_query does when the schema has such columns).
        asked = set(query_tokens)
        for i, family in self.nested:
            if family not in asked:
                scores[i] *= NESTED_FACTOR
        return scores

    def _respell(self, token: str) -> str:
        if token in self.bm25.idf:
            return token
        owner, dot, name = token.rpartition(".")
        return owner + dot + self.squashed.get(name, name)

    def search_tokens(self, query_tokens: list[str], k: int = 5,
                      max_notes: int = MAX_NOTES) -> list[Doc]:
        scores = self.scores(query_tokens)
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        out: list[Doc] = []
        notes = 0
        for i in order:
            if len(out) == k or scores[i] <= 0:
                break
            doc = self.docs[i]
            if doc.source == "note":
                if notes == max_notes:
                    continue
                notes += 1
            out.append(doc)
        return out

    def search(self, query: str, k: int = 5, max_notes: int = MAX_NOTES) -> list[Doc]:
        """The top `k` docs for a query (built by question_query / error_query, or any text),
        with at most `max_notes` of our notes among them.

        A query may hold several clauses separated by " | ", one per operation a question
        needs: each is searched alone and the results are interleaved, first clause first, so
        that every operation gets its best doc near the top."""
        clauses = [self.tokenizer(c) for c in query.split(CLAUSE)]
        clauses = [c for c in clauses if c]
        if len(clauses) <= 1:
            return self.search_tokens(clauses[0] if clauses else [], k, max_notes)
        ranked = [self.search_tokens(c, k, max_notes) for c in clauses]
        out: list[Doc] = []
        seen: set[str] = set()
        notes = 0
        for rank in range(k):
            for docs in ranked:
                if rank >= len(docs) or docs[rank].id in seen:
                    continue
                doc = docs[rank]
                if doc.source == "note":
                    if notes == max_notes:
                        continue
                    notes += 1
                seen.add(doc.id)
                out.append(doc)
                if len(out) == k:
                    return out
        return out


def build_index(key: dict[str, Any] | None = None) -> Index:
    """Harvest the corpus from the installed ibis and index it (no cache involved)."""
    from retrieval.corpus import build_corpus

    docs = build_corpus()
    return Index(docs, [doc_tokens(d) for d in docs], key or cache_key())


def load_index(cache_dir: Path | None = None, refresh: bool = False) -> Index:
    """The index from `cache_dir` (default: the data folder's retrieval/), rebuilt and rewritten
    when missing, unreadable, or made for another ibis or code version."""
    if cache_dir is None:
        from tools.paths import sub_dir

        cache_dir = sub_dir("retrieval")
    path = Path(cache_dir) / CACHE_NAME
    key = cache_key()
    if not refresh:
        cached = _read(path)
        if cached is not None and cached.get("key") == key:
            docs = [Doc.from_dict(d) for d in cached["docs"]]
            return Index(docs, cached["tokens"], key)
    index = build_index(key)
    try:
        _write(path, index)
    except OSError:
        pass  # the cache only saves time; a read-only or full disk must not stop retrieval
    return index


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # missing or torn: rebuild


def _write(path: Path, index: Index) -> None:
    data = {"key": index.key, "docs": [d.to_dict() for d in index.docs], "tokens": index.tokens}
    write_atomic(path, json.dumps(data))
