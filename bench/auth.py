"""What the accounts layer costs a request, and whether logins block the server (issue 15).

    python bench/auth.py [--seconds 8] [--rounds 3] [--connections 16] [--no-redis]

Needs wrk (``apt-get install -y wrk``). One ``jupyter server`` with the extension on SQLite,
JWT secrets set, bcrypt at its default cost (12) and the rate limit ON (in Redis at
127.0.0.1:6379 unless ``--no-redis``: then in the database). Then, in alternating rounds:

1. ``GET /workscript/workflows/{id}`` with the Jupyter token (the baseline), with an API key
   (``X-API-Key``: hash, key and owner from the cache, one rate-limit hit per request) and
   with a JWT access token (signature, session, user) — requests/s, p50/p99, and each one's
   ratio to the baseline. Goal: at least 0.9 of it and p99 < 50 ms.
2. ``GET /api/status`` polled by wrk alone (its baseline p99), then again while 20 logins per
   second (bcrypt 12, each a real password check) run against the same server: the p99 of the
   polls must stay < 50 ms — hashing runs off the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from rest import start_server, stop_server, wait_until_ready
from throughput import get_script, wrk

PASSWORD = "Bench-Password-9"
P99_GOAL_MS = 50.0
RATIO_GOAL = 0.9


async def prepare(client: httpx.AsyncClient) -> tuple[str, str, str, str]:
    """A user who logs in (a JWT), owns a workflow and an API key with a limit far above the
    bench's rate (still counted on every request); the Jupyter token's owner is an admin and
    reads the same workflow: (workflow id, key, access token, user email)."""
    email = "bench@example.org"
    user = await client.post("/workscript/users", json={"email": email, "password": PASSWORD})
    user.raise_for_status()
    login = await client.post(
        "/workscript/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"Authorization": ""},
    )
    login.raise_for_status()
    access = login.json()["accessToken"]
    as_user = {"Authorization": f"Bearer {access}"}
    made = await client.post(
        "/workscript/workflows",
        json={
            "definition": {
                "id": "bench-auth",
                "name": "bench",
                "version": "1.0.0",
                "workflow": [{"$.a": 1}],
            }
        },
        headers=as_user,
    )
    made.raise_for_status()
    # an admin sets the key's limit above the server's default (a user may not)
    key = await client.post(
        "/workscript/keys", json={"name": "bench", "rateLimit": 1_000_000, "expiresInDays": 1}
    )
    if key.status_code != 201:
        raise RuntimeError(f"POST /workscript/keys answered {key.status_code}: {key.text}")
    return made.json()["id"], key.json()["key"], access, email


async def logins(
    base_url: str, email: str, per_second: float, seconds: float
) -> tuple[list[float], int]:
    """``per_second`` logins for ``seconds``, each started on its own schedule: the times of
    those that succeeded, and how many the server turned away (429: too many hashes waiting)."""
    times: list[float] = []
    refused = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def one() -> None:
            nonlocal refused
            started = time.perf_counter()
            reply = await client.post(
                "/workscript/auth/login", json={"email": email, "password": PASSWORD}
            )
            if reply.status_code == 429:
                refused += 1
                return
            reply.raise_for_status()
            times.append(time.perf_counter() - started)

        tasks = []
        start = time.perf_counter()
        for index in range(int(per_second * seconds)):
            await asyncio.sleep(max(0.0, start + index / per_second - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return times, refused


async def main_async(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="workscript-bench-auth-"))
    extra = [
        "--WorkscriptApp.jwt_secret=" + "j" * 48,
        "--WorkscriptApp.jwt_refresh_secret=" + "r" * 48,
        "--WorkscriptApp.session_secret=" + "s" * 48,
        "--WorkscriptApp.auth_ip_limit=100000",
    ]
    if not args.no_redis:
        extra.append("--WorkscriptApp.redis_url=redis://127.0.0.1:6379/14")
    server = start_server(workdir, extra_args=extra)
    failed: list[str] = []
    try:
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=server.headers, timeout=30
        ) as client:
            await wait_until_ready(client, server, 60)
            workflow_id, key, access, email = await prepare(client)
        url = f"{server.base_url}/workscript/workflows/{workflow_id}"
        scripts = {
            "Jupyter token (baseline)": get_script(workdir, server.headers),
            "API key (X-API-Key)": _script(workdir, "key", {"X-API-Key": key}),
            "JWT (Bearer)": _script(workdir, "jwt", {"Authorization": f"Bearer {access}"}),
        }
        for script in scripts.values():  # warm-up
            wrk(url, seconds=2, connections=args.connections, script=script)
        rounds: dict[str, list] = {name: [] for name in scripts}
        for _ in range(args.rounds):
            for name, script in scripts.items():
                rounds[name].append(
                    wrk(url, seconds=args.seconds, connections=args.connections, script=script)
                )
        limiter = "database" if args.no_redis else "Redis"
        print(
            f"\n== authenticated GET, wrk -t2 -c{args.connections}, medians of {args.rounds} "
            f"rounds (rate limit on, in {limiter})"
        )
        base = statistics.median(r.rate for r in rounds["Jupyter token (baseline)"])
        for name, results in rounds.items():
            rate = statistics.median(r.rate for r in results)
            p50 = statistics.median(r.p50_ms for r in results)
            p99 = statistics.median(r.p99_ms for r in results)
            bad = sum(r.non_2xx + r.errors for r in results)
            ratio = rate / base
            ok = (name.startswith("Jupyter") or ratio >= RATIO_GOAL) and p99 < P99_GOAL_MS
            if not ok:
                failed.append(name)
            print(
                f"  {name:28} {rate:7.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                f"x{ratio:4.2f}  non-2xx {bad}  {'ok' if ok else 'MISSED'}"
            )

        status_url = f"{server.base_url}/api/status"
        status_script = get_script(workdir, server.headers)
        quiet = [
            wrk(status_url, seconds=args.seconds, connections=4, script=status_script)
            for _ in range(args.rounds)
        ]
        busy = []
        login_times: list[float] = []
        turned_away = 0
        for _ in range(args.rounds):
            poll = asyncio.create_task(
                asyncio.to_thread(
                    wrk, status_url, seconds=args.seconds, connections=4, script=status_script
                )
            )
            done, refused = await logins(server.base_url, email, 20, args.seconds)
            login_times += done
            turned_away += refused
            busy.append(await poll)
        quiet_p99 = statistics.median(r.p99_ms for r in quiet)
        busy_p99 = statistics.median(r.p99_ms for r in busy)
        ok = busy_p99 < P99_GOAL_MS
        if not ok:
            failed.append("logins")
        print("\n== GET /api/status polled (wrk -c4) while 20 logins/s run (bcrypt 12)")
        print(
            f"  alone: p99 {quiet_p99:6.1f} ms   with logins: p99 {busy_p99:6.1f} ms  "
            f"{'ok' if ok else 'MISSED'} (goal < {P99_GOAL_MS:.0f} ms)"
        )
        print(
            f"  logins: {len(login_times)} done, median {statistics.median(login_times) * 1000:.0f}"
            f" ms, p99 {sorted(login_times)[int(len(login_times) * 0.99) - 1] * 1000:.0f} ms;"
            f" {turned_away} turned away (429: more hashes waiting than the server takes)"
        )
    finally:
        stop_server(server)
    print("\nall goals met" if not failed else f"\nmissed: {', '.join(failed)}")
    return 0 if not failed else 1


def _script(workdir: Path, name: str, headers: dict[str, str]) -> Path:
    path = workdir / f"get-{name}.lua"
    path.write_text("".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items()))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-redis", action="store_true")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
