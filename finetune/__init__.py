"""Learning: bootstrapped tasks (and banks of examples drawn from them), traces to training
data, LoRA training, the learn loop. May import tools, retrieval, agents and harness."""
