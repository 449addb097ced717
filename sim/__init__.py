"""paxsim: a discrete-event simulator of supply-chain dependency risk.

The public API: build a :class:`World` (``load_world``, ``example_world``), describe
events (:mod:`sim.events`), run them with :func:`simulate` or :func:`simulate_pair`,
and compute metrics with :func:`compute_metrics`.
"""

from sim.compare import paired_differences
from sim.distributions import Distribution
from sim.engine import Settings, simulate
from sim.ensemble import Ensemble, run_ensemble, run_scenario
from sim.errors import InputError, PaxsimError
from sim.events import (
    Destinations,
    ExportControl,
    ExportControlChange,
    FacilityOutage,
    GeneralLicence,
    Selector,
    StockpileRelease,
)
from sim.examples import example_world
from sim.metrics import METRICS, compute_metrics, material_balance
from sim.pair import simulate_pair
from sim.record import RunRecord
from sim.response import pro_rata
from sim.results import read_results, write_results
from sim.scenario import Scenario, load_scenario
from sim.sink import write_scenario
from sim.version import __version__
from sim.world import World, load_world

__all__ = [
    "METRICS",
    "Destinations",
    "Distribution",
    "Ensemble",
    "ExportControl",
    "ExportControlChange",
    "FacilityOutage",
    "GeneralLicence",
    "InputError",
    "PaxsimError",
    "RunRecord",
    "Scenario",
    "Selector",
    "Settings",
    "StockpileRelease",
    "World",
    "__version__",
    "compute_metrics",
    "example_world",
    "load_scenario",
    "load_world",
    "material_balance",
    "paired_differences",
    "pro_rata",
    "read_results",
    "run_ensemble",
    "run_scenario",
    "simulate",
    "simulate_pair",
    "write_results",
    "write_scenario",
]
