#!/bin/sh
# vs-pytorch.sh - cnnctl's training speed against PyTorch's on the same
# networks in one sitting: `cnnctl bench --throughput` on configs/simple.ini,
# lenet5.ini and vgg-small.ini (batch 100), cifar-resnet20.ini (batch 128,
# 3x32x32) and fcn.ini and yolo.ini (batch 32, 1x64x64), all threads, then
# scripts/torch_bench.py (the same nets in
# PyTorch at its best of 1 and 2 threads), then the ratio. Needs
# python3-torch (Debian's /usr/bin/python3, or PYTHON=...). Run on an idle
# machine.
set -eu
cd "$(dirname "$0")/.."
[ -x ./cnnctl ] || make cnnctl >/dev/null
ours=$(mktemp) theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
./cnnctl bench --throughput --seconds 3 configs/simple.ini configs/lenet5.ini configs/vgg-small.ini | tee "$ours"
./cnnctl bench --throughput --seconds 3 --batch 128 configs/cifar-resnet20.ini | tee -a "$ours"
./cnnctl bench --throughput --seconds 3 --batch 32 configs/fcn.ini configs/yolo.ini | tee -a "$ours"
${PYTHON:-/usr/bin/python3} scripts/torch_bench.py simple lenet5 vgg-small cifar-resnet20 fcn yolo | tee "$theirs"
echo
printf '%-14s %12s %12s %7s\n' network cnnctl pytorch ratio
for net in simple lenet5 vgg-small cifar-resnet20 fcn yolo; do
    a=$(awk -v c="configs/$net.ini" '$1 == c { print $2 }' "$ours")
    b=$(awk -v n="$net" '$1 == n { print $4 }' "$theirs")
    awk -v n="$net" -v a="$a" -v b="$b" 'BEGIN { printf "%-14s %12.0f %12.0f %7.2f\n", n, a, b, a / b }'
done
