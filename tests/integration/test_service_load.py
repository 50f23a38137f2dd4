"""The service under load (issue 10, point 11): loopback only, bounded in count and time.

Eight client threads send 400 chat requests between them: two tenants (one
with a daily budget of a few answers), two thirds of the questions repeated
(cache hits), a third new. Every request must get a 200 with an answer or a
budget refusal, no 5xx, and exactly one request event per request id.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from flows.reindex import reindex
from infra.factory import ops_engine
from infra.pointers import move_prompt
from infra.rag.release import ensure_default_prompt
from infra.service.app import build_service_gateway, create_app
from infra.service.server import serving
from infra.settings import get_settings
from infra.stores.api_keys import ApiKeyStore
from tests.integration.rag_helpers import GOLDEN, module_env

pytestmark = pytest.mark.integration

CLIENTS, REQUESTS = 8, 400
RICH, POOR = "t-rich", "t-poor"
POOR_BUDGET = 300  # tokens a day: one or two answers, then refusals
QUESTIONS = [q for _, q, _, _ in GOLDEN]


def plan() -> list[tuple[str, str]]:
    """(tenant, question) per request: a quarter for the poor tenant; every third question new."""
    out = []
    for i in range(REQUESTS):
        tenant = POOR if i % 4 == 0 else RICH
        question = QUESTIONS[i % len(QUESTIONS)]
        if i % 3 == 0:
            question = f"{question.rstrip('?')} (case {i})?"
        out.append((tenant, question))
    return out


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("service-load")
    env = {"TANDEM_GUARDRAILS__PII_ENGINE": "patterns", "TANDEM_BUDGET__PER_TENANT": json.dumps({POOR: POOR_BUDGET})}
    with module_env(tmp, **env):
        reindex()
        settings = get_settings()
        move_prompt(settings, ensure_default_prompt(settings).version, reason="test setup", evidence=None)
        yield


def test_eight_clients_400_requests_two_tenants_one_over_budget_every_request_answered_and_logged_once(live):
    settings = get_settings()
    keys = ApiKeyStore(ops_engine(settings.resolved_ops_db_url))
    secrets = {t: keys.create(t, name="load", rate_limit_per_minute=100_000)[1] for t in (RICH, POOR)}
    requests = plan()

    def client(worker: int) -> list[tuple[str, int, dict]]:
        out = []
        with httpx.Client(base_url=url, timeout=60) as http:
            for tenant, question in requests[worker::CLIENTS]:
                r = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {secrets[tenant]}"},
                              json={"model": "tandem", "messages": [{"role": "user", "content": question}]})
                out.append((tenant, r.status_code, r.json()))
        return out

    with serving(create_app(settings, gateway=build_service_gateway(settings), keys=keys)) as url:
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [row for rows in pool.map(client, range(CLIENTS)) for row in rows]
        wall = time.perf_counter() - started

    assert len(results) == REQUESTS
    statuses = sorted({status for _, status, _ in results})
    assert statuses == [200], [body for _, s, body in results if s != 200][:3]
    by_tenant = {t: [body for tenant, _, body in results if tenant == t] for t in (RICH, POOR)}
    assert all(not b["tandem"]["refused"] and b["choices"][0]["message"]["content"] and b["citations"] for b in by_tenant[RICH])
    poor_refused = [b for b in by_tenant[POOR] if b["tandem"]["refused"]]
    assert poor_refused and all(b["tandem"]["refusal_reason"] == "budget" for b in poor_refused)
    assert all("budget" in b["choices"][0]["message"]["refusal"] for b in poor_refused)
    assert all(b["tandem"]["tenant"] == t for t in by_tenant for b in by_tenant[t])

    # Exactly one event per request: none lost, none written twice.
    ids = [body["id"] for _, _, body in results]
    with keys.engine.connect() as conn:
        events = [dict(r._mapping) for r in conn.execute(sa.text(
            "select request_id, tenant, kind, cache_hit from llm_requests where kind != 'budget_warning'"))]
    assert len(set(ids)) == REQUESTS and len(events) == REQUESTS and {e["request_id"] for e in events} == set(ids)
    assert {e["kind"] for e in events if e["tenant"] == RICH} == {"answer"}
    hits = sum(bool(e["cache_hit"]) for e in events)
    assert hits == sum(body["tandem"]["cache_hit"] for _, _, body in results) and hits > REQUESTS // 3
    print(f"\nload: {REQUESTS} requests, {CLIENTS} clients in {wall:.1f} s ({REQUESTS / wall:.0f} req/s); "
          f"{hits} cache hits; {len(poor_refused)} budget refusals of {len(by_tenant[POOR])} for {POOR}")
