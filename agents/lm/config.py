"""What an LM backend is: one dataclass, validated before anything heavy loads, and its errors."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NoReturn

from agents.lm.catalogue import CATALOGUE, DEFAULT_MODEL
from agents.lm.errors import LMConfigError, LMUnavailable

__all__ = ["BACKENDS", "DTYPES", "RUNTIMES", "LMConfig", "LMConfigError", "LMUnavailable"]

BACKENDS = ("local", "server")
RUNTIMES = ("auto", "transformers", "llama.cpp")
DTYPES = ("auto", "bfloat16", "float16", "float32")
_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")


@dataclass
class LMConfig:
    """Which model answers, where it runs, and how it samples.

    `validate()` checks everything that can be checked without loading a model or calling a
    server, and raises `LMConfigError` with one line naming the field at fault.
    """

    backend: str = field(
        default="local",
        metadata={"help": "'local': a model in this process (see runtime); 'server': an "
                          "OpenAI-compatible endpoint such as vLLM."},
    )
    model: str = field(
        default=DEFAULT_MODEL,
        metadata={"help": f"A catalogue name (`devstarl models list`: {', '.join(CATALOGUE)}) "
                          "or a Hugging Face causal-LM folder; with the server backend, the "
                          "served model name."},
    )
    adapter: str | None = field(
        default=None,
        metadata={"help": "A peft LoRA adapter. Local: its folder. Server: the name the server "
                          "serves it under (a folder's name is used when a folder is given)."},
    )
    api_base: str | None = field(
        default=None,
        metadata={"help": "Server base URL including /v1, e.g. http://127.0.0.1:8000/v1."},
    )
    api_key: str | None = field(
        default=None,
        metadata={"help": "Server API key; 'local' when unset (vLLM needs none unless started "
                          "with --api-key)."},
    )
    temperature: float = field(
        default=0.0, metadata={"help": "0 is greedy decoding; above 0 samples (at most 2)."}
    )
    max_tokens: int = field(
        default=256,
        metadata={"help": "Most tokens generated per answer (the demo gold programs' p95 is "
                          "123)."})
    dtype: str = field(
        default="auto",
        metadata={"help": "Local weights dtype: auto (bfloat16 on a GPU or a CPU with native "
                          "bf16 arithmetic, AVX512-BF16 or AMX; float32 elsewhere, where bf16 "
                          "is emulated and slower), bfloat16, float16 or float32."},
    )
    device: str = field(
        default="cpu", metadata={"help": "Local device: cpu, cuda, cuda:N or mps."}
    )
    runtime: str = field(
        default="auto",
        metadata={"help": "Local runtime: llama.cpp (the model's 4-bit GGUF; needs "
                          "llama-cpp-python, `./setup.sh --llama`; an adapter is converted to "
                          "its LoRA format), transformers (the reference, with peft), or auto: "
                          "llama.cpp on a CPU when it is installed, the model has a GGUF and "
                          "the adapter, if any, converts, else transformers."},
    )
    num_threads: int | None = field(
        default=None,
        metadata={"help": "Local: torch CPU threads (process-wide); unset keeps torch's default."},
    )
    seed: int = field(
        default=0,
        metadata={"help": "Local: sampling seed. Each sampled answer draws the next seed in a "
                          "sequence, so n candidates differ and a fresh run repeats them."},
    )
    timeout: float = field(
        default=120.0,
        metadata={"help": "Server: seconds allowed for one request (the health check uses at "
                          "most 10)."},
    )
    cache: bool = field(
        default=True,
        metadata={"help": "Use DSPy's response cache. Turn off for repeated sampling and tests."},
    )

    @classmethod
    def help(cls) -> dict[str, str]:
        """Field name -> help text, for building CLI options."""
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}

    def to_dict(self) -> dict[str, Any]:
        """The config without the API key (safe to log and hash)."""
        data = asdict(self)
        data["api_key"] = None if self.api_key is None else "***"
        return data

    def validate(self) -> LMConfig:
        """Raise `LMConfigError` (one line) unless this config can work; return self."""
        if self.backend not in BACKENDS:
            _fail(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if not isinstance(self.model, str) or not self.model.strip():
            _fail("model must be a catalogue name, a model folder or a served model name")
        _check_number("temperature", self.temperature, low=0.0, high=2.0)
        _check_int("max_tokens", self.max_tokens, low=1)
        _check_int("seed", self.seed, low=0)
        if self.backend == "local":
            self._validate_local()
        else:
            self._validate_server()
        return self

    def resolved_dtype(self) -> str:
        """The dtype the weights load in: `dtype`, with 'auto' decided for this machine."""
        return self.dtype if self.dtype != "auto" else auto_dtype(self.device)

    def _validate_local(self) -> None:
        if self.model not in CATALOGUE:  # whether it is installed is checked on loading
            if not Path(self.model).expanduser().is_dir():
                _fail(f"model {self.model!r} is neither a catalogue model "
                      f"({', '.join(CATALOGUE)}) nor a folder")
            _check_folder("model", self.model, "config.json", "a Hugging Face model folder")
        if self.adapter is not None:
            if not isinstance(self.adapter, str | Path):
                _fail(f"adapter must be a folder, not {self.adapter!r}")
            _check_folder("adapter", self.adapter, "adapter_config.json", "a peft adapter folder")
        if self.dtype not in DTYPES:
            _fail(f"dtype must be one of {', '.join(DTYPES)}, not {self.dtype!r}")
        if self.runtime not in RUNTIMES:
            _fail(f"runtime must be one of {', '.join(RUNTIMES)}, not {self.runtime!r}")
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            _fail(f"device must be cpu, cuda, cuda:N or mps, not {self.device!r}")
        if self.num_threads is not None:
            _check_int("num_threads", self.num_threads, low=1)
        if self.api_base is not None:
            _fail("api_base is for the server backend; the local backend runs in this process")

    def _validate_server(self) -> None:
        if not self.api_base:
            _fail("the server backend needs api_base, e.g. http://127.0.0.1:8000/v1")
        if not isinstance(self.api_base, str) or not re.match(r"^https?://[^/\s]+", self.api_base):
            _fail(f"api_base must be an http(s) URL, not {self.api_base!r}")
        if self.adapter is not None and not str(self.adapter).strip():
            _fail("adapter must be a served adapter name or an adapter folder")
        _check_number("timeout", self.timeout, low=0.0, high=None, open_low=True)


def auto_dtype(device: str = "cpu") -> str:
    """bfloat16 on an accelerator or a CPU with native bf16 arithmetic, else float32."""
    return "bfloat16" if device != "cpu" or _cpu_has_bf16() else "float32"


def _cpu_has_bf16() -> bool:
    """Native bf16 matrix arithmetic on this CPU (Linux: from /proc/cpuinfo's flags)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))


def _fail(message: str) -> NoReturn:
    raise LMConfigError(f"LM config: {message}")


def _check_number(name: str, value: Any, *, low: float, high: float | None,
                  open_low: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if open_low else value >= low) and (high is None or value <= high)
    if not ok:
        bound = f"above {low:g}" if open_low else f"at least {low:g}"
        if high is not None:
            bound = f"between {low:g} and {high:g}"
        _fail(f"{name} must be a number {bound}, not {value!r}")


def _check_int(name: str, value: Any, *, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        _fail(f"{name} must be an integer of at least {low}, not {value!r}")


def _check_folder(name: str, value: str, marker: str, what: str) -> None:
    path = Path(value).expanduser()
    if not path.is_dir():
        _fail(f"{name} folder {str(path)!r} does not exist")
    if not (path / marker).is_file():
        _fail(f"{name} {str(path)!r} is not {what} (no {marker})")
