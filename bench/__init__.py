"""Load benchmark of the webhook service: `python -m bench` (see bench/RESULTS.md).

Modules: `mix` (the pre-signed webhook requests), `lua` (the wrk script that replays them),
`regions` (a generated regions.toml of any size), `bare` (the constant-XML baseline app),
`servers` (spawning pinned servers, cold start, RSS), `wrk` (running and reading wrk),
`inprocess` (replaying the mix through httpx's ASGI transport), `profiling` (py-spy, cProfile),
`report` (targets, the printed summary, RESULTS.md) and `cli` (the whole run).

`python -m bench --surge [N]` is another thing: correctness under a burst of whole calls
(`surge`, with `surge_plan`, `surge_wire`, `surge_records`, `surge_report`, `surge_command`).
"""
