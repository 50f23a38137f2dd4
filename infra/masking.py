"""Mask secrets before anything is printed, logged, stored as an artifact or sent to MLflow.

One helper for every place a URL or a settings dump leaves the process:
``mask_url`` hides the password of any ``scheme://user:password@host`` URL
(database URLs, ``s3://key:secret@bucket``, ``http://user:token@mlflow``) and
secret-looking query parameters (``?password=``, ``?api_key=``, ``?token=``);
``mask_secrets`` walks a settings dump and also blanks values whose key says
they are secret (``*_api_key``, ``*password*``, ``*secret*``, ``*token``).

Pure string work (no SQLAlchemy import): ``tandem settings`` stays fast. For
database URLs it renders what SQLAlchemy's
``make_url(url).render_as_string(hide_password=True)`` renders.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

# scheme://user:password@host...  The password runs to the last "@" before the
# host, so an unencoded "@" inside it is masked too.
_USERINFO = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/?#@\s]*):(?P<secret>[^\s/?#]*)@")
# Object-store URLs carry cloud keys, whose secret half often holds "/" (AWS).
_OBJECT_STORE = re.compile(r"(?P<head>\b(?:s3|s3a|s3n|gs|gcs|az|abfs|abfss|oss)://[^:/?#@\s]*):(?P<secret>[^\s@]*)@")
_SECRET_WORDS = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|sig|signature|credential)"
_QUERY = re.compile(rf"(?i)(?P<head>[?&;][^=&\s#]*{_SECRET_WORDS}[^=&\s#]*=)(?P<secret>[^&\s#]+)")
_SECRET_KEY = re.compile(rf"(?i)(^|_){_SECRET_WORDS}s?$|password|secret")


def mask_url(text: str) -> str:
    """``text`` with every URL password and secret query value replaced by ``***``.

    Args:
        text: a URL, or any text holding URLs (a command line, a log message).

    Returns:
        The same text; only secrets change. Text without a secret is returned as is.

    Example:
        >>> mask_url("postgresql://tandem:s3cret@db:5432/ops")
        'postgresql://tandem:***@db:5432/ops'
    """
    if "://" not in text and "=" not in text:
        return text
    text = _OBJECT_STORE.sub(lambda m: f"{m['head']}:{MASK}@" if m["secret"] else m[0], text)
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@" if m["secret"] else m[0], text)
    return _QUERY.sub(lambda m: f"{m['head']}{MASK}", text)


def is_secret_key(key: str) -> bool:
    """Whether a setting or parameter named ``key`` holds a secret (``api_key``, ``db_password``...)."""
    return bool(_SECRET_KEY.search(key))


def mask_secrets(value: Any, key: str = "") -> Any:
    """A copy of ``value`` (dicts, lists, strings) with secrets masked, for printing or logging.

    Strings have their URL passwords masked; a non-empty value whose key names
    a secret becomes ``***`` whatever it looks like.
    """
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_secrets(v, key) for v in value)
    if key and value not in (None, "") and is_secret_key(key) and not isinstance(value, (bool, int, float)):
        return MASK
    if isinstance(value, str):
        return mask_url(value)
    return value
