"""Service benchmark: the warm HTTP service's latency and throughput (``python bench/service.py``).

Prints figures and ratios; asserts nothing. On the demo corpus and golden
set (plus the attack set's benign questions), with the offline generator:

* latency p50 / p95 of one client asking each question once (response-cache
  misses), then each again (hits), then each reworded (misses on questions
  the service has not seen either), over HTTP with an API key (the index
  build's retrieval gate ran in this process and left the golden questions'
  vectors in the embedder's cache, so "reworded" is the stricter new-question
  figure); beside it the gateway's own time for the same requests
  (``latency_ms`` on the event) and the HTTP share (auth, rate limit, JSON,
  the thread hop). The service warms up with one answer, then primes the live
  collection's chunks in the background (``Gateway.prime_later``); the bench
  waits for that before the first ask (a warm service), both timed on the
  engine's line;
* requests per second with ``BENCH_SERVICE_CLIENTS`` concurrent clients
  (default 8), all hits and all misses;
* per PII engine (``BENCH_SERVICE_PII_ENGINES``, default ``patterns,spacy``):
  redaction runs before the cache is looked up, so it is paid on hits too.

Targets (issue 10): p50 <= 50 ms on a miss, <= 5 ms on a hit. The embedder
is the configured one (``TANDEM_INDEX__EMBEDDER``, default ``onnx-int8``); set
it to ``torch-fp32`` for the sentence-transformers figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import isolated_env  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_SERVICE_CLIENTS", "8"))
ENGINES = [e for e in os.environ.get("BENCH_SERVICE_PII_ENGINES", "patterns,spacy").split(",") if e]
TARGETS_MS = {"miss": 50.0, "hit": 5.0}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def one_client(url: str, key: str, questions: list[str]) -> tuple[list[float], list[dict]]:
    """Each question once, one after the other: wall ms per request and the bodies."""
    import httpx

    lat, bodies = [], []
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {key}"}) as http:
        for q in questions:
            t = time.perf_counter()
            r = http.post("/v1/chat/completions", json={"model": "tandem", "messages": [{"role": "user", "content": q}]})
            lat.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"HTTP {r.status_code}: {r.text[:300]}")
            bodies.append(r.json())
    return lat, bodies


def many_clients(url: str, key: str, questions: list[str], clients: int) -> tuple[float, int]:
    """(seconds, requests) for ``clients`` threads sharing out ``questions``."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        done = sum(len(lat) for lat, _ in pool.map(lambda i: one_client(url, key, questions[i::clients]), range(clients)))
    return time.perf_counter() - started, done


def main() -> None:
    from prefect.testing.utilities import prefect_test_harness

    with tempfile.TemporaryDirectory(prefix="tandem-service-bench-") as tmp:
        work = Path(tmp)
        isolated_env(work, TANDEM_INDEX__INCLUDE_MODEL_CARDS="false", TANDEM_BUDGET__DAILY_TOKENS=str(10**9))
        with prefect_test_harness(server_startup_timeout=120):
            from flows.reindex import reindex
            from infra.factory import ops_engine
            from infra.pointers import move_prompt
            from infra.rag.release import ensure_default_prompt
            from infra.settings import get_settings
            from infra.sources.golden import load_attacks, load_golden

            t = time.perf_counter()
            reindex()
            settings = get_settings()
            move_prompt(settings, ensure_default_prompt(settings).version, reason="bench", evidence=None)
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"Tandem service benchmark: {os.cpu_count()} CPU(s), load average {load:.1f} at start; embedder {settings.index.embedder} "
                  f"(TANDEM_INDEX__EMBEDDER); index of the demo corpus built in {time.perf_counter() - t:.0f} s (excluded)")
            questions = [q.question for q in load_golden(settings.resolved_golden_path).questions]
            questions += [c.text for c in load_attacks(ROOT / "infra" / "demo" / "attacks.yaml") if c.kind == "benign"]
            for engine in ENGINES:
                run_engine(engine, questions, ops_engine)


def run_engine(engine: str, questions: list[str], ops_engine) -> None:
    import sqlalchemy as sa

    from infra.service.app import build_service_gateway, create_app
    from infra.settings import get_settings
    from infra.stores.api_keys import ApiKeyStore
    from infra.service.server import serving

    os.environ["TANDEM_GUARDRAILS__PII_ENGINE"] = engine
    get_settings.cache_clear()
    settings = get_settings()
    engine_db = ops_engine(settings.resolved_ops_db_url)
    with engine_db.begin() as conn:  # every configuration starts cold: its first asks are misses
        conn.execute(sa.text("delete from response_cache"))
    keys = ApiKeyStore(engine_db)
    _, key = keys.create(f"bench-{engine}", rate_limit_per_minute=10**6)
    t = time.perf_counter()
    gateway = build_service_gateway(settings)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    with serving(create_app(settings, gateway=gateway, keys=keys)) as url:
        start_s = time.perf_counter() - t  # the service's warm-up: one answer; priming runs on in the background
        t = time.perf_counter()
        gateway.wait_primed(gateway.index.live_collection())  # a warm service: its live chunks screened ahead
        prime_s = time.perf_counter() - t
        one_client(url, key, ["warm-up: what is the debt-to-income limit?"] * 2)
        print()
        p50s: dict[str, float] = {}
        print(f"PII engine {engine!r} (gateway built in {build_s:.1f} s, service up in {start_s:.1f} s, live chunks primed {prime_s:.1f} s later), "
              f"{len(questions)} questions, one client:")
        print(f"  {'':28} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'ask() p50':>10} {'outside':>8} {'target p50':>11}")
        reworded = [f"{q.rstrip('?')} (reworded)?" for q in questions]
        for label, kind, asked in (("first ask (cache miss)", "miss", questions), ("same again (cache hit)", "hit", questions),
                                   ("reworded (miss, chunks seen)", "miss", reworded)):
            lat, bodies = one_client(url, key, asked)
            inner = [b["tandem"]["latency_ms"] for b in bodies]
            hits = sum(b["tandem"]["cache_hit"] for b in bodies)
            expected = len(bodies) if kind == "hit" else 0
            note = "" if hits == expected else f"  ({hits} of {len(bodies)} were hits)"
            p50 = statistics.median(lat)
            verdict = "met" if p50 <= TARGETS_MS[kind] else f"{p50 / TARGETS_MS[kind]:.1f}x over"
            share = 1 - statistics.median(inner) / p50
            p50s.setdefault(kind, p50)
            print(f"  {label:28} {p50:8.1f} {pct(lat, 0.95):8.1f} {max(lat):8.1f} {statistics.median(inner):10.1f} "
                  f"{share:8.0%} {TARGETS_MS[kind]:6.0f} {verdict}{note}")
        print(f"  miss / hit p50: {p50s['miss'] / p50s['hit']:.0f}x; 'ask() p50': the gateway's own latency_ms (its event write excluded); "
              "'outside': the rest of the p50 (key check, rate limit, JSON, thread hop, event write, HTTP)")
        print(f"  throughput, {CLIENTS} concurrent clients:")
        repeats = max(1, 400 // len(questions))
        s, n = many_clients(url, key, questions * repeats, CLIENTS)
        print(f"    all hits      {n:5d} requests in {s:6.1f} s = {n / s:7.1f} req/s")
        fresh = [f"{q.rstrip('?')} (variant {i})?" for i, q in enumerate(questions * 2)]
        s, n = many_clients(url, key, fresh, CLIENTS)
        print(f"    all misses    {n:5d} requests in {s:6.1f} s = {n / s:7.1f} req/s")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"  load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (1, 5, 15 min) on {os.cpu_count()} CPU(s)")
    os.environ.pop("TANDEM_GUARDRAILS__PII_ENGINE", None)


if __name__ == "__main__":
    main()
