#!/bin/sh
# scale.sh [CONFIG] [RANKS...] - data-parallel scaling on this machine:
# trains CONFIG (default configs/lenet5.ini) for a fixed number of steps with
# 1, 2 and 4 MPI ranks of one thread each (more ranks than cores run
# oversubscribed) and prints images/s and the efficiency against one rank.
# Needs the MPI build: make MPI=1 (Debian: libopenmpi-dev openmpi-bin), or
# CNNCTL=build/mpi/cnnctl.
#   STEPS=N  steps per measurement (default 300)
set -eu
cd "$(dirname "$0")/.."
config=${1:-configs/lenet5.ini}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- 1 2 4
steps=${STEPS:-300}
cnnctl=${CNNCTL:-./cnnctl}
"$cnnctl" --version | grep -q MPI || { echo "scale.sh: $cnnctl is not an MPI build; run make MPI=1" >&2; exit 2; }
fashion=$(cd datasets/fashion-mnist 2>/dev/null && pwd) ||
    { echo "scale.sh: no datasets/fashion-mnist: run datasets/fetch.sh fashion-mnist" >&2; exit 2; }
batch=$("$cnnctl" summary "$config" >/dev/null && sed -n 's/^batch *= *\([0-9]*\).*/\1/p' "$config")
batch=${batch:-100}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cores=$(nproc)
printf '%s, %d steps of %d images, 1 thread per rank, %d cores\n' "$config" "$steps" "$batch" "$cores"
printf '%6s %10s %10s %11s\n' ranks images/s speedup efficiency
base=
for ranks in "$@"; do
    # no test set: the time is the training's alone
    result=$(mpirun --allow-run-as-root --oversubscribe -np "$ranks" "$cnnctl" train -q --force "$config" --threads 1 \
        --set data.dir="$fashion" --set data.test_images= --set train.epochs= --set train.iterations="$steps" \
        --set train.log= --set train.checkpoint="$out/model.ckpt")
    seconds=$(printf '%s\n' "$result" | sed -n 's/.*seconds \([0-9.]*\).*/\1/p')
    rate=$(awk -v s="$steps" -v b="$batch" -v t="$seconds" 'BEGIN { printf "%.0f", s * b / t }')
    [ -n "$base" ] || base=$rate
    awk -v r="$ranks" -v x="$rate" -v b="$base" 'BEGIN { printf "%6d %10d %10.2f %10.0f%%\n", r, x, x / b, 100 * x / b / r }'
done
