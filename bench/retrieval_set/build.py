"""Build the labelled retrieval set: question queries and error queries.

    .venv/bin/python bench/retrieval_set/build.py

Question queries come from every bench/tasks/*.jsonl task with a gold program and from our own
extra_programs.jsonl (each verified here to compile against the demo schema); their labels are
the APIs the gold program calls (labels.call_keys). Error queries come from
wrong_programs.jsonl (written by hand, each with the API that does what the wrong code meant)
and from `perturbed` (task gold programs with one API name respelled; the label is that API):
each wrong program is compiled against the demo schema and the real error line is recorded.
Writes questions.jsonl and errors.jsonl here.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from tqdm import tqdm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]

from labels import call_keys  # noqa: E402

from tools.calls import compile_code  # noqa: E402
from tools.database import resolve  # noqa: E402
from tools.schema import inspect  # noqa: E402

VERSION = 1
MIN_QUESTIONS, MIN_ERRORS = 150, 40


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def questions(schema) -> list[dict]:  # noqa: ANN001
    rows = []
    sources = [*sorted((ROOT / "bench" / "tasks").glob("*.jsonl")), HERE / "extra_programs.jsonl"]
    for path in sources:
        ours = path.parent == HERE
        for task in read_jsonl(path):
            if not task.get("gold_code"):
                continue
            if ours:
                result = compile_code(task["gold_code"], schema)
                if not result.ok:
                    sys.exit(f"{task['id']} does not compile: {result.error}")
            rows.append({
                "version": VERSION, "id": task["id"], "source": path.stem, "db": task["db"],
                "question": task["question"], "code": task["gold_code"],
                "relevant": call_keys(task["gold_code"]),
            })
    return rows


def errors(schema) -> list[dict]:  # noqa: ANN001
    rows = []
    wrongs = [{**w, "source": "hand-written"} for w in read_jsonl(HERE / "wrong_programs.jsonl")]
    for wrong in tqdm([*wrongs, *perturbed()], desc="compile wrong programs"):
        result = compile_code(wrong["code"], schema)
        if result.ok:
            sys.exit(f"{wrong['id']} compiles, so it gives no error: {wrong['code']}")
        rows.append({
            "version": VERSION, "id": wrong["id"], "source": wrong["source"],
            "code": wrong["code"], "kind": result.kind, "error": result.error,
            "relevant": wrong["relevant"], "habit": wrong["habit"],
        })
    return rows


def perturbed() -> list[dict]:
    """Wrong programs made mechanically from the task gold programs (not ours): each
    snake_case API name they call, respelled as camelCase and without underscores, in the
    first program that calls it. A check on names no hand-written table anticipates."""
    out: list[dict] = []
    seen: set[str] = set()
    for path in sorted((ROOT / "bench" / "tasks").glob("*.jsonl")):
        for task in read_jsonl(path):
            code = task.get("gold_code") or ""
            for key in call_keys(code) if code else []:
                name = key.rsplit(".", 1)[1]
                if "_" not in name.strip("_") or key in seen:
                    continue
                seen.add(key)
                camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
                squashed = name.replace("_", "")
                for habit, spelling in (("camelCase", camel), ("no underscores", squashed)):
                    call = f"{key}(" if key.startswith("ibis.") else f".{name}("
                    wrong = call.replace(name, spelling)
                    out.append({"id": f"perturbed-{len(out) + 1:03d}", "source": "perturbed",
                                "code": code.replace(call, wrong, 1), "relevant": [key],
                                "habit": f"{habit} of {name} ({task['id']})"})
    return out


def main() -> None:
    schema = inspect(resolve(None))
    q, e = questions(schema), errors(schema)
    write_jsonl(HERE / "questions.jsonl", q)
    write_jsonl(HERE / "errors.jsonl", e)
    print(f"{len(q)} question queries, {len(e)} error queries")
    if len(q) < MIN_QUESTIONS or len(e) < MIN_ERRORS:
        sys.exit(f"need at least {MIN_QUESTIONS} questions and {MIN_ERRORS} errors")


if __name__ == "__main__":
    main()
