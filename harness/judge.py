"""EX: a program's full-data result against the task's gold result, by DESIGN's comparison rules.

One judge per sandbox; gold results are computed once per task and cached.
"""

from __future__ import annotations

import threading

from harness.evaluate import ResultTable, compare
from tools.calls import execute
from tools.database import Database
from tools.records import ToolResult
from tools.sandbox import Sandbox

EX_ROWS = 10_000  # rows of each result compared for EX; larger results compare by count + head


class Judge:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._gold: dict[str, ToolResult] = {}
        self._lock = threading.Lock()

    def gold(self, task_id: str, gold_code: str, db: Database) -> ToolResult:
        with self._lock:
            cached = self._gold.get(task_id)
        if cached is None:
            cached = execute(gold_code, db, sandbox=self.sandbox, max_rows=EX_ROWS)
            with self._lock:
                self._gold[task_id] = cached
        return cached

    def correct(self, code: str, task_id: str, gold_code: str, db: Database,
                ordered: bool = False) -> bool | None:
        """Whether `code` gives the gold result; None when the gold program itself fails."""
        gold = self.gold(task_id, gold_code, db)
        if not gold.ok:
            return None
        predicted = execute(code, db, sandbox=self.sandbox, max_rows=EX_ROWS)
        if not predicted.ok:
            return False
        return compare(ResultTable.from_tool_result(predicted),
                       ResultTable.from_tool_result(gold), ordered).match
