"""The in-process engine frame every local runtime shares: DSPy 3.4's custom-engine contract
(dspy/clients/engines/base.py: `complete(Request) -> Response`, `stream(Request)`, `close()`,
with the types of `dspy.lm15`), the prompt, context limit, seeds, stops and stats around a
runtime's token loop, and saving an engine with a program.

DSPy owns caching, retries and candidate fan-out: for `n > 1` it calls `complete` n times with
the same request, so each sampled call draws the next seed of a sequence (see `LMConfig.seed`)
and the candidates differ. The model loads once per engine, lazily on the first call (or
`load()`), and one lock serializes generation, so concurrent callers take turns.
Runtimes: `agents.lm.transformers_engine` (the reference, adapters through peft) and
`agents.lm.llamacpp` (the GGUF, adapters converted by `agents.lm.lora_gguf`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import queue
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from dspy.lm15 import (
    Adaptation,
    ContextLengthError,
    Message,
    Request,
    Response,
    StreamDeltaEvent,
    StreamEndEvent,
    StreamStartEvent,
    TextDelta,
    TextPart,
    Usage,
)

from agents.lm.catalogue import CATALOGUE, resolve_model
from agents.lm.chat import PROVIDER, render_chat, to_chat
from agents.lm.config import LMConfig
from agents.lm.constrain import MaskStats, Matchers, TokenMask
from agents.lm.decoding import Decode, Watcher, first_stop

_SHORT_DTYPE = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}


@dataclass(frozen=True)
class GenerationStats:
    """Totals since the engine was made: enough to compute generated tokens per second."""

    calls: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # prompt tokens whose KV state was reused, not prefilled
    completion_tokens: int = 0
    seconds: float = 0.0  # wall time inside generation calls (tokenize, generate, decode)
    load_seconds: float | None = None
    # The token loop split at its first new token: before it the prompt's uncached tokens are
    # prefilled (and one token sampled); after it each further token is one decode step
    # (llama.cpp's saving of the KV state, a few ms, falls in the decode time).
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    decoded_tokens: int = 0  # new tokens after the first of each call

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def prefill_tokens_per_second(self) -> float:
        prefilled = self.prompt_tokens - self.cached_prompt_tokens
        return prefilled / self.prefill_seconds if self.prefill_seconds > 0 else 0.0

    @property
    def decode_tokens_per_second(self) -> float:
        return self.decoded_tokens / self.decode_seconds if self.decode_seconds > 0 else 0.0

    def since(self, earlier: GenerationStats) -> GenerationStats:
        """The work done between two snapshots."""
        return GenerationStats(
            calls=self.calls - earlier.calls,
            prompt_tokens=self.prompt_tokens - earlier.prompt_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens - earlier.cached_prompt_tokens,
            completion_tokens=self.completion_tokens - earlier.completion_tokens,
            seconds=self.seconds - earlier.seconds,
            load_seconds=self.load_seconds,
            prefill_seconds=self.prefill_seconds - earlier.prefill_seconds,
            decode_seconds=self.decode_seconds - earlier.decode_seconds,
            decoded_tokens=self.decoded_tokens - earlier.decoded_tokens,
        )


@dataclass
class _Generated:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    seconds: float
    adaptations: list[Adaptation] = field(default_factory=list)


class LocalEngine:
    """An in-process model behind DSPy's engine interface; a runtime subclass loads the model
    and runs the token loop. Make one with `agents.lm.make_engine(config)`."""

    def __init__(self, config: LMConfig):
        if config.backend != "local":
            raise ValueError("a local engine needs an LMConfig with backend='local'")
        self.config = config.validate()
        self.name = engine_name(config)
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._defaults: dict[str, Any] = {}
        self._eos: set[int] = set()
        self._pad: int | None = None
        self._draws = 0
        self._stats = GenerationStats()
        self._mask_stats = MaskStats()
        self._matchers = Matchers()

    # -- DSPy's engine contract ---------------------------------------------------------------

    def complete(self, request: Request, grammar: str | None = None) -> Response:
        """Generate one answer for `request` (greedy at temperature 0, else sampled), within
        `grammar` (a Lark grammar, `agents.lm.constrain`) when one is given."""
        messages, adaptations = to_chat(request)
        out = self._generate(messages, request.config, grammar=grammar)
        out.adaptations[:0] = adaptations
        return self._response(request, out)

    def stream(self, request: Request, grammar: str | None = None) -> Iterator[Any]:
        """Yield a start event, text deltas as tokens are generated, then an end event.

        Closing the iterator early stops generation at the next token.
        """
        messages, adaptations = to_chat(request)
        events: queue.Queue = queue.Queue()
        cancel = threading.Event()

        def work() -> None:
            try:
                out = self._generate(messages, request.config, sink=events.put, cancel=cancel,
                                     grammar=grammar)
                events.put(out)
            except BaseException as e:  # noqa: BLE001 - handed to the consuming thread
                events.put(e)

        worker = threading.Thread(target=work, name="devstarl-local-stream", daemon=True)
        worker.start()
        try:
            yield StreamStartEvent(model=request.model, adaptations=tuple(adaptations))
            while True:
                item = events.get()
                if isinstance(item, str):
                    yield StreamDeltaEvent(delta=TextDelta(text=item))
                elif isinstance(item, _Generated):
                    yield StreamEndEvent(
                        finish_reason=item.finish_reason,
                        usage=Usage(input_tokens=item.prompt_tokens,
                                    output_tokens=item.completion_tokens),
                        provider_data={"generation_seconds": round(item.seconds, 4)},
                    )
                    return
                else:
                    raise item
        finally:
            cancel.set()
            worker.join()

    def close(self) -> None:
        """Free the model; the next call loads it again."""
        with self._lock:
            self._model = None
            self._tokenizer = None

    # -- Ours ---------------------------------------------------------------------------------

    def load(self) -> LocalEngine:
        """Load the model now rather than on the first call. Raises `LMUnavailable`."""
        with self._lock:
            self._load_locked()
        return self

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def generation_stats(self) -> GenerationStats:
        return self._stats

    def with_grammar(self, grammar: str) -> GrammarBound:
        """This engine with every reply constrained to `grammar` (see agents.lm.constrain)."""
        return GrammarBound(self, grammar)

    @property
    def mask_stats(self) -> MaskStats:
        """Time spent masking logits for constrained replies, over all of them."""
        return self._mask_stats

    def render_prompt(self, request: Request) -> str:
        """The exact text the model is given for `request` (chat template applied)."""
        messages, _ = to_chat(request)
        with self._lock:
            self._load_locked()
            return render_chat(self._tokenizer, messages)

    def dump_state(self) -> dict[str, Any]:
        """JSON state for saving a DSPy program that holds this engine (no secrets)."""
        state = {k: v for k, v in asdict(self.config).items() if k not in ("api_base", "api_key")}
        for key in ("model", "adapter"):  # folders as absolute paths: loadable from anywhere
            if state[key] is not None and state[key] not in CATALOGUE:
                state[key] = str(Path(state[key]).expanduser().resolve())
        return state

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> LocalEngine:
        """The engine `state` describes; one engine per state while it lives, so a loaded
        program's sync and async engines share one model."""
        known = {f.name for f in fields(LMConfig)}
        config = LMConfig(**{k: v for k, v in state.items() if k in known})
        key = json.dumps(asdict(config), sort_keys=True)
        with _shared_lock:
            engine = _shared.get(key)
            if engine is None:
                from agents.lm.llamacpp import make_engine  # it imports this module

                engine = _shared[key] = make_engine(config)
        return engine

    def __deepcopy__(self, memo: dict) -> LocalEngine:
        # DSPy deep-copies programs (optimizers, Module.deepcopy); the engine is a shared,
        # borrowed resource: copies of a program share one loaded model.
        return self

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])

    # -- What a runtime provides ---------------------------------------------------------------

    def _load_locked(self) -> None:
        """Load the model and tokenizer (the lock is held); set `_eos` and `_defaults`."""
        raise NotImplementedError

    def _context_limit(self) -> int | None:
        raise NotImplementedError

    def _run(self, decode: Decode, watch: Watcher | None,
             cancel: threading.Event | None) -> tuple[list[int], int]:
        """The new token ids (an end-of-sequence token included) and how many prompt tokens
        were reused rather than prefilled."""
        raise NotImplementedError

    # -- Generation ---------------------------------------------------------------------------

    def _vocab_size(self) -> int:
        """Rows of the model's logits (the tokenizer may name fewer ids)."""
        raise NotImplementedError

    def _generate(self, messages: list[dict[str, str]], config: Any,
                  sink: Callable[[str], None] | None = None,
                  cancel: threading.Event | None = None,
                  grammar: str | None = None) -> _Generated:
        """One answer: the parts every runtime shares (prompt, context limit, seed, stops,
        stats) around `_run`, which is the runtime's own token loop."""
        cfg = self.config
        temperature = cfg.temperature if config.temperature is None else config.temperature
        max_new = cfg.max_tokens if config.max_tokens is None else config.max_tokens
        stops = tuple(config.stop or ())
        with self._lock:
            self._load_locked()
            tokenizer = self._tokenizer
            started = time.perf_counter()
            adaptations: list[Adaptation] = []
            prompt = render_chat(tokenizer, messages)
            add_special = not getattr(tokenizer, "chat_template", None)
            ids = tokenizer(prompt, add_special_tokens=add_special)["input_ids"]
            prompt_tokens = len(ids)
            limit = self._context_limit()
            if limit and prompt_tokens >= limit:
                raise ContextLengthError(
                    f"the prompt has {prompt_tokens} tokens; {self.name} takes at most {limit}",
                    provider=PROVIDER)
            if limit and prompt_tokens + max_new > limit:
                adaptations.append(Adaptation(
                    field="config.max_tokens", action="clamped", asked=max_new,
                    applied=limit - prompt_tokens,
                    reason=f"the prompt and answer must fit the model's {limit}-token context"))
                max_new = limit - prompt_tokens
            decode = Decode(ids=ids, max_new=max_new, temperature=temperature,
                             top_p=config.top_p, top_k=config.top_k, seed=None)
            if temperature > 0:
                base = cfg.seed if config.seed is None else config.seed
                decode.seed = (base * 1_000_003 + self._draws) % (2**63)
                self._draws += 1
            if grammar is not None:
                vocab = self._vocab_size()
                matcher, eos = self._matchers.fresh(tokenizer, vocab, grammar)
                decode.mask = TokenMask(matcher, eos, prompt_tokens, vocab, self._mask_stats)
            watch = Watcher(tokenizer, stops, sink) if (stops or sink) else None
            loop_started = time.perf_counter()
            new, cached = self._run(decode, watch, cancel)
            loop_ended = time.perf_counter()
            first = decode.first_token_at or loop_ended
            text = tokenizer.decode(new, skip_special_tokens=True)
            stopped_at = first_stop(text, stops)
            if stopped_at is not None:
                text = text[:stopped_at]
            if watch is not None and sink is not None:
                text = watch.finish(text)
            if stopped_at is not None or (new and new[-1] in self._eos) or len(new) < max_new:
                finish = "stop"
            else:
                finish = "length"
            seconds = time.perf_counter() - started
            s = self._stats
            self._stats = GenerationStats(
                calls=s.calls + 1, prompt_tokens=s.prompt_tokens + prompt_tokens,
                cached_prompt_tokens=s.cached_prompt_tokens + cached,
                completion_tokens=s.completion_tokens + len(new), seconds=s.seconds + seconds,
                load_seconds=s.load_seconds,
                prefill_seconds=s.prefill_seconds + (first - loop_started),
                decode_seconds=s.decode_seconds + (loop_ended - first),
                decoded_tokens=s.decoded_tokens + max(0, len(new) - 1))
        return _Generated(text, prompt_tokens, len(new), finish, seconds, adaptations)

    def _response(self, request: Request, out: _Generated) -> Response:
        return Response(
            id=None,
            model=request.model,
            message=Message(role="assistant", parts=(TextPart(out.text),)),
            finish_reason=out.finish_reason,
            usage=Usage(input_tokens=out.prompt_tokens, output_tokens=out.completion_tokens),
            provider_data={"generation_seconds": round(out.seconds, 4)},
            adaptations=tuple(out.adaptations),
        )


class GrammarBound:
    """A `LocalEngine` seen through DSPy's engine contract with every reply constrained to one
    grammar. It borrows the engine: closing it frees nothing."""

    def __init__(self, engine: LocalEngine, grammar: str):
        self.engine, self.grammar = engine, grammar

    def complete(self, request: Request) -> Response:
        return self.engine.complete(request, grammar=self.grammar)

    def stream(self, request: Request) -> Iterator[Any]:
        return self.engine.stream(request, grammar=self.grammar)

    def close(self) -> None:
        pass

    def dump_state(self) -> dict[str, Any]:
        return self.engine.dump_state()

    def __deepcopy__(self, memo: dict) -> GrammarBound:
        return self


class AsyncLocalEngine:
    """The async face of a `LocalEngine` (for `dspy.LM.acall` and async programs): each call
    runs in a worker thread, and the sync engine's lock still serializes generation."""

    def __init__(self, engine: LocalEngine | GrammarBound):
        self.engine = engine

    async def complete(self, request: Request) -> Response:
        return await asyncio.to_thread(self.engine.complete, request)

    async def stream(self, request: Request) -> AsyncIterator[Any]:
        events = self.engine.stream(request)
        done = object()
        try:
            while (event := await asyncio.to_thread(next, events, done)) is not done:
                yield event
        finally:
            await asyncio.to_thread(events.close)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.engine.close)

    def dump_state(self) -> dict[str, Any]:
        return self.engine.dump_state()

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> AsyncLocalEngine:
        return cls(LocalEngine.load_state(state))

    def __deepcopy__(self, memo: dict) -> AsyncLocalEngine:
        return self


_shared: weakref.WeakValueDictionary[str, LocalEngine] = weakref.WeakValueDictionary()
_shared_lock = threading.Lock()


def engine_name(config: LMConfig, weights: str | None = None) -> str:
    """`<model>[+<adapter>]@<weights>-<fingerprint>`: DSPy keys its response cache by this name
    (not by the engine), so it changes whenever the weights, template or dtype do. `weights`
    names the weights format; default the dtype the weights load in."""
    path = resolve_model(config.model).resolve()  # a catalogue model must be installed
    label = config.model if config.model in CATALOGUE else path.name
    parts = [_model_fingerprint(path)]
    if config.adapter is not None:
        adapter = Path(config.adapter).expanduser().resolve()
        label += "+" + adapter.name
        parts.append(_adapter_fingerprint(adapter))
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]
    label = re.sub(r"[^A-Za-z0-9._+-]+", "-", label)
    if weights is None:
        dtype = config.resolved_dtype()
        weights = _SHORT_DTYPE.get(dtype, dtype)
    return f"{label}@{weights}-{digest}"


def _model_fingerprint(path: Path) -> str:
    """Cheap: small files by content, weights by name, size and modification time."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.iterdir() if p.is_file()):
        if f.suffix in (".json", ".jinja", ".model", ".txt"):
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
        else:
            st = f.stat()
            h.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def _adapter_fingerprint(path: Path) -> str:
    """By content: adapters are small, and a retrained one must never hit old cache entries."""
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.is_file() and (f.name == "adapter_config.json" or f.name.startswith("adapter_model")):
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()
