"""The Ibis API doc corpus and its BM25 index. May import tools.

    docs = retrieval.search(retrieval.question_query(question, retrieval.schema_terms(schema)))
    docs = retrieval.search(retrieval.error_query(result.error, code))
    prompt_part = "\n\n".join(d.snippet() for d in docs)
"""

from __future__ import annotations

from retrieval.doc import Doc
from retrieval.index import Index, load_index
from retrieval.query import error_query, question_query, schema_terms

__all__ = ["Doc", "Index", "error_query", "load_index", "question_query", "schema_terms",
           "search"]

_index: Index | None = None


def search(query: str, k: int = 5) -> list[Doc]:
    """The top `k` docs for a query built by question_query or error_query (or any text)."""
    global _index
    if _index is None:
        _index = load_index()
    return _index.search(query, k)
