"""LM backends behind one interface, a `dspy.LM`, chosen by `LMConfig.backend`.

- local: a model in this process, through DSPy's engine interface: a catalogue model
  (`agents.lm.catalogue`, installed by `agents.lm.install`) or any Hugging Face folder. Two
  runtimes share one engine frame (`agents.lm.engine`): transformers (+ a peft adapter;
  `agents.lm.transformers_engine`) and llama.cpp on the folder's GGUF (`agents.lm.llamacpp`),
  chosen by `LMConfig.runtime`.
  The default model is Qwen2.5-Coder-0.5B-Instruct.
- server: any OpenAI-compatible endpoint, first of all vLLM with `--enable-lora`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.lm.catalogue import (
    CATALOGUE,
    DEFAULT_MODEL,
    CatalogueModel,
    ModelNotInstalled,
    UnknownModel,
    lookup,
    resolve_model,
)
from agents.lm.chat import render_chat, request_messages
from agents.lm.config import LMConfig, LMConfigError, LMUnavailable
from agents.lm.engine import AsyncLocalEngine, GenerationStats, LocalEngine
from agents.lm.install import DiskFull, ModelInstallError, install
from agents.lm.llamacpp import LlamaCppEngine, choose_runtime, make_engine
from agents.lm.server import (
    check_server,
    load_adapter,
    lora_name,
    make_server_lm,
    served_model_name,
)
from agents.lm.transformers_engine import TransformersEngine

if TYPE_CHECKING:
    import dspy

__all__ = [
    "CATALOGUE",
    "DEFAULT_MODEL",
    "AsyncLocalEngine",
    "CatalogueModel",
    "DiskFull",
    "GenerationStats",
    "LMConfig",
    "LMConfigError",
    "LMUnavailable",
    "LlamaCppEngine",
    "LocalEngine",
    "ModelInstallError",
    "ModelNotInstalled",
    "TransformersEngine",
    "UnknownModel",
    "check_server",
    "choose_runtime",
    "install",
    "load_adapter",
    "local_engine",
    "lookup",
    "lora_name",
    "make_engine",
    "make_lm",
    "render_chat",
    "request_messages",
    "resolve_model",
    "served_model_name",
]


def make_lm(config: LMConfig) -> dspy.LM:
    """The `dspy.LM` that `config` describes. Cheap: nothing heavy loads here.

    Raises `LMConfigError` for a bad config and `LMUnavailable` for a catalogue model that is
    not installed or a server that does not answer (checked here, not on the first question).
    A local model loads on its first call; `local_engine(lm).load()` loads it now.
    """
    import dspy

    config.validate()
    if config.backend == "server":
        return make_server_lm(config)
    engine = make_engine(config)
    return dspy.LM(
        f"local/{engine.name}",
        engine=engine,
        async_engine=AsyncLocalEngine(engine),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        cache=config.cache,
        num_retries=0,  # nothing local is worth retrying
    )


def local_engine(lm: dspy.LM) -> LocalEngine | None:
    """The in-process engine behind `lm` (for `load()` and `generation_stats()`), if any."""
    engine = getattr(lm, "engine", None)
    return engine if isinstance(engine, LocalEngine) else None
