"""Seeded generation stays byte-identical: 300 drawn programs and their questions per database,
hashed. A change to the sampler or the verbalizer that changes any output fails here; update
the pin only for a change meant to alter the generated tasks (and say so in its commit).

The pins were taken before the sampler and verbalizer were split into modules (issue 13) and
still hold after it.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from finetune.profile import profile
from finetune.sampler import Sampler
from finetune.verbalize import question
from tools.database import resolve
from tools.schema import inspect

PINS = {
    "demo": "f0201c1ffef2ccfcd8ce6d0ec9946e3d1c98031807b3f9b5ce5b2038273d4d38",
    "concert_singer": "b2b184e7a7b18c75e562e64b06bf440e22684fdd80e4ee900682cfc044c79834",
    "world_1": "47eac1e99e214174576e6d53fa7d7f72fdaea819d8e87d97ec88ab00dbba4646",
}


def draws(spec: str, n: int = 300) -> list[dict | None]:
    db = resolve(spec)
    rng = random.Random(7)
    sampler = Sampler(profile(db, inspect(db)), rng)
    out = []
    for _ in range(n):
        kind = sampler.pick_kind()
        draw = sampler.draw(kind)
        sampler.feedback(kind, draw is not None)
        out.append(None if draw is None else {
            "code": draw.code, "spec": draw.spec,
            "q": question(draw.spec, sampler.namer, rng)})
    return out


@pytest.mark.parametrize("name", list(PINS))
def test_seeded_draws_and_questions_are_unchanged(name: str, demo_db, sample_dbs: Path) -> None:
    spec = "demo" if name == "demo" else str(sample_dbs / f"{name}.duckdb")
    text = json.dumps(draws(spec), sort_keys=True, default=str)
    assert hashlib.sha256(text.encode()).hexdigest() == PINS[name]
