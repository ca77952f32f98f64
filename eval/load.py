"""`plan-assistant bench --what load`: the served API under many residents, on loopback, bounded in time.

The runner starts `plan-assistant serve` on a free loopback port over a data directory, waits for
`/health`, answers one warm-up question (the local model loads on first use), then runs locust
headless as a subprocess (`eval/locust_residents.py`; locust brings gevent, so it never runs in this
process) and prints throughput, latency percentiles per route, admission refusals (429/503, apart
from failures), errors, and the peak memory of the server's process tree (psutil, sampled).

Client keys: the server counts requests per client address, and uvicorn takes that address from
X-Forwarded-For when the connection comes from loopback (a reverse proxy on the same host). With
`one_client=False` each simulated resident sends its own address there, so the default limits apply
per resident as in production; with `one_client=True` all of them come from one address, which shows
the limit at work (429 with Retry-After).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from eval.process import LoopbackProcess, free_port

LOCUSTFILE = Path(__file__).with_name("locust_residents.py")
HOST = "127.0.0.1"  # loopback only: the load never leaves this machine
STARTUP_TIMEOUT_S = 300.0  # loading the embedding model, Sudachi and the UI takes ~20 s on 2 cores
WARM_UP_TIMEOUT_S = 900.0  # the first answer may join (1.1 GB) and load the local model
RSS_SAMPLE_S = 0.5  # how often the server's memory is sampled
STOP_TIMEOUT_S = 30.0  # locust's --stop-timeout: requests in flight at the end may finish
LOCUST_GRACE_S = 120.0  # beyond duration + stop timeout, before the locust process is killed
REJECTED = (429, 503)
HTTP_STATUS = re.compile(r"HTTP (\d{3}):")  # how the locustfile words a failed response


@dataclass
class LoadConfig:
    data_dir: Path
    questions: Path
    users: int = 20
    spawn_rate: float = 2.0
    duration: str = "5m"  # locust's -t syntax: 10s, 5m, 1h30m
    generator: str = "extractive"
    one_client: bool = False
    env: dict[str, str] = field(default_factory=dict)  # extra PLAN_ASSISTANT_* settings for the server


@dataclass
class RouteFigures:
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass
class LoadFigures:
    users: int
    duration: str
    generator: str
    client_keys: str
    warm_up_s: float
    requests: int
    rps: float
    served_rps: float
    routes: list[RouteFigures]
    rejected: dict[str, int]  # "429" / "503" -> count
    retry_after_s: list[float]
    failures: int
    server_errors: int  # 5xx other than 503, plus connection errors
    failure_kinds: dict[str, int]
    peak_rss_mb: float
    notices: dict[str, int]
    generators: dict[str, int]
    statuses: dict[str, int]  # "/ask 200" -> count
    command: list[str]
    load_average: tuple[float, float]  # the machine's 1-minute load average before and after the run
    server_cores: float  # CPU time of the server's tree / wall time of the run: cores it actually used


def serve_command(data_dir: Path, port: int) -> list[str]:
    """`plan-assistant serve` from this environment (the console script beside this interpreter)."""
    script = Path(sys.executable).with_name("plan-assistant")
    head = [str(script)] if script.exists() else [sys.executable, "-c",
                                                   "import sys; from assistant.cli import main; sys.exit(main())"]
    return [*head, "--data-dir", str(data_dir), "serve", "--host", HOST, "--port", str(port),
            "--log-level", "warning"]


class PeakRss:
    """Samples the resident memory of a process and all its descendants in a thread; `peak_mb` is the max.
    `cpu_s` is the CPU time (user + system) the tree used while sampled: on a shared machine it tells how
    much of the cores the server actually had."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb = pid, 0.0
        self.cpu_s = 0.0
        self._cpu: dict[int, float] = {}  # pid -> CPU seconds at the first and the latest sample
        self._cpu_start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                        t = p.cpu_times()
                        self._cpu[p.pid] = t.user + t.system
                        self._cpu_start.setdefault(p.pid, self._cpu[p.pid])
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                return
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self.cpu_s = sum(self._cpu[p] - self._cpu_start[p] for p in self._cpu)
            self._stop.wait(RSS_SAMPLE_S)

    def start(self) -> PeakRss:
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak_mb


class ServedApp(LoopbackProcess):
    """`plan-assistant serve` on a free loopback port, as a context manager; output goes to a log file."""

    name = "serve"
    stop_timeout = 30.0

    def __init__(self, data_dir: Path, generator: str, env: dict[str, str]) -> None:
        super().__init__()
        self.data_dir, self.generator, self.extra_env = data_dir, generator, env
        self.port = free_port(HOST)
        self.base_url = f"http://{HOST}:{self.port}"

    def __enter__(self) -> ServedApp:
        env = {**os.environ, "PLAN_ASSISTANT_GENERATOR": self.generator, **self.extra_env}
        self._spawn(serve_command(self.data_dir, self.port), f"{self.base_url}/health", STARTUP_TIMEOUT_S,
                    RuntimeError, env=env, poll_s=0.5)
        return self

    def warm_up(self, question: str) -> float:
        """Seconds one answer took (loads the generator); sent as its own client, so it counts against no one."""
        import httpx

        t0 = time.perf_counter()
        r = httpx.post(f"{self.base_url}/ask", json={"question": question}, timeout=WARM_UP_TIMEOUT_S,
                       headers={"X-Forwarded-For": "127.99.0.1"}, trust_env=False)
        if r.status_code != 200:
            raise RuntimeError(f"warm-up answer failed: HTTP {r.status_code} {r.text[:200]}")
        return time.perf_counter() - t0

    def __exit__(self, *exc: object) -> None:
        self.stop()


def duration_seconds(duration: str) -> float:
    """Seconds of a locust -t value (`90`, `10s`, `5m`, `1h30m`)."""
    total, number = 0.0, ""
    for ch in duration.strip():
        if ch.isdigit() or ch == ".":
            number += ch
        else:
            total += float(number) * {"h": 3600, "m": 60, "s": 1}[ch]
            number = ""
    return total + (float(number) if number else 0.0)


def locust_command(cfg: LoadConfig, host: str, csv_prefix: Path, summary: Path) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "-u", str(cfg.users),
            "-r", f"{cfg.spawn_rate:g}", "-t", cfg.duration, "--host", host, "--csv", str(csv_prefix),
            "--stop-timeout", f"{STOP_TIMEOUT_S:g}", "--only-summary", "--loglevel", "WARNING",
            "--questions", str(cfg.questions), "--client-keys", "shared" if cfg.one_client else "own",
            "--summary", str(summary)]


def is_server_error(error: str) -> bool:
    """A failure as locust reports it (the repr of the error, e.g. "CatchResponseError('HTTP 500: …')"):
    a 5xx other than 503 is a server error, and so is a connection that broke or timed out; a 4xx is not."""
    status = HTTP_STATUS.search(error)
    if status:
        code = int(status.group(1))
        return code >= 500 and code not in REJECTED
    return True  # no status: the server did not answer


def summarise(cfg: LoadConfig, summary: dict, peak_rss_mb: float, warm_up_s: float, command: list[str],
              load_average: tuple[float, float], server_cores: float) -> LoadFigures:
    """The figures from the locustfile's end-of-run summary (see eval/locust_residents.py)."""
    routes, rejected = [], {str(c): 0 for c in REJECTED}
    for row in summary["routes"]:
        name = row["name"]
        if name.endswith("]"):  # "/ask [429]": an admission refusal
            code = name.rsplit("[", 1)[1].rstrip("]")
            rejected[code] = rejected.get(code, 0) + row["requests"]
            continue
        routes.append(RouteFigures(name, row["requests"], row["failures"], row["rps"], row["p50"], row["p95"],
                                   row["p99"]))
    routes.sort(key=lambda r: r.name)
    kinds: dict[str, int] = {}
    for err in summary["errors"]:
        kind = f"{err['name']}: {err['error'][:120]}"
        kinds[kind] = kinds.get(kind, 0) + err["occurrences"]
    total = summary["total"]
    return LoadFigures(
        users=cfg.users, duration=cfg.duration, generator=cfg.generator,
        client_keys="one address for all" if cfg.one_client else "own address per resident",
        warm_up_s=warm_up_s, requests=total["requests"], rps=total["rps"],
        served_rps=sum(r.rps * (r.requests - r.failures) / r.requests for r in routes if r.requests),
        routes=routes, rejected=rejected, retry_after_s=[float(x) for x in summary["retry_after"]],
        failures=sum(r.failures for r in routes),
        server_errors=sum(err["occurrences"] for err in summary["errors"] if is_server_error(err["error"])),
        failure_kinds=kinds, peak_rss_mb=peak_rss_mb, notices=dict(summary["notices"]),
        generators=dict(summary["generators"]), statuses=dict(summary["status"]), command=command,
        load_average=load_average, server_cores=server_cores)


def run_load(cfg: LoadConfig, out_dir: Path | None = None) -> LoadFigures:
    """Serve `cfg.data_dir`, put the load on it, and return the figures (nothing asserted on time)."""
    if not _locust_installed():
        raise RuntimeError("locust is not installed in this environment (pip install locust)")
    lines = cfg.questions.read_text(encoding="utf-8").splitlines()
    first = next(json.loads(x)["question"] for x in lines if x.strip())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(out_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        csv_prefix, summary = work / "load", work / "load_summary.json"
        with ServedApp(cfg.data_dir, cfg.generator, cfg.env) as app:
            warm_up_s = app.warm_up(first)
            before = os.getloadavg()[0]
            rss = PeakRss(app.pid).start()
            command = locust_command(cfg, app.base_url, csv_prefix, summary)
            t0 = time.monotonic()
            try:
                subprocess.run(command, stdin=subprocess.DEVNULL, check=False,
                               timeout=duration_seconds(cfg.duration) + STOP_TIMEOUT_S + LOCUST_GRACE_S)
            finally:
                peak = rss.stop()
                server_cores = rss.cpu_s / (time.monotonic() - t0)
            load_average = (before, os.getloadavg()[0])
            if not summary.exists():
                raise RuntimeError(f"locust wrote no summary ({' '.join(command)})")
            side = json.loads(summary.read_text(encoding="utf-8"))
        return summarise(cfg, side, peak, warm_up_s, command, load_average, server_cores)


def _locust_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("locust") is not None


def format_figures(f: LoadFigures) -> str:
    """The printed report: one block per run."""
    out = [f"load: {f.users} residents for {f.duration}, generator {f.generator}, client keys: {f.client_keys}",
           "  " + " ".join(f.command),
           f"  warm-up answer {f.warm_up_s:.1f} s; answers by generator: "
           + (", ".join(f"{'none (abstained)' if k == 'none' else k} {v}" for k, v in f.generators.items())
              or "no answer"),
           f"  throughput {f.rps:.2f} req/s ({f.requests} requests; served {f.served_rps:.2f} req/s)",
           f"  {'route':10s} {'requests':>8s} {'failed':>6s} {'req/s':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}"]
    for r in f.routes:
        out.append(f"  {r.name:10s} {r.requests:8d} {r.failures:6d} {r.rps:6.2f} {r.p50_ms:8.0f} {r.p95_ms:8.0f} "
                   f"{r.p99_ms:8.0f}")
    retry = f.retry_after_s
    retry_text = (f"; Retry-After {min(retry):.0f}–{max(retry):.0f} s (median {statistics.median(retry):.0f})"
                  if retry else "")
    out.append(f"  rejected: 429 × {f.rejected.get('429', 0)}, 503 × {f.rejected.get('503', 0)}{retry_text}")
    out.append(f"  failures {f.failures}, server errors (5xx other than 503, broken connections) {f.server_errors}")
    for kind, n in f.failure_kinds.items():
        out.append(f"    {n} × {kind}")
    for notice, n in f.notices.items():
        out.append(f"  answers with a notice: {n} × 「{notice}」")
    out.append(f"  peak RSS of the server process tree {f.peak_rss_mb:.0f} MB; it used {f.server_cores:.2f} cores "
               f"on average; machine load average {f.load_average[0]:.1f} before, {f.load_average[1]:.1f} after")
    return "\n".join(out)
