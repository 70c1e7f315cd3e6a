"""Load benchmark of the webhook service: `python -m bench` (see bench/RESULTS.md).

Modules: `mix` (the pre-signed webhook requests), `lua` (the wrk script that replays them),
`regions` (a generated regions.toml of any size), `bare` (the constant-XML baseline app),
`servers` (spawning pinned servers, cold start, RSS), `wrk` (running and reading wrk),
`inprocess` (replaying the mix through httpx's ASGI transport), `profiling` (py-spy, cProfile),
`report` (targets, the printed summary, RESULTS.md) and `cli` (the whole run).
"""
