"""Election plans: the fixed facts of a caucus, bundled (``iowa-2020``) or read from a directory."""

from caucus.plans.loader import PlanError, list_bundled_plans, load_plan, read_plan_dir
from caucus.plans.model import County, NationalSeats, Plan, Precinct, normalise_name

__all__ = [
    "County",
    "NationalSeats",
    "Plan",
    "PlanError",
    "Precinct",
    "list_bundled_plans",
    "load_plan",
    "normalise_name",
    "read_plan_dir",
]
