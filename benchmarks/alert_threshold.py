"""Measure the topic-alert threshold: precision, recall and F1 of `TopicMatcher` at each threshold.

Scores every topic of tests/data/topics.jsonl (written for the project: topics, the articles of the
bundled samples and ../shared/seed that are about them, and the ones that are arguably about them,
left out of the counts) against every article of a store holding those articles, and prints one
row per threshold. docs/alerts.md reports the run that chose `bot.alerts.MATCH_THRESHOLD`.

    python benchmarks/alert_threshold.py                  # builds a store of samples + seed first
    python benchmarks/alert_threshold.py --data-dir DIR   # a store that already holds them
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import SHARED_DIR

import ingest
from bot.alerts import MATCH_THRESHOLD, topic_scores
from store import StoreSettings, open_knowledge_base

TOPICS = Path(__file__).resolve().parents[1] / "tests" / "data" / "topics.jsonl"


def counts(
    scores: dict[tuple[str, str], float], labels: list[dict[str, object]], threshold: float
) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) at a threshold, "maybe" pairs left out."""
    tp = fp = fn = 0
    for label in labels:
        topic = str(label["topic"])
        matches, maybe = set(label["matches"]), set(label["maybe"])  # type: ignore[call-overload]
        for (scored_topic, article_id), score in scores.items():
            if scored_topic != topic or article_id in maybe:
                continue
            hit, relevant = score >= threshold, article_id in matches
            tp += hit and relevant
            fp += hit and not relevant
            fn += relevant and not hit
    return tp, fp, fn


def main() -> None:
    """Parse options, score, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, help="a store holding the samples and the seed article")
    options = parser.parse_args()
    labels = [json.loads(line) for line in TOPICS.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = options.data_dir or Path(scratch) / "data"
        with open_knowledge_base(StoreSettings(data_dir=data_dir)) as kb:
            if options.data_dir is None:
                seed = SHARED_DIR / "seed"
                sources = [ingest.samples_dir(), *([seed] if seed.is_dir() else [])]
                ingest.Ingestor(kb, ingest.IngestSettings()).ingest(sources)
            article_ids = list(kb.article_versions())
            scores = topic_scores(kb, [str(label["topic"]) for label in labels], article_ids)
    positives = sum(len(label["matches"]) for label in labels)
    print(f"{len(labels)} topics x {len(article_ids)} articles, {positives} relevant pairs")
    print("threshold  precision  recall     F1")
    for step in range(30, 66, 2):
        threshold = step / 100
        tp, fp, fn = counts(scores, labels, threshold)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        mark = "  <- MATCH_THRESHOLD" if abs(threshold - MATCH_THRESHOLD) < 1e-9 else ""
        print(f"{threshold:9.2f}  {precision:9.3f}  {recall:6.3f}  {f1:6.3f}{mark}")


if __name__ == "__main__":
    main()
