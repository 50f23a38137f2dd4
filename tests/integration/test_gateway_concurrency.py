"""The gateway under concurrency, hostile input and a held index: no request event is ever lost.

Issue 9, points 12-14: eight identical questions at once (threads in one
process, and processes against one ops database) on SQLite and PostgreSQL;
questions with NUL and other control characters; an over-long question;
failures after the endpoint answered; a second ``tandem ask`` while another
process holds Qdrant's local folder.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from flows.reindex import reindex
from infra.factory import build_gateway, build_request_log, ops_engine
from infra.pointers import move_prompt
from infra.rag.gateway import EventNotWritten, NotReady
from infra.rag.release import ensure_default_prompt
from infra.settings import get_settings
from infra.stores.opsdb import create_ops_engine
from infra.stores.requests import RequestEvent, RequestLog
from tests.fakes.chat_server import FakeChatServer
from tests.integration.conftest import reset_settings
from tests.integration.rag_helpers import module_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "How old does an applicant have to be?"
CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, 0x85, 0x9B)]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """docs-live built from the tiny corpus and the built-in prompt in production."""
    tmp = tmp_path_factory.mktemp("gateway-concurrency")
    with module_env(tmp) as env:
        reindex()
        move_prompt(get_settings(), ensure_default_prompt(get_settings()).version, reason="test setup", evidence=None)
        yield {"tmp": tmp, "env": env}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ops_url(request, tmp_path) -> str:
    """An empty ops database: a SQLite file, or a fresh PostgreSQL database (skips when none answers)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ops.db'}"
    return request.getfixturevalue("pg_url")


def use_ops_db(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("TANDEM_OPS_DB_URL", url)
    reset_settings()


def rows(table: str, where: str = "") -> list[dict]:
    with ops_engine(get_settings().resolved_ops_db_url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(f"select * from {table} {where}"))]


def has_control(text: str) -> bool:
    return any(c in text for c in CONTROL)


# -- point 12: eight identical questions at once ----------------------------------
class CacheWritesTogether:
    """The real response cache, each write held until all ``n`` requests reach it: the race, every time.

    Every read then happens before any write, so all ``n`` requests miss and
    all ``n`` write the same key at the same moment.
    """

    def __init__(self, cache, n: int) -> None:
        self.cache, self.barrier = cache, threading.Barrier(n, timeout=120)

    def get(self, key):
        return self.cache.get(key)

    def put(self, *args, **kwargs):
        self.barrier.wait()
        return self.cache.put(*args, **kwargs)


def test_eight_identical_questions_at_once_each_write_one_event_and_count_their_tokens(live, ops_url, monkeypatch):
    use_ops_db(monkeypatch, ops_url)
    settings = get_settings()
    gateways = [build_gateway(settings) for _ in range(8)]
    together = CacheWritesTogether(gateways[0].cache, len(gateways))
    for gateway in gateways:
        gateway.cache = together

    def ask(gateway):
        return gateway.ask(QUESTION, tenant="t-eight")

    with ThreadPoolExecutor(len(gateways)) as pool:
        futures = [pool.submit(ask, g) for g in gateways]
        errors = [repr(f.exception()) for f in futures if f.exception() is not None]
    assert errors == []
    results = [f.result() for f in futures]
    assert all("18" in r.answer and not r.refused for r in results)

    events = build_request_log(settings).recent(50, tenant="t-eight")
    assert sorted(e["request_id"] for e in events) == sorted(r.event.request_id for r in results)
    assert {e["kind"] for e in events} == {"answer"} and all(e["error"] is None for e in events)
    assert not any(e["cache_hit"] or "cache:write-failed" in e["guardrail_flags"] for e in events)
    spent = sum(e["total_tokens"] for e in events)
    assert spent > 0 and spent == sum(r.event.total_tokens for r in results)
    assert build_request_log(settings).tokens_used("t-eight", results[0].event.at.date()) == spent
    assert len(rows("response_cache")) == 1


def test_a_question_with_nul_and_control_characters_is_answered_and_stored_clean(live, ops_url, monkeypatch):
    use_ops_db(monkeypatch, ops_url)
    nasty = "How old\x00 does an\x1b[2J applicant\x07 have\u202e to be?\x00\r\n"
    result = build_gateway(get_settings()).ask(nasty, tenant="t-nul\x00", use_case="cli\x08")
    assert not result.refused and "18" in result.answer
    (event,) = build_request_log(get_settings()).recent(tenant="t-nul")
    assert event["question"] == "How old does an[2J applicant have to be?\n" == result.event.question
    assert (event["tenant"], event["use_case"], event["kind"]) == ("t-nul", "cli", "answer")
    assert event["total_tokens"] > 0


# -- point 12: processes against one ops database ----------------------------------
CHILD = r"""
import os, sys, time
from datetime import datetime, timezone
from infra.stores.opsdb import create_ops_engine
from infra.stores.requests import RequestEvent, RequestLog, ResponseCache

url, folder, i = sys.argv[1], sys.argv[2], int(sys.argv[3])
engine = create_ops_engine(url)
cache, log = ResponseCache(engine), RequestLog(engine)
open(os.path.join(folder, f"ready-{i}"), "w").close()
while not os.path.exists(os.path.join(folder, "go")):
    time.sleep(0.005)
cache.put("one-key", prompt_version="1", index_version="docs-v1", generator="offline",
          answer={"text": f"answer {i}\x00", "citations": ["a.md"]})
log.append(RequestEvent(request_id=f"proc-{i}", at=datetime.now(timezone.utc), kind="answer", tenant="t-proc",
                        use_case="qa", question=f"question\x00 {i}", total_tokens=100 + i))
"""


def test_eight_processes_write_one_cache_row_and_eight_events(ops_url, tmp_path):
    create_ops_engine(ops_url).dispose()  # tables first: eight processes creating them at once would race
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, ops_url, str(tmp_path), str(i)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in range(8)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < 8 and time.monotonic() < deadline and all(c.poll() is None for c in children):
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outputs = [c.communicate(timeout=120)[0] for c in children]
    assert [c.returncode for c in children] == [0] * 8, "\n".join(outputs)

    engine = create_ops_engine(ops_url)
    log = RequestLog(engine)
    events = log.all()
    assert sorted(e["request_id"] for e in events) == sorted(f"proc-{i}" for i in range(8))
    assert all("\x00" not in e["question"] for e in events)
    assert log.tokens_used("t-proc", events[0]["at"].date()) == sum(100 + i for i in range(8))
    with engine.connect() as conn:
        cached = [dict(r._mapping) for r in conn.execute(sa.text("select * from response_cache"))]
    assert len(cached) == 1 and cached[0]["key"] == "one-key"
    answer = cached[0]["answer"] if isinstance(cached[0]["answer"], dict) else json.loads(cached[0]["answer"])
    assert answer["text"] in {f"answer {i}" for i in range(8)}
    engine.dispose()


def test_every_text_and_json_field_of_an_event_is_cleaned_and_bounded_for_the_database(ops_url):
    from datetime import datetime, timezone

    engine = create_ops_engine(ops_url)
    log = RequestLog(engine)
    dirty = "x\x00\x1b\x7f\x9b\ud800y"
    log.append(RequestEvent(
        request_id="dirty", at=datetime.now(timezone.utc), kind="answer", tenant=f"t{dirty}", use_case=dirty,
        question=f"q{dirty}\nz", prompt_name=dirty, prompt_version=dirty, index_version=dirty, generator=dirty,
        model="m" * 500 + "\x00", chunks_used=[{"chunk_id": dirty, "doc_id": dirty, "score": 0.5, dirty: [dirty]}],
        guardrail_flags=[dirty], budget_state="ok\x00", error="e" * 50_000 + "\x00",
    ))
    (row,) = log.all()
    assert row["tenant"] == "txy" and row["question"] == "qxy\nz" and row["use_case"] == row["prompt_name"] == "xy"
    assert row["chunks_used"] == [{"chunk_id": "xy", "doc_id": "xy", "score": 0.5, "xy": ["xy"]}]
    assert row["guardrail_flags"] == ["xy"] and row["budget_state"] == "ok"
    assert len(row["model"]) == 200 and row["model"].endswith("...[cut]")  # the column's length
    assert len(row["error"]) <= 10_000
    engine.dispose()


# -- point 12: failures after the endpoint answered, and a failed event write --------
def test_a_cache_failure_after_the_endpoint_answered_still_serves_and_counts_the_tokens(live, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    engine = create_ops_engine(url)
    with engine.begin() as conn:  # a real write failure, on the table written right after the endpoint answers
        conn.execute(sa.text("CREATE TRIGGER full BEFORE INSERT ON response_cache BEGIN SELECT RAISE(ABORT, 'cache disk full'); END"))
    engine.dispose()
    with FakeChatServer() as server:
        monkeypatch.setenv("TANDEM_LLM__BASE_URL", server.base_url)
        use_ops_db(monkeypatch, url)
        result = build_gateway(get_settings()).ask(QUESTION, tenant="t-cachefail")
        assert len(server.requests) == 1
    assert not result.refused and result.event.generator == "endpoint"
    (event,) = build_request_log(get_settings()).recent(tenant="t-cachefail")
    assert "cache:write-failed" in event["guardrail_flags"] and "cache disk full" in event["error"]
    assert event["total_tokens"] > 0
    assert build_request_log(get_settings()).tokens_used("t-cachefail", result.event.at.date()) == event["total_tokens"]


def test_an_exception_after_the_question_is_accepted_writes_an_error_event_then_propagates(live, monkeypatch):
    monkeypatch.setenv("TANDEM_PROMPT__PRODUCTION_ALIAS", "nobody-promoted-this")
    reset_settings()
    with pytest.raises(NotReady, match="nobody-promoted-this"):
        build_gateway(get_settings()).ask(QUESTION, tenant="t-error")
    (event,) = build_request_log(get_settings()).recent(tenant="t-error")
    assert event["kind"] == "error" and event["error"].startswith("NotReady: ") and event["question"] == QUESTION


def test_an_event_that_cannot_be_written_is_logged_in_full_on_one_line_and_raised(live, tmp_path, monkeypatch, caplog):
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    engine = create_ops_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TRIGGER full BEFORE INSERT ON llm_requests BEGIN SELECT RAISE(ABORT, 'ops disk full'); END"))
    engine.dispose()
    use_ops_db(monkeypatch, url)
    with caplog.at_level(logging.CRITICAL, logger="infra.rag.gateway"), pytest.raises(EventNotWritten, match="ops disk full"):
        build_gateway(get_settings()).ask("How old does\x1b[31m an applicant\n have to be?", tenant="t-unwritten")
    (record,) = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    message = record.getMessage()
    assert "NOT written" in message and "ops disk full" in message and "t-unwritten" in message
    assert "\n" not in message and "\x1b" not in message  # one line, nothing a terminal would act on
    logged = json.loads(message.split("The event: ", 1)[1])
    assert logged["total_tokens"] > 0 and logged["question"] == "How old does[31m an applicant\n have to be?"


# -- point 13: bounded input ------------------------------------------------------------
def test_a_question_over_max_question_chars_is_refused_with_an_event(live, monkeypatch):
    assert get_settings().budget.max_question_chars == 4_000
    gateway = build_gateway(get_settings())
    result = gateway.ask("Is this too long? " + "x" * 3_990, tenant="t-long")
    assert result.refused and "4,008" in result.answer and "4,000" in result.answer
    assert result.event.total_tokens == 0 and result.event.prompt_version is None  # no work was done

    monkeypatch.setenv("TANDEM_BUDGET__MAX_QUESTION_CHARS", str(len(QUESTION)))
    reset_settings()
    gateway = build_gateway(get_settings())
    assert not gateway.ask(QUESTION, tenant="t-long").refused
    assert gateway.ask(QUESTION + "?", tenant="t-long").refused

    events = list(reversed(build_request_log(get_settings()).recent(tenant="t-long")))
    assert [e["kind"] for e in events] == ["refused", "answer", "refused"]
    first, _, last = events
    assert "4,008 characters" in first["error"] and "4,000" in first["error"] and "max_question_chars" in first["error"]
    assert f"{len(QUESTION) + 1} characters" in last["error"] and "input:too-long" in last["guardrail_flags"]
    assert first["question"] is None  # a cut-off prefix could hold half a card number


# -- point 14: two processes and Qdrant's local folder --------------------------------
HOLDER = r"""
import sys
from qdrant_client import QdrantClient
client = QdrantClient(path=sys.argv[1])  # what any process using the local index does first
print("holding", flush=True)
sys.stdin.read()  # until the test closes our stdin
client.close()
"""


def tandem_ask(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "infra.cli", "ask", *args], cwd=ROOT, env={**os.environ, "COLUMNS": "100"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def hold_the_index() -> subprocess.Popen:
    """Another process holding Qdrant's local folder until its stdin is closed."""
    folder = str(get_settings().resolved_qdrant_path)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, folder], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_tandem_ask_while_another_process_holds_the_index_says_why_in_one_line(live):
    holder = hold_the_index()
    try:
        started = time.monotonic()
        asker = tandem_ask(QUESTION, "--tenant", "t-locked", "--lock-wait", "2")
        out, err = asker.communicate(timeout=300)
        took = time.monotonic() - started
    finally:
        holder.communicate("", timeout=60)
    assert asker.returncode == 1 and "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "in use by another process" in errors[0] and "TANDEM_QDRANT_URL" in errors[0], err
    assert took >= 2
    assert build_request_log(get_settings()).recent(tenant="t-locked") == []  # nothing was asked, nothing charged


def test_tandem_ask_waits_for_the_index_and_answers_once_the_other_process_lets_go(live):
    holder = hold_the_index()
    try:
        asker = tandem_ask(QUESTION, "--tenant", "t-wait", "--lock-wait", "600")
        for line in asker.stderr:  # until it says it is waiting (or exits)
            if "in use by another process; waiting up to 600 s" in line:
                break
        else:
            pytest.fail(f"`tandem ask` never waited for the index: {asker.communicate(timeout=60)}")
    finally:
        holder.communicate("", timeout=60)  # the other process lets go
    out, err = asker.communicate(timeout=300)
    assert asker.returncode == 0, err
    assert "18" in out and "policy/eligibility.md" in out
    assert len(build_request_log(get_settings()).recent(tenant="t-wait")) == 1
