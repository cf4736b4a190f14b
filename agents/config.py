"""Settings of the ask pipeline, validated before anything heavy loads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

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

    def __post_init__(self) -> None:
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
            shown = ", ".join(f"{n}={getattr(self, n)}" for n in bad)
            raise ConfigError(f"setting out of range: {shown}")

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]
