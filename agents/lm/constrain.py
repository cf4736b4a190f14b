"""Grammar-constrained decoding: every backend enforces the same Lark grammar (llguidance's
dialect; see `agents.grammar`).

- local engines: an llguidance matcher masks the logits before each token is chosen
  (`TokenMask`, a logits processor for llama.cpp and transformers alike);
- a vLLM server: the grammar travels in the request's `structured_outputs` field, and vLLM's
  `guidance` backend (llguidance again) enforces it.

`constrained(lm, grammar)` returns a copy of a `dspy.LM` whose every call is constrained. It is
a copy with its own model name (the grammar's digest in it), so DSPy's response cache never
hands a constrained call an unconstrained answer or the reverse.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.grammar import grammar_digest


class GrammarError(ValueError):
    """The grammar does not compile for this tokenizer."""


@dataclass
class MaskStats:
    """Time spent computing masks, to report the per-token overhead."""

    tokens: int = 0
    seconds: float = 0.0

    @property
    def ms_per_token(self) -> float:
        return 1000 * self.seconds / self.tokens if self.tokens else 0.0


class TokenMask:
    """An llguidance matcher for one reply, applied to each step's logits.

    Called with the ids so far (prompt included) and the next token's scores: it feeds the
    matcher the tokens generated since the last call and sets every token the grammar forbids
    to -inf. After the grammar's end only the end-of-sequence tokens are left."""

    def __init__(self, matcher: Any, eos: int, prompt_tokens: int, vocab: int,
                 stats: MaskStats | None = None):
        self.matcher = matcher  # a fresh llguidance.LLMatcher (see Matchers)
        self.fed, self.vocab, self.eos = prompt_tokens, vocab, eos
        self.words = np.full((vocab + 31) // 32, -1, dtype=np.int32)
        self.stats = stats or MaskStats()

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        started = time.perf_counter()
        ids = np.asarray(input_ids).reshape(-1).tolist()
        for token in ids[self.fed:]:
            self.matcher.consume_token(int(token))
        self.fed = len(ids)
        forbidden = ~self.allowed()
        if isinstance(scores, np.ndarray):  # llama.cpp
            scores[..., forbidden] = -np.inf
        else:  # a torch tensor from transformers
            import torch

            scores[..., torch.from_numpy(forbidden)] = float("-inf")
        self.stats.tokens += 1
        self.stats.seconds += time.perf_counter() - started
        return scores

    def allowed(self) -> np.ndarray:
        """A bool per token id: may it come next?"""
        if self.matcher.is_error():  # cannot happen while the mask is applied; end the reply
            only_eos = np.zeros(self.vocab, dtype=bool)
            only_eos[self.eos] = True
            return only_eos
        self.matcher.unsafe_compute_mask_ptr(self.words.ctypes.data, self.words.nbytes)
        bits = np.unpackbits(self.words.view(np.uint8), bitorder="little")
        return bits[:self.vocab].astype(bool)


class Matchers:
    """Fresh llguidance matchers for one engine's tokenizer: the tokenizer is built once (it
    walks the vocabulary, ~1 s) and each grammar compiled once (~60 ms for a database's);
    every reply gets a copy of the compiled matcher (well under a millisecond)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokenizers: dict[int, Any] = {}
        self._compiled: dict[tuple[int, str], Any] = {}

    def fresh(self, hf_tokenizer: Any, vocab: int, grammar: str) -> tuple[Any, int]:
        """(a matcher at the start of `grammar`, the end-of-sequence token id)."""
        import llguidance

        with self._lock:
            key = id(hf_tokenizer)
            if key not in self._tokenizers:
                from llguidance.hf import from_tokenizer

                self._tokenizers[key] = from_tokenizer(hf_tokenizer, n_vocab=vocab)
            tokenizer = self._tokenizers[key]
            compiled = self._compiled.get((key, grammar))
            if compiled is None:
                compiled = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
                if compiled.is_error():
                    raise GrammarError(f"the grammar does not compile: {compiled.get_error()}")
                self._compiled[(key, grammar)] = compiled
            return compiled.deep_copy(), tokenizer.eos_token


def constrained(lm: Any, grammar: str) -> Any:
    """A copy of `lm` whose calls are constrained to `grammar`, or None when its backend
    cannot constrain (a server that is not known to take `structured_outputs`).

    On a server the grammar rides on the LM's request parameters, which every DSPy module
    call sends; an explicit `lm(Request)` takes only its own config (DSPy's rule), so such a
    caller puts `structured_outputs` in `Request.config.extensions` itself."""
    from agents.lm.engine import AsyncLocalEngine, LocalEngine

    digest = grammar_digest(grammar)
    engine = getattr(lm, "engine", None)
    if isinstance(engine, LocalEngine):
        bound = engine.with_grammar(grammar)
        return lm.copy(model=f"{lm.model}+grammar-{digest}", engine=bound,
                       async_engine=AsyncLocalEngine(bound))
    if str(getattr(lm, "model", "")).startswith("openai/"):
        extra = dict(lm.kwargs.get("extra_body") or {})
        extra["structured_outputs"] = {"grammar": grammar}
        return lm.copy(extra_body=extra)
    return None
