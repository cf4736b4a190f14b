"""Options several commands share, declared once and handed to the command as one config:
the model options of ask, chat, synth and optimize (--backend --model --adapter --api-base
--max-tokens --runtime) as an `LMConfig`, the pipeline options of ask, chat and synth
(--rounds --candidates --redrafts --shots --constrain/--no-constrain
--constrain-retry/--no-constrain-retry [--docs-k]) as an
`AgentConfig`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from agents.config import AgentConfig
from agents.lm import DEFAULT_MODEL, LMConfig
from agents.lm.catalogue import CATALOGUE

_HELP = LMConfig.help()
_ADAPTER_HELP = _HELP["adapter"] + (
    " Default: the database's registered adapter, if any; 'none' for the base model.")
_AGENT = AgentConfig()
_MEASURED = ", ".join(f"{m.rounds} for {m.name}" for m in CATALOGUE.values()
                      if m.rounds is not None)
ROUNDS_HELP = (f"Revise rounds after a failed draft. Default: the model's ({_MEASURED}), "
               f"else {_AGENT.rounds}.")


def _option(name: str, kind: Any, default: Any, help_text: str, *flags: str) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[kind, typer.Option(*flags, help=help_text)])


def _inject(name: str, options: list[inspect.Parameter], build: Callable[..., Any],
            uses: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """Decorate `command(..., <name>: Config)`: typer sees `options` in place of `<name>` (it
    reads the signature) and the command gets `build(**their values)`. `uses` names configs an
    outer decorator injected, handed to `build` too (and still to the command)."""

    def decorate(command: Callable) -> Callable:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.name != name]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            value = build(**{p.name: kwargs.pop(p.name) for p in options},
                          **{n: kwargs[n] for n in uses})
            return command(*args, **{name: value}, **kwargs)

        run.__signature__ = inspect.Signature([*own, *options])  # type: ignore[attr-defined]
        return run

    return decorate


def model_options(max_tokens: int = LMConfig.max_tokens) -> Callable[[Callable], Callable]:
    """The model options as `lm: LMConfig`; `max_tokens` is the command's default reply
    length."""
    return _inject("lm", [
        _option("backend", str, "local", _HELP["backend"]),
        _option("model", str, DEFAULT_MODEL, _HELP["model"]),
        _option("adapter", str | None, None, _ADAPTER_HELP),
        _option("api_base", str | None, None, _HELP["api_base"], "--api-base"),
        _option("max_tokens", int, max_tokens, _HELP["max_tokens"]),
        _option("runtime", str, LMConfig.runtime, _HELP["runtime"]),
    ], LMConfig)


def agent_options(docs: bool = False) -> Callable[[Callable], Callable]:
    """The pipeline options as `config: AgentConfig` (with `docs`, --docs-k too). Goes under
    `model_options`: the default revise rounds are the model's."""
    options = [
        _option("rounds", int | None, None, ROUNDS_HELP),
        _option("candidates", int, _AGENT.candidates,
                "Drafts voted on by their results: the greedy one and the rest sampled."),
        _option("redrafts", int, _AGENT.redrafts,
                "Drafts sampled again when none worked, before revising (0 = none)."),
        _option("shots", int, _AGENT.shots_k,
                "Verified examples over the database recalled per question; the bank is drawn "
                "from the schema on first use (0 = none, nothing drawn)."),
        _option("constrain", bool, _AGENT.constrain,
                "Decode programs within a grammar of the database's tables, columns and the "
                "Ibis API.", "--constrain/--no-constrain"),
        _option("constrain_retry", bool, _AGENT.constrain_retry,
                "When no draft works, write it once more within that grammar.",
                "--constrain-retry/--no-constrain-retry"),
    ]
    if docs:
        options.append(_option("docs_k", int, _AGENT.docs_k, "Doc snippets per prompt (0: none).",
                               "--docs-k"))

    def build(shots: int, lm: LMConfig, **rest: Any) -> AgentConfig:
        return AgentConfig.for_model(lm.model, shots_k=shots, **rest)

    return _inject("config", options, build, uses=("lm",))
