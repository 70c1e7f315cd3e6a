"""The wrk script that replays the pre-signed requests in order, round and round.

Requests are formatted once per thread (`init`); `request` hands out the next one. `done`
prints one line, `BENCH_JSON {...}`, with wrk's exact counts and latency percentiles (in
microseconds), which `bench.wrk` reads instead of wrk's rounded text.
"""

from __future__ import annotations

from collections.abc import Iterable

from bench.mix import SignedRequest

MARK = "BENCH_JSON"

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\\n',
    MARK, summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def lua_string(text: str) -> str:
    """`text` as a Lua string literal (ASCII printable kept, everything else escaped)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def lua_script(requests: Iterable[SignedRequest]) -> str:
    """A wrk script cycling through `requests` (method, path, headers, body as given)."""
    lines = [f"local MARK = {lua_string(MARK)}", "local plain = {"]
    for request in requests:
        headers = ", ".join(
            f"[{lua_string(name)}] = {lua_string(value)}" for name, value in request.headers
        )
        lines.append(
            f"  {{{lua_string(request.method)}, {lua_string(request.path)}, "
            f"{{{headers}}}, {lua_string(request.body)}}},"
        )
    lines += [
        "}",
        "local formatted = {}",
        "local next_index = 0",
        "init = function(args)",
        "  for i, r in ipairs(plain) do formatted[i] = wrk.format(r[1], r[2], r[3], r[4]) end",
        "end",
        "request = function()",
        "  next_index = next_index % #formatted + 1",
        "  return formatted[next_index]",
        "end",
    ]
    return "\n".join(lines) + "\n" + _DONE
