"""Bootstrapped tasks, traces to training data, LoRA training and adapters."""
