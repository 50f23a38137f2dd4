"""The ops database on PostgreSQL: the same ledgers, chosen by URL alone.

Uses the PostgreSQL on 127.0.0.1:5432 (trust auth); each test gets a fresh
database that is dropped afterwards.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from infra.stores.ledger import NothingToRollBack, PartitionLedger, PointerLedger
from infra.stores.opsdb import create_ops_engine

def test_partition_ledger_on_postgres(pg_url):
    engine = create_ops_engine(pg_url)
    ledger = PartitionLedger(engine)
    day = date(2026, 5, 1)
    ledger.record_failure(dataset="applications", ds=day, error="x.csv: missing column 'age'", flow_run_id="r1")
    assert ledger.get("applications", day).status == "failed"
    ledger.record_success(
        dataset="applications", ds=day, row_count=10, quarantined_count=1, content_hash="a" * 64,
        schema_version="1", path="/lake/x", flow_run_id="r2", meta={"k": "v"},
    )
    # a later failure never overwrites the committed partition
    ledger.record_failure(dataset="applications", ds=day, error="boom", flow_run_id="r3")
    record = ledger.get("applications", day)
    assert (record.status, record.row_count, record.meta) == ("ok", 10, {"k": "v"})
    assert [a["status"] for a in ledger.attempts("applications", day)] == ["failed", "ok", "failed"]
    engine.dispose()


def test_pointer_ledger_move_is_atomic_with_its_apply(pg_url):
    engine = create_ops_engine(pg_url)
    ledger = PointerLedger(engine)
    with pytest.raises(NothingToRollBack):
        ledger.rollback_target("model:m@champion")
    ledger.move("model:m@champion", new_value="1", actor="a", reason="first", evidence={}, apply=lambda v: None)

    def failing_apply(value):
        raise RuntimeError("registry down")

    with pytest.raises(RuntimeError, match="registry down"):
        ledger.move("model:m@champion", new_value="2", actor="a", reason="x", evidence={}, apply=failing_apply)
    # the failed move left no row
    assert [(m.old_value, m.new_value) for m in ledger.history("model:m@champion")] == [(None, "1")]
    engine.dispose()


def test_request_events_cache_and_index_builds_on_postgres(pg_url):
    from datetime import datetime, timezone

    from infra.stores.requests import IndexBuilds, RequestEvent, RequestLog, ResponseCache

    engine = create_ops_engine(pg_url)
    log = RequestLog(engine)
    now = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    log.append(RequestEvent(request_id="r1", at=now, kind="answer", tenant="a", use_case="qa", total_tokens=120,
                            chunks_used=[{"doc_id": "x.md", "score": 0.5}], guardrail_flags=["pii:email"], cache_hit=False))
    log.append(RequestEvent(request_id="r2", at=now, kind="budget_warning", tenant="a", use_case="qa"))
    assert log.tokens_used("a", now.date()) == 120 and log.tokens_used("b", now.date()) == 0
    assert log.warned("a", now.date()) and log.recent(tenant="a")[1]["guardrail_flags"] == ["pii:email"]
    with pytest.raises(sa.exc.IntegrityError):  # request ids are unique: an event is never written twice
        log.append(RequestEvent(request_id="r1", at=now, kind="answer", tenant="a", use_case="qa"))

    cache = ResponseCache(engine)
    cache.put("k", prompt_version="1", index_version="docs-v1", generator="offline", answer={"text": "t", "citations": ["x.md"]})
    cache.put("k", prompt_version="1", index_version="docs-v1", generator="offline", answer={"text": "t2", "citations": []})
    assert cache.get("k")["text"] == "t2" and cache.get("missing") is None

    builds = IndexBuilds(engine)
    builds.start("docs-v2", config_hash="c", base_collection="docs-v1", plan={"added": 1}, flow_run_id=None)
    assert builds.unfinished("c")["collection"] == "docs-v2" and builds.unfinished("other") is None
    builds.finish("docs-v2", status="released", gate={"passed": True})
    assert builds.unfinished("c") is None and builds.get("docs-v2")["gate"] == {"passed": True}


def test_mlflow_registry_and_prompt_registry_on_postgres(pg_url, tmp_path):
    """MLflow on PostgreSQL, chosen by URL alone: a model version with its alias, a prompt with its alias."""
    import numpy as np
    import pandas as pd
    import xgboost as xgb

    from indexes.prompts import DEFAULT_PARAMS, DEFAULT_TEMPLATE
    from infra.clients.mlflow_prompts import PromptRegistry
    from infra.clients.mlflow_registry import ModelRegistry

    registry = ModelRegistry(tracking_uri=pg_url, artifact_root=str(tmp_path / "artifacts"), experiment_name="pg", model_name="pg-model")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=(X["a"] > 0).astype(int)), num_boost_round=3)
    run = registry.log_training_run(booster=booster, example=X.head(5), params={"rounds": 3}, metrics={"auc": 0.9},
                                    dicts={"partitions.json": []}, texts={}, tags={"data_fingerprint": "f1"}, run_name="pg-run")
    registry.set_alias("champion", run.version)
    assert registry.alias_version("champion") == run.version == "1"
    assert registry.find_version_by_tag("data_fingerprint", "f1") == "1"
    assert registry.load_booster(run.version).num_boosted_rounds() == 3

    prompts = PromptRegistry(tracking_uri=pg_url, name="pg-prompt")
    spec = prompts.register(DEFAULT_TEMPLATE, DEFAULT_PARAMS, message="first")
    prompts.set_alias("production", spec.version)
    assert prompts.by_alias("production").params["max_sentences"] == DEFAULT_PARAMS["max_sentences"]
