#!/usr/bin/env python3
"""Writes the synthetic training corpora and test texts of the tiny models.

Developer-only: see README.md in this folder. Deterministic (fixed seed).
The "languages" are made-up syllable inventories, some multi-byte UTF-8, so
that the models exercise char n-grams over ASCII, 2-, 3- and 4-byte
characters and fastText's signed-char hash.
"""
import json
import random
import sys

rng = random.Random(20261125)

SYLLABLES = {
    "lat": ["ka", "to", "ri", "sa", "nem", "lu", "po", "qui", "dra", "vel"],
    "cyr": ["ка", "то", "ри", "са", "нем", "лу", "по", "жи", "дра", "вел"],
    "grk": ["κα", "το", "ρι", "σα", "νεμ", "λυ", "πο", "ξι", "δρα", "βελ"],
    "cjk": ["日", "本", "語", "中", "文", "字", "東", "京", "山", "川"],
    "emo": ["😀", "x", "𝄞", "ß", "é", "ø", "ñ", "ü", "ŋ", "ð"],
}


def word(lang, lo=1, hi=3):
    return "".join(rng.choice(SYLLABLES[lang]) for _ in range(rng.randint(lo, hi)))


def sentence(lang):
    words = [word(lang) for _ in range(rng.randint(3, 12))]
    if rng.random() < 0.3:  # some shared noise words
        words.insert(rng.randrange(len(words)), rng.choice(["ok", "www", "2024", "the"]))
    return " ".join(words)


def write_lang_corpus(path, n):
    langs = list(SYLLABLES)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            lang = rng.choice(langs)
            f.write(f"__label__{lang} {sentence(lang)}\n")


def write_many_labels_corpus(path, n, nlabels=300):
    # 300 labels so that the output matrix can be product-quantised (-qout
    # needs at least 256 rows). Each label owns a few words.
    vocab = {i: [word("lat", 2, 3) + str(i % 7) for _ in range(4)] for i in range(nlabels)}
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            c = rng.randrange(nlabels)
            words = [rng.choice(vocab[c]) for _ in range(rng.randint(2, 6))]
            words += [word("lat") for _ in range(rng.randint(0, 3))]
            rng.shuffle(words)
            f.write(f"__label__c{c:03d} {' '.join(words)}\n")


def write_texts(path):
    texts = []
    for lang in SYLLABLES:
        for _ in range(12):
            texts.append(sentence(lang))
    # mixed, out-of-vocabulary and edge cases
    texts += [
        "",
        " ",
        "\t\v\f\r",
        "ka",
        "日",
        "</s>",
        "__label__lat",
        "__label__unknownlabel kato",
        "kato __label__cyr ри",
        "kato\tкато\u000bκατο\u000cdra\rvel",
        "kato\u0000sa",
        "ka ка κα 日 😀",
        "katoriqui " * 40,
        "zzzz qqqq xxxx",
        "\u00a0kato\u00a0sa\u2003lu",
        "éééé ßßß 𝄞𝄞",
        "c001 c002 kato",
    ]
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            assert "\n" not in t
            f.write(json.dumps(t, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    out = sys.argv[1]
    write_lang_corpus(f"{out}/lang.train", 600)
    write_many_labels_corpus(f"{out}/many.train", 3000)
    write_texts(f"{out}/texts.jsonl")
    # more texts for the many-label models
    with open(f"{out}/texts.jsonl", "a", encoding="utf-8") as f:
        with open(f"{out}/many.train", encoding="utf-8") as g:
            lines = g.read().splitlines()[:30]
        for line in lines:
            f.write(json.dumps(line.split(" ", 1)[1], ensure_ascii=False) + "\n")
