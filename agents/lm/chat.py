"""Requests as chat messages and prompts: the model's own chat template, or plain lines for a
base model without one; and what a text-only local model refuses."""

from __future__ import annotations

from typing import Any

from dspy.lm15 import (
    Adaptation,
    InvalidRequestError,
    Request,
    TextPart,
    ThinkingPart,
    UnsupportedFeatureError,
)

PROVIDER = "devstarl-local"


def request_messages(request: Request) -> list[dict[str, str]]:
    """`request` as chat-template messages ({"role", "content"}), system text first."""
    return to_chat(request)[0]


def to_chat(request: Request) -> tuple[list[dict[str, str]], list[Adaptation]]:
    """The request as chat-template messages; refuse what a text-only local model cannot do."""
    cfg = request.config
    if request.tools or cfg.tool_choice is not None:
        raise UnsupportedFeatureError("the local engine has no native tool calling",
                                      feature="tools", provider=PROVIDER)
    if cfg.logprobs is not None:
        raise UnsupportedFeatureError("the local engine does not report logprobs",
                                      feature="config.logprobs", provider=PROVIDER)
    if cfg.probabilities == "required":
        raise UnsupportedFeatureError("the local engine does not measure judgments",
                                      feature="config.probabilities", provider=PROVIDER)
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
                feature=f"{where}.parts[{j}]", provider=PROVIDER)
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
            raise InvalidRequestError(f"the chat template refused the messages: {one_line(e)}",
                                      provider=PROVIDER) from e
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"


def one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__
