"""Files shipped inside the package (package data, see pyproject.toml), found with importlib.resources, so
that they are there in an installed wheel as in a source checkout:

- the party's certified 2020 Iowa results, which ``caucus demo`` and ``caucus rehearse`` replay and
  ``caucus audit`` checks by default: ``caucus/plans/iowa-2020/results-certified.csv`` (provenance:
  data/PROVENANCE.md and the plan's PROVENANCE.md);
- the nginx configuration of the deployment: ``caucus/deploy/nginx/caucus.conf``.

Each is kept once, in the package; nothing reads them from the checkout.
"""

from __future__ import annotations

import atexit
import contextlib
from importlib import resources
from pathlib import Path

CERTIFIED_PLAN = "iowa-2020"
CERTIFIED_FILE = "results-certified.csv"

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def packaged_path(*parts: str) -> Path:
    """A file of the package as a filesystem path (an installed wheel and a checkout have one; a zipped
    install is extracted to a temporary file for the life of the process)."""
    entry = resources.files("caucus").joinpath(*parts)
    if not entry.is_file():
        raise FileNotFoundError(f"caucus is installed without its package data: no {'/'.join(parts)}")
    if isinstance(entry, Path):
        return entry
    return _extracted.enter_context(resources.as_file(entry))


def certified_results() -> Path:
    """The party's certified results of the 2020 Iowa caucuses (long CSV), shipped with the iowa-2020 plan."""
    return packaged_path("plans", CERTIFIED_PLAN, CERTIFIED_FILE)


def nginx_conf() -> str:
    """The text of the shipped nginx configuration (caucus/deploy/nginx/caucus.conf)."""
    return resources.files("caucus").joinpath("deploy", "nginx", "caucus.conf").read_text(encoding="utf-8")
