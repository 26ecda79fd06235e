#!/bin/sh
# Developer-only: regenerates the tiny models and fastText's own predictions
# on them (see README.md). Needs a fastText build: FASTTEXT is the CLI,
# FTPREDICT a driver that prints predictLine's output with 9 digits
# (ftpredict.cc here). Run from this folder.
set -eu
FT=${FASTTEXT:?path to the fasttext binary}
PRED=${FTPREDICT:?path to the ftpredict driver}
W=$(mktemp -d)
python3 gen_corpus.py "$W"
cp "$W/texts.jsonl" texts.jsonl

train() { # name corpus options...
	name=$1 corpus=$2
	shift 2
	"$FT" supervised -input "$W/$corpus" -output "$W/$name" -thread 10 -seed 1 -minCount 1 -epoch 5 -lr 0.1 -verbose 0 "$@"
	cp "$W/$name.bin" "$name.bin"
}
quantize() { # name corpus options...
	name=$1 corpus=$2
	shift 2
	"$FT" quantize -input "$W/$corpus" -output "$W/$name" -verbose 0 "$@"
	cp "$W/$name.ftz" "$name.ftz"
}

train lang_hs lang.train -dim 8 -loss hs -minn 2 -maxn 4 -wordNgrams 2 -bucket 1000
quantize lang_hs lang.train -qnorm -cutoff 600 -dsub 2
train lang_softmax lang.train -dim 6 -loss softmax -minn 0 -maxn 0 -wordNgrams 3 -bucket 1500
quantize lang_softmax lang.train -dsub 4
train lang_ova lang.train -dim 5 -loss ova -minn 1 -maxn 3 -bucket 1000
train many_ns many.train -dim 4 -loss ns -minn 2 -maxn 3 -bucket 500
quantize many_ns many.train -qout -qnorm -cutoff 400
train many_hs many.train -dim 6 -loss hs -minn 2 -maxn 3 -bucket 500
quantize many_hs many.train -qout -dsub 4

# texts.jsonl holds JSON strings; the driver reads raw lines.
python3 -c 'import json,sys
for l in open("texts.jsonl", encoding="utf-8"): sys.stdout.write(json.loads(l) + "\n")' >"$W/texts.txt"
: >expected.txt
for f in *.bin *.ftz; do
	case $f in
	many_*) kts="10 0|3 0.01" ;; # 300 labels: not all of them
	*) kts="-1 0|2 0.1" ;;
	esac
	echo "$kts" | tr '|' '\n' | while read -r kt; do
		set -- $kt
		echo "# $f k=$1 threshold=$2" >>expected.txt
		"$PRED" "$f" "$1" "$2" <"$W/texts.txt" >>expected.txt
	done
done
rm -rf "$W"
