"""The production profile's stores, built by the factory from URLs alone.

The ops database and MLflow (tracking and registry) on PostgreSQL, the lake
and MLflow's artifacts on an S3 server (moto) reached through
``AWS_ENDPOINT_URL``: the code path a real bucket takes.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from infra.factory import build_lake, build_partition_ledger, build_pointer_ledger, build_registry, ops_engine
from infra.settings import get_settings
from infra.stores.ledger import NothingToRollBack, PointerPinned
from infra.stores.lake import PartitionUnreadable

pytestmark = [pytest.mark.services, pytest.mark.postgres]

DAY = date(2026, 2, 1)


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"application_id": [f"a{seed}-{i}" for i in range(n)], "income": rng.normal(size=n)})


def commit(lake, ledger, ds: date, df: pd.DataFrame) -> None:
    written = lake.write_partition("applications", ds, df)
    ledger.record_success(dataset="applications", ds=ds, row_count=written.rows, quarantined_count=0,
                          content_hash=written.content_hash, schema_version="1", path=written.path, flow_run_id=None)


def test_lake_on_s3_checks_every_read_against_the_ledger(production, s3):
    # Given the lake on S3 and the ledger on PostgreSQL, both from settings
    settings = get_settings()
    assert settings.resolved_lake_url.startswith("s3://") and settings.resolved_ops_db_url.startswith("postgresql://")
    lake, ledger = build_lake(settings), build_partition_ledger(settings)
    # When three days are committed, and the first is replaced by a rerun with other rows
    for i in range(3):
        commit(lake, ledger, DAY + timedelta(days=i), frame(20 + i, seed=i))
    commit(lake, ledger, DAY, frame(7, seed=9))
    # Then each reads back whole, checked against its hash, as one object per day (nothing left in staging)
    assert lake.list_partitions("applications") == [DAY + timedelta(days=i) for i in range(3)]
    assert len(lake.read_partition("applications", DAY)) == 7
    assert lake.read_table("applications", [DAY + timedelta(days=1), DAY + timedelta(days=2)]).num_rows == 43
    assert ledger.get("applications", DAY).path == f"s3://{s3.bucket}/lake/applications/ds={DAY.isoformat()}/part.parquet"
    assert s3.keys() == [f"lake/applications/ds={(DAY + timedelta(days=i)).isoformat()}/part.parquet" for i in range(3)]
    # and an object changed behind the ledger's back is named, not read
    key = f"lake/applications/ds={DAY.isoformat()}/part.parquet"
    body = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=body[:-9] + b"XXXXPAR1" + body[-1:])
    with pytest.raises(PartitionUnreadable, match=rf"applications/ds={DAY.isoformat()} is unreadable: .*no longer matches the ledger.*s3://{s3.bucket}/"):
        build_lake(settings).read_partition("applications", DAY)
    with pytest.raises(FileNotFoundError, match=f"no partition applications/ds=2026-03-01 in the lake at s3://{s3.bucket}/lake"):
        lake.read_partition("applications", date(2026, 3, 1))


def test_ops_database_on_postgres_keeps_ledgers_pointers_and_tickets(production):
    from infra.monitoring.policy import load_policy
    from infra.stores.tickets import IllegalTransition, TicketStore
    from models.alerting import decide_tickets, grade
    from models.monitoring import Measurement

    settings = get_settings()
    engine = ops_engine(settings.resolved_ops_db_url)
    assert engine.dialect.name == "postgresql"
    # partitions: a committed day survives a later failure; attempts are kept in order
    ledger = build_partition_ledger(settings)
    ledger.record_failure(dataset="applications", ds=DAY, error="x.csv: missing column 'age'", flow_run_id="r1")
    ledger.record_success(dataset="applications", ds=DAY, row_count=5, quarantined_count=0, content_hash="a" * 64,
                          schema_version="1", path="s3://b/x", flow_run_id="r2")
    ledger.record_failure(dataset="applications", ds=DAY, error="boom", flow_run_id="r3")
    assert (ledger.get("applications", DAY).status, ledger.content_hash("applications", DAY)) == ("ok", "a" * 64)
    assert [a["status"] for a in ledger.attempts("applications", DAY)] == ["failed", "ok", "failed"]

    # pointers: moves chain, a rollback pins, a pinned pointer refuses a gate's move until unpinned
    pointers = build_pointer_ledger(settings)
    live = {"value": None}

    def move(value):
        return pointers.move("index:docs-live", new_value=value, actor="pytest", reason=f"gate passed {value}",
                             evidence={"hit_rate": 0.9}, apply=lambda v: live.update(value=v), read_current=lambda: live["value"])

    with pytest.raises(NothingToRollBack, match="has never moved"):
        pointers.rollback_target("index:docs-live")
    move("docs-v1"), move("docs-v2")
    back = pointers.roll_back("index:docs-live", actor="oncall", reason="bad answers", apply=lambda v: live.update(value=v),
                              read_current=lambda: live["value"])
    assert (back.old_value, back.new_value, live["value"]) == ("docs-v2", "docs-v1", "docs-v1")
    with pytest.raises(PointerPinned, match="pinned by oncall"):
        move("docs-v3")
    assert pointers.unpin("index:docs-live", actor="oncall", reason="fixed") is not None
    move("docs-v3")
    chain = list(reversed(pointers.history("index:docs-live")))
    assert [(m.old_value, m.new_value) for m in chain] == [
        (None, "docs-v1"), ("docs-v1", "docs-v2"), ("docs-v2", "docs-v1"), ("docs-v1", "docs-v1"), ("docs-v1", "docs-v3"),
    ]
    assert chain[0].evidence == {"hit_rate": 0.9}

    # tickets: one open per (kind, asset); acknowledged, then resolved with its history
    policy = load_policy()
    store = TicketStore(engine)
    night = date(2026, 3, 10)
    line = grade(Measurement("unseen_categories", 0.02, 2000), policy["unseen_categories"])
    [decision] = decide_tickets(night, [line], [], {}, {}, policy)
    ticket, created = store.open_or_update(decision, night)
    again, created_again = store.open_or_update(decision, night)
    assert created and not created_again and again.id == ticket.id
    store.ack(ticket.id, "ana", "looking")
    with pytest.raises(IllegalTransition, match=f"ticket {ticket.id} is acknowledged"):
        store.ack(ticket.id, "bo")
    done = store.resolve(ticket.id, "tandem", "drift is green", night=night + timedelta(days=3))
    assert done.status == "resolved" and store.open_tickets() == {}
    assert [h.action for h in store.history(ticket.id)] == ["opened", "updated", "acknowledged", "resolved"]


def test_mlflow_on_postgres_with_artifacts_on_s3(production, s3):
    import xgboost as xgb

    from indexes.prompts import DEFAULT_PARAMS, DEFAULT_TEMPLATE
    from infra.clients.mlflow_sql import read_alias
    from infra.factory import build_prompt_registry
    from infra.pointers import move_champion, move_prompt, rollback_champion

    settings = get_settings()
    assert settings.resolved_mlflow_tracking_uri.startswith("postgresql://")
    registry = build_registry(settings)
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (X["a"] > 0).astype(int)
    # Given two registered versions (runs on PostgreSQL, model files on S3)
    versions = []
    for rounds in (2, 4):
        booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y), num_boost_round=rounds)
        run = registry.log_training_run(booster=booster, example=X.head(5), params={"rounds": rounds}, metrics={"auc": 0.9},
                                        dicts={"partitions.json": []}, texts={}, tags={"data_fingerprint": f"f{rounds}"},
                                        run_name=f"svc-{rounds}")
        versions.append(run.version)
    assert versions == ["1", "2"]
    assert any(k.startswith("mlartifacts/") and k.endswith("/model.ubj") for k in s3.keys("mlartifacts/"))
    # When champion moves to each through the ledger, then rolls back
    move_champion(settings, "1", reason="gate PROMOTE", evidence={"auc": 0.9})
    move_champion(settings, "2", reason="gate PROMOTE", evidence={"auc": 0.91})
    rollback_champion(settings, reason="bad scores")
    # Then the alias reads back the same through MLflow's client and through the CLI's direct SQL read
    assert registry.alias_version("champion") == "1"
    view = read_alias(settings.resolved_mlflow_tracking_uri, settings.model_name, "champion")
    assert (view.version, view.tags["data_fingerprint"], view.metrics["auc"]) == ("1", "f2", 0.9)
    # and the model comes back from S3
    assert registry.load_booster("2").num_boosted_rounds() == 4
    moves = build_pointer_ledger(settings).history("model:risk-scorer@champion")
    assert [(m.old_value, m.new_value) for m in reversed(moves)] == [(None, "1"), ("1", "2"), ("2", "1")]

    # the prompt registry lives in the same PostgreSQL store
    prompts = build_prompt_registry(settings)
    spec = prompts.register(DEFAULT_TEMPLATE, DEFAULT_PARAMS, message="first")
    move_prompt(settings, spec.version, reason="gate passed", evidence={})
    assert prompts.by_alias("production").version == spec.version


def test_mlflow_server_serves_the_same_registry(production, mlflow_server, s3, monkeypatch):
    """Tandem through MLflow's HTTP server (``TANDEM_MLFLOW_TRACKING_URI=http://...``), on the same PostgreSQL store."""
    import xgboost as xgb

    from infra.clients.mlflow_sql import StoreUnreadable, read_alias, read_alias_with_client
    from infra.pointers import move_champion
    from tests.services.conftest import reset_settings

    database = production["TANDEM_MLFLOW_TRACKING_URI"]
    monkeypatch.setenv("TANDEM_MLFLOW_TRACKING_URI", mlflow_server)
    reset_settings()
    settings = get_settings()
    # Given a version registered through the server (the client writes the model files to S3 itself)
    X = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0) % 7})
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=(X["a"] > 50).astype(int)), num_boost_round=3)
    run = build_registry(settings).log_training_run(
        booster=booster, example=X.head(5), params={}, metrics={"auc": 0.8}, dicts={}, texts={},
        tags={"data_fingerprint": "srv"}, run_name="via-server",
    )
    # When champion moves through the ledger
    move_champion(settings, run.version, reason="gate PROMOTE", evidence={})
    # Then the server and the database agree on it, and the model files are in the bucket
    assert read_alias_with_client(mlflow_server, settings.model_name, "champion").version == run.version
    assert read_alias(database, settings.model_name, "champion").tags["data_fingerprint"] == "srv"
    with pytest.raises(StoreUnreadable, match="not a database URI"):
        read_alias(mlflow_server, settings.model_name, "champion")  # the CLI's fast path falls back to the client
    assert any(k.endswith("/model.ubj") for k in s3.keys("mlartifacts/"))
    assert build_registry(settings).load_booster(run.version).num_boosted_rounds() == 3
