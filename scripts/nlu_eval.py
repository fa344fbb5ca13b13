"""NLU benchmark: `make nlu-eval`. Runs in the Rasa environment (.venv-rasa, Python 3.10).

Prints, for the current config.yml and nlu/ data:
  - training time of the NLU model,
  - held-out (tests/nlu/held_out.yml) intent accuracy, macro-F1, per-intent F1, worst confusions,
  - entity precision / recall / F1 per entity type (type and normalised value must match),
  - 5-fold cross-validation on the training data,
  - /model/parse latency p50/p95 over a few hundred HTTP requests to a real `rasa run`.
With --write-docs FILE the figures replace the block between the nlu-eval markers in FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ["RASA_MAX_CACHE_SIZE"] = "0"  # measure real training, not Rasa's training cache
os.environ["PYTHONPATH"] = f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
sys.path.insert(0, str(ROOT))
logging.disable(logging.WARNING)

HELD_OUT = ROOT / "tests" / "nlu" / "held_out.yml"
TARGETS = {"accuracy": 0.95, "entity_f1": 0.97, "p95_ms": 30.0}
MARK_START, MARK_END = "<!-- nlu-eval:start -->", "<!-- nlu-eval:end -->"


def say(text: str) -> None:
    print(text, flush=True)


CONFIG = ROOT / "config.yml"


def train(output_dir: str) -> tuple[str, float]:
    from rasa.model_training import train_nlu

    started = time.monotonic()
    model = train_nlu(
        config=str(CONFIG),
        nlu_data=str(ROOT / "nlu"),
        output=output_dir,
        domain=str(ROOT / "domain.yml"),
    )
    return str(model), time.monotonic() - started


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


async def held_out(model_path: str) -> dict:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(model_path)
    data = load_data(str(HELD_OUT))
    intent_pairs: list[tuple[str, str]] = []
    entity_counts = collections.defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    entity_errors: list[str] = []
    intent_errors: list[str] = []
    for example in data.intent_examples:
        text = example.get("text")
        parsed = await agent.parse_message(text)
        intent_pairs.append((example.get("intent"), parsed["intent"]["name"]))
        if intent_pairs[-1][0] != intent_pairs[-1][1]:
            intent_errors.append(
                f"{text!r}: {intent_pairs[-1][0]} -> {intent_pairs[-1][1]}"
                f" ({parsed['intent'].get('confidence', 0):.2f})"
            )
        gold = collections.Counter(
            (e["entity"], str(e["value"])) for e in example.get("entities", [])
        )
        found = collections.Counter(
            (e["entity"], str(e["value"]))
            for e in parsed.get("entities", [])
            if e.get("extractor") == "SadarEntityExtractor"
        )
        for key in gold | found:
            tp = min(gold[key], found[key])
            entity_counts[key[0]][0] += tp
            entity_counts[key[0]][1] += found[key] - tp
            entity_counts[key[0]][2] += gold[key] - tp
            if gold[key] != found[key]:
                entity_errors.append(f"{text!r}: expected {gold[key]}x{key}, got {found[key]}")

    labels = sorted({g for g, _ in intent_pairs})
    per_intent = {}
    for label in labels:
        tp = sum(1 for g, p in intent_pairs if g == label and p == label)
        fp = sum(1 for g, p in intent_pairs if g != label and p == label)
        fn = sum(1 for g, p in intent_pairs if g == label and p != label)
        per_intent[label] = f1(tp, fp, fn)[2]
    accuracy = sum(1 for g, p in intent_pairs if g == p) / len(intent_pairs)
    confusions = collections.Counter((g, p) for g, p in intent_pairs if g != p).most_common(8)
    entities = {k: f1(*v) for k, v in sorted(entity_counts.items())}
    return {
        "examples": len(intent_pairs),
        "accuracy": accuracy,
        "macro_f1": statistics.mean(per_intent.values()),
        "per_intent_f1": per_intent,
        "confusions": confusions,
        "entities": entities,
        "entity_support": {k: v[0] + v[2] for k, v in entity_counts.items()},
        "entity_errors": entity_errors,
        "intent_errors": intent_errors,
    }


async def cross_validation(folds: int) -> dict:
    from rasa.nlu.test import cross_validate
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "nlu" / "data"))
    with tempfile.TemporaryDirectory() as output:
        started = time.monotonic()
        intent_results, _, _ = await cross_validate(
            data, folds, str(CONFIG), output, disable_plotting=True
        )
    test = intent_results.evaluation
    return {
        "folds": folds,
        "accuracy": statistics.mean(intent_results.test["Accuracy"]),
        "f1": statistics.mean(intent_results.test["F1-score"]),
        "macro_f1": test.get("macro avg", {}).get("f1-score") if isinstance(test, dict) else None,
        "seconds": time.monotonic() - started,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def latency(model_path: str, requests: int) -> dict:
    port = free_port()
    empty_endpoints = Path(tempfile.mkdtemp()) / "endpoints.yml"
    empty_endpoints.write_text("{}\n", encoding="utf-8")
    rasa = Path(sys.executable).with_name("rasa")
    server = subprocess.Popen(
        [
            str(rasa),
            "run",
            "--enable-api",
            "--interface",
            "127.0.0.1",
            "--port",
            str(port),
            "--model",
            model_path,
            # Parsing only: no tracker store or action server (endpoints.yml would start
            # Sadar's encrypted store, which needs the deployment's keys).
            "--endpoints",
            str(empty_endpoints),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            **os.environ,
            "SADAR_ACTION_SERVER_URL": "http://127.0.0.1:1/webhook",
            "SADAR_TRACKER_STORE_URL": "sqlite://",
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                status = json.load(urllib.request.urlopen(f"{url}/status", timeout=2))
                if status.get("model_file"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("rasa run did not come up for the latency benchmark")
            time.sleep(0.5)
        from rasa.shared.nlu.training_data.loading import load_data

        texts = [e.get("text") for e in load_data(str(HELD_OUT)).intent_examples]
        timings = []
        for index in range(requests + 20):
            body = json.dumps({"text": texts[index % len(texts)]}).encode()
            request = urllib.request.Request(
                f"{url}/model/parse", data=body, headers={"Content-Type": "application/json"}
            )
            started = time.perf_counter()
            urllib.request.urlopen(request, timeout=10).read()
            if index >= 20:  # the first requests warm up TensorFlow
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        return {
            "requests": len(timings),
            "p50_ms": timings[len(timings) // 2],
            "p95_ms": timings[int(len(timings) * 0.95) - 1],
        }
    finally:
        server.terminate()
        server.wait(30)


def report(results: dict) -> str:
    held = results["held_out"]
    lines = [
        f"Measured {results['date']} on {results['machine']} with `make nlu-eval`.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| NLU training time (full data) | {results['train_seconds']:.0f} s | at most 300 s |",
        f"| held-out intent accuracy ({held['examples']} examples) | {held['accuracy']:.3f} | at least {TARGETS['accuracy']} |",
        f"| held-out intent macro-F1 | {held['macro_f1']:.3f} | |",
    ]
    for entity, (precision, recall, score) in held["entities"].items():
        support = held["entity_support"][entity]
        lines.append(
            f"| entity `{entity}` P / R / F1 (n={support}) | {precision:.3f} / {recall:.3f} / {score:.3f} | F1 at least {TARGETS['entity_f1']} |"
        )
    if "cv" in results:
        cv = results["cv"]
        lines.append(
            f"| {cv['folds']}-fold cross-validation on training data: accuracy / F1 | {cv['accuracy']:.3f} / {cv['f1']:.3f} | ({cv['seconds']:.0f} s) |"
        )
    if "latency" in results:
        lat = results["latency"]
        lines.append(
            f"| `/model/parse` latency p50 / p95 ({lat['requests']} requests) | {lat['p50_ms']:.1f} / {lat['p95_ms']:.1f} ms | p95 under {TARGETS['p95_ms']:.0f} ms |"
        )
    lines += ["", "Per-intent F1 on the held-out set:", ""]
    lines += ["| intent | F1 |", "|---|---|"]
    lines += [
        f"| {k} | {v:.2f} |" for k, v in sorted(held["per_intent_f1"].items(), key=lambda kv: kv[1])
    ]
    lines += ["", "Worst confusions (expected -> predicted, count):", ""]
    lines += [f"- {g} -> {p}: {n}" for (g, p), n in held["confusions"]] or ["- none"]
    if held["intent_errors"]:
        lines += ["", "Misclassified held-out examples:", ""]
        lines += [f"- {e}" for e in held["intent_errors"]]
    if held["entity_errors"]:
        lines += ["", "Entity mistakes:", ""] + [f"- {e}" for e in held["entity_errors"][:10]]
    return "\n".join(lines)


def write_docs(path: Path, block: str) -> None:
    text = path.read_text()
    start, end = text.index(MARK_START) + len(MARK_START), text.index(MARK_END)
    path.write_text(text[:start] + "\n" + block + "\n" + text[end:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--write-docs", type=Path)
    parser.add_argument("--config", type=Path, default=CONFIG, help="to compare pipelines")
    args = parser.parse_args()
    globals()["CONFIG"] = args.config.resolve()

    results: dict = {"date": date.today().isoformat(), "machine": f"{os.cpu_count()} cores"}
    with tempfile.TemporaryDirectory() as output:
        say("[1/4] training the NLU model on nlu/ ...")
        model, results["train_seconds"] = train(output)
        say(f"      trained in {results['train_seconds']:.0f} s")
        say("[2/4] evaluating on tests/nlu/held_out.yml ...")
        results["held_out"] = asyncio.run(held_out(model))
        if not args.skip_latency:
            say(f"[3/4] measuring /model/parse latency over {args.requests} requests ...")
            results["latency"] = latency(model, args.requests)
    if not args.skip_cv:
        say(f"[4/4] {args.folds}-fold cross-validation (trains {args.folds} models) ...")
        results["cv"] = asyncio.run(cross_validation(args.folds))
    block = report(results)
    say("")
    say(block)
    if args.write_docs:
        write_docs(args.write_docs, block)
        say(f"\nwrote the figures to {args.write_docs}")
    held = results["held_out"]
    met = held["accuracy"] >= TARGETS["accuracy"] and all(
        v[2] >= TARGETS["entity_f1"] for v in held["entities"].values()
    )
    say("targets met" if met else "TARGETS NOT MET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
