"""API keys (stored as salted hashes, verified in constant time) and the per-key rate limiter."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from infra.service.limits import RateLimiter
from infra.stores.api_keys import ApiKeyStore, UnknownKey
from infra.stores.opsdb import create_ops_engine


@pytest.fixture
def store(tmp_path) -> ApiKeyStore:
    return ApiKeyStore(create_ops_engine(f"sqlite:///{tmp_path / 'ops.db'}"))


def stored_rows(store: ApiKeyStore) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text("select * from api_keys"))]


def test_a_new_key_is_shown_once_and_only_its_salted_hash_is_stored(store):
    key, secret = store.create("acme", name="ci", rate_limit_per_minute=30, actor="ops")
    assert secret.startswith(f"tdm_{key.key_id}_") and len(secret) == 4 + 12 + 1 + 43
    (row,) = stored_rows(store)
    plain = secret.split("_", 2)[2]
    assert all(plain not in str(v) and secret not in str(v) for v in row.values())
    assert row["key_hash"] == hashlib.sha256(bytes.fromhex(row["salt"]) + plain.encode()).hexdigest()
    assert (key.tenant, key.name, key.rate_limit_per_minute, key.created_by, key.revoked) == ("acme", "ci", 30, "ops", False)


def test_two_keys_of_one_tenant_have_different_ids_salts_and_secrets(store):
    (a, sa_), (b, sb) = store.create("acme"), store.create("acme")
    rows = stored_rows(store)
    assert a.key_id != b.key_id and sa_ != sb and rows[0]["salt"] != rows[1]["salt"]


def test_only_the_exact_live_key_verifies(store):
    key, secret = store.create("acme")
    assert store.verify(secret) == key
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    other_id = f"tdm_{'0' * 12}_{secret.split('_', 2)[2]}"
    for bad in (tampered, other_id, secret + "x", secret.upper(), "", None, "Bearer " + secret, secret.replace("tdm_", "sk_")):
        assert store.verify(bad) is None, bad
    store.revoke(key.key_id, actor="ops")
    assert store.verify(secret) is None


def test_listing_shows_every_key_without_secrets_and_filters_by_tenant_and_state(store):
    a, secret_a = store.create("acme", name="a")
    b, _ = store.create("beta", name="b")
    store.revoke(a.key_id)
    assert [k.key_id for k in store.list()] == [a.key_id, b.key_id]
    assert [k.key_id for k in store.list(tenant="beta")] == [b.key_id]
    assert [k.key_id for k in store.list(include_revoked=False)] == [b.key_id]
    assert all(secret_a.split("_", 2)[2] not in str(k.to_dict()) for k in store.list())
    assert not hasattr(store.list()[0], "key_hash") and not hasattr(store.list()[0], "salt")


def test_revoking_twice_keeps_the_first_time_and_an_unknown_id_is_named(store):
    key, secret = store.create("acme")
    first = store.revoke(key.key_id, actor="alice")
    second = store.revoke(secret, actor="bob")  # a whole key pasted: its id is taken, the secret never echoed
    assert first.revoked and (second.revoked_at, second.revoked_by) == (first.revoked_at, "alice")
    with pytest.raises(UnknownKey, match="tandem keys list") as err:
        store.revoke("0123456789ab")
    assert "0123456789ab" in str(err.value)


@pytest.mark.parametrize(("tenant", "name", "limit", "says"), [
    ("", None, None, "tenant is empty"),
    ("t" * 101, None, None, "tenant is 101 characters"),
    ("acme", " ", None, "key name is empty"),
    ("acme", None, 0, "at least 1 request per minute"),
])
def test_bad_key_settings_are_refused_with_what_is_wrong(store, tenant, name, limit, says):
    with pytest.raises(ValueError, match=says):
        store.create(tenant, name=name, rate_limit_per_minute=limit)
    assert stored_rows(store) == []


# -- the rate limiter ----------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_limit_per_minute_then_waits_for_the_next_token():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert [limiter.take("k", 6) for _ in range(6)] == [None] * 6
    assert limiter.take("k", 6) == 10  # 6 a minute: one every 10 s
    clock.now += 4
    assert limiter.take("k", 6) == 6
    clock.now += 6
    assert limiter.take("k", 6) is None and limiter.take("k", 6) is not None


def test_keys_have_separate_buckets_and_a_long_pause_refills_no_more_than_the_limit():
    clock = Clock()
    limiter = RateLimiter(clock)
    for _ in range(2):
        limiter.take("a", 2)
    assert limiter.take("a", 2) is not None and limiter.take("b", 2) is None
    clock.now += 3600
    assert [limiter.take("a", 2) for _ in range(3)][:2] == [None, None]
    assert limiter.take("a", 2) is not None


def test_a_rate_below_one_is_an_error():
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter().take("k", 0)


# -- `tandem keys` ------------------------------------------------------------------------------
def test_the_cli_prints_a_new_key_once_lists_keys_without_it_and_revokes_by_id(data_dir):
    from tests.unit.conftest import run_cli

    created = run_cli("keys", "create", "--tenant", "acme", "--name", "ci", "--rate-limit", "30", TANDEM_ACTOR="ops")
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    key_id = secret.split("_")[1]
    assert secret.startswith("tdm_") and f"API key {key_id} for tenant acme (30/min)" in created.output

    listed = run_cli("keys", "list", "--json")
    assert listed.exit_code == 0 and key_id in listed.output and secret.split("_", 2)[2] not in listed.output
    revoked = run_cli("keys", "revoke", key_id, TANDEM_ACTOR="ops")
    assert revoked.exit_code == 0 and f"API key {key_id} (tenant acme) revoked" in revoked.output
    assert '"revoked_by": "ops"' in run_cli("keys", "list", "--json").output

    unknown = run_cli("keys", "revoke", "0123456789ab")
    empty = run_cli("keys", "create", "--tenant", " ")
    assert (unknown.exit_code, empty.exit_code) == (2, 2)
    assert "no API key with id '0123456789ab'" in unknown.output and "the tenant is empty" in empty.output
