#!/bin/sh
# fetch.sh NAME [DIR] - put a dataset's files in DIR (default: datasets/NAME
# next to this script), checksums verified.
#
#   fashion-mnist  four IDX files: Debian's package dataset-fashion-mnist when
#                  installed (or installable: run as root), else downloaded
#                  from Zalando.
#   mnist          four IDX files, downloaded (Debian has no package of MNIST).
#   cifar10        the CIFAR-10 binary files (data_batch_1.bin ... test_batch.bin),
#   cifar100       the CIFAR-100 ones (train.bin, test.bin): the archive from the
#                  University of Toronto, its MD5 checked, unpacked into
#                  datasets/cifar-10-batches-bin (cifar-100-binary), where
#                  configs/cifar-*.ini look. These need the internet.
#
# A file counts as good when the SHA-256 of its uncompressed bytes, or the
# MD5 of the .gz file, is one of those known below: Debian recompresses
# the files, so their .gz checksums differ from upstream's, the data does not.
set -eu

name=${1:-}
given_dir=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
dir=${2:-$here/$name}
files="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

# CIFAR: one archive, checked, then unpacked (its folder is the dataset's)
cifar() { # URL MD5 FOLDER FILE...
    url=$1 md5=$2 folder=$3
    shift 3
    dir=${given_dir:-$here/$folder}
    have=1
    for f in "$@"; do [ -s "$dir/$f" ] || have=0; done
    if [ $have = 1 ]; then
        echo "$name: $dir is ready"
        exit 0
    fi
    parent=$(dirname "$dir")
    mkdir -p "$parent"
    archive="$parent/$(basename "$url").part"
    echo "$name: downloading $url"
    if command -v curl >/dev/null; then
        curl -fsSL -o "$archive" "$url" || { rm -f "$archive"; echo "$name: download failed (this needs the internet)" >&2; exit 1; }
    else
        wget -q -O "$archive" "$url" || { rm -f "$archive"; echo "$name: download failed (this needs the internet)" >&2; exit 1; }
    fi
    got=$(md5sum <"$archive" | cut -d' ' -f1)
    if [ "$got" != "$md5" ]; then
        rm -f "$archive"
        echo "$name: $(basename "$url"): checksum mismatch after download (MD5 $got, expected $md5)" >&2
        exit 1
    fi
    tmp=$(mktemp -d "$parent/.unpack.XXXXXX")
    tar -xzf "$archive" -C "$tmp"
    rm -rf "$dir"
    mv "$tmp/$folder" "$dir"
    rm -rf "$tmp" "$archive"
    for f in "$@"; do [ -s "$dir/$f" ] || { echo "$name: $dir/$f missing from the archive" >&2; exit 1; }; done
    echo "$name: $dir is ready"
    exit 0
}

case $name in
cifar10)
    cifar https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz c32a1d4ab5d03f1284b67883e8d87530 \
        cifar-10-batches-bin data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin \
        data_batch_5.bin test_batch.bin
    ;;
cifar100)
    cifar https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz 03b5dce01913d631647c71ecec9e9cb8 \
        cifar-100-binary train.bin test.bin
    ;;
fashion-mnist)
    url=http://fashion-mnist.s3-website.eu-central-1.amazonaws.com
    known="
c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888 train-images-idx3-ubyte.gz
bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9 train-labels-idx1-ubyte.gz
5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b t10k-images-idx3-ubyte.gz
0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34 t10k-labels-idx1-ubyte.gz
8d4fb7e6c68d591d4c3dfef9ec88bf0d train-images-idx3-ubyte.gz
25c81989df183df01b3e8a0aad5dffbe train-labels-idx1-ubyte.gz
bef4ecab320f06d8554ea6380940ec79 t10k-images-idx3-ubyte.gz
bb300cfdad3c16e7a12a480ee83cd310 t10k-labels-idx1-ubyte.gz"
    debian_package=dataset-fashion-mnist
    debian_dir=/usr/share/datasets/fashion-mnist
    ;;
mnist)
    url=https://ossci-datasets.s3.amazonaws.com/mnist
    known="
f68b3c2dcbeaaa9fbdd348bbdeb94873 train-images-idx3-ubyte.gz
d53e105ee54ea40749a09fcbcd1e9432 train-labels-idx1-ubyte.gz
9fb629c4189551a2d022fa330f9573f3 t10k-images-idx3-ubyte.gz
ec29112dd5afa0611ce80d1b7f02629c t10k-labels-idx1-ubyte.gz"
    debian_package=
    debian_dir=
    ;;
*)
    echo "usage: $0 fashion-mnist|mnist|cifar10|cifar100 [DIR]" >&2
    exit 2
    ;;
esac

good() { # FILE NAME: is FILE a known-good copy of NAME?
    [ -s "$1" ] || return 1
    sha=$(gzip -dc "$1" 2>/dev/null | sha256sum | cut -d' ' -f1)
    md5=$(md5sum <"$1" | cut -d' ' -f1)
    printf '%s\n' "$known" | grep -q -e "^$sha $2\$" -e "^$md5 $2\$"
}

all_good() {
    for f in $files; do good "$dir/$f" "$f" || return 1; done
}

mkdir -p "$dir"
if all_good; then
    echo "$name: $dir is ready"
    exit 0
fi

# Debian's package: works with no network beyond the package archive.
if [ -n "$debian_package" ] && [ ! -d "$debian_dir" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "$name: installing Debian's $debian_package"
    apt-get install -y "$debian_package" >/dev/null || true
fi
if [ -n "$debian_dir" ] && [ -d "$debian_dir" ]; then
    for f in $files; do
        good "$debian_dir/$f" "$f" || { echo "$name: $debian_dir/$f: checksum mismatch" >&2; exit 1; }
        ln -sf "$debian_dir/$f" "$dir/$f"
    done
    echo "$name: $dir links to $debian_dir"
    exit 0
fi

for f in $files; do
    good "$dir/$f" "$f" && continue
    echo "$name: downloading $f"
    tmp="$dir/$f.part"
    if command -v curl >/dev/null; then
        curl -fsSL -o "$tmp" "$url/$f"
    else
        wget -q -O "$tmp" "$url/$f"
    fi
    good "$tmp" "$f" || { rm -f "$tmp"; echo "$name: $f: checksum mismatch after download" >&2; exit 1; }
    mv "$tmp" "$dir/$f"
done
echo "$name: $dir is ready"
