"""What runs are called and what their final state says (infra/flow_runs.py), without a server."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from infra import flow_runs

AUC = {"value": 0.8213, "low": 0.8011, "high": 0.8402}


def test_a_promotion_and_a_skipped_retrain_read_differently():
    promoted = flow_runs.train_message({"version": "3", "skipped": False, "decision": "PROMOTE", "auc": AUC})
    skipped = flow_runs.train_message({"version": "2", "skipped": True, "decision": "PROMOTE", "code": None})
    assert promoted == "PROMOTE v3 (AUC 0.82 [0.80, 0.84])"
    assert skipped == "skipped: same partitions as v2 (PROMOTE)"


def test_a_hold_names_its_code_and_a_pinned_promotion_says_nothing_moved():
    held = flow_runs.train_message({"version": "4", "skipped": False, "decision": "HOLD", "code": "inconclusive", "auc": AUC})
    pinned = flow_runs.train_message({"version": "5", "skipped": False, "decision": "PROMOTE", "pinned": True, "auc": AUC})
    assert held == "HOLD v4 (AUC 0.82 [0.80, 0.84]): inconclusive"
    assert pinned.endswith("but champion is pinned: not moved")


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"collection": "docs-v5", "released": True, "up_to_date": False}, "docs-live -> docs-v5"),
        ({"collection": "docs-v4", "released": False, "up_to_date": True}, "up to date: docs-live is docs-v4"),
        ({"collection": "docs-v6", "released": False, "pinned": True, "up_to_date": False},
         "PINNED: docs-v6 passed the gate, docs-live is pinned"),
        ({"collection": "docs-v6", "released": False, "up_to_date": False}, "HOLD: docs-v6 failed the retrieval gate; docs-live stays"),
    ],
)
def test_reindex_messages(result, message):
    assert flow_runs.reindex_message(result) == message


def test_prompt_backfill_and_night_messages():
    assert flow_runs.prompt_message({"version": 3, "moved": True, "previous": 2}) == "production -> v3 (was v2)"
    assert flow_runs.prompt_message({"version": 4, "moved": False, "message": "faithfulness 0.61 < 0.80"}) == "HOLD v4: faithfulness 0.61 < 0.80"
    rows = [{"outcome": "done"}, {"outcome": "done"}, {"outcome": "skipped"}]
    assert flow_runs.backfill_message(rows) == "2 done, 1 skipped, 0 failed"
    assert flow_runs.nightly_message({"night": "2026-03-14", "skipped": True}) == "skipped: 2026-03-14 already evaluated"
    night = {"night": "2026-03-14", "skipped": False, "status": "red", "tickets": [{}, {}], "held": [{}]}
    assert flow_runs.nightly_message(night) == "2026-03-14 red: 2 ticket change(s), 1 held"


def test_yesterday_is_counted_in_the_deployments_timezone():
    # 23:30 UTC on March 14 is already March 15 in Berlin
    moment = datetime(2026, 3, 14, 23, 30, tzinfo=timezone.utc)
    assert flow_runs.day_before(moment) == date(2026, 3, 13)
    assert flow_runs.day_before(moment, "Europe/Berlin") == date(2026, 3, 14)
    assert flow_runs.day_before(moment.replace(tzinfo=None)) == date(2026, 3, 13)  # naive means UTC


def test_run_tags_carry_the_assets_and_the_day_of_a_one_day_run():
    one_day = flow_runs.run_tags(["risk-scorer"], {"ds": date(2026, 3, 14)}, by_day=True)
    a_range = flow_runs.run_tags(["risk-scorer"], {"ds": date(2026, 3, 14), "end": date(2026, 3, 20)}, by_day=True)
    assert one_day == {"asset:risk-scorer", "ds:2026-03-14"}
    assert a_range == {"asset:risk-scorer"}
    assert flow_runs.run_tags(["rag"], {}, by_day=False) == {"asset:rag"}


def test_the_failure_payload_links_the_run_and_keeps_one_line():
    payload = flow_runs.failure_payload("ingest", "ingest 2026-03-14", "abc", "Failed", "bad\n  file", "http://127.0.0.1:4200/")
    assert payload["url"] == "http://127.0.0.1:4200/runs/flow-run/abc"
    assert payload["message"] == "bad file"
