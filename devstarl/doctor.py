"""`devstarl doctor`: one screen on the installation: models, runtimes, sandbox layers, vLLM,
data folder and free disk. Exit status 1 when something the main job needs is missing."""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Annotated

import typer
from rich.console import Console

from agents.lm.catalogue import CATALOGUE, DEFAULT_MODEL, is_installed, model_dir
from tools.errors import DevstarlError
from tools.paths import data_dir
from tools.sandbox import Limits, Sandbox

out = Console()

LOW_DISK_GB = 5.0  # a model conversion or an adapter run needs a few GB


@dataclass(frozen=True)
class Check:
    area: str
    name: str
    ok: bool
    detail: str
    needed: bool = False  # the main job (ask with the default model) needs it


def checks() -> list[Check]:
    return [*_models(), *_runtimes(), *_sandbox(), _vllm(), *_data()]


def _models() -> list[Check]:
    rows = []
    for model in CATALOGUE.values():
        default = model.name == DEFAULT_MODEL
        installed = is_installed(model)
        detail = str(model_dir(model)) if installed else f"devstarl models install {model.name}"
        rows.append(Check("model", model.name + (" (default)" if default else ""), installed,
                          detail, needed=default))
    return rows


def _runtimes() -> list[Check]:
    llama = importlib.util.find_spec("llama_cpp") is not None
    return [Check("runtime", "llama.cpp", llama,
                  "in-process GGUF runtime" if llama else "not built: ./setup.sh --llama; "
                  "transformers is used instead")]


def _sandbox() -> list[Check]:
    sandbox = Sandbox()
    t0 = time.perf_counter()
    try:
        answer = sandbox.request({"op": "layers"}, Limits(wall_s=10.0))
    except DevstarlError as e:
        return [Check("sandbox", "server", False, str(e), needed=True)]
    finally:
        sandbox.close()
    rows = [Check("sandbox", "server", True, f"started and answered in "
                  f"{time.perf_counter() - t0:.1f} s", needed=True),
            Check("sandbox", "allow-list", answer.get("allow_list", False), "tools/policy.py",
                  needed=True)]
    for layer, state in answer.get("layers", {}).items():
        rows.append(Check("sandbox", layer, state.startswith("on"), state))
    return rows


def _vllm() -> Check:
    from serving.env import VllmEnv

    env = VllmEnv()
    if not env.installed():
        return Check("vllm", "environment", False, f"not installed at {env.path} (optional): "
                     "devstarl serve --install")
    return Check("vllm", "environment", True, str(env.path))


def _data() -> list[Check]:
    root = data_dir()
    free_gb = shutil.disk_usage(root).free / 1e9
    return [Check("data", "folder", True, str(root), needed=True),
            Check("data", "free disk", free_gb >= LOW_DISK_GB, f"{free_gb:.1f} GB free",
                  needed=True)]


def doctor(
    json_out: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the installation: models, runtimes, sandbox layers, vLLM, data folder, free disk."""
    rows = checks()
    if json_out:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        for r in rows:
            mark = "[green]ok[/green]  " if r.ok else ("[red]FAIL[/red]" if r.needed
                                                       else "[yellow]off[/yellow] ")
            out.print(f"{mark} {r.area:8} {r.name:28} {r.detail}", highlight=False,
                      soft_wrap=True)
    if any(r.needed and not r.ok for r in rows):
        raise typer.Exit(1)
