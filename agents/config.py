"""Settings of the ask pipeline, validated before anything heavy loads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tools.errors import DevstarlError


class ConfigError(DevstarlError):
    """A setting out of range."""


# DSPy optimizers `devstarl optimize` runs. MIPROv2 writes instructions and GEPA reflects on
# feedback with a prompt model, which a 135M model cannot do usefully; the other two only run
# the pipeline's own LM.
OPTIMIZERS = ("bootstrap", "random-search", "mipro", "gepa")
NEEDS_PROMPT_MODEL = ("mipro", "gepa")


@dataclass(frozen=True)
class AgentConfig:
    rounds: int = field(default=2, metadata={"help": "revise rounds after a failed draft"})
    candidates: int = field(
        default=1, metadata={"help": "drafts voted on by their results: the greedy one and "
                                     "candidates - 1 sampled (1 = greedy only)"}
    )
    redrafts: int = field(
        # Off by default: on the first 23 dev tasks (the 0.5B) 4 redrafts ran 2 more programs
        # but answered the same 4 right, at 2.1x the time (sampled drafts ramble to max_tokens).
        default=0, metadata={"help": "drafts sampled again from the same prompt when none "
                                     "worked, voted on before any revise round"}
    )
    temperature: float = field(
        default=0.8, metadata={"help": "sampling temperature of candidates and redrafts"}
    )
    docs_k: int = field(default=2, metadata={"help": "Ibis doc snippets retrieved per prompt"})
    link_tables: bool = field(
        default=True, metadata={"help": "show only the tables the question is about"}
    )
    examples: bool = field(
        default=True, metadata={"help": "show worked programs written over the tables"}
    )
    shots_k: int = field(
        # Off by default: on the demo dev split 2 shots scored the same as none (EX 4/31 both)
        # at 4.6x the p50 latency (65 s vs 14 s: they change every prompt, so no prefix reuse).
        default=0, metadata={"help": "verified examples recalled from the database's bank, "
                                     "after those drawn from the schema (0 = none)"}
    )
    constrain: bool = field(
        default=False,
        metadata={"help": "decode programs within a grammar of the database's tables, columns "
                          "and the Ibis API, so no name outside them can be written"},
    )
    constrain_retry: bool = field(
        default=False,
        metadata={"help": "when no draft works, write it once more, greedily, within the "
                          "grammar (see constrain) before any redraft or revise round; the "
                          "prompt is the draft's, so a local runtime only decodes the program"},
    )
    reflect: bool = field(
        default=True,
        metadata={"help": "ask the model what went wrong before each revision (else the "
                          "tool's hint stands in)"},
    )
    reflect_max_tokens: int = field(
        default=96, metadata={"help": "most tokens of a reflection (code replies use the LM's)"}
    )
    answer_rows: int = field(default=20, metadata={"help": "rows of the answer table returned"})
    vote_rows: int = field(
        default=50, metadata={"help": "sample rows compared when voting between candidates"}
    )

    @classmethod
    def for_model(cls, model: str, rounds: int | None = None, **settings: Any) -> AgentConfig:
        """The settings for `model` (a catalogue name, folder or served name): `rounds`, else
        the revise rounds the catalogue measured for that model, else the default."""
        if rounds is None:
            from agents.lm.catalogue import CATALOGUE  # the catalogue is data; no model loads

            entry = CATALOGUE.get(model)
            rounds = entry.rounds if entry is not None and entry.rounds is not None \
                else cls.rounds
        return cls(rounds=rounds, **settings)

    def __post_init__(self) -> None:
        check_types(self)
        checks = {
            "rounds": 0 <= self.rounds <= 10,
            "candidates": 1 <= self.candidates <= 16,
            "redrafts": 0 <= self.redrafts <= 16,
            "temperature": 0.0 <= self.temperature <= 2.0,
            "docs_k": 0 <= self.docs_k <= 20,
            "shots_k": 0 <= self.shots_k <= 20,
            "reflect_max_tokens": 1 <= self.reflect_max_tokens <= 4096,
            "answer_rows": 1 <= self.answer_rows <= 10_000,
            "vote_rows": 1 <= self.vote_rows <= 10_000,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            shown = ", ".join(f"{n}={show(getattr(self, n))}" for n in bad)
            raise ConfigError(f"setting out of range: {shown}")

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


# The declared type of a setting (a string: annotations are postponed) -> the values it takes.
_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,),
                                       "str": (str,)}


def check_types(config: Any, error: type[DevstarlError] = ConfigError) -> None:
    """Raise `error`, one line naming the setting, unless each int, float, bool and str field
    of the dataclass `config` holds a value of that type (an int for a float; no bool for a
    number), so a range check after this never compares a string with a number."""
    for f in fields(config):
        wanted = _TYPES.get(str(f.type))
        value = getattr(config, f.name)
        if wanted is None:
            continue
        if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
            raise error(f"setting {f.name} must be {'a' if f.type != 'int' else 'an'} "
                        f"{f.type}, not {show(value)}")


def show(value: Any) -> str:
    """A setting's value for a one-line message: short, control characters escaped."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        return "a huge number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
