"""The peer: Twilio's own sample IVR (TwilioDevEd/ivr-phone-tree-python, Flask), fetched and
installed at bench time and measured in the same run as the service, under its own webhooks.

It is what Twilio hands developers as the way to build a phone tree, so it says where the
service stands against the obvious alternative on the same machine. The sample is Python
2-era code: one text replacement (PORT) lets it run on Python 3, nothing else is changed. It
checks no signature, so its requests carry none. When it cannot be had (no clone, no install,
gunicorn not answering), `PeerUnavailable` says precisely why and the run goes on without it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.mix import FORM, LINES, SignedRequest, call_parameters, caller_number
from bench.servers import Launch

REPOSITORY = "TwilioDevEd/ivr-phone-tree-python"
URL = f"https://github.com/{REPOSITORY}"
APP = "ivr_phone_tree_python:app"
PACKAGES = ("flask", "gunicorn", "twilio")
VERSIONS = ("flask", "werkzeug", "gunicorn", "twilio")
CLONE_TIMEOUT = 30.0
INSTALL_TIMEOUT = 600.0
# The smallest port to Python 3: dict.has_key is gone.
PORTED_FILE = "ivr_phone_tree_python/views.py"
PORT = ("option_actions.has_key(selected_option)", "selected_option in option_actions")

WELCOME = "/ivr/welcome"
MENU = "/ivr/menu"
PLANETS = "/ivr/planets"
PLANET_KEYS = ("2", "3", "4")


class PeerUnavailable(RuntimeError):
    """The sample could not be fetched, ported, installed or served; the message says why."""


@dataclass(frozen=True)
class PeerInstall:
    """The sample, cloned, ported and installed in its own virtual environment."""

    source: str  # where it was cloned from
    commit: str
    checkout: Path
    venv: Path
    versions: dict[str, str]

    def launch(self, port: int, workdir: Path, env: dict[str, str]) -> Launch:
        """gunicorn, one sync worker; no access log (gunicorn's default without
        --access-logfile), and no control socket (gunicorn would make one in ~/.gunicorn,
        shared by every gunicorn of the user)."""
        argv = (
            str(self.venv / "bin" / "gunicorn"),
            "-w",
            "1",
            "-k",
            "sync",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            APP,
        )
        return Launch("peer", argv, env, self.checkout, workdir / "server.log", bound=port)


def port_to_python3(source: str) -> str:
    """views.py with PORT applied; PeerUnavailable when the sample no longer has the line
    (its code changed: the port would need a look, not a guess)."""
    old, new = PORT
    if source.count(old) != 1:
        raise PeerUnavailable(
            f"{PORTED_FILE} no longer holds `{old}` once: the Python 3 port needs a look"
        )
    return source.replace(old, new)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _run(command: list[str], what: str, timeout: float, env: dict[str, str] | None = None) -> str:
    """`command`'s stdout; PeerUnavailable naming `what` and its last error line otherwise."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except FileNotFoundError:
        raise PeerUnavailable(f"{what}: {command[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise PeerUnavailable(f"{what} did not finish within {timeout:g} s") from None
    if done.returncode != 0:
        error = _last_line(done.stderr or done.stdout)
        raise PeerUnavailable(f"{what} failed (exit {done.returncode}): {error}")
    return done.stdout


def clone_source(source: str | None) -> str:
    """What git clones from: GitHub, or a local repository (as a file:// URL, so that
    --depth 1 holds there too)."""
    if source is None:
        return URL
    path = Path(source)
    return path.resolve().as_uri() if path.exists() else source


def fetch_peer(source: str | None, folder: Path) -> PeerInstall:
    """Clone the sample into `folder`, port it, and install current flask, gunicorn and
    twilio from PyPI into a virtual environment beside it."""
    origin = clone_source(source)
    checkout = folder / "ivr-phone-tree-python"
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}  # fail, never ask for a password
    clone = ["git", "clone", "--quiet", "--depth", "1", origin, str(checkout)]
    _run(clone, f"git clone --depth 1 {origin}", CLONE_TIMEOUT, env)
    commit = _run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], "git", 30.0)
    views = checkout / PORTED_FILE
    if not views.exists():
        raise PeerUnavailable(f"the clone has no {PORTED_FILE}")
    views.write_text(port_to_python3(views.read_text(encoding="utf-8")), encoding="utf-8")
    venv = folder / "peer-venv"
    _run([sys.executable, "-m", "venv", str(venv)], "python -m venv", 120.0)
    python = str(venv / "bin" / "python")
    install = [python, "-m", "pip", "install", "-q", *PACKAGES]
    _run(install, f"pip install -q {' '.join(PACKAGES)}", INSTALL_TIMEOUT)
    script = (
        "import importlib.metadata as m, json;"
        f"print(json.dumps({{n: m.version(n) for n in {list(VERSIONS)!r}}}))"
    )
    versions = json.loads(_run([python, "-c", script], "reading the installed versions", 60.0))
    return PeerInstall(origin, commit.strip(), checkout, venv, versions)


def _headers(sid: str, sequence: int) -> tuple[tuple[str, str], ...]:
    """Twilio's headers, without X-Twilio-Signature: the sample checks none."""
    return (
        ("User-Agent", "TwilioProxy/1.1"),
        ("Accept", "*/*"),
        ("Content-Type", FORM),
        ("I-Twilio-Idempotency-Token", f"{sid[2:14]}-{sequence:04d}"),
        ("X-Home-Region", "us1"),
    )


def _keys(digits: str) -> dict[str, str]:
    return {"Digits": digits, "FinishedOnKey": "", "msg": "Gather End"}


def peer_mix(calls: int = 240, seed: int = 20260302) -> list[SignedRequest]:
    """`calls` whole calls through the sample, interleaved as if they overlapped in time, as
    `bench.mix.build_mix` does for the service: each call is welcomed, then half press 1
    (directions, then hang-up) and half press 2 and pick a planet (a <Dial>). So about 40%
    welcome, 20% each of menu 1, menu 2 and planets."""
    rng = random.Random(seed)
    timed: list[tuple[float, int, SignedRequest]] = []
    for index in range(calls):
        line = LINES[index % len(LINES)]
        sid = "CA" + f"{rng.getrandbits(128):032x}"
        caller = caller_number(line.caller_country, index)
        steps: list[tuple[str, str, dict[str, str]]] = [("welcome", WELCOME, {})]
        if rng.random() < 0.5:
            steps.append(("menu 1", MENU, _keys("1")))
        else:
            steps.append(("menu 2", MENU, _keys("2")))
            steps.append(("planets", PLANETS, _keys(rng.choice(PLANET_KEYS))))
        for step, (kind, path, extra) in enumerate(steps):
            status = "ringing" if kind == "welcome" else "in-progress"
            body = urlencode({**call_parameters(sid, line, caller, status), **extra})
            request = SignedRequest(kind, "POST", path, _headers(sid, step + 1), body)
            timed.append((index * 4.0 + step * 25.0 + rng.random(), len(timed), request))
    return [request for _, _, request in sorted(timed)]


def first_of_each_kind(requests: list[SignedRequest]) -> list[SignedRequest]:
    """One request of each kind, for checking every route answers before the load."""
    seen: dict[str, SignedRequest] = {}
    for request in requests:
        seen.setdefault(request.kind, request)
    return list(seen.values())


def describe(install: PeerInstall) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in install.versions.items())
    old, new = PORT
    return (
        f"{REPOSITORY} @ {install.commit} ({versions}; current releases from PyPI, not its"
        f" requirements.txt pins), served by `gunicorn -w 1 -k sync` (access log off, no"
        f" control socket); ported to Python 3 at bench time by one text replacement in"
        f" {PORTED_FILE}: `{old}` -> `{new}`"
    )
