"""Every shell command shown in the docs runs, or at least parses, so the docs cannot rot.

The commands are the lines of the ``bash`` / ``sh`` / ``shell`` / ``console``
code blocks of ``README.md`` and ``docs/*.md`` (comments dropped, ``\\``
continuations joined, ``|`` / ``&&`` / ``;`` split into their commands). Each
is checked by what it is:

- ``tandem ...``: read-only commands that answer on an empty data dir run for
  real (exit 0); every other one (it moves a pointer, needs a ticket that does
  not exist here, or starts a flow run) is parsed by the real CLI (the
  subcommand exists, its options and arguments are accepted and converted:
  dates, choices, numbers) and its ``--help`` runs;
- ``prefect ...``: parsed by Prefect's own CLI, and a ``deployment run
  FLOW/NAME`` must name a deployment of ``prefect.yaml``;
- ``make TARGET``: ``make help`` runs; every other target is checked with
  ``make -n`` (the target exists; nothing runs);
- ``python -m MODULE`` / ``python FILE``: the module or file exists (and
  ``--help`` runs for the modules that take arguments), ``python -c CODE``
  compiles and every name it imports exists; ``python -m pytest ...`` runs
  ``--help`` and its paths exist;
- ``export NAME=value``: ``TANDEM_*`` names a setting (``check_environment``),
  ``PREFECT_*`` a Prefect setting.

A command of any other program fails the test: say here how to check it.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCKS = {"bash", "sh", "shell", "console"}
SEPARATORS = {"|", "||", "&&", ";"}

# `tandem` commands that only read and answer on an empty data dir: these run for real.
TANDEM_RUNS = {("--help",), ("partitions",), ("pointers",), ("settings",), ("tickets", "list"), ("requests",),
               ("keys", "list")}
# `make` targets that are quick and start nothing: these run for real; the others get `make -n`.
MAKE_RUNS = {"help"}
# `python -m` modules of this project that take arguments (argparse): their `--help` runs.
MODULES_WITH_HELP = {"infra.mainjob", "infra.localserver"}


@dataclass(frozen=True)
class Command:
    doc: str
    line: int
    text: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.text}"


def shell_commands(path: Path) -> list[Command]:
    """The commands of a Markdown file's shell code blocks, one per simple command."""
    out: list[Command] = []
    lines = path.read_text("utf-8").splitlines()
    in_fence, in_shell, pending, start = False, False, "", 0
    for number, raw in enumerate(lines, 1):
        fence = re.match(r"^\s*```+\s*([\w-]*)", raw)
        if fence:
            in_fence = not in_fence
            in_shell = in_fence and fence.group(1).lower() in SHELL_BLOCKS
            pending = ""
            continue
        if not in_shell:
            continue
        line = re.sub(r"^\s*\$ ", "", raw)
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text, pending = (pending + line).strip(), ""
        tokens = shlex.split(text, comments=True)
        part: list[str] = []
        for token in [*tokens, ";"]:
            if token in SEPARATORS:
                if part:
                    out.append(_command(path, start, text, part))
                part = []
            else:
                part.append(token)
    return out


def _command(path: Path, line: int, text: str, tokens: list[str]) -> Command:
    env = []
    while tokens and re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[0]):  # VAR=value cmd ...
        name, value = tokens.pop(0).split("=", 1)
        env.append((name, value))
    return Command(path.relative_to(ROOT).as_posix(), line, text, tuple(tokens), tuple(env))


COMMANDS = [c for doc in DOCS for c in shell_commands(doc)]


def test_the_docs_show_commands():
    """The extraction itself: the README's two commands are found (guards against a parser that finds nothing)."""
    shown = {" ".join(c.argv) for c in COMMANDS}
    assert {"make run", "make test"} <= shown, sorted(shown)[:20]


# -- checkers -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def empty_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("docs") / "tandem"


def _env(data_dir: Path, extra: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "PREFECT_API_URL"))}
    env.update({"TANDEM_DATA_DIR": str(data_dir), "PREFECT_HOME": str(data_dir / "prefect"), "COLUMNS": "200",
                "HF_HUB_OFFLINE": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    env.update(dict(extra))
    return env


_RAN: dict[tuple, subprocess.CompletedProcess] = {}  # the docs repeat commands (`tandem pointers`): run each once


def _run(argv: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    key = (tuple(argv), tuple(sorted((k, v) for k, v in env.items() if k != "PYTEST_CURRENT_TEST")))
    if key not in _RAN:
        _RAN[key] = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return _RAN[key]


def _parse_click(command, prog: str, args: list[str]) -> list[str]:
    """Parse ``args`` with a Typer command tree as the real CLI would, without invoking it; returns the subcommand path.

    Raises:
        typer's ``ClickException`` (a ``UsageError``, ``BadParameter``...) for what the CLI would refuse.
    """
    from typer.exceptions import Exit

    path: list[str] = []
    while True:
        try:
            ctx = command.make_context(prog, list(args))
        except Exit:  # --help, --version
            return path
        rest = [*ctx._protected_args, *ctx.args]
        if not hasattr(command, "resolve_command") or not rest:
            return path
        name, command, args = command.resolve_command(ctx, rest)
        prog = f"{prog} {name}"
        path.append(name)


def check_tandem(command: Command, data_dir: Path) -> None:
    import typer
    from typer._click.exceptions import ClickException
    from typer.testing import CliRunner

    from infra.cli import app

    args = list(command.argv[1:])
    cli = typer.main.get_command(app)
    try:
        path = _parse_click(cli, "tandem", args)
    except ClickException as exc:
        pytest.fail(f"{command}\n  the CLI refuses it: {exc.format_message()}")
    for arg in args:  # the CLI takes days as text and parses them itself: a day shown in the docs must be one
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", arg):
            date.fromisoformat(arg)
    help_result = CliRunner().invoke(app, [*path, "--help"])
    assert help_result.exit_code == 0, f"{command}\n  `tandem {' '.join(path)} --help`: {help_result.output[-1000:]}"
    key = tuple(path) or tuple(args)
    if key in TANDEM_RUNS or (path == ["backfill"] and "--dry-run" in args):
        result = _run([str(Path(sys.executable).parent / "tandem"), *args], _env(data_dir, command.env))
        assert result.returncode == 0, f"{command}\n  exit {result.returncode}: {(result.stdout + result.stderr)[-1500:]}"
        assert "Traceback" not in result.stderr, f"{command}\n{result.stderr[-1500:]}"


def _prefect_deployments() -> set[str]:
    import yaml

    from_yaml = yaml.safe_load((ROOT / "prefect.yaml").read_text("utf-8"))
    names = set()
    for d in from_yaml["deployments"]:
        module, func = d["entrypoint"].split(":")
        source = (ROOT / module).read_text("utf-8")
        flow = re.search(rf'@flow\(\s*name="([^"]+)"[^\n]*\n(?:[^\n]*\n)*?(?:async )?def {func}\(', source)
        names.add(f"{flow.group(1) if flow else func}/{d['name']}")
    return names


def check_prefect(command: Command, data_dir: Path) -> None:
    from prefect.cli._app import _app  # Prefect 3.8's CLI is a cyclopts app: parse_args binds without running

    args = list(command.argv[1:])
    try:
        _, bound, _ = _app.parse_args(args, exit_on_error=False, print_error=False)
    except Exception as exc:  # cyclopts' UnknownCommandError, UnknownOptionError, MissingArgumentError, ...
        pytest.fail(f"{command}\n  Prefect's CLI refuses it: {type(exc).__name__}: {exc}")
    if args[:2] == ["deployment", "run"]:
        named = bound.arguments.get("name")
        known = _prefect_deployments()
        assert named in known, f"{command}\n  no deployment {named!r} in prefect.yaml: {sorted(known)}"


def check_make(command: Command, data_dir: Path) -> None:
    targets = [a for a in command.argv[1:] if not a.startswith("-") and "=" not in a]
    assignments = [a for a in command.argv[1:] if "=" in a]
    for target in targets or ["help"]:
        argv = ["make", *assignments, target] if target in MAKE_RUNS else ["make", "-n", *assignments, target]
        result = _run(argv, _env(data_dir, command.env), timeout=60)
        assert result.returncode == 0, f"{command}\n  `{' '.join(argv)}`: {(result.stdout + result.stderr)[-1000:]}"


def _names_defined(module: str) -> set[str]:
    spec = importlib.util.find_spec(module)
    assert spec and spec.origin, f"no module {module}"
    tree = ast.parse(Path(spec.origin).read_text("utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def check_python(command: Command, data_dir: Path) -> None:
    args = list(command.argv[1:])
    if args[:2] == ["-m", "pytest"]:
        for arg in args[2:]:
            if arg.startswith("tests"):
                assert (ROOT / arg.split("::")[0]).exists(), f"{command}\n  no {arg}"
        result = _run([sys.executable, "-m", "pytest", "--help"], _env(data_dir))
        assert result.returncode == 0, f"{command}\n{result.stderr[-500:]}"
    elif args[:1] == ["-m"]:
        module = args[1]
        assert importlib.util.find_spec(module), f"{command}\n  no module {module}"
        if module in MODULES_WITH_HELP:
            result = _run([sys.executable, "-m", module, "--help"], _env(data_dir, command.env))
            assert result.returncode == 0, f"{command}\n{result.stderr[-500:]}"
    elif args[:1] == ["-c"]:
        tree = ast.parse(args[1])
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and importlib.util.find_spec(node.module.split(".")[0]):
                if node.module.split(".")[0] in ("flows", "tasks", "infra", "models", "indexes"):
                    missing = {a.name for a in node.names} - _names_defined(node.module)
                    assert not missing, f"{command}\n  {node.module} has no {sorted(missing)}"
    else:
        script = ROOT / args[0]
        assert script.is_file(), f"{command}\n  no file {args[0]}"
        compile(script.read_text("utf-8"), str(script), "exec")


def check_export(command: Command, data_dir: Path) -> None:
    for assignment in command.argv[1:]:
        name, _, value = assignment.partition("=")
        if name.startswith("TANDEM_"):
            from infra.settings import TandemSettings, check_environment

            check_environment({name: value}, TandemSettings)  # raises naming the closest known setting
        elif name.startswith("PREFECT_"):
            import prefect.settings

            assert hasattr(prefect.settings, name), f"{command}\n  {name} is not a Prefect setting"
        else:
            pytest.fail(f"{command}\n  an export of {name}: say in this test how to check it")


def _program(argv: tuple[str, ...]) -> str:
    name = Path(argv[0]).name
    return "python" if re.fullmatch(r"python(3(\.\d+)?)?", name) else name


CHECKS = {"tandem": check_tandem, "prefect": check_prefect, "make": check_make, "python": check_python,
          "export": check_export}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: f"{c.doc}:{c.line}:{' '.join(c.argv)[:60]}")
def test_doc_command(command: Command, empty_data_dir: Path):
    program = _program(command.argv)
    assert program in CHECKS, f"{command}\n  no check for `{program}` commands: add one to tests/docs/test_docs_commands.py"
    if command.env:
        check_export(Command(command.doc, command.line, command.text, ("export", *(f"{k}={v}" for k, v in command.env))),
                     empty_data_dir)
    CHECKS[program](command, empty_data_dir)
