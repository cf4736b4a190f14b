"""Settings (`AgentConfig`, `TrainConfig`, `LMConfig`, `SynthConfig`) built from values of any
JSON type, as a config file or a request would hand them over. DevStarL has no config file of
its own (settings come from typed CLI options), so each dataclass is the loader: it takes the
values, or raises our error, one line naming the setting."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.config import AgentConfig, ConfigError
from agents.lm.config import LMConfig, LMConfigError
from finetune.train import TrainConfig, TrainError
from harness.synth import SynthConfig
from tests.fuzz.fuzzing import counted, fuzz, json_values, outcome

values = st.one_of(json_values, st.integers(-3, 20), st.floats(-1, 3), st.sampled_from(
    ["local", "server", "cpu", "auto", "float32", "http://127.0.0.1:8000/v1", "",
     "qwen2.5-coder-0.5b"]))


def settings_of(cls: type, skip: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """One to three of `cls`'s settings, each of any JSON value."""
    names = sorted(f.name for f in fields(cls) if f.name not in skip)
    return st.dictionaries(st.sampled_from(names), values, min_size=1, max_size=3)


def check_typed(config: Any) -> None:
    for f in fields(config):
        value = getattr(config, f.name)
        if f.type == "bool":
            assert isinstance(value, bool), (f.name, value)
        elif f.type in ("int", "float"):
            assert isinstance(value, int | float) and not isinstance(value, bool), (f.name, value)


def build(cls: type, error: type, settings: dict[str, Any]) -> Any:
    made = outcome(lambda: cls(**settings), "setting", kinds=error)
    if isinstance(made, error):
        assert any(name in str(made) for name in settings), str(made)
    else:
        check_typed(made)
    return made


@fuzz(120)
@given(settings=settings_of(AgentConfig))
def test_agent_config(settings: dict[str, Any]) -> None:
    counted("configs: AgentConfig")
    build(AgentConfig, ConfigError, settings)


@fuzz(120)
@given(settings=settings_of(TrainConfig))
def test_train_config(settings: dict[str, Any]) -> None:
    counted("configs: TrainConfig")
    build(TrainConfig, TrainError, settings)


@fuzz(120)
@given(settings=settings_of(LMConfig, skip=("adapter", "api_base")),
       backend=st.sampled_from(["local", "server"]))
def test_lm_config(settings: dict[str, Any], backend: str) -> None:
    counted("configs: LMConfig")
    server = {"api_base": "http://127.0.0.1:8000/v1"} if backend == "server" else {}
    made = LMConfig(**{"backend": backend, **server, **settings})
    checked = outcome(made.validate, "LM config: ", kinds=LMConfigError)
    if isinstance(checked, LMConfigError):
        assert any(name in str(checked) for name in [*settings, "backend"]), str(checked)


# Found by fuzzing: a non-string folder or URL reached Path/re, a setting of the wrong type a
# comparison.
@pytest.mark.parametrize(("backend", "setting"), [("local", {"adapter": 5}),
                                                  ("server", {"api_base": 5})])
def test_lm_config_non_string_folder_or_url(backend: str, setting: dict[str, Any]) -> None:
    outcome(LMConfig(backend=backend, **setting).validate, "LM config: ", kinds=LMConfigError)


@pytest.mark.parametrize("setting", [{"workers": "2"}, {"temperature": "hot"}])
def test_synth_config_of_the_wrong_type(setting: dict[str, Any]) -> None:
    build(SynthConfig, ConfigError, setting)
