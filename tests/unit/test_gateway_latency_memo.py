"""What a warm gateway and service remember: the bounded memo and the prompt kept fresh in the background."""

from __future__ import annotations

import threading
import time

from indexes.prompts import PromptSpec
from infra.rag.gateway import Memo, text_key
from infra.service.app import FreshPrompts


def test_the_memo_forgets_the_least_recently_used_entry_first():
    owner = object()
    memo = Memo(2)
    memo.put(owner, "a", 1)
    memo.put(owner, "b", 2)
    assert memo.get(owner, "a") == 1  # "a" is now the most recent
    memo.put(owner, "c", 3)
    assert memo.get(owner, "b") is None and memo.get(owner, "a") == 1 and memo.get(owner, "c") == 3
    assert len(memo) == 2


def test_the_memo_never_answers_for_another_owner_and_a_new_owner_empties_it():
    first, second = object(), object()
    memo = Memo(10)
    memo.put(first, "k", "from first")
    assert memo.get(second, "k") is None
    memo.put(second, "other", "from second")
    assert memo.get(first, "k") is None and memo.get(second, "k") is None and len(memo) == 1


def test_a_text_key_is_a_digest_not_the_text():
    key = text_key("card 4111 1111 1111 1111")
    assert isinstance(key, bytes) and len(key) == 32 and b"4111" not in key
    assert key == text_key("card 4111 1111 1111 1111") != text_key("card 4111 1111 1111 1112")
    assert len(text_key("lone surrogate \ud800")) == 32  # cleaned questions cannot hold one, but no crash if so


class FakeRegistry:
    """A FAKE prompt registry: an alias and immutable versions, counting reads."""

    def __init__(self) -> None:
        self.alias = 1
        self.alias_reads = 0
        self.version_reads: list[int] = []
        self.fail = False

    def alias_version(self, alias: str) -> int | None:
        self.alias_reads += 1
        if self.fail:
            raise RuntimeError("registry down")
        return self.alias

    def get(self, version: int) -> PromptSpec:
        self.version_reads.append(version)
        return PromptSpec(name="p", version=version, template="{question} {context}", params={})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the background refresh did not happen"
        time.sleep(0.01)


def idle(prompts: FreshPrompts) -> bool:
    return not prompts._refreshing and not any(t.name.startswith("prompt-refresh-") for t in threading.enumerate())


def test_the_prompt_is_read_once_then_rechecked_in_the_background_and_a_version_is_read_once():
    registry, clock = FakeRegistry(), Clock()
    prompts = FreshPrompts(registry, ttl_s=2.0, clock=clock)
    assert prompts.by_alias("production").version == 1
    assert prompts.by_alias("production").version == 1
    assert (registry.alias_reads, registry.version_reads) == (1, [1])  # within ttl: nothing read again

    clock.now = 5.0  # stale: the request is answered at once, the alias is re-read behind it
    assert prompts.by_alias("production").version == 1
    wait_for(lambda: registry.alias_reads == 2 and idle(prompts))
    assert registry.version_reads == [1]  # same version: not read again

    registry.alias = 2  # a promotion
    clock.now = 10.0
    assert prompts.by_alias("production").version == 1  # the stale answer, once more
    wait_for(lambda: registry.alias_reads == 3 and idle(prompts))
    assert prompts.by_alias("production").version == 2 and registry.version_reads == [1, 2]


def test_a_registry_that_cannot_be_read_keeps_the_current_prompt():
    registry, clock = FakeRegistry(), Clock()
    prompts = FreshPrompts(registry, ttl_s=2.0, clock=clock)
    prompts.by_alias("production")
    registry.fail = True
    clock.now = 5.0
    assert prompts.by_alias("production").version == 1
    wait_for(lambda: registry.alias_reads == 2 and idle(prompts))
    assert prompts.by_alias("production").version == 1


def test_no_prompt_yet_is_asked_again_on_every_call():
    registry, clock = FakeRegistry(), Clock()
    registry.alias = None
    prompts = FreshPrompts(registry, ttl_s=2.0, clock=clock)
    assert prompts.by_alias("production") is None and prompts.by_alias("production") is None
    assert registry.alias_reads == 2
    registry.alias = 3
    assert prompts.by_alias("production").version == 3
