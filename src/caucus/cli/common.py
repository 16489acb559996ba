"""Shared CLI plumbing: consoles and the one way a command fails on bad input."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

EXIT_OK = 0
EXIT_INCONSISTENT = 1
EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Print ``message`` to stderr and exit with the bad-input code."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(EXIT_BAD_INPUT)
