"""One re-plan event per instant (``_Run.replan_at``) changes no result, to the bit.

Qualification and ramp steps of many buyers, control dates and reopened lanes ask for
re-plans on the same days; ``replan_at`` schedules one SimPy event per instant instead
of one per request. Here the library's two scenarios with the most such requests run
both ways (the second with every request its own event, as ``at`` schedules it) and
must give the same tables, bit for bit, with fewer events.
"""

from __future__ import annotations

import pandas as pd
import pytest
import simpy

from sim import engine
from tests.test_kernels import TABLES, _tables


def _one_event_per_request(self: engine._Run, day: float) -> None:
    self.at(day, lambda: self.request(replan=True))


@pytest.mark.parametrize("name", ["ree_controls_2025", "gallium_germanium_2023"])
def test_one_replan_event_per_instant_changes_nothing(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [0]
    step = simpy.Environment.step

    def counted(env: simpy.Environment) -> None:
        steps[0] += 1
        step(env)

    monkeypatch.setattr(simpy.Environment, "step", counted)
    merged, merged_events = _tables(name), steps[0]
    monkeypatch.setattr(engine._Run, "replan_at", _one_event_per_request)
    steps[0] = 0
    each, each_events = _tables(name), steps[0]
    assert merged_events < each_events
    for table in TABLES:
        pd.testing.assert_frame_equal(merged[table], each[table], check_exact=True, obj=table)
        for column in merged[table].columns:
            ours, theirs = merged[table][column].to_numpy(), each[table][column].to_numpy()
            if ours.dtype.kind == "f":
                assert ours.tobytes() == theirs.tobytes(), f"{name} {table}.{column}"


def test_a_replan_asked_again_after_it_ran_is_scheduled_again() -> None:
    """An instant's re-plan that already ran is no reason to skip a later request for it."""
    env = simpy.Environment()
    run = engine._Run.__new__(engine._Run)
    run.env, run.horizon, run._replans = env, 10.0, set()
    asked: list[float] = []
    run.request = lambda replan: asked.append(env.now)  # type: ignore[method-assign]
    run.replan_at(2.0)
    run.replan_at(2.0 + 1e-12)  # the same whole day
    run.replan_at(3.0)
    env.run(until=2.5)
    run.replan_at(2.5)  # now: once more
    run.replan_at(11.0)  # past the horizon: nothing
    env.run(until=10.0)
    assert asked == [2.0, 2.5, 3.0]
