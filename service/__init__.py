"""The web page, the HTTP API and the MCP server: the ask pipeline where people already work.

`catalog` names the databases a service may answer on (never a path from a request),
`asker` runs questions on worker threads behind a bounded queue, `answers` turns a run into
the record the API returns, `chart` draws a result that has the shape for one, `web` is the
FastAPI app and its page (`static/`), `mcp` the MCP server over stdio. Above the harness and
learning layers, below the command line (`devstarl/web.py`), which alone starts them.
"""
