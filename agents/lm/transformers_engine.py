"""The transformers runtime: a Hugging Face causal LM (+ a peft adapter, merged) in this process.
The reference runtime (adapters applied with peft itself); its weights load in
`LMConfig.resolved_dtype()`."""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import asdict

from agents.lm.catalogue import resolve_model
from agents.lm.chat import one_line
from agents.lm.config import LMUnavailable
from agents.lm.decoding import Decode, Watcher, as_set, eos_ids, looping, pad_id, seeded
from agents.lm.engine import GenerationStats, LocalEngine
from agents.lm.quiet import quiet_progress

# Generation defaults a model's generation_config.json may recommend; used when a request
# leaves them unset, as vLLM does.
MODEL_DEFAULTS = ("top_p", "top_k", "repetition_penalty")
_PEFT_NOISE = r"`is_gradient_checkpointing` is deprecated"


class TransformersEngine(LocalEngine):
    """`LocalEngine` with transformers' `generate` as the token loop."""

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
            raise LMUnavailable(f"cannot load the local model {what}: {one_line(e)}") from e
        declared = model.generation_config.to_diff_dict()
        self._defaults = {k: declared[k] for k in MODEL_DEFAULTS if declared.get(k) is not None}
        self._eos = as_set(eos_ids(model, tokenizer))
        self._pad = pad_id(model, tokenizer)
        self._model, self._tokenizer = model, tokenizer
        self._stats = GenerationStats(**{**asdict(self._stats),
                                         "load_seconds": time.perf_counter() - started})

    def _context_limit(self) -> int | None:
        return getattr(self._model.config, "max_position_embeddings", None)

    def _vocab_size(self) -> int:
        return self._model.get_output_embeddings().weight.shape[0]

    def _run(self, decode: Decode, watch: Watcher | None,
             cancel: threading.Event | None) -> tuple[list[int], int]:
        """transformers' `generate`: the new token ids (an end-of-sequence token included)
        and how many prompt tokens were reused (none: every call prefills its prompt)."""
        import torch
        from transformers import (
            GenerationConfig,
            LogitsProcessorList,
            StoppingCriteria,
            StoppingCriteriaList,
        )

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
                decode.first_token()  # called once per new token, first after the prefill
                done = (watch is not None and watch.stopped) or (
                    cancel is not None and cancel.is_set()) or looping(
                    input_ids[0, prompt_tokens:].tolist())
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool,
                                  device=input_ids.device)

        ids = torch.tensor([decode.ids], device=self.config.device)
        with torch.inference_mode(), seeded(decode.seed, self.config.device):
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 generation_config=GenerationConfig(**gen),
                                 stopping_criteria=StoppingCriteriaList([_Stop()]),
                                 logits_processor=LogitsProcessorList(
                                     [decode.mask] if decode.mask is not None else []),
                                 streamer=watch)
        return out[0, prompt_tokens:].tolist(), 0
