"""Faults during a `devstarl synth` run, measured against the same run undisturbed.

    .venv/bin/python bench/faults.py [--tasks 40] [--vllm-kills 2] [--sandbox-kills 5]
                                     [--only vllm,sandbox] [--port 8771] [--workers 8]

- vllm: synth (a subprocess, as a user runs it) over the first N tasks of the demo task file
  against a vLLM server this script starts. Each time another share of the tasks is written, the
  server's process group is killed (SIGKILL) and, 5 s later, a new server is started on the same
  port; synth waits for it (`--server-wait`).
- sandbox: the same synth with the in-process model; the sandbox server (synth's child) is
  killed with SIGKILL `--sandbox-kills` times, spread over the run.
Each faulted run is set beside an undisturbed run of the same tasks, each with its own empty
response cache, so both do the same work: tasks completed, lost, duplicated, exit status, wall
time and the extra wall time. The first-draft pipeline is used (`--rounds 0`) to keep the runs
short. The demo database's sha256 is compared before and after. Prints a table; writes
bench/results/faults.json and bench/results/faults.png.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.lm import DEFAULT_MODEL  # noqa: E402
from serving.env import VllmEnv  # noqa: E402
from serving.server import ServeConfig, VllmServer, base_name  # noqa: E402
from tools.database import resolve  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TASKS = ROOT / "bench" / "tasks" / "nycflights13.jsonl"
DEVSTARL = [sys.executable, "-m", "devstarl"]


def synth_command(out: Path, tasks: int, extra: list[str]) -> list[str]:
    return [*DEVSTARL, "synth", str(TASKS), "-o", str(out), "--limit", str(tasks),
            "--rounds", "0", "--program", "none", *extra]


def lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["task_id"] for line in path.read_text().splitlines() if line]


def run(name: str, command: list[str], out: Path, tasks: int, work: Path,
        fault: Callable[[subprocess.Popen, int], None] | None = None, kills: int = 0) -> dict:
    """Run synth; call `fault(proc, k)` when the k-th share of the tasks is written."""
    env = {**os.environ, "DSPY_CACHEDIR": str(work / f"{name}-cache"), "WANDB_MODE": "offline"}
    log = open(work / f"{name}.log", "w")  # noqa: SIM115 - closed below
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    marks = [tasks * (k + 1) // (kills + 1) for k in range(kills)]
    done = 0
    with tqdm(total=tasks, desc=name, unit="task") as bar:
        while proc.poll() is None:
            written = len(lines(out))
            if written > bar.n:
                bar.update(written - bar.n)
            while fault is not None and done < len(marks) and written >= marks[done]:
                fault(proc, done)
                done += 1
            time.sleep(0.5)
        bar.update(len(lines(out)) - bar.n)
    wall = time.perf_counter() - started
    log.close()
    ids = lines(out)
    return {"completed": len(set(ids)), "lost": tasks - len(set(ids)),
            "duplicated": len(ids) - len(set(ids)), "exit": proc.returncode,
            "wall_s": round(wall, 1), "faults": done}


def children(pid: int, needle: str) -> list[int]:
    """Processes whose parent is `pid` and whose command line holds `needle` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and needle in cmdline:
            found.append(int(entry.name))
    return found


def vllm_part(args: argparse.Namespace, work: Path) -> dict:
    env = VllmEnv().ensure()
    config = ServeConfig(port=args.port)
    extra = ["--backend", "server", "--model", base_name(DEFAULT_MODEL), "--api-base",
             config.api_base, "--workers", str(args.workers)]
    servers = [VllmServer(config, env).start()]
    restarts: list[float] = []
    try:
        clean = run("vllm-clean", synth_command(work / "vllm-clean.jsonl", args.tasks, extra),
                    work / "vllm-clean.jsonl", args.tasks, work)

        def kill_and_restart(proc: subprocess.Popen, k: int) -> None:
            current = servers[-1]
            os.killpg(current.process.pid, signal.SIGKILL)
            current.stop(grace=5)
            time.sleep(5)
            t0 = time.perf_counter()
            servers.append(VllmServer(config, env).start())
            restarts.append(round(time.perf_counter() - t0, 1))

        faulted = run("vllm-faulted", synth_command(work / "vllm-faulted.jsonl", args.tasks,
                                                    extra),
                      work / "vllm-faulted.jsonl", args.tasks, work, kill_and_restart,
                      args.vllm_kills)
        faulted["restart_s"] = restarts
    finally:
        servers[-1].stop()
    return {"clean": clean, "faulted": faulted}


def sandbox_part(args: argparse.Namespace, work: Path) -> dict:
    clean = run("sandbox-clean", synth_command(work / "sandbox-clean.jsonl", args.tasks, []),
                work / "sandbox-clean.jsonl", args.tasks, work)
    killed: list[int] = []

    def kill_sandbox(proc: subprocess.Popen, k: int) -> None:
        for pid in children(proc.pid, "tools.sandbox_server"):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    faulted = run("sandbox-faulted", synth_command(work / "sandbox-faulted.jsonl", args.tasks,
                                                   []),
                  work / "sandbox-faulted.jsonl", args.tasks, work, kill_sandbox,
                  args.sandbox_kills)
    faulted["servers_killed"] = len(killed)
    return {"clean": clean, "faulted": faulted}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--vllm-kills", type=int, default=2)
    parser.add_argument("--sandbox-kills", type=int, default=5)
    parser.add_argument("--only", default="vllm,sandbox")
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--workers", type=int, default=8, help="vllm: tasks at once")
    args = parser.parse_args()

    demo = resolve(None).path
    before = sha(demo)
    work = Path(tempfile.mkdtemp(prefix="devstarl-faults-"))
    print(f"runs, logs and results files in {work}")
    parts = {"vllm": vllm_part, "sandbox": sandbox_part}
    results_path = RESULTS / "faults.json"
    report = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in args.only.split(","):
        report[name] = parts[name](args, work) | {"tasks": args.tasks, "rounds": 0,
                                                  "ran_at": time.strftime("%Y-%m-%d %H:%M")}
        report[name]["extra_wall_s"] = round(report[name]["faulted"]["wall_s"]
                                             - report[name]["clean"]["wall_s"], 1)
    report["database_unchanged"] = sha(demo) == before
    report["model"] = DEFAULT_MODEL
    results_path.write_text(json.dumps(report, indent=2) + "\n")

    table = Table(title=f"synth under faults ({args.tasks} tasks, rounds 0)")
    for col in ("part", "run", "faults", "completed", "lost", "duplicated", "exit", "wall s"):
        table.add_column(col)
    for part in ("vllm", "sandbox"):
        for kind in ("clean", "faulted"):
            if part in report:
                r = report[part][kind]
                table.add_row(part, kind, str(r["faults"]), str(r["completed"]), str(r["lost"]),
                              str(r["duplicated"]), str(r["exit"]), f"{r['wall_s']:.0f}")
    Console().print(table)
    print(f"demo database byte-identical: {report['database_unchanged']}")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = [p for p in ("vllm", "sandbox") if p in report]
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], [report[p]["clean"]["wall_s"] for p in names], 0.4,
           label="undisturbed", color="#888")
    ax.bar([i + 0.2 for i in x], [report[p]["faulted"]["wall_s"] for p in names], 0.4,
           label="with faults", color="#c53")
    ax.set_xticks(list(x), [f"{p} ({report[p]['faulted']['faults']} kills)" for p in names])
    ax.set_ylabel("wall time (s)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "faults.png", dpi=120)


if __name__ == "__main__":
    main()
