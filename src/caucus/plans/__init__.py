"""Election plans: the fixed facts of a caucus, bundled (``iowa-2020``) or read from a directory."""

from caucus.plans.loader import PlanError, list_bundled_plans, load_plan, read_plan_dir, read_plan_files
from caucus.plans.model import County, NationalSeats, Plan, Precinct, normalise_name
from caucus.plans.settings import Boundaries, PlanSettings

__all__ = [
    "Boundaries",
    "County",
    "NationalSeats",
    "Plan",
    "PlanError",
    "PlanSettings",
    "Precinct",
    "list_bundled_plans",
    "load_plan",
    "normalise_name",
    "read_plan_dir",
    "read_plan_files",
]
