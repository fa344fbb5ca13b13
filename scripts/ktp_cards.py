"""Write made-up KTP photos (tests/support/ktp_cards.py) to a folder, to look at them.

    python scripts/ktp_cards.py --set normal --count 10 --seed 1 --out /tmp/ktp

writes 000.jpg, 001.jpg, ... and people.json (what each card says, NIK first); --set
spoiled writes one photo of each unreadable kind instead."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.ktp_cards import SPOILED_KINDS, card_set, spoiled  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["normal", "hard", "spoiled"], default="normal")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.set == "spoiled":
        for kind in SPOILED_KINDS:
            (args.out / f"{kind}.jpg").write_bytes(spoiled(kind, args.seed))
        print(f"wrote {len(SPOILED_KINDS)} spoiled photos to {args.out}")
        return
    cards = card_set(args.set, args.count, args.seed)
    described = []
    for index, (person, photo) in enumerate(cards):
        name = f"{index:03d}.jpg"
        (args.out / name).write_bytes(photo)
        fields = dataclasses.asdict(person) | {"birth_date": person.birth_date.isoformat()}
        described.append({"file": name, **fields})
    people_file = args.out / "people.json"
    people_file.write_text(json.dumps(described, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(cards)} photos and {people_file.name} to {args.out}")


if __name__ == "__main__":
    main()
