#!/bin/sh
# canvas.sh [DIGITS] [DIR] - "MNIST detection": canvases of real digits with
# their masks and boxes (cnnctl compose), for configs/fcn.ini; offline.
#
# DIGITS is a folder of MNIST-format files (default datasets/mnist, which
# `datasets/fetch.sh mnist` fills; any IDX digits do, such as a 10,000-digit
# training file alone). DIR (default datasets/canvas) gets canvas-train-* and
# canvas-t10k-* images, masks (0 background, 1 + the digit) and boxes of
# 64 x 64 canvases, 1 to 4 digits each, scaled 0.8-1.6, over clutter:
#   training canvases from the training digits (the first 80% of them when
#   DIGITS has no t10k files), test canvases from the test digits (else the
#   last 20%), so no digit is in both. The same files every time (seeded).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
digits=${1:-$here/mnist}
dir=${2:-$here/canvas}
cnnctl=${CNNCTL:-$here/../cnnctl}
[ -x "$cnnctl" ] || { echo "canvas: build cnnctl first (make), or set CNNCTL" >&2; exit 1; }
images=$digits/train-images-idx3-ubyte.gz
labels=$digits/train-labels-idx1-ubyte.gz
if ! [ -s "$images" ] || ! [ -s "$labels" ]; then
    echo "canvas: $digits has no train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (datasets/fetch.sh mnist)" >&2
    exit 1
fi
compose() { # PREFIX COUNT SEED IMAGES LABELS [--digits A-B]
    prefix=$1 canvases=$2 seed=$3 from=$4 classes=$5
    shift 5
    "$cnnctl" compose -i "$from" -l "$classes" -o "$dir/$prefix" --count "$canvases" --size 64 --objects 1-4 \
        --scale 0.8-1.6 --clutter 2 --seed "$seed" "$@"
}
if [ -s "$digits/t10k-images-idx3-ubyte.gz" ] && [ -s "$digits/t10k-labels-idx1-ubyte.gz" ]; then
    compose canvas-train 20000 1 "$images" "$labels"
    compose canvas-t10k 2000 2 "$digits/t10k-images-idx3-ubyte.gz" "$digits/t10k-labels-idx1-ubyte.gz"
else
    # one file: how many digits it holds, from its IDX header (bytes 4-7)
    digit_count=$(gzip -dc "$images" | head -c 8 | od -An -tu1 | awk '{print $5 * 16777216 + $6 * 65536 + $7 * 256 + $8}')
    split=$((digit_count * 8 / 10))
    compose canvas-train 20000 1 "$images" "$labels" --digits "0-$((split - 1))"
    compose canvas-t10k 2000 2 "$images" "$labels" --digits "$split-$((digit_count - 1))"
fi
echo "canvas: $dir is ready"
