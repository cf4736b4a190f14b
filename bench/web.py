"""The web API under load: concurrent clients asking demo questions of `devstarl web`'s app
(a real uvicorn server on loopback) against the in-process model.

    .venv/bin/python bench/web.py [--n 40] [--clients 8] [--workers 2] [--queue 8]
                                  [--max-tokens 256] [--rounds 2]

Questions: the demo task set's dev split, then its train split (never the test split), the
first N. Each client posts its next question to /api/ask; a 503 (queue full) is counted and
retried after its Retry-After. One question is answered before timing (model load, caches).
Latency is from the first post to the answer, waiting in the queue included. Every answer's
trace is fetched back through /api/traces/{id}: one that is missing is a lost trace. Prints a
table and writes bench/results/web.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.config import AgentConfig  # noqa: E402
from agents.lm import DEFAULT_MODEL, LMConfig, make_lm  # noqa: E402
from agents.traces import TraceStore  # noqa: E402
from service.asker import Asker  # noqa: E402
from service.catalog import Catalog  # noqa: E402
from service.web import create_app  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def questions(n: int) -> list[str]:
    tasks = [json.loads(line) for line in (ROOT / "bench/tasks/nycflights13.jsonl").read_text()
             .splitlines()]
    ordered = [t for t in tasks if t["split"] == "dev"] + [t for t in tasks
                                                           if t["split"] == "train"]
    return [t["question"] for t in ordered][:n]


def serve(app) -> tuple[uvicorn.Server, str]:  # noqa: ANN001 - a FastAPI app
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def ask(client: httpx.Client, question: str) -> dict:
    """Post until accepted; the answer, its latency and the 503s met on the way."""
    start, busy = time.perf_counter(), 0
    while True:
        response = client.post("/api/ask", json={"question": question})
        if response.status_code != 503:
            break
        busy += 1
        time.sleep(float(response.headers.get("Retry-After", "5")))
    return {"status": response.status_code, "seconds": time.perf_counter() - start,
            "busy": busy, "answer": response.json() if response.status_code == 200 else None,
            "error": None if response.status_code == 200 else response.text[:200]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="questions asked in all")
    parser.add_argument("--clients", type=int, default=8, help="clients asking at once")
    parser.add_argument("--workers", type=int, default=2, help="the service's worker threads")
    parser.add_argument("--queue", type=int, default=8, help="questions waiting beyond those")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--max-tokens", type=int, default=LMConfig.max_tokens)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    asked = questions(args.n)
    lm_config = LMConfig(model=args.model, max_tokens=args.max_tokens, cache=False).validate()
    with tempfile.TemporaryDirectory() as tmp:
        store = TraceStore(Path(tmp) / "traces.sqlite")
        asker = Asker(Catalog(["demo"]), make_lm(lm_config), lm_config,
                      AgentConfig(rounds=args.rounds), store=store, workers=args.workers,
                      queue=args.queue, program="none")
        server, url = serve(create_app(asker))
        with httpx.Client(base_url=url, timeout=3600) as client:
            ask(client, "How many flights are there?")  # warm: model, sandboxes, index
            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                runs = list(pool.map(lambda q: ask(client, q), asked))
            wall = time.perf_counter() - started
            answers = [r["answer"] for r in runs if r["answer"]]
            lost = sum(client.get(f"/api/traces/{a['trace_id']}").status_code != 200
                       for a in answers) + sum(r["answer"] is None for r in runs)
        stored = store.count() - 1  # less the warm-up question
        server.should_exit = True
        asker.close()

    seconds = sorted(r["seconds"] for r in runs if r["answer"])
    figures = {
        "n": len(asked), "clients": args.clients, "workers": args.workers, "queue": args.queue,
        "completed": len(answers),
        "verified": sum(a["ok"] for a in answers),
        "p50_s": round(statistics.median(seconds), 1) if seconds else None,
        "p95_s": round(statistics.quantiles(seconds, n=20, method="inclusive")[18], 1)
        if len(seconds) > 1 else None,
        "wall_s": round(wall, 1),
        "questions_per_min": round(len(answers) / wall * 60, 2),
        "http_503": sum(r["busy"] for r in runs),
        "errors": [r["error"] for r in runs if r["error"]],
        "lost_traces": lost,
        "traces_stored": stored,
        "model": lm_config.model, "max_tokens": args.max_tokens, "rounds": args.rounds,
    }
    table = Table(title=f"web API: {len(asked)} demo questions, {args.clients} clients, "
                        f"{args.workers} workers + queue {args.queue}, in-process model")
    for key in ("completed", "verified", "p50_s", "p95_s", "wall_s", "questions_per_min",
                "http_503", "lost_traces"):
        table.add_column(key)
    table.add_row(*(str(figures[c.header]) for c in table.columns))
    Console(width=140).print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
