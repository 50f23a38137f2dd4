"""A golden set that does not match the corpus stops the reindex before anything is embedded."""

from __future__ import annotations

import pytest
import yaml

from flows.reindex import reindex
from infra.factory import build_vector_index
from infra.settings import get_settings
from infra.sources.golden import EvalSetRejected
from tests.integration.rag_helpers import module_env

pytestmark = pytest.mark.integration


def test_a_golden_set_for_another_corpus_fails_before_any_embedding(tmp_path):
    golden = tmp_path / "other-golden.yaml"
    golden.write_text(yaml.safe_dump({"questions": [
        {"id": "x1", "question": "Q?", "relevant": ["policy/debt-to-income.txt"]},  # the corpus has .md
        {"id": "x2", "question": "Q?", "relevant": ["handbook/chapter-9.md"]},
    ]}))
    with module_env(tmp_path, TANDEM_INDEX__GOLDEN_PATH=str(golden)):
        with pytest.raises(EvalSetRejected) as exc:
            reindex()
        message = str(exc.value)
        assert str(golden) in message and "x1: 'policy/debt-to-income.txt' (did you mean 'policy/debt-to-income.md'?)" in message
        assert "x2: 'handbook/chapter-9.md'" in message
        assert build_vector_index(get_settings()).collections() == []  # nothing was built, nothing embedded
