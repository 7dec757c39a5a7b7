#!/usr/bin/env python3
"""Builds corpus.txt, the plain-text pre-training corpus for a small Korean base model.

corpus.txt = office/*.txt (hand-written multi-turn office dialogues)
           + the persona TRAIN split rendered as short scene scripts (valid/test are left out so that
             a base model pre-trained on this corpus has never seen the persona evaluation lines).

Usage: python3 build_corpus.py   (run ../persona/build.py first if the persona sources changed)
"""
import collections, glob, json, os

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {"bujang": "부장", "sinip": "신입", "daeri": "대리", "timjang": "팀장", "client": "클라이언트"}


def persona_scenes():
    path = os.path.join(HERE, "..", "persona", "train.jsonl")
    scenes = collections.OrderedDict()
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        scenes.setdefault(r["situation_id"], {"input": r["input"], "lines": []})["lines"].append(r)
    out = []
    for scene in scenes.values():
        inp = scene["input"]  # "상황: S [지문: D]"
        situation = inp[len("상황: "):inp.rindex(" [지문: ")]
        direction = inp[inp.rindex(" [지문: ") + len(" [지문: "):-1]
        text = [f"# 장면: {situation}", f"({direction})"]
        text += [f"{NAMES[r['character']]}: {r['output']}" for r in scene["lines"]]
        out.append("\n".join(text))
    return out


def main():
    parts = []
    for path in sorted(glob.glob(os.path.join(HERE, "office", "*.txt"))):
        parts.append(open(path, encoding="utf-8").read().strip())
    parts.extend(persona_scenes())
    text = "\n\n".join(parts) + "\n"
    with open(os.path.join(HERE, "corpus.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    hangul = sum(1 for c in text if "\uac00" <= c <= "\ud7a3")
    print(f"corpus.txt: {len(text.encode('utf-8'))} bytes, {len(text)} characters, {hangul} Hangul syllables")


if __name__ == "__main__":
    main()
