"""The DSPy program (signatures, pipeline, prompts' parts and banks of examples, traces, stored
programs and adapters) and its LM backends (`agents.lm`). May import tools and retrieval."""

import os

from tools.paths import sub_dir

# DSPy reads this when first imported: keep its response cache in our data folder, so it follows
# $DEVSTARL_HOME (tests, CI) instead of ~/.dspy_cache.
os.environ.setdefault("DSPY_CACHEDIR", str(sub_dir("dspy_cache")))
