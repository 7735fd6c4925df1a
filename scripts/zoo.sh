#!/bin/sh
# zoo.sh [CONFIG...] - train every config (default: configs/*.ini but the
# cifar-* ones, which read CIFAR files, and fcn and yolo, which segment and
# detect on canvases)
# on Fashion-MNIST for the epochs its file sets, one after another with all
# threads, and print a table: config, parameters, epochs, seconds per epoch,
# total seconds, test accuracy. The README's zoo table comes from it.
#   FASHION=DIR   Fashion-MNIST folder (default: datasets/fashion-mnist)
#   EPOCHS=N      train each config N epochs instead (EPOCHS=1: a quick look)
#   OUT=DIR       run folders (default: runs/zoo); a config whose result is
#                 already there is not trained again - delete it to redo
set -eu
cd "$(dirname "$0")/.."
[ -x ./cnnctl ] || make cnnctl >/dev/null
fashion=${FASHION:-datasets/fashion-mnist}
out=${OUT:-runs/zoo}
[ -f "$fashion/train-images-idx3-ubyte.gz" ] || { echo "zoo.sh: no $fashion: run datasets/fetch.sh fashion-mnist" >&2; exit 2; }
fashion=$(cd "$fashion" && pwd)
if [ $# -eq 0 ]; then
    for c in configs/*.ini; do
        case $c in configs/cifar-*|configs/fcn.ini|configs/yolo.ini) ;; *) set -- "$@" "$c" ;; esac
    done
fi

printf '| config | parameters | epochs | s/epoch | total s | test accuracy |\n|---|---|---|---|---|---|\n'
for config in "$@"; do
    name=$(basename "$config" .ini)
    dir=$out/$name
    set -- --set data.dir="$fashion" --set train.log="$dir/log.csv" --set train.checkpoint="$dir/model.ckpt"
    [ -z "${EPOCHS:-}" ] || set -- "$@" --set train.epochs="$EPOCHS"
    params=$(./cnnctl summary "$config" "$@" | awk '$1 == "total" { print $2 }')
    if [ ! -f "$dir/result" ]; then
        mkdir -p "$dir"
        ./cnnctl train -q --force "$config" "$@" >"$dir/result.tmp"   # no result: unfinished, start over
        mv "$dir/result.tmp" "$dir/result"
    fi
    # the last line of `cnnctl train`: steps N loss L test_acc A seconds S checkpoint P
    epochs=$(awk -F, '$NF == "epoch" { e = $1 } END { print e }' "$dir/log.csv")
    awk -v name="$name" -v params="$params" -v epochs="$epochs" '{
        for (i = 1; i < NF; i++) v[$i] = $(i + 1)
        printf "| `%s` | %d | %d | %.1f | %.0f | %.2f%% |\n", name, params, epochs,
               v["seconds"] / epochs, v["seconds"], 100 * v["test_acc"]
    }' "$dir/result"
done
