"""User feedback: the store against the ops database, and ``tandem feedback`` end to end."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from infra.factory import ops_engine
from infra.settings import get_settings
from infra.stores.feedback import FeedbackStore, UnknownRequest
from infra.stores.opsdb import create_ops_engine, feedback
from infra.stores.requests import RequestEvent, RequestLog

NIGHT = date(2026, 3, 4)


def _event(request_id: str, tenant: str = "underwriting") -> RequestEvent:
    return RequestEvent(request_id=request_id, at=datetime(2026, 3, 4, 9, 30, tzinfo=timezone.utc), kind="answer",
                        tenant=tenant, use_case="qa", question="What is the DTI limit?")


@pytest.fixture
def engine(tmp_path):
    eng = create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    RequestLog(eng).append(_event("req-1"))
    RequestLog(eng).append(_event("req-2", tenant="collections"))
    yield eng
    eng.dispose()


def _at(hour: int) -> datetime:
    return datetime(2026, 3, 4, hour, tzinfo=timezone.utc)


def test_a_vote_is_stored_against_its_request_and_read_back_for_its_night(engine):
    store = FeedbackStore(engine)
    store.record("req-1", "bad", actor="ana", note="cited the wrong\x00 policy", at=_at(10))
    store.record("req-2", "good", actor="ana", at=_at(11))
    store.record("req-1", "good", actor="ben", at=datetime(2026, 3, 5, 0, 5, tzinfo=timezone.utc))  # the next night

    rows = store.for_night(NIGHT)

    assert [(r.request_id, r.actor, r.rating, r.tenant) for r in rows] == [("req-1", "ana", "bad", "underwriting"),
                                                                          ("req-2", "ana", "good", "collections")]
    assert rows[0].note == "cited the wrong policy"  # control characters removed
    assert [r.actor for r in store.for_night(date(2026, 3, 5))] == ["ben"]


def test_a_second_vote_by_the_same_person_replaces_the_first(engine):
    store = FeedbackStore(engine)
    store.record("req-1", "bad", actor="ana", at=_at(10))
    store.record("req-1", "good", actor="ana", note="on second thought, fine", at=_at(12))

    with engine.connect() as conn:
        rows = conn.execute(sa.select(feedback)).all()
    assert len(rows) == 1 and rows[0].rating == "good" and rows[0].note == "on second thought, fine"


def test_unknown_request_ids_and_ratings_are_refused_and_nothing_is_stored(engine):
    store = FeedbackStore(engine)
    with pytest.raises(UnknownRequest, match="no request event with id 'nope'"):
        store.record("nope", "bad", actor="ana")
    with pytest.raises(ValueError, match="rating 'meh' is not one of good, bad"):
        store.record("req-1", "meh", actor="ana")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(feedback)).scalar_one() == 0


def test_the_note_goes_through_the_redactor(engine):
    store = FeedbackStore(engine, redact=lambda text: text.replace("jane@example.com", "<EMAIL>"))
    row = store.record("req-1", "bad", actor="ana", note="mail me at jane@example.com", at=_at(10))
    assert row.note == "mail me at <EMAIL>"


# -- the command line -----------------------------------------------------------
def _cli(*args: str):
    from infra.cli import app

    return CliRunner().invoke(app, list(args))


def test_tandem_feedback_records_a_redacted_vote_and_replaces_it(tandem, monkeypatch):
    monkeypatch.setenv("TANDEM_GUARDRAILS__PII_ENGINE", "patterns")  # no spaCy model needed for an email
    get_settings.cache_clear()
    engine = ops_engine(get_settings().resolved_ops_db_url)
    RequestLog(engine).append(_event("abc123"))

    first = _cli("feedback", "abc123", "bad", "--note", "wrong limit, write to jane.doe@example.com")
    second = _cli("feedback", "abc123", "BAD", "--note", "still wrong")

    assert first.exit_code == 0, first.output
    assert "feedback bad on request abc123 recorded for pytest" in first.output
    assert second.exit_code == 0, second.output
    with engine.connect() as conn:
        rows = conn.execute(sa.select(feedback)).all()
    assert [(r.request_id, r.actor, r.rating, r.note) for r in rows] == [("abc123", "pytest", "bad", "still wrong")]
    # The first note was redacted before it was stored (checked on a fresh vote by another actor).
    third = _cli("feedback", "abc123", "good", "--actor", "ben", "--note", "thanks jane.doe@example.com")
    assert third.exit_code == 0, third.output
    with engine.connect() as conn:
        note = conn.execute(sa.select(feedback.c.note).where(feedback.c.actor == "ben")).scalar_one()
    assert "jane.doe@example.com" not in note and note.startswith("thanks")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("feedback", "no-such-request", "bad"), "no request event with id 'no-such-request'"),
        (("feedback", "abc123", "meh"), "rating 'meh' is not one of good, bad"),
    ],
)
def test_tandem_feedback_refuses_bad_input_with_one_line_and_exit_2(tandem, args, message):
    RequestLog(ops_engine(get_settings().resolved_ops_db_url)).append(_event("abc123"))
    result = _cli(*args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
