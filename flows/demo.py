"""The main job (``make run``): the whole risk-scorer lifecycle on demo data."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.backfill import backfill
from flows.score import score
from flows.train import train
from tasks.demo import plan_demo, summarize_demo


@flow(name="demo")
def demo(days: int = 120, end: date | None = None, shock_days: int = 20, score_days: int = 7) -> dict:
    """Backfill, train, gate, promote and score on the synthetic source.

    Steps:
    1. backfill ``days`` days ending yesterday, with a ``shock`` scenario in
       the last ``shock_days`` (done days are skipped on a rerun);
    2. train on the matured window and let the gate promote the challenger;
    3. score the last ``score_days`` partitions with the champion;
    4. summarise: champion and metrics, partitions, where the MLflow data is.
    """
    dates = plan_demo(days, end, shock_days, score_days)
    backfill(dates.start, dates.end, scenario="shock", scenario_start=dates.shock_start)
    trained = train()
    scored = score(dates.score_days[0], end=dates.end)
    return summarize_demo(trained, scored)


if __name__ == "__main__":
    from infra.reports import print_demo_summary

    print_demo_summary(demo())
