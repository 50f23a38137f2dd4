"""The scorecard's links are real URLs: the MLflow UI's run and report pages, the Prefect artifact and flow run."""

from __future__ import annotations

from infra.monitoring.scorecard import mlflow_run_url, prefect_links


def test_a_local_tracking_store_links_to_the_mlflow_ui_default():
    assert mlflow_run_url("sqlite:////data/mlflow.db", "3", "abc") == "http://127.0.0.1:5000/#/experiments/3/runs/abc"


def test_an_http_tracking_server_is_its_own_ui_and_no_credential_leaks_into_a_link():
    url = mlflow_run_url("https://ops:s3cret@mlflow.example.com:8443/?token=t0k", "3", "abc", "reports/data_drift.html")
    assert url == "https://mlflow.example.com:8443/#/experiments/3/runs/abc/artifactPath/reports/data_drift.html"
    assert "s3cret" not in url and "t0k" not in url


def test_prefect_links_name_the_artifact_key_and_the_flow_run():
    links = prefect_links("0b1c", ui_base="http://prefect.internal:4200")
    assert links == {
        "Prefect scorecard artifact (latest night)": "http://prefect.internal:4200/artifacts/key/nightly-scorecard",
        "Prefect flow run (artifacts)": "http://prefect.internal:4200/runs/flow-run/0b1c?tab=Artifacts",
    }
    assert list(prefect_links(None, ui_base="http://p:4200")) == ["Prefect scorecard artifact (latest night)"]
