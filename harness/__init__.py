"""The eval harness: task files, batch synthesis, the EX judge, metrics, reports, run tracking
and prompt optimization against the EX metric. May import tools, retrieval and agents."""
