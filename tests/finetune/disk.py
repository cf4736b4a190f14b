"""A disk that fills while an adapter is saved: shared by the training and DPO tests."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest


def fill_disk_on_save(monkeypatch: pytest.MonkeyPatch) -> None:
    """peft's save writes part of a weights file, then fails as a full disk does."""
    from peft import PeftModel

    def fills_the_disk(self, folder, **kwargs) -> None:  # noqa: ANN001, ARG001
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "adapter_model.safetensors").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(PeftModel, "save_pretrained", fills_the_disk)
