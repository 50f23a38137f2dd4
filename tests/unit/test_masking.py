"""Secrets in URLs and settings dumps are masked before they are printed or logged."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from infra.masking import MASK, mask_secrets, mask_url


@pytest.mark.parametrize(
    "url",
    ["postgresql://tandem:s3cret@db:5432/ops", "postgresql+psycopg://tandem:s3cret@db/ops?sslmode=require",
     "mysql+pymysql://u:p4ss@h/m", "sqlite:////tmp/x.db", "postgresql://tandem@db/ops"],
)
def test_database_urls_render_as_sqlalchemy_hides_them(url):
    assert mask_url(url) == make_url(url).render_as_string(hide_password=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://AKIAKEY:wJal/rXUt+nFEMI@bucket/lake", f"s3://AKIAKEY:{MASK}@bucket/lake"),
        ("http://user:tok3n@mlflow:5000", f"http://user:{MASK}@mlflow:5000"),
        ("redis://:pw@cache:6379/0", f"redis://:{MASK}@cache:6379/0"),
        ("postgresql://u@h/db?password=abc&sslmode=require", f"postgresql://u@h/db?password={MASK}&sslmode=require"),
        ("https://h/x?X-Amz-Signature=abc", f"https://h/x?X-Amz-Signature={MASK}"),
        ("mlflow ui --backend-store-uri postgresql://a:b@h/m --port 5000", f"mlflow ui --backend-store-uri postgresql://a:{MASK}@h/m --port 5000"),
        ("http://127.0.0.1:4200/api", "http://127.0.0.1:4200/api"),
        ("models:/risk-scorer@champion", "models:/risk-scorer@champion"),
    ],
)
def test_passwords_in_any_url_and_secret_query_values_are_masked(text, expected):
    assert mask_url(text) == expected


def test_a_settings_dump_loses_keys_and_url_passwords_but_nothing_else():
    dump = {"ops_db_url": "postgresql://u:pw@h/db", "qdrant_api_key": "abc", "llm": {"api_key": None, "max_tokens": 5,
            "base_url": "http://u:t@h/v1"}, "tenant": "default", "route_keywords": ["a"]}
    assert mask_secrets(dump) == {"ops_db_url": f"postgresql://u:{MASK}@h/db", "qdrant_api_key": MASK,
                                  "llm": {"api_key": None, "max_tokens": 5, "base_url": f"http://u:{MASK}@h/v1"},
                                  "tenant": "default", "route_keywords": ["a"]}


def test_the_main_jobs_summary_prints_no_database_password():
    from io import StringIO

    from rich.console import Console

    from infra.reports import print_demo_summary

    url = "postgresql://mlflow:hunter2@db/mlflow"
    summary = {
        "trained": {"skipped": True, "version": "1"}, "champion": "1", "champion_metrics": {"test_auc": 0.8},
        "partitions": {"applications": 3}, "failed_partitions": 0, "scored": [], "data_dir": "/data",
        "mlflow_tracking_uri": url, "mlflow_ui": f"mlflow ui --backend-store-uri {url}",
    }
    out = StringIO()
    print_demo_summary(summary, Console(file=out, width=200))
    assert "hunter2" not in out.getvalue() and "postgresql://mlflow:***@db/mlflow" in out.getvalue()
