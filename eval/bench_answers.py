"""Answer and check latency per generator, on the bundled sample documents."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from eval.bench import percentile

SAMPLES = Path(__file__).resolve().parents[1] / "assistant" / "samples"




def _generators(settings, which: list[str]):
    """(name, generator or None, cleanup) for each requested generator that can run here."""
    from assistant.llm import LlamaCppGenerator, OpenAICompatGenerator, ensure_model_file
    from eval.llm_server import ServerProcess

    for name in which:
        if name == "extractive":
            yield name, None, None
        elif name == "local":
            try:
                g = LlamaCppGenerator(ensure_model_file(settings.local_model, settings.data_dir / "models"))
                g.warm_up()
                yield f"local ({settings.local_model})", g, None
            except Exception as exc:  # report and go on: the bench never fails
                print(f"  local generator unavailable: {exc}")
        elif name == "openai":
            try:
                path = ensure_model_file("qwen2.5-0.5b", settings.data_dir / "models")
                server = ServerProcess(path)
                server.start()
                yield "openai-compatible (llama_cpp.server, 0.5B)", OpenAICompatGenerator(
                    server.base_url, "local", timeout=120), server.stop
            except Exception as exc:
                print(f"  openai-compatible server unavailable: {exc}")


def run_answer_bench(args: argparse.Namespace, what: set[str]) -> None:
    from assistant.answer import AnswerEngine
    from assistant.config import Settings
    from assistant.covered import CoveredModel
    from assistant.quote import QuoteModel
    from assistant.service import PlanAssistant

    lines = (SAMPLES / "sample_qa.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [json.loads(x) for x in lines if x]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.data_dir) if args.data_dir else Path("data")
        settings = Settings(data_dir=Path(tmp), vector_cache=base / "cache" / "vectors.sqlite",
                            generator="extractive")
        with PlanAssistant(settings) as svc:
            svc.ingest([SAMPLES / "docs"], manifest=SAMPLES / "docs" / "manifest.json")
            if "answers" in what:
                print("answer latency on the sample documents (first = the first verified sentence shown, as a model "
                      "streams; full = the whole answer)")
                print(f"{'generator':45s} {'first p50':>9s} {'first p95':>9s} "
                      f"{'full p50':>8s} {'full p95':>8s}")
                settings_models = Settings(data_dir=base, generator="extractive")
                for name, gen, cleanup in _generators(settings_models, ["extractive", "local", "openai"]):
                    engine = AnswerEngine(svc.search, svc.tokenizer, svc.term_stats, svc.embedder, gen,
                                          covered=CoveredModel.load(svc.settings.covered_model),
                                          quote=QuoteModel.load(svc.settings.quote_model))
                    first, full = [], []
                    for c in cases:
                        t0 = time.perf_counter()
                        t_first = None
                        for _event in engine.stream(c["question"]):
                            if t_first is None:
                                t_first = time.perf_counter() - t0
                        full.append(time.perf_counter() - t0)
                        first.append(t_first or full[-1])
                    print(f"{name:45s} {percentile(first, 50):8.2f}s {percentile(first, 95):8.2f}s "
                          f"{percentile(full, 50):7.2f}s {percentile(full, 95):7.2f}s")
                    if cleanup:
                        cleanup()
            if "check" in what:
                planted = json.loads((SAMPLES / "planted.json").read_text(encoding="utf-8"))
                draft = "\n".join(p["draft"] for p in planted)
                statements = (draft + "\n") * max(1, 100 // len(planted))
                t0 = time.perf_counter()
                report = svc.check(statements, "all")
                took = time.perf_counter() - t0
                n = len(report.to_dict()["statements"])
                print(f"draft check: {n} statements in {took:.1f} s ({n / took:.1f} statements/s)")
