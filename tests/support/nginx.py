"""infra/nginx/ivr.conf rendered and run by a real nginx, as the current user, on loopback.

The file is rendered the way the nginx image renders it (envsubst of the variables compose
sets), except that the upstream's `server ${IVR_UPSTREAM}` line is repeated once per replica
address, as Docker's DNS answers one address per replica of `ivr`. The main nginx.conf written
here only stands in for the image's own (process, pid, logs), never for the proxy's rules.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import INFRA, free_port, listening, need, until

SITE = INFRA / "nginx" / "ivr.conf"
WALLBOARD_ACCESS = INFRA / "nginx" / "wallboard-access.conf"
FALLBACK_XML = INFRA / "fallback.xml"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
UPSTREAM = "IVR_UPSTREAM"
# The image's own nginx.conf, reduced to what running it needs; the site is included as-is.
MAIN = """\
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log stderr notice;
{user}
events {{ worker_connections 256; }}
http {{
    include conf.d/ivr.conf;
}}
"""


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def render(text: str, values: Mapping[str, str], upstreams: Sequence[str]) -> str:
    """`text` with ${NAME} replaced from `values`; the upstream server line once per address."""
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        if f"${{{UPSTREAM}}}" in line:
            lines.extend(line.replace(f"${{{UPSTREAM}}}", address) for address in upstreams)
        else:
            lines.append(line)
    rendered = "".join(lines)
    unknown = placeholders(rendered) - set(values)
    assert not unknown, f"no value for {sorted(unknown)}"
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], rendered)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (openssl)."""
    openssl = need("openssl", "apt-get install openssl")
    certificate, key = directory / "fullchain.pem", directory / "privkey.pem"
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return certificate, key


@dataclass
class Proxy:
    directory: Path
    https_port: int
    http_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def public_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def access_log(self) -> Path:
        return self.directory / "access.log"

    @property
    def error_log(self) -> Path:
        return self.directory / "error.log"

    def entries(self) -> list[dict[str, str]]:
        """The access log (infra's `ivr` format), one dict per request."""
        entries = []
        for line in self.access_log.read_text().splitlines():
            match = LOG_LINE.match(line)
            assert match, f"not the ivr log format: {line!r}"
            entries.append(match.groupdict())
        return entries


LOG_LINE = re.compile(
    r'^\S+ \[[^]]+\] "(?P<method>\S+) (?P<path>\S+)" (?P<status>\d{3}) \d+ \S+ '
    r"upstream=(?P<upstream>.*) upstream_status=(?P<upstream_status>.*) upstream_time=.*$"
)


def lay_out(
    directory: Path, upstreams: Sequence[str], wallboard_access: str | None = None
) -> Proxy:
    """The nginx prefix: main conf, rendered site, certificate, the static fallback, and who
    may reach the wallboard (infra's wallboard-access.conf unless the test writes its own)."""
    proxy = Proxy(directory, free_port(), free_port())
    (directory / "conf.d").mkdir(parents=True)
    access = WALLBOARD_ACCESS.read_text() if wallboard_access is None else wallboard_access
    (directory / "wallboard-access.conf").write_text(access)
    self_signed(directory / "certs")
    (directory / "twiml").mkdir()
    shutil.copyfile(FALLBACK_XML, directory / "twiml" / "fallback.xml")
    values = {
        "NGINX_HTTP_LISTEN": f"127.0.0.1:{proxy.http_port}",
        "NGINX_HTTPS_LISTEN": f"127.0.0.1:{proxy.https_port}",
    }
    site = render(SITE.read_text(), values, upstreams)
    (directory / "conf.d" / "ivr.conf").write_text(site)
    # nginx only changes user when started as root; then it must stay us, not `nobody`.
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(MAIN.format(directory=directory, user=user))
    return proxy


def command(nginx: str, proxy: Proxy, *extra: str) -> list[str]:
    directory = f"{proxy.directory}/"
    return [nginx, "-p", directory, "-c", f"{directory}nginx.conf", "-e", "stderr", *extra]


def check(directory: Path, upstreams: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on the laid-out configuration."""
    nginx = need("nginx", "apt-get install nginx; .ci/run installs it")
    proxy = lay_out(directory, upstreams)
    return subprocess.run(
        command(nginx, proxy, "-t"), capture_output=True, text=True, timeout=60, check=False
    )


@contextmanager
def running(
    directory: Path, upstreams: Sequence[str], wallboard_access: str | None = None
) -> Iterator[Proxy]:
    """nginx in the foreground on free loopback ports in front of `upstreams`."""
    nginx = need("nginx", "apt-get install nginx; .ci/run installs it")
    proxy = lay_out(directory, upstreams, wallboard_access)
    with proxy.access_log.open("ab") as stdout, proxy.error_log.open("ab") as stderr:
        process = subprocess.Popen(command(nginx, proxy), stdout=stdout, stderr=stderr)
    proxy.process = process

    def serving() -> bool:
        assert process.poll() is None, f"nginx exited:\n{proxy.error_log.read_text()}"
        return listening(proxy.https_port) and listening(proxy.http_port)

    try:
        until(serving, "nginx to listen")
        yield proxy
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
