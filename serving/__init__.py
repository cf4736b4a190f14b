"""Starting and talking to a vLLM OpenAI-compatible server."""
