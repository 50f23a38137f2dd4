"""The main job (``make run``): both lifecycles on demo data, then the nightly loop replayed over the last nights."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.states import Completed

from flows.backfill import backfill
from flows.nightly_eval import nightly_eval
from flows.prompt_release import prompt_release
from flows.reindex import reindex
from flows.remediate import remediate
from flows.score import score
from flows.train import train
from infra.flow_runs import RAG, RISK, name_by, run_hooks
from tasks.common import shared_api_client
from tasks.demo import (
    ask_samples,
    ask_traffic,
    demo_message,
    edit_corpus_document,
    ensure_prompt,
    nights_to_replay,
    plan_demo,
    released_already,
    remedies_due,
    summarize_demo,
)


# The result is kept (PREFECT_HOME/storage): `make run` (infra/mainjob.py) prints its summary from it.
@flow(name="demo", flow_run_name=name_by("demo {days} days"), persist_result=True, **run_hooks(RISK, RAG))
async def demo(days: int = 120, end: date | None = None, shock_days: int = 45, replay_nights: int = 47) -> dict:
    """Both lifecycles on demo data, and the nightly loop over the last ``replay_nights`` nights.

    Steps:
    1. backfill ``days`` days ending yesterday, a ``shock`` in the last ``shock_days``
       (done days are skipped on a rerun);
    2. train on the matured window before the shock and let the gate promote the champion;
    3. reindex the corpus and the model cards; release the built-in prompt through its gate
       (not again once ``production`` serves it);
    4. replay each night: score it with the champion, a night of simulated users' questions
       through the gateway, the nightly evaluation (scorecard, tickets), and the remedy of
       each open retrain / re-index / re-prompt ticket through its gate; a few nights before
       the end a corpus document is edited (the main job's own copy), which makes docs-live stale;
       Evidently's HTML drift report (about 4 s a night) is kept for the newest night only: the
       figures, grades and tickets of the other nights are the same without it;
    5. ask a few questions (one is an injection attempt);
    6. summarise: champion, partitions, index, prompt, answers, the nights and the tickets.

    A rerun skips every night already evaluated. Async because the risk-scorer flows are
    (see ``flows/backfill.py``); the RAG steps are sync flows and tasks.

    Args:
        days: days of demo data to backfill, ending ``end``.
        end: the last day of demo data (default: yesterday).
        shock_days: the last this many days carry the ``shock`` drift scenario.
        replay_nights: nights of the nightly loop to replay, ending ``end``.
    """
    with shared_api_client():
        dates = plan_demo(days, end, shock_days, replay_nights)
        await backfill(dates.start, dates.end, scenario="shock", scenario_start=dates.shock_start)
        trained = await train(end=dates.train_end)
        indexed = reindex()
        prompt = ensure_prompt()
        released = released_already(prompt) or prompt_release(prompt, reason="main job: built-in prompt")
        scored, nights, remedies = [], [], []
        todo = nights_to_replay(dates.nights)
        nights += [{"night": n.isoformat(), "skipped": True} for n in dates.nights if n not in todo]
        for night in todo:
            scored += await score(night)
            ask_traffic(night)
            if night == dates.edit_night:
                edit_corpus_document(night)
            nightly = await nightly_eval(night, drift_report=night == dates.end)
            nights.append(nightly)
            for ticket_id in remedies_due(nightly):
                remedies.append(await remediate(ticket_id, night))
        answers = ask_samples()
        summary = summarize_demo(trained, scored, indexed, released, answers, nights, remedies)
        return Completed(message=demo_message(summary), data=summary)


if __name__ == "__main__":
    import asyncio

    from infra.reports import print_demo_summary

    print_demo_summary(asyncio.run(demo()))
