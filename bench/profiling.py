"""Where the server's time goes under the mix: py-spy on the running `ivr serve`, or cProfile
in-process when py-spy is not installed.

py-spy samples with `--gil`: each sample is the stack of the thread holding the GIL, so the
samples are the Python work of the single core, whichever thread (event loop or a database
worker) does it. C code that releases the GIL (SQLite stepping through its pages, the kernel's
socket work) is not in them; the share of ticks with no GIL holder says how much that is.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.mix import SignedRequest

Rules = tuple[tuple[str, tuple[str, ...]], ...]  # (category, path fragments of a frame)
# A load sample goes to the category of its innermost frame that any rule claims (walking from
# the leaf towards the root; within one frame, the first rule in this order): every webhook
# runs inside ivr.web.webhooks' Service/Served wrappers, so a rule over the whole stack would
# put nearly everything in the web layer. ElementTree work under twilio.twiml is TwiML
# rendering, a lock taken inside SQLAlchemy is the thread pool's, and so on.
CATEGORIES: Rules = (
    ("signature check (twilio RequestValidator)", ("(twilio/request_validator.py",)),
    ("form read + parse (ivr.web.signature)", ("(ivr/web/signature.py",)),
    ("parameter parsing (pydantic, ivr.web.params)", ("(pydantic", "(ivr/web/params.py")),
    ("TwiML rendering (twilio.twiml, ivr.web.twiml)", ("(twilio/twiml/", "(ivr/web/twiml.py")),
    (
        "database and records (SQLAlchemy, sqlite3, ivr.store)",
        ("(sqlalchemy/", "(sqlite3/", "(ivr/store/"),
    ),
    (
        "thread-pool hand-off (anyio, concurrent.futures, threading, run_in_threadpool)",
        ("(anyio/", "(concurrent/futures/", "(threading.py", "(starlette/concurrency.py"),
    ),
    ("time zones and calendars (pytz, holidays)", ("(pytz/", "(holidays/")),
    ("phonenumbers (caller number -> country -> region)", ("(phonenumbers/",)),
    ("menu engine and configuration (ivr.engine, ivr.config)", ("(ivr/engine/", "(ivr/config/")),
    ("web layer (the rest of ivr.web: webhooks, routes, app)", ("(ivr/web/",)),
    ("uvicorn + httptools (HTTP parsing, socket writes)", ("(uvicorn/", "(httptools/")),
    (
        "FastAPI/Starlette (middleware, routing, dependencies, request, response)",
        ("(fastapi/", "(starlette/"),
    ),
    ("asyncio event loop", ("(asyncio/", "(uvloop/", "(selectors.py")),
)
OTHER = "other (gc, stdlib, idle)"


Section = tuple[str, list[tuple[str, float]]]  # a title, and (name, share %) rows


def ignored(frame: str) -> bool:
    """Frames every stack of `ivr serve`'s main thread has: the console script and the CLI
    function that started uvicorn (not the import of ivr.commands.main, which is start-up work)."""
    if frame.startswith("<module> ("):
        return frame.startswith("<module> (ivr:")
    return "(ivr/commands/" in frame


@dataclass(frozen=True)
class Profile:
    title: str
    tool: str
    how: str
    samples: int
    ticks: int  # sampling ticks during the recording (rate x seconds); 0: not a GIL profile
    sections: list[Section]
    notes: tuple[str, ...] = ()


Stacks = list[tuple[list[str], int]]

# Cold start: a sample goes to the first phase, in this order, with a frame anywhere in its
# stack (an import inside the migration is the migration's time).
STARTUP_CATEGORIES: Rules = (
    ("database migration (alembic upgrade)", ("upgrade (ivr/store/migrate.py",)),
    (
        "regions.toml + prompts (ivr.config.loading.load_config)",
        ("load_config (ivr/config/loading.py",),
    ),
    ("imports", ("<module> (", "(<frozen importlib")),
    (
        "app build (ivr.web.app.create_app: routes, OpenAPI schemas)",
        ("create_app (ivr/web/app.py",),
    ),
    ("uvicorn startup, the probe's first request", ("(uvicorn/",)),
    ("CLI (typer), settings", ("(typer/", "(pydantic_settings/")),
)


def pyspy_path() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def pyspy_version() -> str:
    tool = pyspy_path()
    if tool is None:
        return "py-spy not installed"
    return subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()


def pyspy_record(
    output: Path,
    rate: int,
    cpu: int,
    *,
    pid: int | None = None,
    seconds: float = 0.0,
    gil: bool = False,
    command: Sequence[str] = (),
) -> list[str]:
    """The py-spy command line: attach to `pid` for `seconds`, or start `command`."""
    tool = pyspy_path()
    assert tool is not None, "py-spy is not installed"
    line = ["taskset", "-c", str(cpu), tool, "record", "--rate", str(rate), "--format", "raw"]
    line += ["--output", str(output)]
    if gil:
        line.append("--gil")
    if pid is not None:
        return [*line, "--pid", str(pid), "--duration", str(int(seconds))]
    return [*line, "--nonblocking", "--", *command]


def parse_raw(text: str, drop_cli: bool = True) -> Stacks:
    """py-spy's raw (collapsed) output: `frame;frame;...;leaf count` per line; `drop_cli`
    leaves out the frames of the command that started uvicorn (see `ignored`)."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            frames = [f for f in stack.split(";") if not (drop_cli and ignored(f))]
            stacks.append((frames or ["(idle)"], int(count)))
    return stacks


def category(frames: Sequence[str], rules: Rules = CATEGORIES) -> str:
    """The rule claiming the innermost frame any rule claims (frames run root to leaf); within
    one frame, the first rule in `rules`' order; else OTHER."""
    for frame in reversed(frames):
        for name, fragments in rules:
            if any(fragment in frame for fragment in fragments):
                return name
    return OTHER


def first_category(frames: Sequence[str], rules: Rules) -> str:
    """The first of `rules` any frame of the stack hits, wherever it is; else OTHER."""
    for name, fragments in rules:
        if any(fragment in frame for frame in frames for fragment in fragments):
            return name
    return OTHER


def _shares(counter: Counter[str], total: float, limit: int) -> list[tuple[str, float]]:
    return [(name, 100.0 * n / total) for name, n in counter.most_common(limit)]


def summarise(stacks: Stacks, tool: str, how: str, ticks: int, top: int = 15) -> Profile:
    """The load profile: categories, hottest functions (self), ivr/twilio functions
    (inclusive)."""
    total = sum(count for _, count in stacks) or 1
    by_category: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        by_category[category(frames)] += count
        leaves[frames[-1]] += count
        for frame in set(frames):
            if "(ivr/" in frame or "(twilio/" in frame:
                inclusive[frame] += count
    return Profile(
        title="the mix under load, where a request's time goes",
        tool=tool,
        how=how,
        samples=total,
        ticks=ticks,
        sections=[
            (
                "where the time goes (each sample once, by its innermost frame a category claims)",
                _shares(by_category, total, len(CATEGORIES) + 1),
            ),
            ("top functions by self time", _shares(leaves, total, top)),
            ("ivr and twilio functions, inclusive", _shares(inclusive, total, top + 10)),
        ],
    )


def _imported(frames: Sequence[str]) -> str | None:
    """For an import sample: the outermost package being imported that is not ivr's own, and
    the ivr code that imports it (a module, or a function with a local import)."""
    importer = "the ivr script"
    for frame in frames:
        function, _, where = frame.partition(" (")
        file = where.rsplit(":", 1)[0]
        if file.startswith("ivr/"):
            module = file.removesuffix(".py").replace("/", ".")
            importer = module if function == "<module>" else f"{module}.{function}"
        elif function == "<module>" and ("/" in file or file.endswith(".py")):
            return f"{file.split('/')[0].removesuffix('.py')} (imported by {importer})"
    return None


def summarise_startup(stacks: Stacks, how: str, top: int = 15) -> Profile:
    """The cold-start profile: phases, imports by package, ivr functions (inclusive)."""
    total = sum(count for _, count in stacks) or 1
    phases: Counter[str] = Counter()
    imports: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        phase = first_category(frames, STARTUP_CATEGORIES)
        phases[phase] += count
        if phase == "imports":
            imports[_imported(frames) or "import machinery, ivr's own module bodies"] += count
        for frame in set(frames):
            if "(ivr/" in frame:
                inclusive[frame] += count
    return Profile(
        title="cold start, where the start-up time goes",
        tool="py-spy",
        how=how,
        samples=total,
        ticks=0,
        sections=[
            ("where the start-up time goes", _shares(phases, total, len(STARTUP_CATEGORIES) + 1)),
            ("imports, by package", _shares(imports, total, top)),
            ("ivr functions, inclusive", _shares(inclusive, total, top + 5)),
        ],
    )


IDLE_POLL = "<method 'poll' of 'select.epoll' objects>"


def cprofile_inprocess(app: Any, requests: Sequence[SignedRequest], rounds: int = 3) -> Profile:
    """cProfile over the in-process replay of the mix (the event-loop thread only: database
    writes run in worker threads and show as the wait for them)."""
    from bench.inprocess import replay

    profiler = cProfile.Profile()
    asyncio.run(replay(app, requests[:50]))  # warm up
    profiler.enable()
    for _ in range(rounds):
        asyncio.run(replay(app, requests))
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    # The event loop waiting in epoll is idle time (database writes run in worker threads).
    idle = sum(entry[2] for key, entry in raw.items() if key[2] == IDLE_POLL)
    total = (sum(entry[2] for entry in raw.values()) - idle) or 1.0  # tottime, seconds
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    for (file, line, name), (_, _, tottime, cumtime, _) in raw.items():
        if name == IDLE_POLL:
            continue
        short = _short(file)
        frame = f"{name} ({short}:{line})"
        leaves[frame] += tottime
        by_category[category([frame])] += tottime
        if short.startswith(("ivr/", "twilio/")):
            inclusive[frame] += cumtime
    return Profile(
        title="the mix in-process, where a request's time goes",
        tool="cProfile",
        how=f"in-process replay of the mix ({len(requests)} requests) x{rounds} through httpx's"
        " ASGITransport",
        samples=0,
        ticks=0,
        sections=[
            ("where the time goes (by each function's own file)", _shares(by_category, total, 12)),
            ("top functions by self time", _shares(leaves, total, 15)),
            ("ivr and twilio functions, inclusive", _shares(inclusive, total, 25)),
        ],
        notes=(
            "event-loop thread only: database writes run in worker threads;"
            f" {idle:.2f} s waiting in epoll left out of the shares",
        ),
    )


ROOT = str(Path(__file__).resolve().parent.parent) + "/"
STDLIB = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/"


def _short(file: str) -> str:
    """A file as py-spy names it: relative to site-packages, the repository or the stdlib."""
    for marker in ("site-packages/", ROOT, STDLIB):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


STARTUP_SCRIPT = """
import cProfile, sys
profiler = cProfile.Profile()
profiler.enable()
import ivr.commands.main
from ivr.config.settings import Settings
from ivr.config.loading import load_config
from ivr.web.app import create_app
settings = Settings()
load_config(settings)  # ivr serve checks the configuration before starting uvicorn
create_app(settings)
import uvicorn, uvloop, httptools
profiler.disable()
profiler.dump_stats(sys.argv[1])
"""


def cprofile_startup(env: dict[str, str], cwd: Path, output: Path) -> Profile:
    """cProfile of `ivr serve`'s start-up path in a fresh interpreter (imports, configuration
    check, app build with its migration), without uvicorn's own start."""
    subprocess.run(
        [sys.executable, "-c", STARTUP_SCRIPT, str(output)], env=env, cwd=cwd, check=True
    )
    stats = pstats.Stats(str(output), stream=io.StringIO())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = max(entry[3] for entry in raw.values()) or 1.0  # the outermost cumtime
    inclusive: Counter[str] = Counter()
    for (file, line, name), (_, _, _, cumtime, _) in raw.items():
        short = _short(file)
        if short.startswith("ivr/") or name in ("<module>", "load_config", "create_app"):
            inclusive[f"{name} ({short}:{line})"] += cumtime
    return Profile(
        title="cold start, where the start-up time goes",
        tool="cProfile",
        how="start-up path of ivr serve in a fresh interpreter (imports, load_config, create_app)",
        samples=0,
        ticks=0,
        sections=[("functions and modules, inclusive", _shares(inclusive, total, 25))],
        notes=("py-spy is not installed: this leaves out uvicorn's own start",),
    )
