"""The JSON API over a scripted model: answers, the event stream, feedback, and every kind of
bad request refused with a one-line 4xx while the service goes on serving."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import wait

import dspy
import pytest
from fastapi.testclient import TestClient

from agents.config import AgentConfig
from agents.lm import LMConfig
from agents.traces import TraceStore
from service.asker import Asker
from service.catalog import Catalog
from service.errors import BadInput
from service.web import check_bind, create_app
from tests.agents.fakes import ScriptedEngine, ScriptedLM

WORST = ("```python\nflights.group_by('carrier').agg(d=_.arr_delay.mean())"
         ".order_by(ibis.desc('d'))\n```")
QUESTION = "Which carrier had the highest average arrival delay?"
TOKEN = "s3cret-token"
CONFIG = AgentConfig(rounds=0)  # one draft: one scripted reply per question


@pytest.fixture(scope="module")
def catalog(demo_db) -> Catalog:
    return Catalog(["demo"])


@pytest.fixture
def asker(catalog, sandbox, tmp_path) -> Iterator[Asker]:
    lm = ScriptedLM([WORST] * 20)
    asker = Asker(catalog, lm, LMConfig(), CONFIG, store=TraceStore(tmp_path / "t.sqlite"),
                  workers=1, queue=1, program="none")
    yield asker
    asker.close()


@pytest.fixture
def client(asker) -> TestClient:
    return TestClient(create_app(asker))


def assert_refused(response, status: int) -> None:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert message and "\n" not in message


def test_databases_lists_the_demo_and_its_tables(client) -> None:
    data = client.get("/api/databases").json()
    assert data["default"] == "nycflights13"
    (demo,) = data["databases"]
    tables = {t["name"]: t for t in demo["tables"]}
    assert {"flights", "airlines"} <= set(tables)
    assert {"name": "carrier", "type": "string"} in tables["airlines"]["columns"]


def test_ask_answers_with_the_table_code_sql_chart_and_trace(client) -> None:
    answer = client.post("/api/ask", json={"question": QUESTION, "db": "nycflights13"}).json()
    assert answer["ok"] and answer["rows"][0][0] == "F9"
    assert "group_by" in answer["code"] and "GROUP BY" in answer["sql"].upper()
    assert answer["chart"]["data"][0]["type"] == "bar"
    assert [s["name"] for s in answer["steps"]][:3] == ["retrieve", "draft", "compile"]
    trace = client.get(f"/api/traces/{answer['trace_id']}").json()
    assert trace["question"] == QUESTION and trace["verified"] and trace["feedback"] == []


def test_feedback_is_stored_beside_the_trace(client) -> None:
    trace_id = client.post("/api/ask", json={"question": QUESTION}).json()["trace_id"]
    done = client.post(f"/api/traces/{trace_id}/feedback", json={"rating": "up"})
    assert done.status_code == 200 and done.json()["feedback"][0]["rating"] == "up"
    client.post(f"/api/traces/{trace_id}/feedback", json={"rating": "down", "comment": "no"})
    ratings = [f["rating"] for f in client.get(f"/api/traces/{trace_id}").json()["feedback"]]
    assert ratings == ["up", "down"]
    assert_refused(client.post("/api/traces/nope/feedback", json={"rating": "up"}), 404)
    assert_refused(client.post(f"/api/traces/{trace_id}/feedback", json={"rating": "meh"}), 422)


def test_the_stream_sends_each_step_then_the_answer(client) -> None:
    with client.stream("POST", "/api/ask/stream", json={"question": QUESTION}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_events(response.read().decode())
    names = [e for e, _ in events]
    assert names[-1] == "answer" and set(names[:-1]) == {"step"}
    steps = [d["name"] for e, d in events if e == "step"]
    assert steps == [s["name"] for s in events[-1][1]["steps"]]
    assert events[-1][1]["rows"][0][0] == "F9"


BAD = {
    "bad JSON": (b'{"question": "x", ', 400),
    "not an object": (b'["x"]', 422),
    "no question": (json.dumps({"db": "nycflights13"}), 422),
    "unknown database": (json.dumps({"question": QUESTION, "db": "nope"}), 404),
    "a path": (json.dumps({"question": QUESTION, "db": "/etc/passwd"}), 400),
    "a relative path": (json.dumps({"question": QUESTION, "db": "../demo.duckdb"}), 400),
    "a URL": (json.dumps({"question": QUESTION, "db": "duckdb:///tmp/x.duckdb"}), 400),
    "empty question": (json.dumps({"question": "  "}), 400),
    "100 kB question": (json.dumps({"question": "why " * 25_000}), 400),
    "10 MB body": (b'{"question": "' + b"x" * 10_000_000 + b'"}', 413),
}


@pytest.mark.parametrize("body,status", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("path", ["/api/ask", "/api/ask/stream"])
def test_bad_requests_get_one_line_and_the_service_goes_on(client, asker, path, body, status
                                                          ) -> None:
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert_refused(response, status)
    assert client.get("/api/databases").status_code == 200
    assert asker.lm.remaining == 20  # nothing reached the model


def test_unknown_trace_and_route(client) -> None:
    assert_refused(client.get("/api/traces/0123abc"), 404)
    assert_refused(client.get("/api/nothing"), 404)


def test_the_token_guards_every_api_request(asker) -> None:
    client = TestClient(create_app(asker, token=TOKEN))
    for method, path, body in [("GET", "/api/databases", None),
                               ("POST", "/api/ask", {"question": QUESTION}),
                               ("POST", "/api/ask/stream", {"question": QUESTION}),
                               ("GET", "/api/traces/abc", None)]:
        assert_refused(client.request(method, path, json=body), 401)
        assert_refused(client.request(method, path, json=body,
                                      headers={"Authorization": "Bearer wrong"}), 401)
        assert_refused(client.request(method, path, json=body,
                                      headers={"Authorization": f"Basic {TOKEN}"}), 401)
    assert asker.lm.remaining == 20
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/databases", headers=good).status_code == 200
    assert client.post("/api/ask", json={"question": QUESTION}, headers=good).json()["ok"]
    page = client.get("/")  # the page holds no data; it sends the token it is given
    assert page.status_code == 200 and 'id="question"' in page.text


def test_the_page_and_its_assets_are_served_locally(client) -> None:
    page = client.get("/").text
    for src in ("/assets/plotly.min.js", "/static/app.js", "/static/app.css"):
        assert src in page and client.get(src).status_code == 200
    assert client.get("/openapi.json").json()["paths"].keys() >= {
        "/api/ask", "/api/databases", "/api/traces/{trace_id}",
        "/api/traces/{trace_id}/feedback"}


class GatedEngine(ScriptedEngine):
    """Holds every reply until the gate opens: questions that stay in flight."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.gate = threading.Event()

    def complete(self, request):  # noqa: ANN001, ANN201
        assert self.gate.wait(60)
        return super().complete(request)


class GatedLM(dspy.LM):
    def __init__(self, replies: list[str]) -> None:
        self.engine_ = GatedEngine(replies)
        super().__init__("local/gated", engine=self.engine_, cache=False)


def test_past_the_queue_a_clear_503_then_service_again(catalog, sandbox, tmp_path) -> None:
    lm = GatedLM([WORST] * 4)
    engine = lm.engine_
    asker = Asker(catalog, lm, LMConfig(), CONFIG, store=TraceStore(tmp_path / "t.sqlite"),
                  workers=1, queue=1, program="none")
    client = TestClient(create_app(asker))
    try:
        held = [asker.submit(None, QUESTION), asker.submit(None, QUESTION)]  # 1 running, 1 queued
        response = client.post("/api/ask", json={"question": QUESTION})
        assert_refused(response, 503)
        assert "busy" in response.json()["error"] and response.headers["Retry-After"]
        assert client.get("/api/databases").status_code == 200  # the rest keeps answering
        engine.gate.set()
        wait(held, timeout=120)
        assert all(f.result()["ok"] for f in held)
        assert client.post("/api/ask", json={"question": QUESTION}).json()["ok"]
    finally:
        engine.gate.set()
        asker.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_token(host: str) -> None:
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "::", "example.org"])
def test_beyond_loopback_a_token_is_required(host: str) -> None:
    with pytest.raises(BadInput, match="needs --token"):
        check_bind(host, None)
    check_bind(host, TOKEN)


def parse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events
