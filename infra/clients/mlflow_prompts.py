"""MLflow's prompt registry: versions of the answer prompt and the aliases ``production`` / ``staging``.

A version's knobs (``indexes.prompts.PARAM_RANGES``) are stored in its MLflow
model config: ``temperature`` and ``max_tokens`` natively, the extractive
generator's knobs under ``extra_params``. Moving ``production`` is done only
by ``infra.pointers.move_prompt`` (through the pointer ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow.exceptions import MlflowException

from indexes.prompts import PromptSpec, validate_prompt
from infra.clients.mlflow_store import mlflow_client

_NATIVE = ("temperature", "max_tokens")


@dataclass(frozen=True)
class PromptVersionInfo:
    version: int
    message: str | None
    aliases: tuple[str, ...]
    tags: dict[str, str]
    created_at: int | None


class PromptNotFound(LookupError):
    pass


class PromptRegistry:
    """One prompt name in MLflow's prompt registry."""

    def __init__(self, *, tracking_uri: str, name: str) -> None:
        self.name = name
        self.client = mlflow_client(tracking_uri)

    def register(self, template: str, params: dict[str, Any] | None, *, message: str, tags: dict[str, str] | None = None) -> PromptSpec:
        """Validate, then register a new version. Aliases are not touched.

        Raises:
            PromptRejected: the template or a knob is invalid (nothing is registered).
        """
        clean = validate_prompt(template, params, where=f"prompt {self.name!r}")
        config: dict[str, Any] = {k: clean[k] for k in _NATIVE if k in clean}
        extra = {k: v for k, v in clean.items() if k not in _NATIVE}
        if extra:
            config["extra_params"] = extra
        pv = self.client.register_prompt(self.name, template, commit_message=message, tags=tags or {}, model_config=config or None)
        return PromptSpec(name=self.name, version=int(pv.version), template=template, params=clean)

    def _spec(self, pv) -> PromptSpec:
        config = dict(pv.model_config or {})
        params = {k: config[k] for k in _NATIVE if config.get(k) is not None}
        params.update(config.get("extra_params") or {})
        return PromptSpec(name=self.name, version=int(pv.version), template=pv.template, params=params)

    def get(self, version: int) -> PromptSpec:
        try:
            pv = self.client.get_prompt_version(self.name, version)
        except MlflowException:
            pv = None
        if pv is None:
            raise PromptNotFound(f"prompt {self.name!r} has no version {version}")
        return self._spec(pv)

    def alias_version(self, alias: str) -> int | None:
        try:
            return int(self.client.get_prompt_version_by_alias(self.name, alias).version)
        except MlflowException:
            return None

    def by_alias(self, alias: str) -> PromptSpec | None:
        version = self.alias_version(alias)
        return None if version is None else self.get(version)

    def set_alias(self, alias: str, version: int | None) -> None:
        if version is None:
            self.client.delete_prompt_alias(self.name, alias)
        else:
            self.client.set_prompt_alias(self.name, alias, int(version))

    def versions(self, aliases: tuple[str, ...] = ("production", "staging")) -> list[PromptVersionInfo]:
        """Every version, oldest first, with which of ``aliases`` point at it."""
        try:
            found = list(self.client.search_prompt_versions(self.name))
        except MlflowException:
            return []
        # search results do not carry aliases: resolve the ones we use
        pointed: dict[int, list[str]] = {}
        for alias in aliases:
            version = self.alias_version(alias)
            if version is not None:
                pointed.setdefault(version, []).append(alias)
        out = [
            PromptVersionInfo(
                version=int(pv.version),
                message=pv.commit_message,
                aliases=tuple(pointed.get(int(pv.version), [])),
                tags={k: v for k, v in (pv.tags or {}).items() if not k.startswith("mlflow.")},
                created_at=getattr(pv, "creation_timestamp", None),
            )
            for pv in found
        ]
        return sorted(out, key=lambda v: v.version)
