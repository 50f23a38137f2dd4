"""Ingest keeps a profile of each committed day in the partition ledger, for the nightly checks."""

from __future__ import annotations

from datetime import date, timedelta

from flows.ingest import ingest
from infra.factory import build_lake, build_partition_ledger
from infra.settings import get_settings
from models.profile import merge_profiles
from models.quality import null_rate_jump, unseen_categories
from tests.integration.helpers import labelled_rows, use_file_source, write_schema

DAY = date(2026, 3, 2)


def test_ingested_day_stores_the_profile_of_its_committed_rows(tandem):
    # given a synthetic day ingested
    summary = ingest(DAY)
    ledger = build_partition_ledger(get_settings())
    # when its profile is read back from the ledger (no lake read)
    profile = ledger.profile("applications", DAY)
    # then it describes exactly the committed rows
    frame = build_lake(get_settings()).read_partition("applications", DAY)
    assert profile["rows"] == summary["rows"] == len(frame) == 400
    for name, column in profile["columns"].items():
        assert column["nulls"] == int(frame[name].isna().sum()), name
        assert column["count"] + column["nulls"] == 400
    assert profile["columns"]["loan_purpose"]["categories"] == frame["loan_purpose"].value_counts().to_dict()
    assert profile["columns"]["age"]["min"] == frame["age"].min()
    # and keeps validation's incoming null counts, which ingest used to drop
    assert profile["incoming"] == {"rows": 400, "nulls": {k: profile["columns"][k]["nulls"] for k in profile["columns"]}}
    # and sits in the same ledger row as the partition it describes
    assert ledger.get("applications", DAY).meta["profile"] == profile
    assert ledger.profiles("applications", start=DAY, end=DAY) == {DAY: profile}
    # and no profile exists for a day never ingested
    assert ledger.profile("applications", DAY + timedelta(days=1)) is None


def test_profiles_of_a_scenario_day_feed_the_quality_checks(tandem):
    # given two quiet days, then a day where a new loan purpose appears
    ingest(DAY)
    ingest(DAY + timedelta(days=1))
    ingest(DAY + timedelta(days=2), scenario="new-category", scenario_start=DAY + timedelta(days=2))
    ledger = build_partition_ledger(get_settings())
    reference = merge_profiles(ledger.profiles("applications", start=DAY, end=DAY + timedelta(days=1)).values())
    night = ledger.profile("applications", DAY + timedelta(days=2))
    # then the unseen category shows from the stored profiles alone, and null rates stay flat
    unseen = unseen_categories(night, reference)
    assert unseen.evidence["column"] == "loan_purpose" and unseen.value > 0.08
    assert unseen.evidence["values"][0]["value"] == "crypto"
    assert abs(null_rate_jump(night, reference).value) < 0.05


def test_quarantined_rows_are_outside_the_profile_but_inside_incoming(tandem, tmp_path, monkeypatch):
    # given a team's file where two rows have a null (non-nullable) age
    frame = labelled_rows([DAY], rows=50)
    frame["age"] = frame["age"].astype("float64")
    frame.loc[[3, 7], "age"] = float("nan")
    path = tmp_path / "loans.csv"
    frame.to_csv(path, index=False)
    use_file_source(monkeypatch, str(path), write_schema(tmp_path / "schema.yaml"))
    # when ingested
    result = ingest(DAY)
    # then the profile covers the 48 committed rows; incoming counts the 50 that arrived
    profile = build_partition_ledger(get_settings()).profile("applications", DAY)
    assert (result["rows"], result["quarantined"]) == (48, 2)
    assert profile["rows"] == 48 and profile["columns"]["age"]["nulls"] == 0
    assert profile["incoming"]["rows"] == 50 and profile["incoming"]["nulls"]["age"] == 2
    assert "default" not in profile["columns"]  # the target goes to the labels dataset
