"""LM backends: a real model through DSPy's engine interface, adapters, the server check.

The real-model tests share one installed copy of the small catalogue model (smollm2-135m),
kept in pytest's cache folder so that later runs skip the ~20 s conversion.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dspy
import pytest
from dspy.lm15 import (
    Config,
    FunctionTool,
    ImagePart,
    Message,
    Request,
    TextPart,
    UnsupportedFeatureError,
)
from dspy.utils.exceptions import ContextWindowExceededError

from agents.lm import (
    LlamaCppEngine,
    LMConfig,
    LMConfigError,
    LMUnavailable,
    LocalEngine,
    ModelNotInstalled,
    TransformersEngine,
    check_server,
    choose_runtime,
    install,
    local_engine,
    make_lm,
    render_chat,
    request_messages,
)
from agents.lm.llamacpp import installed as llama_installed

SMALL = "smollm2-135m"
# The short dtype in engine names: "auto" loads bf16 only where the CPU computes it natively.
DTYPE = {"bfloat16": "bf16", "float32": "fp32"}[LMConfig().resolved_dtype()]

QUESTION = "What is the capital of France? Answer in one word."
COUNT = "Count from 1 to 10, one number per line."
POEM = "Write a short poem about the sea."


# -- Fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session", params=["transformers", "llama.cpp"])
def runtime(request: pytest.FixtureRequest) -> str:
    """Every engine-contract test runs on both in-process runtimes."""
    if request.param == "llama.cpp" and not llama_installed():
        pytest.skip("llama-cpp-python is not installed: `./setup.sh --llama` builds it")
    return request.param


@pytest.fixture(scope="session")
def lm(small_model: Path, runtime: str) -> dspy.LM:
    return make_lm(LMConfig(model=SMALL, runtime=runtime, cache=False, max_tokens=16))


@pytest.fixture(scope="session")
def engine(lm: dspy.LM) -> LocalEngine:
    found = local_engine(lm)
    assert found is not None
    return found


def ask(model: dspy.LM, text: str, **config) -> object:
    """One explicit lm15 Request, which returns the lm15 Response."""
    return model(Request(model=model.model, messages=(Message.user(text),),
                         config=Config(**config)))


# -- An installed catalogue model ----------------------------------------------------------


@pytest.mark.slow
def test_installed_model_is_converted_once_and_reused(small_model: Path) -> None:
    weights = small_model / "model.safetensors"
    assert (small_model / "config.json").is_file() and weights.is_file()
    assert (small_model / "chat_template.jinja").is_file()
    config = json.loads((small_model / "config.json").read_text())
    assert config["dtype"] == "bfloat16"
    before = weights.stat().st_mtime_ns
    started = time.perf_counter()
    assert install(SMALL, root=small_model.parent, progress=False) == small_model
    assert time.perf_counter() - started < 1.0
    assert weights.stat().st_mtime_ns == before


def test_auto_dtype_is_bf16_only_where_the_hardware_computes_it() -> None:
    assert LMConfig(dtype="float32").resolved_dtype() == "float32"
    assert LMConfig(dtype="bfloat16").resolved_dtype() == "bfloat16"
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    flags = next(line for line in cpuinfo if line.startswith("flags")).split()
    native = bool({"avx512_bf16", "amx_bf16"} & set(flags))
    assert LMConfig().resolved_dtype() == ("bfloat16" if native else "float32")


def test_a_model_not_installed_is_one_clear_line() -> None:
    with pytest.raises(ModelNotInstalled) as caught:  # never installed in the test data folder
        make_lm(LMConfig(model="qwen2.5-coder-1.5b"))
    assert str(caught.value) == ("model qwen2.5-coder-1.5b is not installed: run "
                                 "`devstarl models install qwen2.5-coder-1.5b`")


# -- The local engine through dspy.LM ------------------------------------------------------


@pytest.mark.slow
def test_answers_a_chat_message_with_token_usage(lm: dspy.LM, engine: LocalEngine) -> None:
    before = engine.generation_stats()
    [answer] = lm(QUESTION)
    assert answer.strip()
    usage = lm.history[-1]["usage"]
    assert usage["prompt_tokens"] > 5 and 0 < usage["completion_tokens"] <= 16
    spent = engine.generation_stats().since(before)
    assert spent.calls == 1 and spent.completion_tokens == usage["completion_tokens"]
    assert spent.tokens_per_second > 0
    # The call's time split at its first new token: prefill before, decode steps after.
    assert spent.decoded_tokens == spent.completion_tokens - 1
    assert spent.prefill_seconds > 0 and spent.prefill_tokens_per_second > 0
    assert spent.decode_seconds > 0 and spent.decode_tokens_per_second > 0
    assert spent.prefill_seconds + spent.decode_seconds <= spent.seconds
    weights = "gguf" if isinstance(engine, LlamaCppEngine) else DTYPE
    assert lm.model.startswith(f"local/{SMALL}@{weights}-")


@pytest.mark.slow
def test_prompt_is_the_chat_template_or_plain_lines(lm: dspy.LM, engine: LocalEngine) -> None:
    request = Request(model=lm.model, system="Answer briefly.", messages=(
        Message.user("hi"), Message.assistant("hello"), Message.user("2+2?")))
    assert request_messages(request) == [
        {"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"}, {"role": "user", "content": "2+2?"}]
    prompt = engine.render_prompt(request)
    assert prompt.startswith("<|im_start|>system\nAnswer briefly.<|im_end|>")
    assert prompt.endswith("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n")

    class NoTemplate:
        chat_template = None

    assert render_chat(NoTemplate(), request_messages(request)) == (
        "system: Answer briefly.\nuser: hi\nassistant: hello\nuser: 2+2?\nassistant:")


@pytest.mark.slow
def test_greedy_answers_repeat(lm: dspy.LM) -> None:
    first = ask(lm, QUESTION, max_tokens=8)
    second = ask(lm, QUESTION, max_tokens=8)
    assert first.text == second.text and first.text.strip()
    assert first.usage.input_tokens > 5 and first.usage.output_tokens > 0


@pytest.mark.slow
def test_sampling_returns_n_different_candidates(lm: dspy.LM) -> None:
    answers = lm(POEM, n=3, temperature=1.0, max_tokens=12)
    assert len(answers) == 3 and all(a.strip() for a in answers)
    assert len(set(answers)) > 1
    assert lm.history[-1]["usage"]["completion_tokens"] > 12  # three answers counted


@pytest.mark.slow
def test_stop_sequence_cuts_the_answer(lm: dspy.LM) -> None:
    whole = ask(lm, COUNT, max_tokens=24)
    assert "3" in whole.text
    cut = ask(lm, COUNT, max_tokens=24, stop=("3",))
    assert "3" not in cut.text and whole.text.startswith(cut.text)
    assert cut.finish_reason == "stop" and cut.usage.output_tokens < whole.usage.output_tokens


@pytest.mark.slow
def test_length_limit_is_reported(lm: dspy.LM) -> None:
    response = ask(lm, COUNT, max_tokens=3)
    assert response.finish_reason == "length" and response.usage.output_tokens == 3


@pytest.mark.slow
def test_stream_adds_up_to_the_complete_answer(lm: dspy.LM, engine: LocalEngine) -> None:
    request = Request(model=lm.model, messages=(Message.user(COUNT),),
                      config=Config(max_tokens=20, temperature=0.0))
    events = list(engine.stream(request))
    assert events[0].type == "start" and events[-1].type == "end"
    text = "".join(e.delta.text for e in events if e.type == "delta")
    assert len([e for e in events if e.type == "delta"]) > 1
    assert text == engine.complete(request).text
    assert events[-1].usage.output_tokens == 20

    stream = engine.stream(request)  # abandoned early: generation stops, the engine is free
    next(stream), next(stream)
    stream.close()
    assert ask(lm, QUESTION, max_tokens=4).text


@pytest.mark.slow
def test_async_calls_share_the_engine(lm: dspy.LM, engine: LocalEngine) -> None:
    before = engine.generation_stats()
    answer = asyncio.run(lm.acall(QUESTION, max_tokens=4))
    assert answer == lm(QUESTION, max_tokens=4)
    assert engine.generation_stats().since(before).calls == 2


def test_what_a_text_model_cannot_do_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    engine = TransformersEngine(LMConfig(model=str(tmp_path)))  # refused before loading
    tool = FunctionTool(name="lookup", parameters={"type": "object", "properties": {}})
    with pytest.raises(UnsupportedFeatureError, match="tool"):
        engine.complete(Request(model="local/x", messages=(Message.user("hi"),), tools=(tool,)))
    picture = Message.user((TextPart("what is this?"), ImagePart(data="aGk=")))
    with pytest.raises(UnsupportedFeatureError, match="text only"):
        engine.complete(Request(model="local/x", messages=(picture,)))
    assert not engine.loaded


@pytest.mark.slow
def test_a_prompt_over_the_context_is_a_context_error(lm: dspy.LM) -> None:
    with pytest.raises(ContextWindowExceededError):
        ask(lm, "word " * 9000, max_tokens=4)


@pytest.mark.slow
def test_concurrent_callers_take_turns(lm: dspy.LM) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(ask(lm, QUESTION, max_tokens=4).text)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 3 and len(set(results)) == 1


@pytest.mark.slow
def test_dspy_cache_answers_repeats_without_generating(lm: dspy.LM, engine: LocalEngine) -> None:
    saved = dspy.cache
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=True)
    try:
        cached = lm.copy(cache=True)
        before = engine.generation_stats()
        first = cached(QUESTION, max_tokens=4)
        second = cached(QUESTION, max_tokens=4)
        assert first == second
        assert engine.generation_stats().since(before).calls == 1
    finally:
        dspy.cache = saved


def test_engine_state_saves_and_loads_without_loading_the_model(tmp_path: Path) -> None:
    model = tmp_path / "tiny-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    lm = make_lm(LMConfig(model=str(model), dtype="float32", seed=7))
    assert lm.model.startswith("local/tiny-model@fp32-")
    state = lm.dump_state()
    json.dumps(state)
    again = dspy.LM.load_state(state, allow_custom_lm_class=True)
    engine = local_engine(again)
    assert engine is not None and not engine.loaded
    assert again.model == lm.model and engine.config.seed == 7


def test_engine_name_follows_the_adapter_weights(tmp_path: Path) -> None:
    model, adapter = tmp_path / "m", tmp_path / "sql-v1"
    model.mkdir()
    adapter.mkdir()
    (model / "config.json").write_text("{}")
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.safetensors").write_bytes(b"one")
    config = LMConfig(model=str(model), adapter=str(adapter))
    first = make_lm(config).model
    assert first.startswith(f"local/m+sql-v1@{DTYPE}-")
    (adapter / "adapter_model.safetensors").write_bytes(b"two")
    assert make_lm(config).model != first  # retrained: DSPy's cache must not answer for it


# -- A peft adapter ------------------------------------------------------------------------


@pytest.mark.slow
def test_adapter_changes_greedy_output(small_model: Path, tiny_adapter: Path) -> None:
    lm = make_lm(LMConfig(model=SMALL, runtime="transformers", cache=False, max_tokens=16))
    tuned = make_lm(LMConfig(model=SMALL, adapter=str(tiny_adapter), runtime="transformers",
                             cache=False, max_tokens=16))
    assert isinstance(local_engine(tuned), TransformersEngine)  # llama.cpp: test_lora_gguf.py
    assert tuned.model.startswith(f"local/{SMALL}+tiny-lora@{DTYPE}-") and tuned.model != lm.model
    base_before = ask(lm, POEM).text
    [with_adapter] = tuned(POEM)
    assert with_adapter.strip() and with_adapter != base_before
    assert ask(lm, POEM).text == base_before  # the base engine's weights are untouched
    local_engine(tuned).close()
    local_engine(lm).close()


# -- Configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"backend": "cloud"}, "backend"),
        ({"model": "/no/such/model"}, "model"),
        ({"model": "bundled"}, "neither a catalogue model"),  # the old name is gone
        ({"adapter": "/no/such/adapter"}, "adapter"),
        ({"dtype": "int8"}, "dtype"),
        ({"device": "gpu"}, "device"),
        ({"temperature": 3.0}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"num_threads": 0}, "num_threads"),
        ({"seed": -1}, "seed"),
        ({"api_base": "http://127.0.0.1:8000/v1"}, "api_base"),
        ({"backend": "server"}, "api_base"),
        ({"backend": "server", "api_base": "127.0.0.1:8000"}, "api_base"),
        ({"backend": "server", "api_base": "http://h/v1", "timeout": 0}, "timeout"),
    ],
)
def test_config_errors_are_one_line(changes: dict, names: str) -> None:
    with pytest.raises(LMConfigError) as caught:
        make_lm(LMConfig(**changes))
    message = str(caught.value)
    assert "\n" not in message and names in message


def test_config_rejects_a_folder_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(LMConfigError, match="no config.json"):
        LMConfig(model=str(tmp_path)).validate()


def test_config_help_and_dict_hide_the_key() -> None:
    assert set(LMConfig.help()) >= {"backend", "model", "adapter", "dtype", "seed"}
    assert all(LMConfig.help().values())
    assert LMConfig(api_key="secret").to_dict()["api_key"] == "***"


# -- The server backend --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dead_server_fails_fast_naming_the_url() -> None:
    base = f"http://127.0.0.1:{free_port()}/v1"
    started = time.perf_counter()
    with pytest.raises(LMUnavailable) as caught:
        make_lm(LMConfig(backend="server", model="base", api_base=base))
    assert time.perf_counter() - started < 5
    assert f"{base}/models" in str(caught.value) and "\n" not in str(caught.value)


def test_silent_server_times_out_naming_the_url() -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        base = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        started = time.perf_counter()
        with pytest.raises(LMUnavailable, match="no answer within 0.5 s") as caught:
            check_server(base, timeout=0.5)
        assert time.perf_counter() - started < 3
        assert f"{base}/models" in str(caught.value)


class FakeOpenAI(BaseHTTPRequestHandler):
    """Just enough of an OpenAI-compatible server: a model list and canned chat answers."""

    served = ["base", "sql-v1"]
    bodies: list[dict] = []
    html = False

    def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
        if self.html:
            return self._send(200, b"<html>hello</html>", "text/html")
        if self.path == "/v1/models":
            data = {"object": "list", "data": [{"id": m, "object": "model"} for m in self.served]}
            return self._send(200, json.dumps(data).encode())
        self._send(404, b"{}")

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        answer = {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"from {body['model']}"}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        }
        self._send(200, json.dumps(answer).encode())

    def _send(self, status: int, payload: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[tuple[str, type[FakeOpenAI]]]:
    handler = type("Handler", (FakeOpenAI,), {"bodies": [], "html": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()
    server.server_close()
    thread.join()


def test_server_requests_name_the_adapter_as_the_model(fake_server, tmp_path: Path) -> None:
    base, handler = fake_server
    assert check_server(base) == ["base", "sql-v1"]
    lm = make_lm(LMConfig(backend="server", model="base", api_base=base, cache=False))
    assert lm("hi") == ["from base"]
    folder = tmp_path / "sql-v1"  # an adapter folder is served under its folder's name
    folder.mkdir()
    tuned = make_lm(LMConfig(backend="server", model="base", adapter=str(folder), api_base=base,
                             cache=False, temperature=0.5, max_tokens=9))
    assert tuned("hi") == ["from sql-v1"]
    sent = handler.bodies[-1]
    assert sent["model"] == "sql-v1" and sent["temperature"] == 0.5
    assert (sent.get("max_tokens") or sent.get("max_completion_tokens")) == 9
    assert tuned.history[-1]["usage"]["completion_tokens"] == 3


def test_server_without_the_model_is_refused(fake_server) -> None:
    base, _ = fake_server
    with pytest.raises(LMUnavailable, match="does not serve 'sql-v2'"):
        make_lm(LMConfig(backend="server", model="base", adapter="sql-v2", api_base=base))


def test_server_that_is_not_openai_compatible(fake_server) -> None:
    base, handler = fake_server
    handler.html = True
    with pytest.raises(LMUnavailable, match="not an OpenAI-compatible server") as caught:
        check_server(base)
    assert base in str(caught.value)


# -- The llama.cpp runtime -----------------------------------------------------------------


def gguf_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.gguf").write_bytes(b"GGUF")
    return folder


def test_auto_runtime_takes_llama_cpp_only_where_it_can_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agents.lm.llamacpp as llamacpp

    folder = str(gguf_folder(tmp_path))
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "adapter_config.json").write_text("{}")
    monkeypatch.setattr(llamacpp, "installed", lambda: True)
    monkeypatch.setattr(llamacpp, "amx_build", lambda: False)
    assert choose_runtime(LMConfig(model=folder)) == "llama.cpp"
    assert choose_runtime(LMConfig(model=folder, runtime="transformers")) == "transformers"
    assert choose_runtime(LMConfig(model=folder, adapter=str(tmp_path / "lora"))) == "transformers"
    assert choose_runtime(LMConfig(model=folder, device="cuda")) == "transformers"
    (tmp_path / "m" / "model.gguf").unlink()
    assert choose_runtime(LMConfig(model=folder)) == "transformers"
    with pytest.raises(LMConfigError, match="has no GGUF file"):
        choose_runtime(LMConfig(model=folder, runtime="llama.cpp"))
    monkeypatch.setattr(llamacpp, "installed", lambda: False)
    (tmp_path / "m" / "model.gguf").write_bytes(b"GGUF")
    assert choose_runtime(LMConfig(model=folder)) == "transformers"
    with pytest.raises(LMUnavailable, match=r"setup\.sh --llama"):
        make_lm(LMConfig(model=folder, runtime="llama.cpp"))
    monkeypatch.setattr(llamacpp, "installed", lambda: True)
    monkeypatch.setattr(llamacpp, "amx_build", lambda: True)  # would crash on the first decode
    assert choose_runtime(LMConfig(model=folder)) == "transformers"
    with pytest.raises(LMUnavailable, match=r"AMX kernels.*setup\.sh --llama"):
        make_lm(LMConfig(model=folder, runtime="llama.cpp"))


def test_setup_builds_llama_cpp_without_the_amx_kernels() -> None:
    if not llama_installed():
        pytest.skip("llama-cpp-python is not installed: `./setup.sh --llama` builds it")
    from agents.lm.llamacpp import amx_build

    assert not amx_build()


def test_llama_cpp_refuses_an_adapter_it_cannot_convert(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agents.lm.llamacpp as llamacpp

    monkeypatch.setattr(llamacpp, "installed", lambda: True)
    monkeypatch.setattr(llamacpp, "amx_build", lambda: False)
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "adapter_config.json").write_text('{"lora_alpha": 8, "use_dora": true}')
    config = LMConfig(model=str(gguf_folder(tmp_path)), runtime="llama.cpp",
                      adapter=str(tmp_path / "lora")).validate()  # valid: it may convert
    with pytest.raises(LMConfigError, match=r"runtime llama\.cpp: adapter .* it uses DoRA"):
        make_lm(config)
    with pytest.raises(LMConfigError, match="runtime must be one of"):
        LMConfig(runtime="onnx").validate()


@pytest.fixture(scope="session")
def llama_lm(small_model: Path) -> dspy.LM:
    if not llama_installed():
        pytest.skip("llama-cpp-python is not installed: `./setup.sh --llama` builds it")
    return make_lm(LMConfig(model=SMALL, runtime="llama.cpp", cache=False, max_tokens=12))


@pytest.mark.slow
def test_llama_cpp_sees_the_same_token_ids_as_transformers(llama_lm: dspy.LM) -> None:
    engine = local_engine(llama_lm).load()
    request = Request(model=llama_lm.model, system="Answer briefly.",
                      messages=(Message.user("Schön, 2+2? `x == 'é'` 日本"),))
    prompt = engine.render_prompt(request)
    ours = engine._tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert ours == engine._model.tokenize(prompt.encode(), add_bos=False, special=True)


@pytest.mark.slow
def test_reused_prefixes_give_the_same_tokens_and_stay_bounded(
        llama_lm: dspy.LM, monkeypatch: pytest.MonkeyPatch) -> None:
    import agents.lm.llamacpp as llamacpp

    tables = "Tables: " + ", ".join(f"t{i}(a{i} int, b{i} text)" for i in range(30))

    def call(engine: LocalEngine, system: str, question: str) -> tuple[str, int]:
        request = Request(model=llama_lm.model, system=system,
                          messages=(Message.user(f"{tables}\n{question}"),),
                          config=Config(max_tokens=12, temperature=0.0))
        before = engine.generation_stats()
        text = engine.complete(request).text
        return text, engine.generation_stats().since(before).cached_prompt_tokens

    warm = local_engine(llama_lm)
    call(warm, "Draft.", "How many rows has t1?")
    call(warm, "Revise.", "Why did it fail?")  # another module in between
    text, cached = call(warm, "Draft.", "What is the sum of a2?")
    assert cached > 300  # the system text and the tables came from the saved state
    states = warm._prefixes.cache_state.values()
    assert all(state.scores is None for state in states)  # no copy of the logits
    monkeypatch.setattr(llamacpp, "PREFIX_CACHE_BYTES", 1)  # a fresh engine that keeps nothing
    cold = local_engine(make_lm(LMConfig(model=SMALL, runtime="llama.cpp", cache=False)))
    assert call(cold, "Draft.", "What is the sum of a2?") == (text, 0)
    call(cold, "Revise.", "Why did it fail?")
    assert not cold._prefixes.cache_state  # over its bound, the oldest states go
    cold.close()
