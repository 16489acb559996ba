"""An install without the extras: every module of the package imports, and the command line runs, with the
optional and development packages made unimportable (a quick guard in the suite; .ci/run also builds the
wheel, installs it in a clean venv without extras and runs `caucus audit` and a short `caucus rehearse`)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from caucus.packaged import certified_results, nginx_conf

ROOT = Path(__file__).resolve().parents[1]
#: importable here (the dev extra), absent from `pip install caucus`
OPTIONAL = ("playwright", "pytest", "hypothesis", "schemathesis", "jsonschema_rs", "httpx2", "ruff", "mypy")

WITHOUT_EXTRAS = f"""
import importlib, pkgutil, sys
for name in {OPTIONAL!r}:
    sys.modules[name] = None  # `import name` now raises ImportError
import caucus
for module in pkgutil.walk_packages(caucus.__path__, "caucus."):
    if ".migrations.versions" not in module.name and not module.name.endswith("migrations.env"):
        importlib.import_module(module.name)
from caucus.rehearse.browser import chromium_available
assert not chromium_available(), "no Playwright: no chair can use the app"
from caucus.cli import main
sys.argv = ["caucus", *sys.argv[1:]]
main()
"""


def _caucus_without_extras(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_EXTRAS, *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT)


def test_every_module_imports_and_the_cli_runs_without_the_extras() -> None:
    result = _caucus_without_extras("plans")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("iowa-2020:"), result.stdout


def test_the_optional_packages_are_not_dependencies_and_pillow_is() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in project["dependencies"]}
    assert "pillow" in required  # PIL is imported by caucus.service.media and caucus.rehearse.night
    assert not required & {"playwright", "pytest", "hypothesis", "schemathesis", "jsonschema-rs", "httpx2"}
    assert any(d.startswith("playwright") for d in project["optional-dependencies"]["browser"])


def test_the_demo_data_and_the_nginx_config_are_package_data() -> None:
    """Read through importlib.resources from inside the package, and listed as package data for the wheel."""
    package = ROOT / "src" / "caucus"
    assert certified_results().resolve() == (package / "plans" / "iowa-2020" / "results-certified.csv").resolve()
    assert nginx_conf() == (package / "deploy" / "nginx" / "caucus.conf").read_text(encoding="utf-8")
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["caucus"]
    for path in (certified_results(), package / "deploy" / "nginx" / "caucus.conf"):
        relative = path.resolve().relative_to(package.resolve())
        assert any(relative.match(p) for p in patterns), relative
    # one copy: nothing of the kind left in the checkout outside the package
    assert not (ROOT / "data" / "iowa2020" / "results-certified.csv").exists()
    assert not (ROOT / "deploy" / "nginx" / "caucus.conf").exists()
