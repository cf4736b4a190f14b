"""The server backend: any OpenAI-compatible endpoint (vLLM first of all) as a `dspy.LM`.

vLLM started with `--enable-lora` serves every adapter under its own model name, so the adapter
is chosen per request by naming it as the model. DSPy calls such a server through its native
lm15 route (no LiteLLM); LiteLLM is imported only on a fallback path, and then must not fetch its
model price map from the network.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from agents.lm.config import LMConfig, LMUnavailable

# Read by litellm at import time: use the bundled price map, never a network fetch.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

CHECK_TIMEOUT = 10.0  # the health check never waits longer than this, whatever config.timeout


def lora_name(folder: Path) -> str:
    """The name an adapter folder is served under: `<db>-<version>` for a registered adapter
    (`<data>/adapters/<db>/<version>`), else the folder's name."""
    from agents.registry import adapters_dir

    folder = Path(folder).expanduser().resolve()
    if folder.parent.parent == adapters_dir().resolve():
        return f"{folder.parent.name}-{folder.name}"
    return folder.name


def served_model_name(config: LMConfig) -> str:
    """The model name requests carry: the adapter's served name if any, else `config.model`."""
    if config.adapter:
        path = Path(config.adapter).expanduser()
        return lora_name(path) if path.is_dir() else str(config.adapter)
    return config.model


def _request(url: str, timeout: float, api_key: str | None, payload: dict | None = None) -> bytes:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={
        "Accept": "application/json", "Content-Type": "application/json",
        "Authorization": f"Bearer {api_key or 'local'}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read(4 << 20)


def load_adapter(api_base: str, name: str, folder: Path, *, api_key: str | None = None,
                 timeout: float = 120.0) -> None:
    """Ask a running vLLM server to load the adapter at `folder` as `name` (no restart).

    Needs a server started with runtime LoRA updating (`devstarl serve` enables it); raises
    `LMUnavailable` naming the cause otherwise. An adapter already loaded is fine.
    """
    url = api_base.rstrip("/") + "/load_lora_adapter"
    payload = {"lora_name": name, "lora_path": str(Path(folder).expanduser().resolve())}
    try:
        _request(url, timeout, api_key, payload)
    except urllib.error.HTTPError as e:
        detail = e.read(4096).decode(errors="replace")
        if "already been loaded" in detail:
            return
        if e.code in (404, 405):
            raise LMUnavailable(f"the LM server at {api_base} cannot load adapters at run time "
                                "(start it with `devstarl serve`)") from e
        raise LMUnavailable(f"the LM server at {api_base} refused adapter {name!r}: "
                            f"HTTP {e.code} {detail[:200]}") from e
    except (urllib.error.URLError, OSError) as e:
        raise LMUnavailable(f"no LM server answering at {url}: {getattr(e, 'reason', e)}") from e


def check_server(api_base: str, timeout: float = 5.0, *, api_key: str | None = None,
                 model: str | None = None) -> list[str]:
    """The model names served at `api_base` (GET <api_base>/models).

    Raises `LMUnavailable`, naming the URL, when nothing answers within `timeout` seconds, the
    answer is not an OpenAI-style model list, or `model` is given and not among those served.
    """
    url = api_base.rstrip("/") + "/models"
    try:
        body = _request(url, timeout, api_key)
    except urllib.error.HTTPError as e:
        raise LMUnavailable(f"the LM server at {url} answered HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        if isinstance(reason, TimeoutError | OSError) and "timed out" in str(reason):
            reason = f"no answer within {timeout:g} s"
        raise LMUnavailable(f"no LM server answering at {url}: {reason}") from e
    try:
        data = json.loads(body)
        served = [str(entry["id"]) for entry in data["data"]]
    except (ValueError, TypeError, KeyError) as e:
        raise LMUnavailable(
            f"{url} is not an OpenAI-compatible server (no model list in its answer)") from e
    if model is not None and model not in served:
        raise LMUnavailable(
            f"the LM server at {url} does not serve {model!r}; it serves "
            f"{', '.join(map(repr, served)) or 'nothing'}")
    return served


def make_server_lm(config: LMConfig, *, check: bool = True):
    """A `dspy.LM` for the served model (or adapter) named by `config`.

    With `check`, the server is asked for its model list first, so a dead server or a
    missing model fails here with one line rather than on the first question. An adapter given
    as a folder that the server does not serve yet is loaded into it first.
    """
    import dspy

    config.validate()
    name = served_model_name(config)
    if check:
        timeout = min(config.timeout, CHECK_TIMEOUT)
        served = check_server(config.api_base, timeout=timeout, api_key=config.api_key)
        folder = Path(config.adapter).expanduser() if config.adapter else None
        if name not in served and folder is not None and folder.is_dir():
            load_adapter(config.api_base, name, folder, api_key=config.api_key)
        if name not in served:  # confirms the load, or names what the server does serve
            check_server(config.api_base, timeout=timeout, api_key=config.api_key, model=name)
    # No seed is sent: DSPy makes n candidates as n identical requests, and a fixed seed
    # would make them identical answers. vLLM seeds its sampler with its own --seed.
    return dspy.LM(
        f"openai/{name}",
        api_base=config.api_base,
        api_key=config.api_key or "local",
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        timeout=config.timeout,
        cache=config.cache,
    )
