"""Building a ready agent for a database: resolve, inspect, pick the LM, open the trace store."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import dspy

from agents.config import AgentConfig
from agents.lm import LMConfig, make_lm
from agents.pipeline import IbisAgent
from agents.programs import load_program, registered_program
from agents.registry import registered
from agents.shots import ShotBank, load_bank
from agents.traces import TraceStore
from tools.database import Database, resolve
from tools.sandbox import Sandbox
from tools.schema import inspect

log = logging.getLogger(__name__)


def model_label(config: LMConfig) -> str:
    """The model name a trace records: a catalogue name (also its installed folder's name), a
    folder's name, or a served name."""
    return Path(config.model).name if config.backend == "local" else config.model


def with_registered_adapter(config: LMConfig, db_name: str) -> LMConfig:
    """`config` with the adapter registered for `db_name` when it names none ("none" = base)."""
    if config.adapter == "none":
        return replace(config, adapter=None)
    if config.adapter is None and (path := registered(db_name)) is not None:
        if not adapter_fits(path, config.model):
            log.warning("not using the adapter registered for %s (%s): it was trained on "
                        "another base model than %s", db_name, path, config.model)
            return config
        # A folder for both backends: a server that lacks it loads it from there.
        return replace(config, adapter=str(path))
    return config


def adapter_fits(adapter: Path, model: str) -> bool:
    """Whether `adapter` was trained on `model` (a catalogue name, folder or served name), by
    the base folder its peft config names; an adapter that names none is given the benefit."""
    try:
        config = json.loads((Path(adapter) / "adapter_config.json").read_text())
    except (OSError, ValueError, RecursionError):
        return False
    if not isinstance(config, dict):
        return False
    base = config.get("base_model_name_or_path")
    return not base or Path(str(base)).name == Path(model).name


def build_agent(
    db: str | Database | None,
    lm_config: LMConfig | None = None,
    agent_config: AgentConfig | None = None,
    store: TraceStore | None = None,
    lm: dspy.LM | None = None,
    sandbox: Sandbox | None = None,
    program: str | Path | None = None,
    shots: ShotBank | None = None,
) -> IbisAgent:
    """An agent over `db` (None = the demo) tracing into `store` (default: the trace store).

    Pass `lm` to share one LM (and its loaded model) between agents; else one is made from
    `lm_config`, with the database's registered adapter unless it names one (or "none").
    `program` is an optimized program file to load; by default the database's registered
    one, if any; "none" keeps the uncompiled modules. `shots` is the bank of verified examples;
    by default the database's own when the config recalls any (`finetune.shots.ensure_shots`
    builds it)."""
    database = db if isinstance(db, Database) else resolve(db)
    if lm is None:
        lm_config = with_registered_adapter(lm_config or LMConfig(), database.name)
    lm_config = (lm_config or LMConfig()).validate()
    schema = inspect(database)
    adapter = Path(lm_config.adapter).name if lm_config.adapter else None
    agent_config = agent_config or AgentConfig()
    if shots is None and agent_config.shots_k > 0:
        shots = load_bank(database.name, schema)
    agent = IbisAgent(database, schema, agent_config, sandbox=sandbox,
                      store=store or TraceStore(), model=model_label(lm_config),
                      adapter_name=adapter, shots=shots)
    agent.set_lm(lm or make_lm(lm_config))
    if program is None:
        program = registered_program(database.name)
    if program is not None and str(program) != "none":
        load_program(agent, Path(program))
        agent.program = str(program)
    return agent
