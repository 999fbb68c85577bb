"""The web load run of ``make bench``: many users at once on a large workspace.

After the import and reconcile of the web size (``BENCH_WEB_SIZE``, default
1,000,000 transactions; ``0`` to skip), :func:`run` signs a bench admin into
that workspace, starts the real server (``daozhang serve``, uvicorn, in a
process of its own so its CPU and memory are its own) on a free loopback
port, and lets :data:`CLIENTS` clients ask it, as fast as it answers, for a
mix of the pages and API calls people use most:

=================  ===========================================================
``overview_page``  ``/``, signed in with a session cookie
``exc_page``       ``/exceptions?page=N``
``exc_page_filt``  ``/exceptions?type=T&page=N`` (a type that has exceptions)
``api_exceptions`` ``/api/v1/exceptions?page=N``, with a Bearer token
``api_overview``   ``/api/v1/overview``
``api_merchants``  ``/api/v1/merchants?page=N``
=================  ===========================================================

Each client signs in once (one after the other: the argon2 password check
takes 64 MiB a time and is not what is measured), then picks one of these at
random for each request. After :data:`WARMUP_S` seconds not counted it counts for
:data:`DURATION_S` seconds: requests per second, p50/p90/p99/max latency
per kind and overall. Only a 200 counts as an answer; anything else (a
redirect to the login page, a 500, a timeout) is an error, and more than
:data:`MAX_ERROR_RATE` of them fails the run. The target is a p99 under
:data:`TARGET_P99_MS` ms on the 2-core bench machine.

The server runs with one worker, as ``daozhang serve`` does: the app keeps
its import and reconcile jobs in memory, so a second worker would not see
the first one's jobs. ``BENCH_WEB_WORKERS=2`` starts ``uvicorn --workers 2``
instead, to compare. The clients run in the bench's own process, on the
same two cores: what they cost is reported next to the server's CPU.

``python -m daozhang.bench_web HOME`` runs the load alone against a
workspace that is already reconciled (to look into a slow page without
importing again).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

__all__ = [
    "CLIENTS",
    "DURATION_S",
    "TARGET_P99_MS",
    "WARMUP_S",
    "app_factory",
    "format_web",
    "run",
    "web_size",
]

WEB_SIZE_ENV = "BENCH_WEB_SIZE"
WORKERS_ENV = "BENCH_WEB_WORKERS"
DURATION_ENV = "BENCH_WEB_SECONDS"
HOME_ENV = "DAOZHANG_BENCH_WEB_HOME"
DEFAULT_WEB_SIZE = 1_000_000
CLIENTS = 20
WARMUP_S = 5.0
DURATION_S = 30.0
TARGET_P99_MS = 300.0
MAX_ERROR_RATE = 0.001
READY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 30.0

USERNAME = "bench"
ORG = "压测 Bench"
ACTOR = "cli:bench"
PER_PAGE = 50  # the pages' and the API's default page size

ENDPOINTS = (
    "overview_page",
    "exc_page",
    "exc_page_filt",
    "api_exceptions",
    "api_overview",
    "api_merchants",
)
API = "/api/v1"
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def web_size() -> int | None:
    """The size (transactions) the load run is for; None when ``BENCH_WEB_SIZE=0``."""
    raw = os.environ.get(WEB_SIZE_ENV, "").replace("_", "").strip()
    size = int(raw) if raw else DEFAULT_WEB_SIZE
    return size or None


def app_factory() -> FastAPI:
    """The app for ``uvicorn --factory --workers N`` (each worker opens the workspace)."""
    from daozhang.web.app import create_app

    return create_app(Path(os.environ[HOME_ENV]))


# -- the bench user ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str
    token: str


def _bench_user(home: Path) -> Credentials:
    """An admin of an all-merchants organisation with a fresh password, and an API token."""
    from daozhang.service import users as svc
    from daozhang.store.workspace import Workspace

    password = secrets.token_urlsafe(16)
    with Workspace.open(home) as ws:
        try:
            svc.get_user(ws, USERNAME)
        except svc.UnknownUserError:
            with contextlib.suppress(svc.OrganisationExistsError):
                svc.create_organisation(ws, ORG, all_merchants=True, actor=ACTOR)
            svc.add_user(ws, USERNAME, password, org=ORG, role="admin", actor=ACTOR)
        else:
            svc.set_password(ws, USERNAME, password, actor=ACTOR)
        user = svc.get_user(ws, USERNAME)
        token = svc.create_api_token(ws, user, f"bench {time.strftime('%Y-%m-%d %H:%M:%S')}")
    return Credentials(USERNAME, password, token.token)


# -- the server ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server_command(home: Path, port: int, workers: int) -> list[str]:
    if workers == 1:  # exactly what a user runs
        return [sys.executable, "-m", "daozhang", "--home", str(home), "serve", "--port", str(port)]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "daozhang.bench_web:app_factory",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-server-header",
    ]


@dataclass
class Server:
    """A running server: its process (a process group of its own) and its address."""

    proc: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def pids(self) -> list[int]:
        """The server's process and its workers (Linux /proc; just the process elsewhere)."""
        pids = [self.proc.pid]
        with contextlib.suppress(OSError):
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    with contextlib.suppress(OSError, IndexError, ValueError):
                        stat = (entry / "stat").read_text()
                        if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                            pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def peak_mb(self) -> float:
        """The largest peak resident memory of the server's processes."""
        peak = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
        return peak

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def serving(home: Path, *, workers: int, log: Path) -> Iterator[Server]:
    """Start the server on a free loopback port, wait until it answers, stop it at the end."""
    import httpx

    port = _free_port()
    env = {**os.environ, HOME_ENV: str(home.absolute()), "PYTHONUNBUFFERED": "1"}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            _server_command(home, port, workers),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: workers are stopped with it
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise SystemExit(
                    f"the web server stopped (exit {proc.returncode}):\n{server.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.base_url}/login", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"the web server did not answer in {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
        yield server
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down cleanly), then SIGKILL to the group if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Workers that outlived their supervisor: the group is ours alone.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# -- the clients ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Targets:
    """What there is to ask for: page counts and the exception types that have exceptions."""

    exception_pages: int
    merchant_pages: int
    type_pages: dict[str, int]


def _pages(total: int) -> int:
    return max(1, math.ceil(total / PER_PAGE))


def _targets(client: httpx.Client, token: str) -> Targets:
    auth = {"Authorization": f"Bearer {token}"}
    exc = client.get(f"{API}/exceptions", params={"per_page": 1}, headers=auth)
    mer = client.get(f"{API}/merchants", params={"per_page": 1}, headers=auth)
    ov = client.get(f"{API}/overview", headers=auth)
    for r in (exc, mer, ov):
        if r.status_code != 200:
            raise SystemExit(f"web bench: {r.request.url} answered {r.status_code}: {r.text[:300]}")
    # The type filter counts every open exception of a type, whatever its date.
    types: dict[str, int] = {}
    for t in {s["type"] for s in ov.json()["at_stake"]}:
        r = client.get(f"{API}/exceptions", params={"type": t, "per_page": 1}, headers=auth)
        types[t] = _pages(int(r.json()["total"]))
    return Targets(
        exception_pages=_pages(int(exc.json()["total"])),
        merchant_pages=_pages(int(mer.json()["total"])),
        type_pages=types or {"settled_not_arrived": 1},
    )


def _request_maker(targets: Targets, rng: random.Random) -> Callable[[], tuple[str, str, bool]]:
    """A function that picks the next request: (endpoint, path with query, is an API call)."""
    types = sorted(targets.type_pages)

    def pick() -> tuple[str, str, bool]:
        endpoint = rng.choice(ENDPOINTS)
        match endpoint:
            case "overview_page":
                return endpoint, "/", False
            case "exc_page":
                return (
                    endpoint,
                    f"/exceptions?page={rng.randint(1, targets.exception_pages)}",
                    False,
                )
            case "exc_page_filt":
                t = rng.choice(types)
                return (
                    endpoint,
                    f"/exceptions?type={t}&page={rng.randint(1, targets.type_pages[t])}",
                    False,
                )
            case "api_exceptions":
                return (
                    endpoint,
                    f"{API}/exceptions?page={rng.randint(1, targets.exception_pages)}",
                    True,
                )
            case "api_overview":
                return endpoint, f"{API}/overview", True
            case _:
                return (
                    endpoint,
                    f"{API}/merchants?page={rng.randint(1, targets.merchant_pages)}",
                    True,
                )

    return pick


def sign_in(client: httpx.Client, username: str, password: str) -> None:
    """Sign in as a browser does: the login form's token, then the form (a 303 and a cookie)."""
    form = client.get("/login")
    token = _LOGIN_TOKEN.search(form.text)
    if form.status_code != 200 or token is None:
        raise SystemExit(f"web bench: no login form ({form.status_code})")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "login_token": token.group(1)},
    )
    if r.status_code != 303:
        raise SystemExit(f"web bench: sign-in failed ({r.status_code}): {r.text[:300]}")


@dataclass
class _Tally:
    """One client's counted requests."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    error_samples: list[str] = field(default_factory=list)


def _client_loop(
    pages: httpx.Client,
    api: httpx.Client,
    pick: Callable[[], tuple[str, str, bool]],
    window: tuple[float, float],
    tally: _Tally,
) -> None:
    """Ask, as soon as the last answer is in, until the window ends; count inside it only."""
    import httpx

    counted_from, until = window
    while True:
        t0 = time.perf_counter()
        if t0 >= until:
            return
        endpoint, path, is_api = pick()
        try:
            status = str((api if is_api else pages).get(path).status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        elapsed_ms = (time.perf_counter() - t0) * 1000
        if t0 < counted_from:
            continue
        if status == "200":
            tally.latencies[endpoint].append(elapsed_ms)
        else:
            tally.errors[endpoint][status] += 1
            if len(tally.error_samples) < 5:
                tally.error_samples.append(f"{status} {path}")


def _percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_ms:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


def _stats(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    ms = sorted(latencies)
    requests = len(ms) + errors
    return {
        "requests": requests,
        "rps": round(requests / seconds, 1),
        "p50_ms": round(_percentile(ms, 50), 1),
        "p90_ms": round(_percentile(ms, 90), 1),
        "p99_ms": round(_percentile(ms, 99), 1),
        "max_ms": round(ms[-1], 1) if ms else 0.0,
        "errors": errors,
    }


def load(
    server: Server,
    creds: Credentials,
    *,
    clients: int = CLIENTS,
    warmup: float = WARMUP_S,
    duration: float = DURATION_S,
) -> dict[str, Any]:
    """``clients`` signed-in clients asking as fast as they are answered; the figures."""
    import httpx

    with contextlib.ExitStack() as stack:
        probe = stack.enter_context(
            httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S)
        )
        targets = _targets(probe, creds.token)
        # One session per client, signed in one after the other: the password check
        # (argon2, 64 MiB each) is not part of what is measured here.
        bearer = {"Authorization": f"Bearer {creds.token}"}
        sessions: list[tuple[httpx.Client, httpx.Client]] = []
        for _ in range(clients):
            pages = httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S)
            api = httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S, headers=bearer)
            stack.enter_context(pages)
            stack.enter_context(api)
            sign_in(pages, creds.username, creds.password)
            sessions.append((pages, api))
        signed_in_mb = server.peak_mb()
        tallies = [_Tally() for _ in range(clients)]
        failures: list[BaseException] = []
        now = time.perf_counter()
        window = (now + warmup, now + warmup + duration)

        def client(i: int) -> None:
            pick = _request_maker(targets, random.Random(i))
            try:
                _client_loop(*sessions[i], pick, window, tallies[i])
            except BaseException as exc:  # reported below, with the others
                failures.append(exc)

        threads = [
            threading.Thread(target=client, args=(i,), name=f"bench-client-{i}", daemon=True)
            for i in range(clients)
        ]
        for t in threads:
            t.start()
        # CPU of the counted window only: from its start to its end.
        time.sleep(max(0.0, window[0] - time.perf_counter()))
        cpu_server0 = server.cpu_seconds()
        cpu_self0 = _self_cpu()
        for t in threads:
            t.join()
        cpu_server = server.cpu_seconds() - cpu_server0
        cpu_clients = _self_cpu() - cpu_self0
    if failures:
        raise SystemExit(f"web bench: a client failed: {failures[0]!r}")

    per: dict[str, Any] = {}
    everything: list[float] = []
    error_kinds: Counter[str] = Counter()
    for endpoint in ENDPOINTS:
        lat = [ms for tally in tallies for ms in tally.latencies[endpoint]]
        errs: Counter[str] = Counter()
        for tally in tallies:
            errs.update(tally.errors[endpoint])
        per[endpoint] = _stats(lat, sum(errs.values()), duration)
        everything.extend(lat)
        error_kinds.update(errs)
    overall = _stats(everything, sum(error_kinds.values()), duration)
    error_rate = overall["errors"] / overall["requests"] if overall["requests"] else 1.0
    return {
        "clients": clients,
        "warmup_s": warmup,
        "duration_s": duration,
        "endpoints": per,
        "overall": overall,
        "error_rate": round(error_rate, 5),
        "error_kinds": dict(error_kinds),
        "error_samples": [s for tally in tallies for s in tally.error_samples][:5],
        "server_cpu_pct": round(100 * cpu_server / duration),
        "client_cpu_pct": round(100 * cpu_clients / duration),
        "server_mb_signed_in": round(signed_in_mb),
        "exception_pages": targets.exception_pages,
        "merchant_pages": targets.merchant_pages,
    }


def _self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _loadavg() -> list[float]:
    with contextlib.suppress(OSError, AttributeError):
        return [round(x, 2) for x in os.getloadavg()]
    return []


def run(
    home: Path,
    *,
    log: Path,
    workers: int | None = None,
    duration: float | None = None,
    clients: int = CLIENTS,
    warmup: float = WARMUP_S,
) -> dict[str, Any]:
    """The whole load run on a reconciled workspace: the ``"web"`` entry of results.json.

    ``workers`` defaults to ``$BENCH_WEB_WORKERS``, else 1; ``duration`` (the
    counted seconds) to ``$BENCH_WEB_SECONDS``, else :data:`DURATION_S`. The
    server's output goes to ``log``.
    """
    workers = workers or int(os.environ.get(WORKERS_ENV) or 1)
    duration = duration or float(os.environ.get(DURATION_ENV) or DURATION_S)
    creds = _bench_user(home)
    load_before = _loadavg()
    with serving(home, workers=workers, log=log) as server:
        result = load(server, creds, clients=clients, warmup=warmup, duration=duration)
        result["server_peak_mb"] = round(server.peak_mb())  # VmHWM: the whole run
    result["workers"] = workers
    result["loadavg_before"] = load_before
    result["loadavg_after"] = _loadavg()
    result["target_p99_ms"] = TARGET_P99_MS
    result["meets_target"] = result["overall"]["p99_ms"] < TARGET_P99_MS
    result["ok"] = result["error_rate"] <= MAX_ERROR_RATE
    return result


def format_web(web: dict[str, Any]) -> str:
    """The load run as a block of the bench's output."""
    o = web["overall"]
    lines = [
        f"  web: {web['clients']} clients, {web['duration_s']:.0f} s counted after "
        f"{web['warmup_s']:.0f} s warm-up, {web['workers']} worker(s); "
        f"server CPU {web['server_cpu_pct']}%, clients {web['client_cpu_pct']}% "
        f"(of one core); server memory {web['server_mb_signed_in']} MB after the sign-ins, "
        f"peak {web['server_peak_mb']} MB; "
        f"load {'/'.join(map(str, web['loadavg_before']))} -> "
        f"{'/'.join(map(str, web['loadavg_after']))}",
        f"    {'endpoint':<16}{'requests':>9}{'req/s':>8}{'p50':>8}{'p90':>8}"
        f"{'p99':>8}{'max':>8}{'errors':>8}   (ms)",
    ]
    for name, s in [*web["endpoints"].items(), ("all", o)]:
        lines.append(
            f"    {name:<16}{s['requests']:>9}{s['rps']:>8}{s['p50_ms']:>8}{s['p90_ms']:>8}"
            f"{s['p99_ms']:>8}{s['max_ms']:>8}{s['errors']:>8}"
        )
    verdict = "meets" if web["meets_target"] else "MISSES"
    lines.append(
        f"    p99 {o['p99_ms']} ms {verdict} the {web['target_p99_ms']:.0f} ms target; "
        f"errors {o['errors']} ({100 * web['error_rate']:.2f}%)"
        + ("" if web["ok"] else f" -- over {100 * MAX_ERROR_RATE:.1f}%: FAILED")
    )
    if web["error_kinds"]:
        lines.append(f"    error kinds: {web['error_kinds']}; e.g. {web['error_samples']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``python -m daozhang.bench_web HOME [WORKERS [SECONDS]]``: the load run alone."""
    if not argv:
        print(main.__doc__, file=sys.stderr)
        return 2
    home = Path(argv[0])
    workers = int(argv[1]) if len(argv) > 1 else None
    seconds = float(argv[2]) if len(argv) > 2 else None
    web = run(home, log=Path("bench-out") / "web-server.log", workers=workers, duration=seconds)
    print(format_web(web))
    return 0 if web["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
