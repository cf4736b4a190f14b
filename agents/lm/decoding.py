"""The pieces of a token loop every runtime shares: what one answer asks for, stop strings
and streaming as tokens arrive, seeded sampling, loop detection, end-of-sequence ids."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Decode:
    """What one answer asks of a runtime's token loop."""

    ids: list[int]  # the prompt's token ids
    max_new: int
    temperature: float  # 0: greedy
    top_p: float | None
    top_k: int | None
    seed: int | None  # set when sampling
    mask: Callable[[Any, Any], Any] | None = None  # a logits processor: (ids, scores) -> scores
    # perf_counter() when the first new token came out: the prefill ends there (set by the
    # runtime's token loop).
    first_token_at: float | None = None

    def first_token(self) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()


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
        cut = first_stop(text, self.stops)
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


class seeded:
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


def first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def eos_ids(model: Any, tokenizer: Any) -> Any:
    eos = model.generation_config.eos_token_id
    return eos if eos is not None else tokenizer.eos_token_id


def pad_id(model: Any, tokenizer: Any) -> int | None:
    pad = model.generation_config.pad_token_id
    if pad is None:
        pad = tokenizer.pad_token_id
    if pad is None:
        pad = min(as_set(eos_ids(model, tokenizer)), default=None)
    return pad


def as_set(ids: Any) -> set[int]:
    if ids is None:
        return set()
    return set(ids) if isinstance(ids, list | tuple | set) else {ids}
