"""The prompt format the model is trained on and prompted with: markdown sections in, one field out.

DSPy's ChatAdapter asks for `[[ ## field ## ]]` markers that a small model does not produce, so
each signature here has exactly one output field and the whole reply is that field: a fenced
```python block for `code`, plain text otherwise. Parsing tolerates near-misses (no fence, an
unclosed fence, chatter around the block) and never raises, so a bad reply becomes feedback for
the next round. The same class formats training data (`format_finetune_data`), so inference
prompts and fine-tuning examples cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

import dspy
from dspy.signatures.signature import Signature

from agents.tidy import parses

CODE_FIELDS = frozenset({"code", "fixed_code"})
CLOSING_FENCE = "\n```\n"  # a stop sequence: the reply is complete once its block closes
OPENING_FENCE = "```"  # a stop sequence for prose replies: a block is not prose
_INLINE = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)


class CodeAdapter(dspy.Adapter):
    """Formats a one-output signature as system instructions + markdown sections."""

    def format_system_message(self, signature: type[Signature]) -> str:
        (name, field), = _single_output(signature).items()
        instructions = (signature.instructions or "").strip()
        if name in CODE_FIELDS:
            reply = "Reply with one ```python code block and nothing else."
        else:
            reply = f"Reply with the {_title(name).lower()} only, in plain text."
        return f"{instructions}\n\n{reply}".strip()

    def format_user_message_content(
        self,
        signature: type[Signature],
        inputs: dict[str, Any],
        prefix: str = "",
        suffix: str = "",
        main_request: bool = False,
    ) -> str:
        sections = [prefix] if prefix else []
        for name in signature.input_fields:
            value = inputs.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            text = value if isinstance(value, str) else str(value)
            if name in CODE_FIELDS:
                text = fence(text)
            sections.append(f"### {_title(name)}\n{text.strip()}")
        if suffix:
            sections.append(suffix)
        return "\n\n".join(sections)

    def format_assistant_message_content(
        self,
        signature: type[Signature],
        outputs: dict[str, Any],
        missing_field_message: str | None = None,
    ) -> str:
        (name, _), = _single_output(signature).items()
        value = outputs.get(name, missing_field_message or "")
        return fence(str(value)) if name in CODE_FIELDS else str(value).strip()

    def parse(self, signature: type[Signature], completion: str) -> dict[str, Any]:
        (name, _), = _single_output(signature).items()
        return {name: extract_code(completion) if name in CODE_FIELDS else completion.strip()}

    def format_finetune_data(
        self,
        signature: type[Signature],
        demos: list[dict[str, Any]],
        inputs: dict[str, Any],
        outputs: dict[str, Any],
    ) -> dict[str, list[dict[str, str]]]:
        """One chat example, formatted exactly as the inference prompt plus the reply."""
        messages = self.format(signature=signature, demos=demos, inputs=inputs)
        reply = self.format_assistant_message_content(signature, outputs)
        return {"messages": [*messages, {"role": "assistant", "content": reply}]}


def fence(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def extract_code(text: str) -> str:
    """The program in a reply: the first python (or unlabelled) fenced block; else the reply
    when it is code; else the longest `inline` span of code in prose ("the fix is `x.y()`");
    else the reply, for the tools to reject."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    for lang, body in blocks:
        if lang in ("python", "py", ""):
            return body.strip()
    if blocks:
        return blocks[0][1].strip()
    reply = text.replace("```", "").strip()
    if parses(reply):
        return reply
    spans = sorted((m.strip() for m in _INLINE.findall(reply)), key=len, reverse=True)
    return next((span for span in spans if "(" in span and parses(span)), reply)


def _single_output(signature: type[Signature]) -> dict[str, Any]:
    outputs = signature.output_fields
    if len(outputs) != 1:
        raise TypeError(f"CodeAdapter needs exactly one output field, {signature.__name__} has "
                        f"{len(outputs)}")
    return outputs


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()
