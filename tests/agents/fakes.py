"""A scripted LM for control-flow tests: a real dspy.LM whose engine answers from a queue."""

from __future__ import annotations

from collections import deque

import dspy
from dspy.clients.engines.base import validate_request
from dspy.lm15 import Message, Response, TextPart, Usage, response_to_events

INTERRUPT = "<interrupt>"  # a queued reply that raises KeyboardInterrupt, as Ctrl-C would


class ScriptedEngine:
    """Replies with the queued texts in order and keeps every request it saw."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = deque(replies)
        self.requests: list = []

    def complete(self, request):  # noqa: ANN001, ANN201 - dspy.lm15 types
        validate_request(request)
        self.requests.append(request)
        if not self.replies:
            raise AssertionError("the scripted LM ran out of replies")
        text = self.replies.popleft()
        if text == INTERRUPT:
            raise KeyboardInterrupt
        tokens = len(text.split())
        return Response(id=None, model="scripted", message=Message.assistant([TextPart(text)]),
                        finish_reason="stop",
                        usage=Usage(input_tokens=0, output_tokens=tokens, total_tokens=tokens))

    def stream(self, request):  # noqa: ANN001, ANN201
        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass


class ScriptedLM(dspy.LM):
    def __init__(self, replies: list[str]) -> None:
        self.engine_ = ScriptedEngine(replies)
        super().__init__("local/scripted", engine=self.engine_, cache=False)

    @property
    def remaining(self) -> int:
        return len(self.engine_.replies)

    @property
    def requests(self) -> list:
        return self.engine_.requests
