"""API keys of the HTTP service, in the ops database (``tandem keys create | list | revoke``).

A key reads ``tdm_<key id>_<secret>``. The key id (12 hex characters) is
public: it names the key in ``tandem keys list``, in logs and in feedback,
and finds its row. The secret (32 random bytes) is shown once, at creation,
and stored only as ``sha256(salt + secret)`` with a per-key random salt.

Why not bcrypt or scrypt: those slow hashes protect passwords people choose.
A 256-bit random secret cannot be guessed from its hash, and a slow hash on
every request would cost more than a cached answer takes (the service's
target for a cache hit is 5 ms). ``verify`` compares with
``hmac.compare_digest`` and hashes even when the key id is unknown, so an
unknown key and a wrong secret take the same time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra.stores.opsdb import api_keys
from infra.stores.requests import clean_label, for_log

PREFIX = "tdm"
_KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")
# Compared against when the key id is unknown, so that path hashes and compares too.
_DUMMY_SALT = secrets.token_hex(16)
_DUMMY_HASH = hashlib.sha256(b"unknown").hexdigest()


class UnknownKey(LookupError):
    """No API key has this id."""


@dataclass(frozen=True)
class ApiKey:
    """One key's row, without its salt and hash (nothing here is secret)."""

    key_id: str
    tenant: str
    name: str | None
    rate_limit_per_minute: int | None
    created_at: datetime
    created_by: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("ascii")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _key(row) -> ApiKey:
    m = row._mapping
    return ApiKey(**{k: m[k] for k in ApiKey.__dataclass_fields__})


class ApiKeyStore:
    """Create, verify, list and revoke API keys.

    Args:
        engine: The ops database.
        clock: Current time (UTC), for tests.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self._clock = clock or _now

    def create(self, tenant: str, *, name: str | None = None, rate_limit_per_minute: int | None = None,
               actor: str | None = None) -> tuple[ApiKey, str]:
        """Make a new key for ``tenant``.

        Args:
            tenant: The tenant every request with this key is charged to.
            name: A label for people (``ci-bot``, ``support-desk``).
            rate_limit_per_minute: Requests per minute for this key; None: the service's default.
            actor: Who created it (recorded).

        Returns:
            The stored key's row and the full key, which is not stored and cannot be shown again.

        Raises:
            ValueError: an empty or over-long tenant or name, or a rate limit below 1.
        """
        tenant = clean_label("tenant", tenant)
        name = clean_label("key name", name, max_chars=200) if name is not None else None
        if rate_limit_per_minute is not None and rate_limit_per_minute < 1:
            raise ValueError(f"the rate limit must be at least 1 request per minute, not {rate_limit_per_minute}")
        key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(16)
        row = dict(
            key_id=key_id, salt=salt, key_hash=_hash(salt, secret), tenant=tenant, name=name,
            rate_limit_per_minute=rate_limit_per_minute, created_at=self._clock(), created_by=actor,
        )
        with self.engine.begin() as conn:
            conn.execute(sa.insert(api_keys).values(**row))
        return self.get(key_id), f"{PREFIX}_{key_id}_{secret}"

    def verify(self, presented: str | None) -> ApiKey | None:
        """The live key that ``presented`` is, or None (malformed, unknown, wrong secret, revoked).

        The caller answers every None the same way: which of the four it was
        is nobody's business but the log's, and not even that (a log line
        naming an unknown key id would help someone guessing ids).
        """
        m = _KEY.match(presented or "")
        if m is None:
            return None
        key_id, secret = m.groups()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
        salt, expected = (row.salt, row.key_hash) if row is not None else (_DUMMY_SALT, _DUMMY_HASH)
        good = hmac.compare_digest(_hash(salt, secret), expected)
        if row is None or not good or row.revoked_at is not None:
            return None
        return _key(row)

    def get(self, key_id: str) -> ApiKey:
        """One key by its id.

        Raises:
            UnknownKey: no key has this id.
        """
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None:
            raise UnknownKey(f"no API key with id {for_log(key_id, 40)!r} (see `tandem keys list`)")
        return _key(row)

    def list(self, *, tenant: str | None = None, include_revoked: bool = True) -> list[ApiKey]:
        """Every key, oldest first (optionally one tenant's, optionally live ones only)."""
        q = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
        if tenant is not None:
            q = q.where(api_keys.c.tenant == tenant)
        if not include_revoked:
            q = q.where(api_keys.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [_key(r) for r in conn.execute(q)]

    def revoke(self, key_id: str, *, actor: str | None = None) -> ApiKey:
        """Revoke a key: the next request that carries it gets 401. Revoking twice keeps the first time.

        Raises:
            UnknownKey: no key has this id.
        """
        key_id = (key_id or "").strip()
        if key_id.startswith(f"{PREFIX}_"):  # a whole key pasted: take its id, never echo the secret
            key_id = key_id.split("_", 2)[1]
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self._clock(), revoked_by=actor)
            )
        key = self.get(key_id)  # UnknownKey when there is none
        if done.rowcount == 0 and not key.revoked:  # pragma: no cover - a concurrent un-revoke does not exist
            raise RuntimeError(f"API key {key_id} could not be revoked")
        return key
