"""``tandem prompts init`` and ``tandem eval``: a first prompt for any corpus, and a run of the RAG evaluation.

Also the readiness check ``tandem ask`` makes before it loads any model:
without a live index or a production prompt it says what to run, in one line.

Registered on the main app in ``infra.cli``; imports lazily like the rest of
the CLI. Exit codes: 0 done, 1 the gate held the prompt or the run failed,
2 bad input or nothing to answer from yet (one line on stderr), 3 a run could
not start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DEFAULT_FILE = Path("answer-prompt.txt")


def prompts_init(
    file: Annotated[Path, typer.Option("--file", "-f", help="Where to write the template (an existing different file is kept unless --force).")] = DEFAULT_FILE,
    register: Annotated[bool, typer.Option("--register/--no-register", help="Register it in MLflow's prompt registry and point `staging` at it.")] = True,
    promote: Annotated[bool, typer.Option("--promote", help="Then run the release gate on it (as `tandem prompts promote`); production moves only if it passes.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it holds something else.")] = False,
    actor: Annotated[Optional[str], typer.Option(help="Who is acting (default: TANDEM_ACTOR or your OS user).")] = None,
) -> None:
    """Write the built-in answer template (for any corpus) to a file, and register it as a new prompt version.

    The template asks for answers from the retrieved documents only, each
    sentence citing its document id; the version's knobs are the built-in
    ones. Edit the file and `tandem prompts register FILE -m ...` to make your
    own version. Production moves only through the golden-set release gate
    (`--promote`, or `tandem prompts promote VERSION` later), never by init alone.
    """
    import json

    from indexes.prompts import DEFAULT_PARAMS, DEFAULT_TEMPLATE
    from infra.cli import _fail, _usage_error, console
    from infra.settings import get_settings

    if file.is_dir():
        _usage_error(f"--file {file}: is a folder; give a file name, e.g. {file / DEFAULT_FILE.name}")
    if file.exists() and not force:
        try:
            same = file.read_text(encoding="utf-8") == DEFAULT_TEMPLATE
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            _usage_error(f"--file {file}: exists and holds another text; kept. Pass --force to overwrite it, "
                         f"or `tandem prompts register {file} -m ...` to register what it holds")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(DEFAULT_TEMPLATE, encoding="utf-8")
    except OSError as exc:
        _usage_error(f"--file {file}: cannot write it ({exc.strerror or exc})")
    console.print(f"wrote the built-in answer template to {file} (knobs {json.dumps(DEFAULT_PARAMS)})", soft_wrap=True)
    if not register:
        console.print(f"next: `tandem prompts register {file} -m \"why\"` registers it (edit it first if you like)")
        return

    from infra.factory import build_prompt_registry

    settings = get_settings()
    registry = build_prompt_registry(settings)
    existing = next((v.version for v in reversed(registry.versions((settings.prompt.production_alias, settings.prompt.staging_alias)))
                     if _same(registry.get(v.version), DEFAULT_TEMPLATE, DEFAULT_PARAMS)), None)
    if existing is not None:  # init twice registers nothing new
        version = existing
        console.print(f"{registry.name} v{version} already holds this template and knobs; no new version")
    else:
        spec = registry.register(DEFAULT_TEMPLATE, DEFAULT_PARAMS, message="built-in answer prompt (tandem prompts init)",
                                 tags={"source": "tandem prompts init", "source_file": str(file)})
        version = spec.version
        registry.set_alias(settings.prompt.staging_alias, version)
        console.print(f"registered {registry.name} v{version}; `{settings.prompt.staging_alias}` -> v{version}")
    if not promote:
        console.print(f"next: `tandem prompts promote {version}` runs the release gate and moves "
                      f"{settings.prompt.production_alias} if it passes", soft_wrap=True)
        return

    from infra.rag.release import release_prompt

    try:
        release = release_prompt(settings, version, actor=actor, reason="tandem prompts init --promote")
    except RuntimeError as exc:  # no docs-live yet: the gate answers over it
        _fail(str(exc))
    for c in release.gate.checks:
        mark = "[green]pass[/]" if c.passed else "[red]FAIL[/]"
        console.print(f"  {c.name:22} {c.value:.3f}  (min {c.threshold})  {mark}")
    console.print(release.message, markup=False, soft_wrap=True)
    if not release.gate.passed or release.pinned or getattr(release, "awaiting_approval", False):
        raise typer.Exit(1)


def _same(spec, template: str, params: dict) -> bool:
    return spec.template == template and {k: spec.params.get(k) for k in params} == params


def eval_run(
    prompt_version: Annotated[Optional[int], typer.Option("--prompt-version", min=1, help="The prompt version to evaluate (default: production).")] = None,
    golden: Annotated[Optional[str], typer.Option("--golden", help="The golden set (default: TANDEM_INDEX__GOLDEN_PATH if you set it, else the worker's).")] = None,
    force: Annotated[bool, typer.Option(help="Evaluate again even if MLflow has a result for exactly these versions.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan from the stores; start nothing.")] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Watch the run to its end (progress, outcome, exit code).")] = True,
    start_timeout: Annotated[float, typer.Option("--start-timeout", min=1, help="Seconds a run may wait for a worker before it is cancelled and reported.")] = 30.0,
) -> None:
    """Evaluate a prompt version over docs-live on the golden set, as a run of the `rag-eval` deployment.

    Prints the verdict and the gate's figures; each question's figures are in the MLflow run.
    """
    from infra.cli import _start_run, _usage_error
    from infra.runs import InputRejected, RunRequest, caller_inputs
    from infra.settings import get_settings

    try:
        paths = caller_inputs(get_settings(), golden_path=golden, corpus=False)
    except InputRejected as exc:
        _usage_error(str(exc))
    params = {"prompt_version": prompt_version, "force": force, **paths}
    _start_run(RunRequest("eval", "rag-eval/rag-eval", params), wait=wait, dry_run=dry_run, start_timeout=start_timeout)


def not_ready(settings) -> str | None:
    """What to run before ``tandem ask`` can answer, in one line; None when it may be ready.

    Reads the pointer ledger and MLflow's tables directly (milliseconds, no
    model, no MLflow import). Only a certain "missing" blocks: a store it
    cannot read this way (an MLflow server, say) leaves the check to the
    gateway.
    """
    from infra.clients.mlflow_sql import StoreUnreadable, read_alias
    from infra.factory import build_pointer_ledger, index_pointer, prompt_pointer

    ledger = build_pointer_ledger(settings)
    last_index = ledger.last_move(index_pointer(settings))
    no_index = last_index is None or last_index.new_value is None
    if no_index and settings.qdrant_url is None and _local_alias_set(settings.resolved_qdrant_path, settings.index.live_alias):
        no_index = False  # an alias set outside the ledger: let the gateway look
    no_prompt = False
    if ledger.last_move(prompt_pointer(settings)) is None:
        try:
            no_prompt = read_alias(settings.resolved_mlflow_tracking_uri, settings.prompt.name, settings.prompt.production_alias) is None
        except StoreUnreadable:
            no_prompt = False
    index_step = "`tandem reindex --corpus DIR --golden FILE`"
    prompt_step = "`tandem prompts init --promote`"
    servers = "with `make ui` and `make serve` running; `make run` sets up the credit demo instead"
    if no_index and no_prompt:
        return (f"nothing to answer from yet: no index and no {settings.prompt.production_alias} prompt; run {index_step}, "
                f"then {prompt_step} ({servers})")
    if no_index:
        return f"'{settings.index.live_alias}' points at no collection yet: run {index_step} ({servers})"
    if no_prompt:
        return (f"prompt {settings.prompt.name!r} has no '{settings.prompt.production_alias}' version yet: run {prompt_step} "
                "(or `tandem prompts promote VERSION` for one you registered)")
    return None


def _local_alias_set(path: Path, alias: str) -> bool:
    """Whether Qdrant's local mode may hold ``alias``: its ``meta.json`` says so, or cannot be read (then: maybe)."""
    import json

    meta = Path(path) / "meta.json"
    if not meta.exists():
        return False  # no local index at all
    try:
        return alias in (json.loads(meta.read_text(encoding="utf-8")).get("aliases") or {})
    except (OSError, ValueError, AttributeError):  # Qdrant's own file, read only as a hint
        return True
