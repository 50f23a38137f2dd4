"""Load the alerting policy: the shipped ``policy.yaml`` or the file settings point at.

The rules (what a valid policy is, calibration, grading, tickets) live in
``models.alerting``; this module only reads the file. Every error names the
file: a YAML syntax error with its line and column, a bad value with its key
path (``PolicyInvalid``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from models.alerting import Policy, PolicyInvalid
from infra.settings import TandemSettings

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "policy.yaml"


def load_policy(path: Path | str | None = None) -> Policy:
    """Read and validate a policy file.

    Args:
        path: a YAML policy file; None reads the shipped default
            (``infra/monitoring/policy.yaml``).

    Returns:
        The validated policy; its ``source`` is the file's path.

    Raises:
        PolicyInvalid: the file is missing or unreadable, is not YAML (the
            message gives line and column), or a key is wrong (the message
            gives the key path), always naming the file.
    """
    file = Path(path) if path is not None else DEFAULT_POLICY_PATH
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyInvalid(f"{file}: cannot read the policy file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyInvalid(f"{file}: {where}not valid YAML ({problem})") from None
    if data is None:
        raise PolicyInvalid(f"{file}: the policy file is empty")
    return Policy.from_mapping(data, source=str(file))


def policy_from_settings(settings: TandemSettings) -> Policy:
    """The policy ``TANDEM_MONITORING__POLICY_PATH`` names, else the shipped default."""
    return load_policy(settings.monitoring.policy_path)
