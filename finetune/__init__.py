"""Learning: bootstrapped tasks, traces to training data, LoRA training, the learn loop.
May import tools, retrieval, agents and harness."""
