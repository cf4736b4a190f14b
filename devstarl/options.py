"""The model options ask, chat, synth and optimize share (--backend --model --adapter --api-base
--max-tokens --runtime), declared once and handed to the command as one `LMConfig`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from agents.lm import DEFAULT_MODEL, LMConfig

_HELP = LMConfig.help()
_ADAPTER_HELP = _HELP["adapter"] + (
    " Default: the database's registered adapter, if any; 'none' for the base model.")


def _option(name: str, kind: Any, default: Any, help_text: str, *flags: str) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[kind, typer.Option(*flags, help=help_text)])


def model_options(max_tokens: int = LMConfig.max_tokens) -> Callable[[Callable], Callable]:
    """Decorate `command(..., lm: LMConfig)`: typer sees the model options in place of `lm`
    (it reads the signature) and the command gets them as one config; `max_tokens` is the
    command's default reply length."""
    options = [
        _option("backend", str, "local", _HELP["backend"]),
        _option("model", str, DEFAULT_MODEL, _HELP["model"]),
        _option("adapter", str | None, None, _ADAPTER_HELP),
        _option("api_base", str | None, None, _HELP["api_base"], "--api-base"),
        _option("max_tokens", int, max_tokens, _HELP["max_tokens"]),
        _option("runtime", str, LMConfig.runtime, _HELP["runtime"]),
    ]

    def decorate(command: Callable) -> Callable:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.name != "lm"]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            lm = LMConfig(**{p.name: kwargs.pop(p.name) for p in options})
            return command(*args, lm=lm, **kwargs)

        run.__signature__ = inspect.Signature([*own, *options])  # type: ignore[attr-defined]
        return run

    return decorate
