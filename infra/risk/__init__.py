"""Compositions of the risk scorer's lifecycle: training set, fit, gate run, model card.

Like ``infra.rag``, each function combines adapters (the ledger, the lake, the
model registry, the pointer move, the card store) with pure functions from
``models/``. The adapters come in as arguments, built by the factory at the
edge (the Prefect tasks in ``tasks/training.py``, the ``tandem`` CLI), so a
test passes real local stores or fakes without touching process-wide caches.
The decisions themselves (the gate's verdict, the card's figures) stay pure in
``models/``.
"""
