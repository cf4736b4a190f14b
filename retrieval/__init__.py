"""The Ibis API doc corpus and its BM25 index."""
