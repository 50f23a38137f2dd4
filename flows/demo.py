"""The main job (``make run``): the whole risk-scorer lifecycle on demo data."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows.backfill import backfill
from flows.prompt_release import prompt_release
from flows.reindex import reindex
from flows.score import score
from flows.train import train
from tasks.common import shared_api_client
from tasks.demo import ask_samples, ensure_prompt, plan_demo, summarize_demo


@flow(name="demo")
async def demo(days: int = 120, end: date | None = None, shock_days: int = 20, score_days: int = 7) -> dict:
    """Both lifecycles on demo data: the risk scorer, then the RAG assistant.

    Steps:
    1. backfill ``days`` days ending yesterday, with a ``shock`` scenario in
       the last ``shock_days`` (done days are skipped on a rerun);
    2. train on the matured window and let the gate promote the challenger;
    3. score the last ``score_days`` partitions with the champion;
    4. reindex the demo corpus and the model cards (only changes are embedded);
    5. register the built-in prompt if there is none and release it through the golden-set gate;
    6. ask a few questions through the gateway (one is an injection attempt);
    7. summarise: champion and metrics, partitions, index, prompt, answers, where things are.

    Async because the risk-scorer flows are (see ``flows/backfill.py``); the
    RAG steps are sync flows and tasks; all run one after another.
    """
    with shared_api_client():
        dates = plan_demo(days, end, shock_days, score_days)
        await backfill(dates.start, dates.end, scenario="shock", scenario_start=dates.shock_start)
        trained = await train()
        scored = await score(dates.score_days[0], end=dates.end)
        indexed = reindex()
        released = prompt_release(ensure_prompt(), reason="main job: built-in prompt")
        answers = ask_samples()
        return summarize_demo(trained, scored, indexed, released, answers)


if __name__ == "__main__":
    import asyncio

    from infra.reports import print_demo_summary

    print_demo_summary(asyncio.run(demo()))
