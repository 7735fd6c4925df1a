#!/bin/sh
# sweep.sh CONFIG SECTION.KEY=V1,V2,... [SECTION.KEY=W1,W2,...]... [-j JOBS] [-o DIR]
#
# Train CONFIG once for every combination of the values given (a grid), each
# run in its own folder DIR/KEY=V,KEY=W (default DIR: runs/sweep-NAME), JOBS
# runs at a time (default 1) with the machine's CPUs split between them.
# A run whose folder holds a result already is not run again, so an
# interrupted sweep continues where it stopped. At the end: DIR/results.csv
# (one row per run: its values, validation and test accuracy, seconds) and
# the same sorted by accuracy on stdout; `cnnctl plot DIR/*/log.csv -o
# curves.png` overlays the curves. Uses GNU parallel when it is installed,
# else xargs -P. Values may not contain commas; KEY= (no values) sets KEY
# empty in every run, such as data.test_images= for no test set.
#   CNNCTL=PATH  the cnnctl binary (default: ./cnnctl, then the PATH)
set -eu

usage() {
    echo "usage: sweep.sh CONFIG SECTION.KEY=V1,V2,... [SECTION.KEY=...]... [-j JOBS] [-o DIR]" >&2
    exit 2
}

cnnctl=${CNNCTL:-}
if [ -z "$cnnctl" ]; then
    if [ -x ./cnnctl ]; then cnnctl=./cnnctl; else cnnctl=cnnctl; fi
fi

# One run (started by xargs or parallel): DIR/RUN/args holds its options,
# one a line.
if [ "${1:-}" = --one ]; then
    dir=$2 run=$3 threads=$4 config=$5
    set --
    while IFS= read -r line; do set -- "$@" "$line"; done <"$dir/$run/args"
    # a run without a result did not finish: it starts over (--force)
    if "$cnnctl" train -q --force "$config" "$@" --threads "$threads" \
        --set train.log="$dir/$run/log.csv" --set train.checkpoint="$dir/$run/model.ckpt" \
        >"$dir/$run/result.tmp" 2>"$dir/$run/errors"; then
        mv "$dir/$run/result.tmp" "$dir/$run/result"
        echo "done   $run" >&2
    else
        echo "FAILED $run: $(tail -1 "$dir/$run/errors")" >&2
    fi
    exit 0
fi

[ $# -ge 2 ] || usage
config=$1
shift
[ -f "$config" ] || { echo "sweep.sh: $config: no such file" >&2; exit 2; }
jobs=1 out= keys=
grid=$(mktemp)
trap 'rm -f "$grid" "$grid.next"' EXIT
echo "" >"$grid"   # one empty combination to start from
while [ $# -gt 0 ]; do
    case $1 in
    -j) [ $# -ge 2 ] || usage; jobs=$2; shift 2; continue ;;
    -o) [ $# -ge 2 ] || usage; out=$2; shift 2; continue ;;
    *=*) ;;
    *) echo "sweep.sh: '$1' is not SECTION.KEY=V1,V2,..." >&2; exit 2 ;;
    esac
    key=${1%%=*} values=${1#*=}
    case $key in *.*) ;; *) echo "sweep.sh: '$key' is not SECTION.KEY" >&2; exit 2 ;; esac
    # an empty list is one empty value: KEY= unsets a number key, and an
    # empty test_images turns the test set off
    keys="$keys $key"
    # every combination so far, times every value of this key
    : >"$grid.next"
    while IFS= read -r combo; do
        printf '%s\n' "$values" | tr ',' '\n' | while IFS= read -r v; do
            printf '%s%s=%s\n' "${combo:+$combo,}" "$key" "$v"
        done >>"$grid.next"
    done <"$grid"
    mv "$grid.next" "$grid"
    shift
done
[ -n "$keys" ] || usage
case $jobs in ''|*[!0-9]*|0) echo "sweep.sh: -j: '$jobs' is not a whole number from 1" >&2; exit 2 ;; esac
name=$(basename "$config" .ini)
dir=${out:-runs/sweep-$name}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cpus=$(nproc 2>/dev/null || echo 1)
threads=$((cpus / jobs))
[ "$threads" -ge 1 ] || threads=1

# a folder per combination, named by it; those with a result are done
todo=$(mktemp)
trap 'rm -f "$grid" "$grid.next" "$todo"' EXIT
total=0
while IFS= read -r combo; do
    run=$(printf '%s' "$combo" | tr '/ ' '__')
    mkdir -p "$dir/$run"
    printf '%s\n' "$combo" | tr ',' '\n' | sed 's/^/--set=/' >"$dir/$run/args"
    printf '%s\n' "$combo" >"$dir/$run/settings"
    total=$((total + 1))
    [ -f "$dir/$run/result" ] || printf '%s\n' "$run" >>"$todo"
done <"$grid"
pending=$(wc -l <"$todo")
echo "sweep: $total runs in $dir, $pending to do, $jobs at a time with $threads threads each" >&2
if [ "$pending" -gt 0 ]; then
    if command -v parallel >/dev/null 2>&1 && parallel --version 2>/dev/null | grep -q GNU; then
        parallel -j "$jobs" sh "$0" --one "$dir" {} "$threads" "$config" <"$todo"
    else
        xargs -P "$jobs" -I{} sh "$0" --one "$dir" {} "$threads" "$config" <"$todo"
    fi
fi

# the table: settings, then the numbers from each run's last line
# (steps N loss L [val_acc V] [test_acc T] seconds S checkpoint P)
{
    printf 'run'
    for k in $keys; do printf ',%s' "$k"; done
    printf ',val_acc,test_acc,seconds\n'
    while IFS= read -r combo; do
        run=$(printf '%s' "$combo" | tr '/ ' '__')
        [ -f "$dir/$run/result" ] || continue
        # the folder's name joins settings with commas: ';' in the CSV
        printf '%s' "$run" | tr ',' ';'
        printf '%s\n' "$combo" | tr ',' '\n' | sed 's/^[^=]*=//' | while IFS= read -r v; do printf ',%s' "$v"; done
        awk '{ for (i = 1; i < NF; i++) v[$i] = $(i + 1)
               printf ",%s,%s,%s\n", v["val_acc"], v["test_acc"], v["seconds"] }' "$dir/$run/result"
    done <"$grid"
} >"$dir/results.csv.tmp"
mv "$dir/results.csv.tmp" "$dir/results.csv"
done_runs=$(($(wc -l <"$dir/results.csv") - 1))
echo "sweep: $done_runs of $total runs finished; $dir/results.csv" >&2
# sorted by test accuracy (validation when there is no test set), best first
n=$(head -1 "$dir/results.csv" | tr ',' '\n' | wc -l)
tail -n +2 "$dir/results.csv" |
    awk -F, -v n="$n" '{ key = $(n - 1) != "" ? $(n - 1) : $(n - 2); print key "\t" $0 }' |
    sort -t "$(printf '\t')" -k1,1gr | cut -f2- |
    { head -1 "$dir/results.csv"; cat; } |
    awk -F, '{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
               if (NF > cols) cols = NF }
             END { for (r = 1; r <= NR; r++) { line = ""
                       for (i = 1; i <= cols; i++) line = line sprintf("%-" w[i] "s  ", cell[r, i])
                       sub(/ +$/, "", line); print line } }'
[ "$done_runs" -eq "$total" ]
