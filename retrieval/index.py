"""The BM25 index over the corpus, cached on disk and rebuilt when its inputs change.

The cache is keyed by the installed ibis version (read from package metadata, so a cache hit
never imports ibis) and by the versions of the corpus, Doc record and tokenizer code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from rank_bm25 import BM25Okapi

from retrieval.corpus import CORPUS_VERSION
from retrieval.doc import DOC_VERSION, Doc
from retrieval.tokens import TOKENIZER_VERSION, tokenize

INDEX_VERSION = 1  # bump when the field weights below change
CACHE_NAME = "index.json"
# A doc's name words count more than its prose: a query for `group_by` should land on
# Table.group_by, not on every doc whose example happens to group.
NAME_WEIGHT = 3
SUMMARY_WEIGHT = 2


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
        + tokenize("\n".join(doc.examples))
    )


@dataclass
class Index:
    docs: list[Doc]
    tokens: list[list[str]]
    key: dict[str, Any]

    def __post_init__(self) -> None:
        self.bm25 = BM25Okapi(self.tokens)
        self.by_id = {d.id: d for d in self.docs}

    def scores(self, query_tokens: list[str]) -> list[float]:
        if not query_tokens:
            return [0.0] * len(self.docs)
        return self.bm25.get_scores(query_tokens).tolist()

    def search_tokens(self, query_tokens: list[str], k: int = 5) -> list[Doc]:
        scores = self.scores(query_tokens)
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        return [self.docs[i] for i in order[:k] if scores[i] > 0]

    def search(self, query: str, k: int = 5) -> list[Doc]:
        """The top `k` docs for a query string (built by question_query / error_query)."""
        return self.search_tokens(tokenize(query), k)


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
    _write(path, index)
    return index


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # missing or torn: rebuild


def _write(path: Path, index: Index) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"key": index.key, "docs": [d.to_dict() for d in index.docs], "tokens": index.tokens}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
