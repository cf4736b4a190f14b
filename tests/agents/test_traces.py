"""The trace store's feedback beside traces, and the step listener the web page streams from."""

from __future__ import annotations

import threading

import pytest

from agents.traces import Step, Trace, TraceStore, TraceStoreError, watch_steps


def trace() -> Trace:
    return Trace(question="q", db="d", schema_hash="h", model="m", config_hash="c")


def test_feedback_is_appended_beside_an_unchanged_trace(tmp_path) -> None:
    store = TraceStore(tmp_path / "t.sqlite")
    stored = trace()
    store.append(stored)
    store.add_feedback(stored.trace_id, "up")
    store.add_feedback(stored.trace_id, "down", "wrong year")
    assert [(f["rating"], f["comment"]) for f in store.feedback(stored.trace_id)] == [
        ("up", None), ("down", "wrong year")]
    assert store.get(stored.trace_id).to_dict() == stored.to_dict()
    again = TraceStore(tmp_path / "t.sqlite")  # the migration runs once
    assert len(again.feedback(stored.trace_id)) == 2


def test_feedback_needs_a_stored_trace_and_a_known_rating(tmp_path) -> None:
    store = TraceStore(tmp_path / "t.sqlite")
    with pytest.raises(KeyError):
        store.add_feedback("missing", "up")
    stored = trace()
    store.append(stored)
    with pytest.raises(ValueError, match="rating"):
        store.add_feedback(stored.trace_id, "meh")
    with pytest.raises(KeyError):  # a prefix names no trace exactly
        store.add_feedback(stored.trace_id[:6], "up")
    assert store.feedback(stored.trace_id) == []


def test_a_listener_sees_steps_appended_in_its_own_thread_only() -> None:
    seen: list[str] = []
    run = trace()
    with watch_steps(lambda step: seen.append(step.name)):
        run.steps.append(Step(name="draft"))
        other = threading.Thread(target=lambda: run.steps.append(Step(name="elsewhere")))
        other.start()
        other.join()
    run.steps.append(Step(name="after"))
    assert seen == ["draft"]
    assert Trace.from_dict(run.to_dict()).to_dict() == run.to_dict()


def test_a_full_store_is_one_clear_error_and_keeps_earlier_traces(tmp_path) -> None:
    store = TraceStore(tmp_path / "traces.sqlite")
    first = trace()
    store.append(first)
    (pages,) = store._con.execute("PRAGMA page_count").fetchone()
    store._con.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from here on
    big = trace()
    big.steps.append(Step(name="draft", outputs={"code": "x" * 200_000}))
    with pytest.raises(TraceStoreError) as caught:
        store.append(big)
    assert "disk is full" in str(caught.value) and str(store.path) in str(caught.value)
    assert store.get(first.trace_id) is not None and store.get(big.trace_id) is None


def test_ratings_are_each_traces_latest_verdict_on_its_database(tmp_path) -> None:
    store = TraceStore(tmp_path / "t.sqlite")
    changed, liked, elsewhere, unrated = trace(), trace(), trace(), trace()
    elsewhere.db = "other"
    for t in (changed, liked, elsewhere, unrated):
        store.append(t)
    store.add_feedback(changed.trace_id, "up")
    store.add_feedback(changed.trace_id, "down", "wrong year")  # a change of mind
    store.add_feedback(liked.trace_id, "up")
    store.add_feedback(elsewhere.trace_id, "up")
    assert store.ratings("d") == {changed.trace_id: "down", liked.trace_id: "up"}
    assert store.ratings()[elsewhere.trace_id] == "up" and unrated.trace_id not in store.ratings()


def test_since_keeps_only_later_traces(tmp_path) -> None:
    store = TraceStore(tmp_path / "t.sqlite")
    before, after = trace(), trace()
    before.created_at, after.created_at = "2026-11-01T10:00:00+00:00", "2026-11-01T10:00:01+00:00"
    store.append(before)
    store.append(after)
    ids = [t.trace_id for t in store.iter(since="2026-11-01T10:00:00.500000+00:00")]
    assert ids == [after.trace_id]
    assert len(list(store.iter(since=None))) == 2
