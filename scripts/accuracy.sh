#!/bin/sh
# accuracy.sh [CONFIG...] - train configs on Fashion-MNIST and on the 10,000
# real MNIST digits of ../shared/datasets/mnist-10k (last 1,000 held out), and
# print the table the README quotes. Runs go to runs/accuracy/.
#   FASHION=DIR  Fashion-MNIST folder (default: datasets/fashion-mnist)
#   MNIST10K=DIR mnist-10k folder (default: ../shared/datasets/mnist-10k)
set -eu
cd "$(dirname "$0")/.."
[ -x ./cnnctl ] || make cnnctl >/dev/null
fashion=${FASHION:-datasets/fashion-mnist}
mnist=${MNIST10K:-../shared/datasets/mnist-10k}
[ $# -gt 0 ] || set -- configs/simple.ini configs/lenet5.ini

printf '| config | data | epochs | accuracy | time |\n|---|---|---|---|---|\n'
for config in "$@"; do
    name=$(basename "$config" .ini)
    for data in fashion mnist; do
        out=runs/accuracy/$name-$data
        if [ "$data" = fashion ]; then
            [ -f "$fashion/train-images-idx3-ubyte.gz" ] || { echo "no $fashion: run datasets/fetch.sh fashion-mnist" >&2; continue; }
            set -- --set data.dir="$(cd "$fashion" && pwd)"
            label="Fashion-MNIST, 60k/10k test"
            key=test_acc
        else
            [ -f "$mnist/train-images-idx3-ubyte.gz" ] || { echo "no $mnist: skipped" >&2; continue; }
            set -- --set data.dir="$(cd "$mnist" && pwd)" --set data.validation=1000 --set data.test_images=
            label="mnist-10k, 9k/1k validation"
            key=val_acc
        fi
        result=$(./cnnctl train -q --force "$config" "$@" --set train.log="$out/log.csv" --set train.checkpoint="$out/model.ckpt")
        epochs=$(sed -n 's/^epochs *= *//p' "$config")
        acc=$(printf '%s\n' "$result" | sed -n "s/.*$key \([0-9.]*\).*/\1/p")
        secs=$(printf '%s\n' "$result" | sed -n 's/.*seconds \([0-9.]*\).*/\1/p')
        printf '| `%s` | %s | %s | %s | %s s |\n' "$name" "$label" "$epochs" "$acc" "$secs"
    done
done
