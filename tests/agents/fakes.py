"""A scripted LM for control-flow tests: a real dspy.LM whose engine answers from a queue."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class InFlight:
    """Chat requests a scripted server is answering now, and the most at once. With `hold`,
    each request waits (up to `patience` seconds) until `hold` are in flight or one has been
    let go, so a client that keeps `hold` in flight shows it however slowly it starts them."""

    def __init__(self, hold: int = 0, patience: float = 60.0) -> None:
        self.hold, self.patience = hold, patience
        self.changed = threading.Condition()
        self.now = self.peak = 0
        self.released = False

    def enter(self) -> None:
        with self.changed:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.released or self.now >= self.hold,
                                  timeout=self.patience)
            self.released = True

    def leave(self) -> None:
        with self.changed:
            self.now -= 1


class _ScriptedHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint answering every chat with `reply`, after `delay` seconds."""

    reply = ""
    delay = 0.0
    delays: deque[float] = deque()  # the first requests' delays, in order; then `delay`
    served = ("base",)
    in_flight: InFlight | None = None

    def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
        data = {"object": "list", "data": [{"id": m, "object": "model"} for m in self.served]}
        self._send(json.dumps(data).encode())

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.in_flight is not None:
            self.in_flight.enter()
        try:
            time.sleep(self.delays.popleft())
        except IndexError:
            time.sleep(self.delay)
        finally:
            if self.in_flight is not None:
                self.in_flight.leave()
        answer = {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": self.reply}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        self._send(json.dumps(answer).encode())

    def _send(self, payload: bytes) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client stopped (tests of Ctrl-C)
            pass

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def scripted_server(reply: str, delay: float = 0.0, delays: tuple[float, ...] = (),
                    port: int = 0, in_flight: InFlight | None = None) -> Iterator[str]:
    """Serve `reply` to every chat request, the first ones after `delays` seconds, the rest
    after `delay`, on `port` (0: any free one), counting requests in `in_flight`; yields the
    base URL (with /v1)."""
    handler = type("Handler", (_ScriptedHandler,),
                   {"reply": reply, "delay": delay, "delays": deque(delays),
                    "in_flight": in_flight})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
