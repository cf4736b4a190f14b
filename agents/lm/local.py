"""The in-process backend: a Hugging Face causal LM (+ a peft adapter) as a DSPy 3.4 engine.

`LocalEngine` implements DSPy's custom-engine contract (dspy/clients/engines/base.py):
`complete(Request) -> Response`, `stream(Request)` and `close()`, with the types of `dspy.lm15`.
DSPy owns caching, retries and candidate fan-out: for `n > 1` it calls `complete` n times with
the same request, so each sampled call here draws the next seed of a sequence (see `LMConfig.seed`)
and the candidates differ.

Prompts are the model's own chat template applied to the request's system text and messages
(a developer message counts as a system message). A tokenizer without a chat template (a base
model) gets a plain rendering instead: one "role: content" line per message, then "assistant:".

The model loads once per engine, lazily on the first call (or `load()`), and one lock
serializes generation, so concurrent callers are safe (they take turns).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import queue
import re
import threading
import time
import warnings
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from dspy.lm15 import (
    Adaptation,
    ContextLengthError,
    InvalidRequestError,
    Message,
    Request,
    Response,
    StreamDeltaEvent,
    StreamEndEvent,
    StreamStartEvent,
    TextDelta,
    TextPart,
    ThinkingPart,
    UnsupportedFeatureError,
    Usage,
)

from agents.lm.catalogue import CATALOGUE, resolve_model
from agents.lm.config import LMConfig, LMUnavailable
from agents.lm.quiet import quiet_progress

_PROVIDER = "devstarl-local"
_SHORT_DTYPE = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}
# Generation defaults a model's generation_config.json may recommend; used when a request
# leaves them unset, as vLLM does.
_MODEL_DEFAULTS = ("top_p", "top_k", "repetition_penalty")
_PEFT_NOISE = r"`is_gradient_checkpointing` is deprecated"


@dataclass(frozen=True)
class GenerationStats:
    """Totals since the engine was made: enough to compute generated tokens per second."""

    calls: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # prompt tokens whose KV state was reused, not prefilled
    completion_tokens: int = 0
    seconds: float = 0.0  # wall time inside generation calls (tokenize, generate, decode)
    load_seconds: float | None = None

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0

    def since(self, earlier: GenerationStats) -> GenerationStats:
        """The work done between two snapshots."""
        return GenerationStats(
            calls=self.calls - earlier.calls,
            prompt_tokens=self.prompt_tokens - earlier.prompt_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens - earlier.cached_prompt_tokens,
            completion_tokens=self.completion_tokens - earlier.completion_tokens,
            seconds=self.seconds - earlier.seconds,
            load_seconds=self.load_seconds,
        )


@dataclass
class Decode:
    """What one answer asks of a runtime's token loop."""

    ids: list[int]  # the prompt's token ids
    max_new: int
    temperature: float  # 0: greedy
    top_p: float | None
    top_k: int | None
    seed: int | None  # set when sampling


@dataclass
class _Generated:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    seconds: float
    adaptations: list[Adaptation] = field(default_factory=list)


class LocalEngine:
    """A transformers model behind DSPy's engine interface. Make it with `LocalEngine(config)`."""

    def __init__(self, config: LMConfig):
        if config.backend != "local":
            raise ValueError("LocalEngine needs an LMConfig with backend='local'")
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

    # -- DSPy's engine contract ---------------------------------------------------------------

    def complete(self, request: Request) -> Response:
        """Generate one answer for `request` (greedy at temperature 0, else sampled)."""
        messages, adaptations = _to_chat(request)
        out = self._generate(messages, request.config)
        out.adaptations[:0] = adaptations
        return self._response(request, out)

    def stream(self, request: Request) -> Iterator[Any]:
        """Yield a start event, text deltas as tokens are generated, then an end event.

        Closing the iterator early stops generation at the next token.
        """
        messages, adaptations = _to_chat(request)
        events: queue.Queue = queue.Queue()
        cancel = threading.Event()

        def work() -> None:
            try:
                out = self._generate(messages, request.config, sink=events.put, cancel=cancel)
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

    def render_prompt(self, request: Request) -> str:
        """The exact text the model is given for `request` (chat template applied)."""
        messages, _ = _to_chat(request)
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

    # -- Loading ------------------------------------------------------------------------------

    def _load_locked(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        cfg = self.config
        started = time.perf_counter()
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        path = resolve_model(cfg.model)
        try:
            with quiet_progress():
                tokenizer = AutoTokenizer.from_pretrained(path)
                model = AutoModelForCausalLM.from_pretrained(
                    path, dtype=getattr(torch, cfg.resolved_dtype()))
                if cfg.adapter is not None:
                    from peft import PeftModel

                    with warnings.catch_warnings():  # peft 0.21 asks transformers 5 for it
                        warnings.filterwarnings("ignore", _PEFT_NOISE, FutureWarning)
                        peft_model = PeftModel.from_pretrained(model, cfg.adapter)
                    # Merged: generation runs at the base model's speed.
                    model = peft_model.merge_and_unload()
            model.to(cfg.device).eval()
        except LMUnavailable:
            raise
        except Exception as e:  # noqa: BLE001 - any loader failure becomes one clear line
            what = f"{path}" + (f" with adapter {cfg.adapter}" if cfg.adapter else "")
            raise LMUnavailable(f"cannot load the local model {what}: {_one_line(e)}") from e
        declared = model.generation_config.to_diff_dict()
        self._defaults = {k: declared[k] for k in _MODEL_DEFAULTS if declared.get(k) is not None}
        self._eos = _as_set(_eos_ids(model, tokenizer))
        self._pad = _pad_id(model, tokenizer)
        self._model, self._tokenizer = model, tokenizer
        self._stats = GenerationStats(**{**asdict(self._stats),
                                         "load_seconds": time.perf_counter() - started})

    # -- Generation ---------------------------------------------------------------------------

    def _generate(self, messages: list[dict[str, str]], config: Any,
                  sink: Callable[[str], None] | None = None,
                  cancel: threading.Event | None = None) -> _Generated:
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
                    provider=_PROVIDER)
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
            watch = Watcher(tokenizer, stops, sink) if (stops or sink) else None
            new, cached = self._run(decode, watch, cancel)
            text = tokenizer.decode(new, skip_special_tokens=True)
            stopped_at = _first_stop(text, stops)
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
                load_seconds=s.load_seconds)
        return _Generated(text, prompt_tokens, len(new), finish, seconds, adaptations)

    def _context_limit(self) -> int | None:
        return getattr(self._model.config, "max_position_embeddings", None)

    def _run(self, decode: Decode, watch: Watcher | None,
             cancel: threading.Event | None) -> tuple[list[int], int]:
        """transformers' `generate`: the new token ids (an end-of-sequence token included)
        and how many prompt tokens were reused (none: every call prefills its prompt)."""
        import torch
        from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

        model, prompt_tokens = self._model, len(decode.ids)
        sample = decode.temperature > 0
        gen = dict(max_new_tokens=decode.max_new, do_sample=sample,
                   eos_token_id=sorted(self._eos), pad_token_id=self._pad)
        if sample:
            gen.update(self._defaults, temperature=decode.temperature)
            if decode.top_p is not None:
                gen["top_p"] = decode.top_p
            if decode.top_k is not None:
                gen["top_k"] = decode.top_k
        elif "repetition_penalty" in self._defaults:
            gen["repetition_penalty"] = self._defaults["repetition_penalty"]

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                done = (watch is not None and watch.stopped) or (
                    cancel is not None and cancel.is_set()) or looping(
                    input_ids[0, prompt_tokens:].tolist())
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool,
                                  device=input_ids.device)

        ids = torch.tensor([decode.ids], device=self.config.device)
        with torch.inference_mode(), _seeded(decode.seed, self.config.device):
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 generation_config=GenerationConfig(**gen),
                                 stopping_criteria=StoppingCriteriaList([_Stop()]),
                                 streamer=watch)
        return out[0, prompt_tokens:].tolist(), 0

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


class AsyncLocalEngine:
    """The async face of a `LocalEngine` (for `dspy.LM.acall` and async programs): each call
    runs in a worker thread, and the sync engine's lock still serializes generation."""

    def __init__(self, engine: LocalEngine):
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


def request_messages(request: Request) -> list[dict[str, str]]:
    """`request` as chat-template messages ({"role", "content"}), system text first."""
    return _to_chat(request)[0]


def _to_chat(request: Request) -> tuple[list[dict[str, str]], list[Adaptation]]:
    """The request as chat-template messages; refuse what a text-only local model cannot do."""
    cfg = request.config
    if request.tools or cfg.tool_choice is not None:
        raise UnsupportedFeatureError("the local engine has no native tool calling",
                                      feature="tools", provider=_PROVIDER)
    if cfg.logprobs is not None:
        raise UnsupportedFeatureError("the local engine does not report logprobs",
                                      feature="config.logprobs", provider=_PROVIDER)
    if cfg.probabilities == "required":
        raise UnsupportedFeatureError("the local engine does not measure judgments",
                                      feature="config.probabilities", provider=_PROVIDER)
    dropped = [name for name in ("response_format", "reasoning", "cache", "frequency_penalty",
                                 "presence_penalty", "service_tier", "user_id", "store",
                                 "probabilities") if getattr(cfg, name) is not None]
    dropped += [f"extensions.{key}" for key in (cfg.extensions or {})]
    adaptations = [Adaptation(field=f"config.{name}", action="dropped", asked=None,
                              reason="the local engine has no such setting")
                   for name in dropped]
    messages = []
    if request.system is not None:
        system = request.system if isinstance(request.system, str) else _text(
            request.system, "system")
        messages.append({"role": "system", "content": system})
    for i, message in enumerate(request.messages):
        role = "system" if message.role == "developer" else message.role
        messages.append({"role": role, "content": _text(message.parts, f"messages[{i}]")})
    return messages, adaptations


def _text(parts: tuple, where: str) -> str:
    texts = []
    for j, part in enumerate(parts):
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif not isinstance(part, ThinkingPart):  # earlier reasoning is not replayed
            raise UnsupportedFeatureError(
                f"the local engine takes text only, not a {part.type} part at {where}",
                feature=f"{where}.parts[{j}]", provider=_PROVIDER)
    return "".join(texts)


def render_chat(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The prompt text for chat `messages`: the tokenizer's chat template with the assistant
    turn opened, or, without a template, "role: content" lines and then "assistant:".
    Training data goes through this too, so training and inference prompts never drift."""
    if getattr(tokenizer, "chat_template", None):
        try:
            return tokenizer.apply_chat_template(messages, tokenize=False,
                                                 add_generation_prompt=True)
        except Exception as e:  # noqa: BLE001 - e.g. a template that rejects a role order
            raise InvalidRequestError(f"the chat template refused the messages: {_one_line(e)}",
                                      provider=_PROVIDER) from e
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"


class Watcher:
    """A transformers streamer: decodes as tokens arrive, spots stop strings, and hands
    text that can no longer be cut by a stop string to `sink`."""

    def __init__(self, tokenizer: Any, stops: tuple[str, ...],
                 sink: Callable[[str], None] | None):
        self.tokenizer, self.stops, self.sink = tokenizer, stops, sink
        self.hold = max((len(s) for s in stops), default=1) - 1
        self.ids: list[int] = []
        self.prompt_seen = False
        self.stopped = False
        self.sent = 0

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt
            self.prompt_seen = True
            return
        self.add(value.reshape(-1).tolist())

    def add(self, ids: list[int]) -> None:
        """New token ids, from a runtime that loops over tokens itself."""
        self.ids.extend(ids)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        cut = _first_stop(text, self.stops)
        if cut is not None:
            self.stopped = True
            text = text[:cut]
            safe = len(text)
        else:
            safe = len(text) - self.hold - (1 if text.endswith("\ufffd") else 0)
        if self.sink is not None and safe > self.sent:
            self.sink(text[self.sent:safe])
            self.sent = safe

    def end(self) -> None:
        pass

    def finish(self, text: str) -> str:
        """Send the rest of `text`; return the text the deltas add up to."""
        sent = self.sent
        if self.sink is not None and len(text) > sent:
            self.sink(text[sent:])
            self.sent = len(text)
        return text


class _seeded:
    """Seed torch's generators for one sampled call, restoring the outer state afterwards."""

    def __init__(self, seed: int | None, device: str):
        self.seed, self.device, self._fork = seed, device, None

    def __enter__(self) -> None:
        if self.seed is None:
            return
        import torch

        devices = []
        if self.device.startswith("cuda"):
            devices = [torch.device(self.device).index or 0]
        self._fork = torch.random.fork_rng(devices=devices)
        self._fork.__enter__()
        torch.manual_seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        if self._fork is not None:
            self._fork.__exit__(*exc)


LOOP_TOKENS = 48  # a reply whose last 48 tokens repeat one short pattern is stuck in a loop


def looping(ids: list[int], window: int = LOOP_TOKENS, longest: int = 8) -> bool:
    """True when the last `window` tokens repeat a pattern of at most `longest` tokens
    (`1000000...`, `)))...`, one line over and over): greedy decoding never leaves such a loop,
    so generating on only burns time up to max_tokens."""
    if len(ids) < window + longest:
        return False
    tail = ids[-window - longest:]
    return any(tail[longest:] == tail[longest - p:len(tail) - p] for p in range(1, longest + 1))


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def _eos_ids(model: Any, tokenizer: Any) -> Any:
    eos = model.generation_config.eos_token_id
    return eos if eos is not None else tokenizer.eos_token_id


def _pad_id(model: Any, tokenizer: Any) -> int | None:
    pad = model.generation_config.pad_token_id
    if pad is None:
        pad = tokenizer.pad_token_id
    if pad is None:
        pad = min(_as_set(_eos_ids(model, tokenizer)), default=None)
    return pad


def _as_set(ids: Any) -> set[int]:
    if ids is None:
        return set()
    return set(ids) if isinstance(ids, list | tuple | set) else {ids}


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__
