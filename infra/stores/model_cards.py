"""Model cards (and the nightly loop's notes) on disk, where the RAG corpus picks them up for indexing."""

from __future__ import annotations

import fsspec

from infra.settings import TandemSettings


def model_cards_url(settings: TandemSettings) -> str:
    return f"{settings.resolved_lake_url}/_model_cards"


def ops_notes_url(settings: TandemSettings) -> str:
    """Where the nightly loop writes its scorecards and ticket notes for the assistant to index."""
    return f"{settings.resolved_lake_url}/_ops_notes"


class ModelCardStore:
    """``<base_url>/<model>-v<version>.md`` files (local or any fsspec URL)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def write(self, model_name: str, version: str, card: str) -> str:
        """Write (or replace) a version's card and return its path."""
        path = f"{self.base_url}/{model_name}-v{version}.md"
        fs, fs_path = fsspec.core.url_to_fs(path)
        fs.makedirs(fs_path.rsplit("/", 1)[0], exist_ok=True)
        with fs.open(fs_path, "w") as fh:
            fh.write(card)
        return path


def write_model_card(settings: TandemSettings, model_name: str, version: str, card: str) -> str:
    """Write ``<lake>/_model_cards/<model>-v<version>.md`` and return its path."""
    return ModelCardStore(model_cards_url(settings)).write(model_name, version, card)
