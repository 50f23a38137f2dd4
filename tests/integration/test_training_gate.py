"""The model gate's compositions (``infra.risk``) with real MLflow on SQLite, and the train flow around them.

The composition tests build their adapters directly (a registry on a
temporary SQLite file, a move function that records its calls): no settings,
no process-wide caches. The flow tests run ``train`` for real on a window with
a gap, each on its own copy of one backfilled lake and ops database.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.promotion import GatePolicy, decide
from models.synthetic import Scenario, default_probability, generate_applications, synthetic_schema
from models.training import TrainParams
from infra.clients.mlflow_registry import REGISTRATION_KEY, ModelRegistry
from infra.risk import gate as risk_gate
from infra.risk.fit import fit_model
from infra.risk.training_set import TrainingSet
from infra.stores.ledger import PointerMove, PointerPinned
from tests.integration.conftest import configure

SCHEMA = synthetic_schema()
DAYS = [date(2026, 1, 1) + timedelta(days=i) for i in range(12)]


@pytest.fixture(scope="module")
def mlflow_db(tmp_path_factory) -> Path:
    """One MLflow database for the module (creating one takes ~10 s); each test uses its own model and experiment."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture
def registry(mlflow_db, request) -> ModelRegistry:
    name = request.node.name[:60]
    return ModelRegistry(
        tracking_uri=f"sqlite:///{mlflow_db / 'mlflow.db'}", artifact_root=str(mlflow_db / "artifacts"),
        experiment_name=f"exp-{name}", model_name=f"risk-{name}",
    )


def _versions(registry: ModelRegistry) -> list[str]:
    return [str(v.version) for v in registry.versions()]


@pytest.fixture(scope="module")
def fitted():
    """A small labelled training set and a challenger fitted on it (no lake, no Prefect)."""
    frames = []
    for ds in DAYS:
        frame = generate_applications(ds, seed=3, rows=300, scenario=Scenario())
        rng = np.random.default_rng(ds.toordinal())
        frame["default"] = (rng.random(len(frame)) < default_probability(frame)).astype(int)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    parts = [{"dataset": "applications", "ds": d.isoformat(), "rows": 300, "content_hash": "0" * 64} for d in DAYS]
    training_set = TrainingSet(frame, DAYS[0], DAYS[-1], parts, len(frame), 0, "data-fp")
    return training_set, fit_model(training_set, SCHEMA, TrainParams(num_boost_round=40, early_stopping_rounds=10))


def _register(registry: ModelRegistry, fitted, key: str = "key-1", fingerprint: str = "fp-1"):
    training_set, fit = fitted
    return risk_gate.register_challenger(registry, training_set, fit, schema=SCHEMA, fingerprint=fingerprint, key=key, flow_run_id=None)


class RecordingMove:
    """Stands in for ``infra.pointers.move_champion``: records each call, optionally pinned."""

    def __init__(self, pinned: bool = False) -> None:
        self.calls: list[dict] = []
        self.pinned = pinned

    def __call__(self, version, *, reason, evidence, actor) -> PointerMove:
        if self.pinned:
            raise PointerPinned("model:risk-scorer@champion", {"actor": "oncall", "reason": "bad scores"})
        self.calls.append({"version": version, "reason": reason, "evidence": evidence, "actor": actor})
        return PointerMove(len(self.calls), "model:risk-scorer@champion", None, version, actor, reason, evidence, datetime.now(timezone.utc))


def _verdict(fitted, policy: GatePolicy):
    _, fit = fitted
    return decide(fit.test_y, fit.test_scores, policy=policy)


def test_a_retried_registration_reuses_its_version(registry, fitted):
    first = _register(registry, fitted)
    again = _register(registry, fitted)  # the task retried after the version was created
    assert again == first
    assert _versions(registry) == ["1"]
    assert registry.version("1").tags[REGISTRATION_KEY] == "key-1"
    # a new attempt (another flow run, e.g. --force) registers a new version on purpose
    assert _register(registry, fitted, key="key-2").version == "2"


def test_a_registration_that_died_before_its_version_registers_the_logged_run(registry, fitted, monkeypatch):
    real = mlflow.register_model
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionError("registry unreachable")
        return real(*args, **kwargs)

    monkeypatch.setattr(mlflow, "register_model", fails_once)
    with pytest.raises(ConnectionError):
        _register(registry, fitted)
    assert registry.versions() == []
    registered = _register(registry, fitted)  # the retry
    assert _versions(registry) == ["1"]
    exp = registry.client.get_experiment_by_name(registry.experiment_name).experiment_id
    runs = registry.client.search_runs([exp], filter_string=f"tags.`{REGISTRATION_KEY}` = 'key-1'")
    assert [r.info.run_id for r in runs] == [registered.run_id]  # no second run either


def test_an_ungated_version_needs_the_gate_and_a_verdict_under_other_thresholds_is_judged_again(registry, fitted):
    registered = _register(registry, fitted)
    policy = GatePolicy(min_auc=0.99)
    found = risk_gate.find_trained_version(registry, "fp-1", policy)
    assert (found.version, found.decision, found.needs_gate) == ("1", None, True)
    assert "never gated" in found.why
    verdict = _verdict(fitted, policy)
    assert verdict.decision == "REJECT", verdict.reason
    applied = risk_gate.apply_verdict(registry, RecordingMove(), version="1", run_id=registered.run_id, verdict=verdict,
                                      champion=None, policy=policy, actor="gate")
    assert (applied.decision, applied.moved, applied.champion) == ("REJECT", False, None)
    found = risk_gate.find_trained_version(registry, "fp-1", policy)
    assert (found.decision, found.needs_gate) == ("REJECT", False)
    message = risk_gate.trained_message(found, DAYS[0], DAYS[-1], champion=None)
    assert message.startswith(f"v1 on these partitions ({DAYS[0]}..{DAYS[-1]}) was REJECTED: challenger AUC ")
    assert "below min_auc 0.9900" in message and "change the window, the parameters or the gate" in message and "--force" in message
    # the same version under a lower minimum is judged again, not retrained
    assert risk_gate.find_trained_version(registry, "fp-1", GatePolicy(min_auc=0.5)).needs_gate


def test_a_pinned_champion_keeps_the_promote_verdict_but_does_not_move(registry, fitted):
    registered = _register(registry, fitted)
    policy = GatePolicy(min_auc=0.5)
    verdict = _verdict(fitted, policy)
    assert verdict.decision == "PROMOTE", verdict.reason
    applied = risk_gate.apply_verdict(registry, RecordingMove(pinned=True), version="1", run_id=registered.run_id,
                                      verdict=verdict, champion="7", policy=policy, actor="gate")
    assert (applied.pinned, applied.moved, applied.champion) == (True, False, "7")
    assert applied.message == "PROMOTE (pinned: champion stays v7)"
    tags = registry.version("1").tags
    assert (tags["gate.decision"], tags["gate.pinned"]) == ("PROMOTE", "yes")
    assert registry.load_dict(registered.run_id, "gate_verdict.json")["verdict"]["decision"] == "PROMOTE"


def test_a_person_promotes_a_held_version_never_a_rejected_or_ungated_one(registry, fitted):
    held_run = _register(registry, fitted, key="k-held")
    auc = _verdict(fitted, GatePolicy()).figures["auc"].value
    straddling = GatePolicy(min_auc=auc)  # the minimum sits inside the AUC's interval
    held = _verdict(fitted, straddling)
    assert (held.decision, held.code) == ("HOLD", "inconclusive")
    risk_gate.apply_verdict(registry, RecordingMove(), version="1", run_id=held_run.run_id, verdict=held, champion=None,
                            policy=straddling, actor="gate")
    rejected_run = _register(registry, fitted, key="k-rejected")
    strict = GatePolicy(min_auc=0.99)
    risk_gate.apply_verdict(registry, RecordingMove(), version="2", run_id=rejected_run.run_id,
                            verdict=_verdict(fitted, strict), champion=None, policy=strict, actor="gate")
    _register(registry, fitted, key="k-ungated")  # version 3, never gated

    def promote(version, move):
        return risk_gate.promote_by_hand(registry, move, version=version, reason="AUC equal to raw XGBoost",
                                         actor="alice", champion_alias="champion")

    move = RecordingMove()
    with pytest.raises(risk_gate.NotPromotable, match="v2 was REJECTED by the gate .* cannot be promoted"):
        promote("2", move)
    with pytest.raises(risk_gate.NotPromotable, match="v3 was never gated"):
        promote("3", move)
    with pytest.raises(risk_gate.NotPromotable, match="no version 9"):
        promote("9", move)
    with pytest.raises(PointerPinned):
        promote("1", RecordingMove(pinned=True))
    assert move.calls == []
    promote("1", move)
    [call] = move.calls
    assert (call["version"], call["actor"]) == ("1", "alice")
    assert call["reason"] == "human decision over gate HOLD: AUC equal to raw XGBoost"
    assert call["evidence"]["decision"] == "human decision"
    assert call["evidence"]["verdict"]["code"] == "inconclusive"
    assert registry.version("1").tags["human.actor"] == "alice"


# -- the flow, on a window with a gap --------------------------------------
START = date(2026, 1, 1)
INGESTED = [(START, START + timedelta(days=9)), (START + timedelta(days=15), START + timedelta(days=29))]
# Labels mature after 5 days: applications of Jan 6-10 would get theirs from the
# missing Jan 11-15, so the window Jan 1-25 holds labelled rows on 15 of its 25 days.


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    """One backfill with a gap (Jan 11-15 never ingested), copied by each test."""
    from flows.backfill import backfill
    from tests.integration.conftest import reset_settings

    mp = pytest.MonkeyPatch()
    data_dir = tmp_path_factory.mktemp("gap") / "tandem"
    configure(mp, data_dir)
    for first, last in INGESTED:
        asyncio.run(backfill(first, last, concurrency=2))
    from infra.factory import ops_engine
    from infra.settings import get_settings

    ops_engine(get_settings().resolved_ops_db_url).dispose()  # checkpoint SQLite's WAL into ops.db before copies
    mp.undo()
    reset_settings()
    return data_dir


@pytest.fixture
def gap_tandem(backfilled, tmp_path, monkeypatch):
    data_dir = tmp_path / "tandem"
    shutil.copytree(backfilled, data_dir)  # the lake and the ops database with its WAL file
    configure(monkeypatch, data_dir)
    return data_dir


def _set_gate(monkeypatch, **values) -> None:
    from tests.integration.conftest import reset_settings

    for key, value in values.items():
        monkeypatch.setenv(f"TANDEM_GATE__{key.upper()}", str(value))
    reset_settings()


def test_card_counts_the_training_set_used_and_a_rerun_after_reject_says_what_to_change(gap_tandem, monkeypatch):
    from flows.train import train
    from infra.factory import build_partition_ledger, build_registry
    from infra.settings import get_settings

    # Given a minimum no model reaches
    _set_gate(monkeypatch, min_auc=0.99)
    # When trained on the window with a gap
    result = asyncio.run(train())
    # Then the version is REJECTED with its AUC interval below the minimum
    assert (result["version"], result["decision"], result["champion"]) == ("1", "REJECT", None), result["reason"]
    assert result["auc"]["high"] < 0.99
    # and the card's figures are the training set's own, not the window's arithmetic
    data = result["data"]
    apps = build_partition_ledger(get_settings()).list("applications", start=START, end=START + timedelta(days=24))
    assert (data["window"], data["days_with_data"]) == (["2026-01-01", "2026-01-25"], 15)
    assert data["applications"] == sum(p.row_count for p in apps)  # 20 days read; 5 of them never labelled
    assert data["labelled_rows"] == sum(s["rows"] for s in data["splits"].values()) < data["applications"]
    card = Path(result["model_card"]).read_text()
    assert (f"trained on {data['labelled_rows']:,} labelled applications ({data['applications']:,} applications read) "
            f"from 15 days with data between 2026-01-01 and 2026-01-25") in card
    assert "10 of its 25 days had no labelled data" in card
    assert card.index("## Metrics") < card.index("| applications | 2026-01-01 |")
    # When rerun on the same partitions
    again = asyncio.run(train())
    # Then nothing is trained and the message says what was rejected, why, and what to change
    assert again["skipped"] and again["version"] == "1"
    assert again["message"].startswith("v1 on these partitions (2026-01-01..2026-01-25) was REJECTED: challenger AUC ")
    assert "below min_auc 0.9900; change the window, the parameters or the gate" in again["message"]
    # When the gate changes, the same version is judged again (no new version)
    _set_gate(monkeypatch, min_auc=0.5)
    regated = asyncio.run(train())
    assert (regated["version"], regated["resumed"], regated["decision"], regated["champion"]) == ("1", True, "PROMOTE", "1")
    assert _versions(build_registry(get_settings())) == ["1"]


def test_held_version_is_promoted_by_a_person_and_a_pin_stops_the_gate(gap_tandem, monkeypatch):
    from flows.train import train
    from infra.cli import app
    from infra.factory import build_pointer_ledger, build_registry, model_pointer
    from infra.settings import get_settings

    def champion():
        return build_registry(get_settings()).alias_version("champion")

    cli = CliRunner()
    _set_gate(monkeypatch, min_auc=0.5)
    first = asyncio.run(train())
    assert (first["version"], first["decision"]) == ("1", "PROMOTE"), first["reason"]
    # Given a challenger whose AUC interval straddles the minimum: HOLD, inconclusive
    _set_gate(monkeypatch, min_auc=round(first["auc"]["value"], 6))
    held = asyncio.run(train(force=True))
    assert (held["version"], held["decision"], held["code"], held["champion"]) == ("2", "HOLD", "inconclusive", "1"), held["reason"]
    # the minimum is the challenger's own AUC: no practical test size decides it, and the reason says so
    assert "no practical test size decides it" in held["reason"], held["reason"]
    # and a REJECTed one
    _set_gate(monkeypatch, min_auc=0.99)
    assert asyncio.run(train(force=True))["decision"] == "REJECT"
    refused = cli.invoke(app, ["promote", "model", "3", "--reason", "try it"])
    assert refused.exit_code == 1 and "REJECTED" in refused.output and "cannot be promoted" in refused.output
    # When a person promotes the held version
    out = cli.invoke(app, ["promote", "model", "2", "--reason", "AUC equal to raw XGBoost; test set too small"])
    # Then champion moves, recorded as a human decision with the verdict as evidence
    assert out.exit_code == 0, out.output
    assert champion() == "2"
    move = build_pointer_ledger(get_settings()).history(model_pointer(get_settings()), limit=1)[0]
    assert (move.old_value, move.new_value, move.actor) == ("1", "2", "pytest")
    assert move.reason == "human decision over gate HOLD: AUC equal to raw XGBoost; test set too small"
    assert move.evidence["decision"] == "human decision" and move.evidence["verdict"]["code"] == "inconclusive"
    # When on-call rolls back (which pins champion) and a later challenger passes the gate
    assert cli.invoke(app, ["rollback", "model", "--reason", "scores drifted"]).exit_code == 0
    assert champion() == "1"
    _set_gate(monkeypatch, min_auc=0.5)
    pinned = asyncio.run(train(force=True))
    # Then the verdict is recorded but champion stays
    assert (pinned["decision"], pinned["pinned"], pinned["champion"]) == ("PROMOTE", True, "1"), pinned["reason"]
    assert pinned["message"] == "PROMOTE (pinned: champion stays v1)"
    assert build_registry(get_settings()).version(pinned["version"]).tags["gate.decision"] == "PROMOTE"
    assert champion() == "1"
    # and a person cannot promote through the pin either
    blocked = cli.invoke(app, ["promote", "model", "2", "--reason", "again"])
    assert blocked.exit_code == 1 and "tandem unpin model" in blocked.output
    assert champion() == "1"
