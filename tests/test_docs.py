"""Every command in README.md, CONTRIBUTING.md and docs/*.md works as written on the demo town.

Why: the README's own ``print_map --town vaduz`` command once failed on the demo town, and nothing
noticed. This test reads the commands out of the docs, so a doc can no longer drift from the code:

- **Fenced blocks** tagged ```sh, ```bash or ```console (``$ `` prompts) hold commands: every line is
  one (comments and ``\\`` continuations understood). Cheap commands (:data:`RUN`) really run, in
  order, against the test database with the demo town imported: the same parser and ``handle`` as
  ``manage.py`` (``call_command`` with the doc's own arguments), in a scratch directory; each must
  succeed and write its ``-o`` file.
- Long-running or side-effecting commands (``make run``, ``make test``, benchmarks, backups,
  ``docker compose``...) and **inline** code spans that are commands (``.venv/bin/python bench/x.py
  --quick``, ``make stop``, ``manage.py check --deploy``...) are checked: the program exists, its
  ``--help`` (Python scripts) or ``make -n TARGET`` succeeds, or ``bash -n`` for shell scripts, and
  every ``--flag`` the doc uses is one its argument parser knows (Django commands: the command's own
  argparse parser; Python scripts: their ``--help``; shell scripts: their usage header). Variables
  given to make (``PORT=8001 make run``, ``make run HOST=0.0.0.0``) are ones the target's scripts read.
- A command with bare ``python`` fails: a fresh Debian 12 has no ``python``, and ``python3`` has
  not the project's packages; the docs say ``.venv/bin/python`` (inside a container, ``python``).
- An untagged fenced block that holds a command fails: tag it ``sh`` (run/checked here) or ``text``
  (a synopsis, like ``print_map``'s in docs/printing.md).

Placeholders (doc-only names) when running:

- ``FILE.osm.pbf`` -> the demo extract (``tests/data/extract/liechtenstein-2013-08-03.osm.pbf``);
- ``--town plouarzel`` -> the town the README's own ``import_osm ... --town plouarzel`` creates in the
  test database (the commands run in doc order);
- ``--party 3`` (any ``--party`` value) -> a party the test creates in that command's town (ids in a
  test database are not the doc's).
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command, get_commands, load_command_class

from parties.models import Town
from tests.conftest import DEMO_PBF
from tests.factories import PartyFactory

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGS = {"sh", "bash", "console"}
# Django commands cheap enough to run for real on the demo town.
RUN = {"import_osm", "export_osm", "print_map"}
PLACEHOLDERS = {"FILE.osm.pbf": str(DEMO_PBF)}
# How an inline code span that is a command starts (other spans are names, paths, values...).
INLINE_COMMAND = re.compile(
    r"^([A-Z_]+=\S+ )*(\.venv/bin/\S+|make [a-z]|npm (ci|test|run)\b|manage\.py\b|python3? |bash |docker compose |(scripts|bench)/\S+\.(sh|py)\b)"
)
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```", re.M | re.S)


@dataclass(frozen=True)
class DocCommand:
    where: str  # "docs/exports.md:7"
    argv: tuple[str, ...]
    fenced: bool

    def __str__(self) -> str:
        return f"{self.where}: {shlex.join(self.argv)}"


def _words(line: str) -> list[str]:
    # Synopsis brackets and alternatives (`[--quick]`, `A4|A3`) are not part of the words.
    return [w for w in (w.strip("[]") for w in shlex.split(line, comments=True)) if w and w != "|"]


def doc_commands() -> list[DocCommand]:
    """Every command of the docs, in doc order (README first)."""
    found: list[DocCommand] = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        fenced_spans = []
        for block in FENCE.finditer(text):
            fenced_spans.append(block.span())
            lang, body = block.group(1), block.group(2)
            first = text.count("\n", 0, block.start(2)) + 1
            if lang not in SHELL_LANGS:
                continue
            pending, start = "", first
            for number, line in enumerate(body.splitlines(), start=first):
                if lang == "console":
                    if not line.startswith("$ ") and not pending:
                        continue  # the program's output
                    line = line.removeprefix("$ ") if not pending else line
                if not pending:
                    start = number
                if line.rstrip().endswith("\\"):
                    pending += line.rstrip()[:-1] + " "
                    continue
                words = _words(pending + line)
                pending = ""
                if words:
                    found.append(DocCommand(f"{name}:{start}", tuple(words), fenced=True))
        offset = 0
        for number, line in enumerate(text.split("\n"), start=1):
            inside = any(a <= offset < b for a, b in fenced_spans)
            offset += len(line) + 1
            if inside:
                continue
            for span in re.findall(r"`([^`\n]+)`", line):
                if INLINE_COMMAND.match(span):
                    found.append(DocCommand(f"{name}:{number}", tuple(_words(span)), fenced=False))
    return found


def untagged_command_blocks() -> list[str]:
    bad = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            first_line = block.group(2).strip().splitlines()[0] if block.group(2).strip() else ""
            if block.group(1) == "" and INLINE_COMMAND.match(first_line):
                line = text.count("\n", 0, block.start()) + 1
                bad.append(f"{path.relative_to(ROOT).as_posix()}:{line}: {first_line}")
    return bad


COMMANDS = doc_commands()


def flags(words) -> list[str]:
    """The options a command line uses (``--since`` of ``--since=...``; not ``-5`` or ``-``)."""
    return [w.split("=", 1)[0] for w in words if re.match(r"^--?[A-Za-z]", w)]


def django_parser(name: str):
    commands = get_commands()
    assert name in commands, f"manage.py has no command {name!r}"
    return load_command_class(commands[name], name).create_parser("manage.py", name)


def known_options(parser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def check(cmd: DocCommand, argv: tuple[str, ...] | None = None, *, container: bool = False) -> None:
    """Assert the program exists and accepts every flag ``cmd`` uses (nothing is run for real)."""
    argv = argv if argv is not None else cmd.argv
    variables = []
    while argv and re.match(r"^[A-Z_]+=", argv[0]):  # PORT=8001 make run
        variables.append(argv[0].split("=", 1)[0])
        argv = argv[1:]
    program, args = argv[0], list(argv[1:])
    if program in ("python", "python3") and not container:
        pytest.fail(
            f"{cmd}: write .venv/bin/python (a fresh Debian 12 has no `python`, python3 not the venv)"
        )
    if program in (".venv/bin/python", "python", "python3"):
        if not args:
            return  # the interpreter's name only
        program, args = args[0], args[1:]
    if program == "bash" and args and args[0].endswith(".sh"):
        program, args = args[0], args[1:]
    elif program == "bash":
        pytest.fail(f"{cmd}: teach tests/test_docs.py how to check `bash {shlex.join(args)}`")
    elif program.endswith(".sh") and argv[0] == program:
        assert os.access(ROOT / program, os.X_OK), f"{cmd}: {program} is not executable"
    if program == "manage.py":
        if not args:
            return  # the program's name only
        name, rest = args[0], args[1:]
        parser = django_parser(name)
        unknown = [f for f in flags(rest) if f not in known_options(parser)]
        assert not unknown, f"{cmd}: manage.py {name} has no option {', '.join(unknown)}"
    elif program == "make":
        targets = [a for a in args if not a.startswith("-") and "=" not in a]
        assert targets, f"{cmd}: make without a target"
        result = subprocess.run(["make", "-n", *targets], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"{cmd}: make -n {' '.join(targets)}: {result.stderr}"
        variables += [a.split("=", 1)[0] for a in args if re.match(r"^[A-Z_]+=", a)]
        if variables:
            _check_make_variables(cmd, targets, variables)
    elif program == "docker":
        _check_compose(cmd, args)
    elif program == "npm":
        _check_npm(cmd, args)
    elif program.endswith(".py"):
        assert (ROOT / program).is_file(), f"{cmd}: no file {program}"
        result = subprocess.run(
            [sys.executable, program, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{cmd}: {program} --help failed: {result.stderr[-500:]}"
        unknown = [
            f for f in flags(args) if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", result.stdout)
        ]
        assert not unknown, f"{cmd}: {program} --help does not list {', '.join(unknown)}"
    elif program.endswith(".sh"):
        script = ROOT / program
        assert script.is_file(), f"{cmd}: no file {program}"
        syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert syntax.returncode == 0, f"{cmd}: bash -n {program}: {syntax.stderr}"
        text = script.read_text()
        unknown = [f for f in flags(args) if f not in text]
        assert not unknown, f"{cmd}: {program} does not know {', '.join(unknown)}"
    else:
        pytest.fail(f"{cmd}: teach tests/test_docs.py how to check {program!r}")


def _check_npm(cmd: DocCommand, args: list[str]) -> None:
    """`npm ci`, `npm test`, `npm run NAME`: the script must be one of package.json's."""
    scripts = json.loads((ROOT / "package.json").read_text())["scripts"]
    words = [a for a in args if not a.startswith("-")]
    if words[:1] == ["ci"]:
        assert (ROOT / "package-lock.json").is_file(), f"{cmd}: npm ci needs package-lock.json"
    elif words[:1] == ["test"]:
        assert "test" in scripts, f"{cmd}: package.json has no test script"
    elif words[:1] == ["run"]:
        assert words[1:2] and words[1] in scripts, f"{cmd}: package.json has no script {words[1:2]}"
    else:
        pytest.fail(f"{cmd}: teach tests/test_docs.py how to check `npm {shlex.join(args)}`")


# The scripts a make target runs, where the variables the docs give it (`make run HOST=0.0.0.0`) are read.
MAKE_SCRIPTS = {"run": ("scripts/run.sh", "scripts/lan.sh")}


def _check_make_variables(cmd: DocCommand, targets: list[str], variables: list[str]) -> None:
    """A misspelt or removed variable (`make run HTTP=1`) would be silently ignored by make."""
    for target in targets:
        assert target in MAKE_SCRIPTS, f"{cmd}: teach tests/test_docs.py which scripts `make {target}` runs"
        text = "".join((ROOT / script).read_text() for script in MAKE_SCRIPTS[target])
        unknown = [v for v in variables if not re.search(rf"\$\{{?{v}\b", text)]
        assert not unknown, f"{cmd}: {', '.join(MAKE_SCRIPTS[target])} never read {', '.join(unknown)}"


def _check_compose(cmd: DocCommand, args: list[str]) -> None:
    """`docker compose ...` against docker-compose.yml (Docker itself is not needed to check it)."""
    assert args[:1] == ["compose"], f"{cmd}: only `docker compose` is documented"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    sub, rest = args[1], args[2:]
    if sub == "up":
        assert set(rest) <= {"-d", "--detach", "--build"}, f"{cmd}: unexpected options {rest}"
        assert (ROOT / ".env.example").is_file(), f"{cmd}: the README says to copy .env.example"
    elif sub in ("exec", "run"):
        while rest and rest[0] in ("-T", "--rm", "-d"):
            rest = rest[1:]
        service, inner = rest[0], rest[1:]
        assert service in compose["services"], f"{cmd}: docker-compose.yml has no service {service!r}"
        check(cmd, tuple(inner), container=True)
    else:
        pytest.fail(f"{cmd}: teach tests/test_docs.py how to check `docker compose {sub}`")


def runs_for_real(cmd: DocCommand) -> bool:
    argv = cmd.argv
    return cmd.fenced and argv[:2] == (".venv/bin/python", "manage.py") and len(argv) > 2 and argv[2] in RUN


def test_the_docs_have_commands_and_every_command_block_is_tagged():
    """The extraction finds the README's commands (it is not silently checking nothing)."""
    readme = [c for c in COMMANDS if c.where.startswith("README.md")]
    assert any(c.argv[2:3] == ("print_map",) for c in readme if runs_for_real(c))
    assert any(c.argv[2:3] == ("import_osm",) for c in readme if runs_for_real(c))
    assert any(c.argv[:2] == ("make", "run") for c in readme)
    assert any(c.argv == ("make", "run", "HOST=0.0.0.0") for c in COMMANDS)  # variables are checked too
    assert any(not c.fenced for c in COMMANDS)  # inline commands are checked too
    assert untagged_command_blocks() == [], "tag these blocks ```sh (commands) or ```text (synopsis)"


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if not runs_for_real(c)], ids=str)
def test_documented_command_exists_and_accepts_its_flags(cmd: DocCommand):
    check(cmd)


def test_cheap_documented_commands_run_as_written_on_the_demo_town(vaduz, settings, tmp_path, monkeypatch):
    """Import, exports and prints of the docs, in doc order, on the test database."""
    settings.CARTOPARTY_EXPORT_DIR = tmp_path / "exports"
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    runnable = list({c.argv: c for c in reversed(COMMANDS) if runs_for_real(c)}.values())[::-1]
    assert len(runnable) >= 8
    for cmd in runnable:  # in doc order; a command documented twice runs once
        name, args = cmd.argv[2], [PLACEHOLDERS.get(a, a) for a in cmd.argv[3:]]
        check(cmd)  # every flag known before it runs: a clear message rather than argparse's exit
        if "--party" in args:
            slug = args[args.index("--town") + 1]
            args[args.index("--party") + 1] = str(PartyFactory(town=Town.objects.get(slug=slug)).pk)
        out = io.StringIO()
        try:
            call_command(name, *args, stdout=out, stderr=io.StringIO())
        except BaseException as exc:  # CommandError, or SystemExit from argparse
            pytest.fail(f"{cmd} failed: {exc!r}")
        for option in ("-o", "--output"):
            if option in args:
                written = work / args[args.index(option) + 1]
                assert written.is_file() and written.stat().st_size > 0, f"{cmd}: wrote no {written.name}"
        if name == "import_osm":
            slug = args[args.index("--town") + 1]
            assert Town.objects.get(slug=slug).boundary is not None, f"{cmd}: imported nothing"


def test_make_stop_stops_the_redis_this_checkout_started_and_no_other(tmp_path):
    """`make stop` once ran `redis-cli -p 6390 shutdown`: whatever Redis listened there, another
    checkout's or a shared broker, was shut down. It now stops the one whose pid file is ours."""
    var = tmp_path / "var"
    (var / "run").mkdir(parents=True)
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "redis-cli").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/redis-cli.calls\n')
    (stub / "redis-cli").chmod(0o755)
    ours = subprocess.Popen(
        ["redis-server", "--port", "0", "--save", "", "--unixsocket", str(var / "r.sock")]
    )
    try:
        (var / "run" / "redis.pid").write_text(str(ours.pid))
        env = {**os.environ, "CARTOPARTY_VAR_DIR": str(var), "PATH": f"{stub}:{os.environ['PATH']}"}
        result = subprocess.run(
            ["bash", "scripts/stop.sh"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert ours.wait(timeout=30) is not None  # our Redis stopped
        assert not (tmp_path / "redis-cli.calls").exists()  # no Redis shut down by its port
    finally:
        if ours.poll() is None:
            ours.kill()
