"""The in-process llama.cpp runtime: the model's quantized GGUF through `llama-cpp-python`.

A catalogue model's folder keeps the verified GGUF beside the converted weights (`model.gguf`).
On a CPU, decoding reads every weight once per token, so the 4-bit GGUF decodes several times
faster than the dequantized weights under transformers, and it is the model exactly as
published. Everything but loading and the token loop is the shared frame's
(`agents.lm.engine`): the same chat template and tokenizer (the Hugging Face one in the
folder, so both runtimes see the same token ids), stops, seeds, stats and DSPy contract.

Prefill is the slow part on a CPU (about 40 prompt tokens/s for the 0.5B on two AVX2 cores,
against about 18 decoded tokens/s), and the pipeline's calls share long beginnings: a module's
instructions and the database's tables come first in every prompt. So after each call the KV
state is saved in a bounded RAM cache (`llama_cpp.LlamaRAMCache`, least recently used out
first), and a call starts from the saved state with the longest common prefix; llama.cpp then
prefills only the rest. Reused tokens are counted in `GenerationStats.cached_prompt_tokens`.
Saved states are per engine, and an engine has one adapter for its life, so a state is never
reused under another adapter.

A peft LoRA adapter is converted once to llama.cpp's GGUF LoRA format (`agents.lm.lora_gguf`,
cached in the data folder) and applied at scale alpha/rank, as peft applies it, on top of the
quantized weights; it is not merged, so the base GGUF stays shared (memory-mapped).

`llama-cpp-python` has no binary wheel on the package index; `./setup.sh --llama` builds it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
import weakref
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.lm.catalogue import GGUF, resolve_model
from agents.lm.chat import one_line
from agents.lm.config import LMConfig, LMConfigError, LMUnavailable
from agents.lm.decoding import Decode, Watcher, looping
from agents.lm.engine import GenerationStats, LocalEngine, engine_name
from agents.lm.lora_gguf import AdapterNotConvertible, check, convert
from agents.lm.quiet import quiet_progress
from agents.lm.transformers_engine import MODEL_DEFAULTS, TransformersEngine

CONTEXT = 8192  # KV cache size in tokens, or the model's own context if smaller
PREFIX_CACHE_BYTES = 512 << 20  # saved KV states kept for prefix reuse (least recent go first)
BUILD_HINT = "`./setup.sh --llama` builds it (about 6 minutes)"


def installed() -> bool:
    """True when `llama-cpp-python` is importable (found, not imported)."""
    return importlib.util.find_spec("llama_cpp") is not None


def amx_build() -> bool:
    """True when the installed llama.cpp was built with its AMX kernels, which crash on
    Q4_K models on the first decode (llama.cpp#20824; seen on this project's machines)."""
    try:
        import llama_cpp
    except ImportError:
        return False
    return "AMX_INT8 = 1" in llama_cpp.llama_print_system_info().decode(errors="replace")


def gguf_file(folder: Path) -> Path | None:
    """The GGUF in a model folder: `model.gguf`, else the only `*.gguf` there."""
    if (folder / GGUF).is_file():
        return folder / GGUF
    found = sorted(folder.glob("*.gguf"))
    return found[0] if len(found) == 1 else None


def choose_runtime(config: LMConfig) -> str:
    """'llama.cpp' or 'transformers' for a local `config` (runtime 'auto' decided here).

    auto takes llama.cpp on a CPU when it is installed, the model folder has a GGUF and the
    adapter, if any, converts to llama.cpp's LoRA format. An explicit 'llama.cpp' that cannot
    work is an error, never a silent fallback.
    """
    if config.runtime == "transformers":
        return "transformers"
    folder = resolve_model(config.model)
    error, problem = LMConfigError, None
    if config.device != "cpu":
        problem = f"DevStarL runs it on the CPU only, not {config.device}"
    elif gguf_file(folder) is None:
        problem = f"{folder} has no GGUF file"
    elif not installed():  # a missing component, not a wrong setting
        error, problem = LMUnavailable, f"llama-cpp-python is not installed: {BUILD_HINT}"
    elif amx_build():
        error, problem = LMUnavailable, (
            "llama-cpp-python was built with llama.cpp's AMX kernels, which crash on Q4_K "
            "models; `./setup.sh --llama` rebuilds it without them (about 6 minutes)")
    elif config.adapter is not None:
        try:
            check(config.adapter, folder)
        except AdapterNotConvertible as e:
            error, problem = AdapterNotConvertible, str(e)
    if problem is None:
        return "llama.cpp"
    if config.runtime == "llama.cpp":
        raise error(f"runtime llama.cpp: {problem}")
    return "transformers"


def make_engine(config: LMConfig) -> LocalEngine:
    """The in-process engine for a local `config`, on the runtime `choose_runtime` picks."""
    if choose_runtime(config) == "llama.cpp":
        return LlamaCppEngine(config)
    return TransformersEngine(config)


class LlamaCppEngine(LocalEngine):
    """`LocalEngine` with llama.cpp's token loop on the folder's GGUF."""

    def __init__(self, config: LMConfig):
        super().__init__(config)
        self.name = engine_name(config, weights="gguf")

    def _load_locked(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoTokenizer

        cfg = self.config
        started = time.perf_counter()
        folder = resolve_model(cfg.model)
        gguf = gguf_file(folder)
        try:
            from llama_cpp import Llama

            lora = convert(cfg.adapter, folder) if cfg.adapter is not None else None
            with quiet_progress():
                tokenizer = AutoTokenizer.from_pretrained(folder)
            threads = cfg.num_threads or len(os.sched_getaffinity(0))  # its default is half
            trained = _json(folder / "config.json").get("max_position_embeddings") or CONTEXT
            model = Llama(model_path=str(gguf), n_ctx=min(CONTEXT, trained), n_threads=threads,
                          n_threads_batch=threads, seed=cfg.seed, verbose=False)
            if lora is not None:
                _apply_lora(model, lora)
        except ImportError as e:
            raise LMUnavailable(f"llama-cpp-python is not installed: {BUILD_HINT}") from e
        except AdapterNotConvertible:
            raise
        except Exception as e:  # noqa: BLE001 - any loader failure becomes one clear line
            what = f"{gguf}" + (f" with adapter {cfg.adapter}" if cfg.adapter else "")
            raise LMUnavailable(f"cannot load {what} with llama.cpp: {one_line(e)}") from e
        declared = _json(folder / "generation_config.json")
        eos = declared.get("eos_token_id")
        eos = set(eos) if isinstance(eos, list) else {eos}
        eos |= {model.token_eos(), tokenizer.eos_token_id}
        self._eos = {token for token in eos if token is not None and token >= 0}
        self._defaults = {k: declared[k] for k in MODEL_DEFAULTS if declared.get(k) is not None}
        from llama_cpp import LlamaRAMCache

        # Freed before interpreter shutdown, where llama-cpp-python's own __del__ fails noisily.
        weakref.finalize(self, model.close)
        self._prefixes = LlamaRAMCache(capacity_bytes=PREFIX_CACHE_BYTES)
        self._model, self._tokenizer = model, tokenizer
        self._stats = GenerationStats(**{**asdict(self._stats),
                                         "load_seconds": time.perf_counter() - started})

    def close(self) -> None:
        """Free the model and its saved states; the next call loads it again."""
        with self._lock:
            if self._model is not None:
                self._model.close()
            self._model = self._tokenizer = self._prefixes = None

    def _context_limit(self) -> int | None:
        return self._model.n_ctx()

    def _vocab_size(self) -> int:
        return self._model.n_vocab()

    def _run(self, decode: Decode, watch: Watcher | None,
             cancel: threading.Event | None) -> tuple[list[int], int]:
        model = self._model
        sample = decode.temperature > 0
        if sample:
            model.set_seed(decode.seed % (2**32))
        top_p = decode.top_p if decode.top_p is not None else self._defaults.get("top_p", 1.0)
        top_k = decode.top_k if decode.top_k is not None else self._defaults.get("top_k", 0)
        penalty = self._defaults.get("repetition_penalty", 1.0)
        cached = self._restore_prefix(decode.ids)
        new: list[int] = []
        processors = None
        if decode.mask is not None:
            from llama_cpp import LogitsProcessorList

            processors = LogitsProcessorList([decode.mask])
        tokens = model.generate(decode.ids, temp=decode.temperature if sample else 0.0,
                                top_p=top_p, top_k=top_k, min_p=0.0, repeat_penalty=penalty,
                                reset=True, logits_processor=processors)
        try:
            for token in tokens:
                decode.first_token()
                new.append(token)
                if watch is not None:
                    watch.add([token])
                if (token in self._eos or len(new) >= decode.max_new or looping(new)
                        or (watch is not None and watch.stopped)
                        or (cancel is not None and cancel.is_set())):
                    break
        finally:
            tokens.close()
        self._prefixes[model.input_ids[:model.n_tokens].tolist()] = _save(model)
        return new, cached

    def _restore_prefix(self, ids: list[int]) -> int:
        """Start from the saved state sharing the longest prefix with `ids` when it beats the
        live one; return how many prompt tokens need no prefill."""
        from llama_cpp import Llama

        model = self._model
        live = Llama.longest_token_prefix(model.input_ids[:model.n_tokens].tolist(), ids)
        try:
            state = self._prefixes[ids]
        except KeyError:
            state = None
        if state is not None:
            saved = Llama.longest_token_prefix(state.input_ids[:state.n_tokens].tolist(), ids)
            if saved > live:
                _restore(model, state)
                live = saved
        return min(live, len(ids) - 1)  # the last prompt token is always decoded again


def _save(model: Any) -> Any:
    """`model.save_state()` without its logits: that copies n_batch x vocab floats (311 MB for
    Qwen's 152k vocab, about 0.5 s a call here). A restored state decodes its last prompt
    token again (`_restore_prefix`), so no saved logits row is ever read."""
    import ctypes

    import llama_cpp

    size = llama_cpp.llama_state_get_size(model.ctx)
    data = (ctypes.c_uint8 * size)()
    used = llama_cpp.llama_state_get_data(model.ctx, data, size)
    if used > size:
        raise RuntimeError("llama.cpp wrote more state than it sized")
    return llama_cpp.LlamaState(input_ids=model.input_ids.copy(), scores=None,
                                n_tokens=model.n_tokens, llama_state=ctypes.string_at(data, used),
                                llama_state_size=used, seed=model._seed)


def _restore(model: Any, state: Any) -> None:
    """`model.load_state(state)` for a state `_save` made: no logits to put back."""
    import ctypes

    import llama_cpp

    data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
    if llama_cpp.llama_state_set_data(model.ctx, data, state.llama_state_size) \
            != state.llama_state_size:
        raise RuntimeError("llama.cpp did not take the saved state")
    model.input_ids = state.input_ids.copy()
    model.n_tokens = state.n_tokens
    model._seed = state.seed
    model._requires_eval = True  # its logits are not the restored state's


def _apply_lora(model: Any, path: Path) -> None:
    """Apply the GGUF LoRA at `path` to `model`'s context at scale 1 (llama.cpp multiplies by
    alpha/rank). Not `Llama(lora_path=...)`: that turns off memory-mapping the base weights.
    llama.cpp frees the adapter with the model."""
    import ctypes

    import llama_cpp

    adapter = llama_cpp.llama_adapter_lora_init(model.model, str(path).encode())
    if not adapter:
        raise RuntimeError(f"llama.cpp cannot load the LoRA {path}")
    adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
    if llama_cpp.llama_set_adapters_lora(model.ctx, adapters, 1, (ctypes.c_float * 1)(1.0)):
        raise RuntimeError(f"llama.cpp cannot apply the LoRA {path}")


def _json(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}
