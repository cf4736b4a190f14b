"""vLLM server control without vLLM: preflight errors, the command line, start failures, and
the adapter-loading client against a scripted HTTP server."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.lm import LMConfig, LMUnavailable, load_adapter, lora_name, make_lm
from agents.registry import adapters_dir
from devstarl.serve import _parse_adapters, _registered, merged_config, sync_registered
from serving.env import MARKER, ServeError, VllmEnv, default_batch
from serving.server import ServeConfig, VllmServer, group_alive, port_free


def fake_env(root: Path, script: str) -> VllmEnv:
    """A venv whose python is a shell script: `-c` (the import check) prints a version."""
    (root / "bin").mkdir(parents=True)
    python = root / "bin" / "python"
    python.write_text("#!/bin/sh\n" + script)
    python.chmod(0o755)
    (root / MARKER).write_text("{}")
    return VllmEnv(root, gpu=False)


IMPORTS = 'if [ "$1" = "-c" ]; then echo 0.32.0; exit 0; fi\n'


def model_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text("{}")
    (root / "model.safetensors").write_bytes(b"")
    return root


def adapter_folder(root: Path, rank: int = 16) -> Path:
    root.mkdir(parents=True)
    (root / "adapter_config.json").write_text(json.dumps(
        {"r": rank, "lora_alpha": 2 * rank, "target_modules": ["q_proj"]}))
    return root


def test_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = VllmServer(ServeConfig(base=str(model_folder(tmp_path / "m")), port=port),
                            fake_env(tmp_path / "env", IMPORTS))
        with pytest.raises(ServeError, match=f"port {port} on 127.0.0.1 is in use"):
            server.preflight()
    assert port_free("127.0.0.1", port)


def test_missing_or_wrong_model_folder(tmp_path: Path) -> None:
    env = fake_env(tmp_path / "env", IMPORTS)
    with pytest.raises(ServeError, match="does not exist"):
        VllmServer(ServeConfig(base=str(tmp_path / "nope"), port=_free_port()), env).preflight()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ServeError, match="no config.json"):
        VllmServer(ServeConfig(base=str(tmp_path / "empty"), port=_free_port()), env).preflight()
    gguf = tmp_path / "gguf"
    gguf.mkdir()
    (gguf / "config.json").write_text("{}")
    (gguf / "model.gguf").write_bytes(b"GGUF")
    with pytest.raises(ServeError, match="cannot serve GGUF"):
        VllmServer(ServeConfig(base=str(gguf), port=_free_port()), env).preflight()


def test_bad_adapter_folder(tmp_path: Path) -> None:
    config = ServeConfig(base=str(model_folder(tmp_path / "m")), port=_free_port(),
                         adapters={"x": str(tmp_path)})
    with pytest.raises(ServeError, match=r"adapter x: .* \(no adapter_config.json\)"):
        VllmServer(config, fake_env(tmp_path / "env", IMPORTS)).preflight()
    (tmp_path / "adapter_config.json").write_text('{"r": 8}')
    with pytest.raises(ServeError, match="without lora_alpha, target_modules"):
        VllmServer(config, fake_env(tmp_path / "env2", IMPORTS)).preflight()


def test_broken_or_missing_env(tmp_path: Path) -> None:
    broken = fake_env(tmp_path / "env", "echo \"ModuleNotFoundError: No module named 'vllm'\" >&2"
                                        "\nexit 1\n")
    with pytest.raises(ServeError, match="is broken \\(ModuleNotFoundError: No module named"):
        broken.check()
    with pytest.raises(ServeError, match="no vLLM environment at .*devstarl serve --install"):
        VllmEnv(tmp_path / "none", gpu=False).check()
    assert not VllmEnv(tmp_path / "none", gpu=False).installed()


def test_a_server_that_dies_while_starting_is_reported(tmp_path: Path) -> None:
    env = fake_env(tmp_path / "env", IMPORTS + "echo 'INFO starting'\n"
                   "echo 'ValueError: max_lora_rank 8 is too small'\nexit 3\n")
    server = VllmServer(ServeConfig(base=str(model_folder(tmp_path / "m")), port=_free_port()),
                        env)
    with pytest.raises(ServeError, match="exited with code 3 while starting: ValueError: "
                                         "max_lora_rank 8 is too small"):
        server.start()
    assert server.process is None


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    # A "server" that starts a child and never answers /health: stop() must end both.
    env = fake_env(tmp_path / "env", IMPORTS + "sleep 300 &\nsleep 300\n")
    server = VllmServer(ServeConfig(base=str(model_folder(tmp_path / "m")), port=_free_port(),
                                    ready_timeout=1.0), env)
    with pytest.raises(ServeError, match="not ready after 1 s"):
        server.start()
    assert server.process is None
    base, adapters = server.preflight()
    server.process = subprocess.Popen(
        server.command(base, adapters), start_new_session=True)
    pgid = server.process.pid
    server.stop(grace=2)
    assert not group_alive(pgid)


def test_command_serves_lora_with_runtime_loading(tmp_path: Path) -> None:
    env = fake_env(tmp_path / "env", IMPORTS)
    big = adapter_folder(tmp_path / "a", rank=32)
    config = ServeConfig(base=str(model_folder(tmp_path / "m")), port=_free_port(),
                         adapters={"a": str(big)})
    server = VllmServer(config, env)
    command = server.command(*server.preflight())
    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert "--enable-lora" in command and f"a={big}" in command
    assert command[command.index("--max-lora-rank") + 1] == "32"
    assert command[command.index("--served-model-name") + 1] == "m"
    # constrained decoding: the grammar's Lark dialect is llguidance's
    assert command[command.index("--structured-outputs-config.backend") + 1] == "guidance"
    assert server.environment()["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    assert command[command.index("--dtype") + 1] == "bfloat16"
    assert "--enable-prefix-caching" in command
    # the batch synth keeps in flight by default
    assert command[command.index("--max-num-seqs") + 1] == str(default_batch(env.gpu))
    config.max_num_seqs = 3
    assert "3" == server.command(*server.preflight())[command.index("--max-num-seqs") + 1]
    config.dtype = "auto"  # the dtype the local backend would load here (bf16 emulated on AVX2)
    assert server.command(*server.preflight())[command.index("--dtype") + 1] == (
        "bfloat16" if env.gpu else LMConfig().resolved_dtype())


def test_a_merged_adapter_is_served_under_its_name_without_lora(tmp_path: Path) -> None:
    env = fake_env(tmp_path / "env", IMPORTS)
    merged = model_folder(tmp_path / "merged" / "db-1-0123abcd")
    config = ServeConfig(base=str(merged), served_name="db-1", lora=False, port=_free_port())
    server = VllmServer(config, env)
    command = server.command(*server.preflight())
    assert command[command.index("--served-model-name") + 1] == "db-1"
    assert command[command.index("--model") + 1] == str(merged)
    assert not any("lora" in part for part in command)


def test_merged_names_an_adapter_folder_or_a_registered_database(own_home: Path) -> None:
    with pytest.raises(ServeError, match="neither an adapter folder nor a database"):
        merged_config("no-such-db", "smollm2-135m")


def test_adapter_specs_are_parsed() -> None:
    assert _parse_adapters(["a=/x", " b = /y "]) == {"a": "/x", "b": "/y"}
    for bad in ["a", "=/x", "a="]:
        with pytest.raises(ServeError, match="NAME=PATH"):
            _parse_adapters([bad])


def test_lora_names() -> None:
    registered = adapters_dir() / "flights" / "20261121-101500"
    assert lora_name(registered) == "flights-20261121-101500"
    assert lora_name(Path("/somewhere/my-adapter")) == "my-adapter"


class Scripted(BaseHTTPRequestHandler):
    """/v1/models lists `served`; /v1/load_lora_adapter answers `load_status` and adds it."""

    served: list[str] = []
    load_status = 200
    load_body = "Success"

    def do_GET(self) -> None:
        self._answer(200, json.dumps({"data": [{"id": m} for m in self.served]}))

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/v1/load_lora_adapter" and type(self).load_status == 200:
            type(self).served.append(body["lora_name"])
        self._answer(type(self).load_status, type(self).load_body)

    def _answer(self, status: int, body: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[str]:
    Scripted.served, Scripted.load_status, Scripted.load_body = ["smollm2-135m"], 200, "Success"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_load_adapter_answers(scripted: str, tmp_path: Path) -> None:
    load_adapter(scripted, "a", tmp_path)
    assert Scripted.served == ["smollm2-135m", "a"]
    Scripted.load_status, Scripted.load_body = 400, "The lora adapter 'a' has already been loaded."
    load_adapter(scripted, "a", tmp_path)  # fine
    Scripted.load_status, Scripted.load_body = 404, "Not Found"
    with pytest.raises(LMUnavailable, match="cannot load adapters at run time"):
        load_adapter(scripted, "b", tmp_path)
    Scripted.load_status, Scripted.load_body = 400, "bad rank"
    with pytest.raises(LMUnavailable, match="refused adapter 'b': HTTP 400 bad rank"):
        load_adapter(scripted, "b", tmp_path)
    with pytest.raises(LMUnavailable, match="no LM server answering"):
        load_adapter(f"http://127.0.0.1:{_free_port()}/v1", "b", tmp_path)


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder of this test's own, so its registry entries reach no other test."""
    monkeypatch.setenv("DEVSTARL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_server_lm_loads_a_missing_adapter_folder(scripted: str, own_home: Path) -> None:
    folder = adapter_folder(adapters_dir() / "demo-db" / "v7")
    make_lm(LMConfig(backend="server", api_base=scripted, adapter=str(folder)))
    assert "demo-db-v7" in Scripted.served
    with pytest.raises(LMUnavailable, match="does not serve 'other'"):
        make_lm(LMConfig(backend="server", api_base=scripted, adapter="other"))


def test_registered_adapters_are_synced(scripted: str, own_home: Path) -> None:
    from agents.registry import register

    folder = adapter_folder(adapters_dir() / "sync-db" / "v1")
    register("sync-db", folder, {})
    assert "sync-db-v1" in sync_registered(scripted, set())
    assert "sync-db-v1" in Scripted.served
    assert "sync-db-v1" not in sync_registered(scripted, {"sync-db-v1"})
    broken = adapter_folder(adapters_dir() / "bad-db" / "v1")
    register("bad-db", broken, {})
    (adapters_dir() / "odd-db" / "v1").mkdir(parents=True)
    (adapters_dir() / "odd-db" / "v1" / "adapter_config.json").write_text('{"r": 8}')
    register("odd-db", adapters_dir() / "odd-db" / "v1", {})
    assert "odd-db-v1" not in _registered()  # vLLM could not load it: skipped, warned about
    Scripted.load_status, Scripted.load_body = 400, "bad rank"
    loaded = {"sync-db-v1"}
    assert sync_registered(scripted, loaded) == []  # warned about, server kept
    assert "bad-db-v1" in loaded  # and not retried


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_names_the_cause_in_one_line(tmp_path: Path) -> None:
    import os
    import sys

    env = fake_env(tmp_path / "env", IMPORTS)
    base = model_folder(tmp_path / "m")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "devstarl", "serve", "--base", str(base), "--port", str(port),
             "--env", str(env.path)], capture_output=True, text=True, timeout=120,
            env=os.environ.copy())
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port} on 127.0.0.1 is in use" in lines[0], done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "devstarl", "serve", "--base", str(tmp_path / "missing"),
         "--port", str(_free_port()), "--env", str(env.path)],
        capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert done.returncode == 1 and "does not exist" in done.stderr.strip().splitlines()[-1]
