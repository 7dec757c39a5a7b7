#!/usr/bin/env python3
"""Builds train/valid/test.jsonl from the hand-written situation files in src/.

src/*.txt format (UTF-8):
    @ <category> | <situation> | <stage direction>
    B: <부장's line>      S: 신입   D: 대리   T: 팀장   C: 클라이언트
Lines starting with '#' are comments. Every situation gets an id "<category-slug>-NNN" (numbered in
order of appearance) and goes to exactly one split: counting all situations in file order, the 4th
of every ten goes to valid, the 9th to test, the rest to train (80/10/10, spread over categories).

Usage: python3 build.py [--stats]   (writes train.jsonl, valid.jsonl, test.jsonl, stats.json)
"""
import glob, json, os, sys, tomllib, collections

HERE = os.path.dirname(os.path.abspath(__file__))
SPEAKERS = {"B": "bujang", "S": "sinip", "D": "daeri", "T": "timjang", "C": "client"}
SLUGS = {
    "마감": "deadline", "회식": "dinner", "보고": "report", "신조어": "slang", "실수": "mistake",
    "칭찬": "praise", "회의": "meeting", "클라이언트 미팅": "client", "야근": "overtime", "휴가": "vacation",
    "출장": "trip", "점심": "lunch", "워크숍": "workshop", "인사평가": "review", "시스템 장애": "outage",
    "출근": "commute", "교육": "training", "사무실": "office", "연말": "yearend", "건강": "health",
    "경조사": "occasion", "재택근무": "remote", "탕비실": "pantry", "발표": "pitch", "예산": "budget",
    "채용": "hiring", "퇴사": "leaving", "날씨": "weather", "생일": "birthday", "명절": "holiday",
    "촬영": "shoot", "고객 불만": "complaint", "출시": "launch", "협업": "collab", "체육대회": "sports",
    "보안": "security",
}


def load_personas():
    with open(os.path.join(HERE, "personas.toml"), "rb") as f:
        return {k: v["persona"] for k, v in tomllib.load(f).items()}


def parse():
    situations, errors = [], []
    for path in sorted(glob.glob(os.path.join(HERE, "src", "*.txt"))):
        cur = None
        for no, raw in enumerate(open(path, encoding="utf-8"), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{os.path.basename(path)}:{no}"
            if line.startswith("@"):
                parts = [p.strip() for p in line[1:].split("|")]
                if len(parts) != 3 or not all(parts) or parts[0] not in SLUGS:
                    errors.append(f"{where}: bad situation header")
                    cur = None
                    continue
                cur = {"category": parts[0], "situation": parts[1], "direction": parts[2], "lines": {}, "where": where}
                situations.append(cur)
            elif len(line) > 2 and line[1] == ":" and line[0] in SPEAKERS and cur is not None:
                who = SPEAKERS[line[0]]
                if who in cur["lines"]:
                    errors.append(f"{where}: second line for {who}")
                cur["lines"][who] = line[2:].strip()
            else:
                errors.append(f"{where}: cannot parse: {line[:30]}")
    return situations, errors


def write_counts(stats):
    """Replaces the counts section of README.md with tables computed from `stats`."""
    chars = list(SPEAKERS.values())
    splits = ["train", "valid", "test"]
    rows = ["| character | " + " | ".join(splits) + " | total |", "|---|" + "---:|" * (len(splits) + 1)]
    for c in chars + ["all"]:
        n = [stats["per_split"][s] if c == "all" else stats["per_character_split"][s].get(c, 0) for s in splits]
        rows.append(f"| {c} | " + " | ".join(str(x) for x in n) + f" | {sum(n)} |")
    sits = stats["situations_per_split"]
    rows.append(f"| situations | " + " | ".join(str(sits[s]) for s in splits) + f" | {sum(sits.values())} |")
    ol = stats["output_length"]
    rows += ["", f"Output length (code points): min {ol['min']}, mean {ol['mean']}, max {ol['max']}; "
             f"{ol['share_50_90'] * 100:.1f} % of lines are 50–90. Categories: {len(stats['per_category'])}."]
    path = os.path.join(HERE, "README.md")
    text = open(path, encoding="utf-8").read()
    begin, end = "<!-- counts:begin -->", "<!-- counts:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + "\n".join(rows) + "\n" + end + rest.split(end, 1)[1]
        open(path, "w", encoding="utf-8").write(text)


def main():
    personas = load_personas()
    situations, errors = parse()
    seen_text, seen_out = {}, {}
    per_cat = collections.Counter()
    splits = {"train": [], "valid": [], "test": []}
    lengths = []
    for g, s in enumerate(situations):
        if s["situation"] in seen_text:
            errors.append(f"{s['where']}: situation text also at {seen_text[s['situation']]}")
        seen_text[s["situation"]] = s["where"]
        i = per_cat[s["category"]]
        per_cat[s["category"]] += 1
        sid = f"{SLUGS[s['category']]}-{i + 1:03d}"
        split = "valid" if g % 10 == 3 else "test" if g % 10 == 8 else "train"
        for who in SPEAKERS.values():
            if who not in s["lines"]:
                continue
            out = s["lines"][who]
            if out in seen_out:
                errors.append(f"{s['where']}: duplicate output for {who} (also {seen_out[out]})")
            seen_out[out] = s["where"]
            lengths.append((len(out), s["where"], who))
            splits[split].append({
                "instruction": personas[who],
                "input": f"상황: {s['situation']} [지문: {s['direction']}]",
                "output": out,
                "character": who,
                "situation_id": sid,
            })
    for n, where, who in lengths:
        if n < 50 or n > 90:
            errors.append(f"{where}: {who} line has {n} characters")
    if errors:
        print("\n".join(errors), file=sys.stderr)
    for name, rows in splits.items():
        with open(os.path.join(HERE, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    stats = {
        "situations": len(situations),
        "examples": sum(len(r) for r in splits.values()),
        "per_split": {k: len(v) for k, v in splits.items()},
        "situations_per_split": {k: len({r["situation_id"] for r in v}) for k, v in splits.items()},
        "per_character_split": {k: dict(collections.Counter(r["character"] for r in v)) for k, v in splits.items()},
        "per_category": dict(per_cat),
        "output_length": {
            "min": min(n for n, _, _ in lengths) if lengths else 0,
            "max": max(n for n, _, _ in lengths) if lengths else 0,
            "mean": round(sum(n for n, _, _ in lengths) / max(1, len(lengths)), 1),
            "share_50_90": round(sum(1 for n, _, _ in lengths if 50 <= n <= 90) / max(1, len(lengths)), 3),
        },
    }
    with open(os.path.join(HERE, "stats.json"), "w", encoding="utf-8") as f:
        json.dump(stats, f, ensure_ascii=False, indent=2)
        f.write("\n")
    write_counts(stats)
    if "--stats" in sys.argv:
        print(json.dumps(stats, ensure_ascii=False, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
