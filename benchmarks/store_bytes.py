"""Where an embedded store's bytes go: Chroma's SQLite tables and indexes, its vector index folders,
the keyword index, the sentence vectors and the texts, against the text the store holds.

Run from the repo root: `.venv/bin/python benchmarks/store_bytes.py --data-dir data/eval/<key> [--json]`
(read only; the store `make eval` builds, or any embedded data dir).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import zlib
from pathlib import Path

from common import folder_bytes


def sqlite_objects(path: Path) -> dict[str, int]:
    """Bytes per table and index of a SQLite file (its `dbstat` table), largest first."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    return {str(name): int(size) for name, size in rows}


def text_bytes(data_dir: Path) -> int:
    """UTF-8 bytes of the article bodies the store holds: its side table's bodies (`store.texts`)
    and its articles collection's documents (a store written before the side table)."""
    with sqlite3.connect(f"file:{data_dir / 'chroma' / 'chroma.sqlite3'}?mode=ro", uri=True) as db:
        (size,) = db.execute(
            "SELECT COALESCE(SUM(LENGTH(CAST(m.string_value AS BLOB))), 0) FROM embedding_metadata m"
            " JOIN embeddings e ON e.id = m.id JOIN segments s ON s.id = e.segment_id"
            " JOIN collections c ON c.id = s.collection"
            " WHERE m.key = 'chroma:document' AND c.name LIKE '%-articles'"
        ).fetchone()
    for side in sorted((data_dir / "texts").glob("*.sqlite3")):
        with sqlite3.connect(f"file:{side}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT text FROM texts WHERE key LIKE '%#body'")
            size += sum(len(json.loads(zlib.decompress(row))[0].encode("utf-8")) for (row,) in rows)
    return int(size)


def main() -> int:
    """Print the breakdown."""
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--data-dir", type=Path, required=True, help="an embedded store's data dir")
    options.add_argument("--json", action="store_true", help="print JSON")
    args = options.parse_args()
    chroma = args.data_dir / "chroma"
    database = chroma / "chroma.sqlite3"
    if not database.exists():
        print(f"error: no embedded store in {args.data_dir}", file=sys.stderr)
        return 2
    parts = {f"chroma.sqlite3: {name}": size for name, size in sqlite_objects(database).items()}
    parts["chroma vector index folders (HNSW)"] = sum(
        folder_bytes(folder) for folder in chroma.iterdir() if folder.is_dir()
    )
    for folder, label in (
        ("lexical", "keyword index"),
        ("sentences", "sentence vectors"),
        ("texts", "chunk texts and article bodies"),
    ):
        path = args.data_dir / folder
        parts[f"{label} ({folder}/*.sqlite3)"] = folder_bytes(path) if path.exists() else 0
    total = folder_bytes(chroma) + sum(size for name, size in parts.items() if "/*.sqlite3" in name)
    text = text_bytes(args.data_dir)
    if args.json:
        print(json.dumps({"total": total, "text": text, "parts": parts}, indent=2))
        return 0
    print(
        f"store {total / 1e6:,.1f} MB for {text / 1e6:,.1f} MB of article text: {total / max(1, text):.1f}x"
    )
    for name, size in sorted(parts.items(), key=lambda item: -item[1]):
        if size >= 100_000:
            print(f"{size / 1e6:9.1f} MB  {size / total:6.1%}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
