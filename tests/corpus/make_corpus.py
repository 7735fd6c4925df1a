#!/usr/bin/env python3
"""Regenerates the binary files of the malformed-input corpus.

   python3 tests/corpus/make_corpus.py CNNCTL

The configs and every *.expected file are written by hand; this makes the
IDX files and the checkpoints (the base checkpoint is trained by the cnnctl
binary given, then damaged in known ways)."""
import gzip, os, struct, subprocess, sys, zlib

here = os.path.dirname(os.path.abspath(__file__))
cnnctl = os.path.abspath(sys.argv[1])

def write(path, data):
    with open(os.path.join(here, path), "wb") as f:
        f.write(data)

def images(count, rows, cols, magic=0x803, payload=None):
    head = struct.pack(">IIII", magic, count, rows, cols)
    if payload is None:
        payload = bytes((i * 37) % 256 for i in range(count * rows * cols))
    return head + payload

def labels(values, magic=0x801):
    return struct.pack(">II", magic, len(values)) + bytes(values)

# data/: a valid tiny set, 6 images of 8x8, 3 classes
os.makedirs(os.path.join(here, "data"), exist_ok=True)
write("data/train-images-idx3-ubyte", images(6, 8, 8))
write("data/train-labels-idx1-ubyte", labels([0, 1, 2, 0, 1, 2]))

# idx/
write("idx/images-bad-magic.idx", labels([0, 1, 2, 0, 1, 2]))
write("idx/images-truncated-header.idx", images(6, 8, 8)[:10])
write("idx/images-truncated-data.idx", images(6, 8, 8)[:-5])
write("idx/images-trailing.idx", images(6, 8, 8) + b"\0\0\0")
write("idx/images-bomb.idx", struct.pack(">IIII", 0x803, 0xFFFFFFFF, 0xFFFF, 0xFFFF))
write("idx/images-zero-rows.idx", struct.pack(">IIII", 0x803, 6, 0, 8))
write("idx/images-wide.idx", struct.pack(">IIII", 0x803, 1, 8, 70000))
write("idx/images-empty.idx", b"")
# a gzip bomb: the header promises 384 bytes, the stream inflates to 16 MiB
write("idx/images-gzip-bomb.gz", gzip.compress(images(6, 8, 8) + bytes(16 << 20), 9))
# a gzip stream whose compressed data is damaged
good = bytearray(gzip.compress(images(6, 8, 8) + bytes(4096), 9))
good[20:24] = b"\xff\xff\xff\xff"
write("idx/images-corrupt.gz", bytes(good))
write("idx/labels-bad-magic.idx", images(6, 8, 8))
write("idx/labels-count-mismatch.idx", labels([0, 1, 2, 0, 1]))
write("idx/labels-out-of-range.idx", labels([0, 1, 2, 0, 7, 2]))

# ckpt/: train the base checkpoint, then damage it
base_dir = os.path.join(here, "ckpt")
subprocess.run([cnnctl, "train", "-q", os.path.join(base_dir, "base.ini"),
                "--set", "train.checkpoint=" + os.path.join(base_dir, "base.ckpt"), "--set", "train.log="],
               check=True, stdout=subprocess.DEVNULL)
base = open(os.path.join(base_dir, "base.ckpt"), "rb").read()
os.remove(os.path.join(base_dir, "base.ckpt"))

def fix_crc(data):
    data = bytes(data)
    return data[:-4] + struct.pack("<I", zlib.crc32(data[:-4]) & 0xFFFFFFFF)

def chunks(data):
    """(offset, tag, length) of every chunk."""
    pos, out = 12, []
    while pos < len(data) - 4:
        tag, length = data[pos:pos + 4], struct.unpack("<Q", data[pos + 4:pos + 12])[0]
        out.append((pos, tag, length))
        pos += 12 + length
    return out

def find(tag, nth=0):
    return [c for c in chunks(base) if c[1] == tag][nth]

write("ckpt/bad-magic.ckpt", b"PK\x03\x04" + base[4:])
write("ckpt/empty.ckpt", b"")
write("ckpt/truncated.ckpt", base[:len(base) // 2])
flipped = bytearray(base); flipped[len(base) // 2] ^= 0x10
write("ckpt/flipped-byte.ckpt", bytes(flipped))
v = bytearray(base); v[8] = 9
write("ckpt/version.ckpt", fix_crc(v))
conf = find(b"CONF")
o = bytearray(base); o[conf[0] + 4:conf[0] + 12] = struct.pack("<Q", 1 << 40)
write("ckpt/chunk-overrun.ckpt", fix_crc(o))
u = bytearray(base); u[conf[0]:conf[0] + 4] = b"XONF"
write("ckpt/unknown-chunk.ckpt", fix_crc(u))
tens = find(b"TENS")
name_len = struct.unpack("<H", base[tens[0] + 12:tens[0] + 14])[0]
dims = tens[0] + 12 + 2 + name_len + 1
d = bytearray(base); d[dims:dims + 8] = struct.pack("<II", 1 << 30, 1 << 30)
write("ckpt/tensor-absurd.ckpt", fix_crc(d))
# swap the first two dimensions of conv1.weight (2x1x3x3 -> 1x2x3x3): same size, wrong shape
s = bytearray(base); a, b = base[dims:dims + 4], base[dims + 4:dims + 8]; s[dims:dims + 4] = b; s[dims + 4:dims + 8] = a
write("ckpt/tensor-shape.ckpt", fix_crc(s))
text = base[conf[0] + 12:conf[0] + 12 + conf[2]]
c = bytearray(base); c[conf[0] + 12:conf[0] + 12 + conf[2]] = text.replace(b"filters = 2", b"filters = 3")
write("ckpt/config-disagrees.ckpt", fix_crc(c))
g = bytearray(base); g[conf[0] + 12:conf[0] + 12 + conf[2]] = text.replace(b"type = conv", b"type = cnov")
write("ckpt/config-invalid.ckpt", fix_crc(g))
end = find(b"END\0")
write("ckpt/no-end.ckpt", fix_crc(base[:end[0]] + base[-4:]))

# cifar/: CIFAR-10 records (run.ini reads format = cifar)
def record(label, value, fine=None):
    head = bytes([label]) if fine is None else bytes([label, fine])
    return head + bytes([value]) * 3072

os.makedirs(os.path.join(here, "cifar"), exist_ok=True)
write("cifar/truncated.bin", (record(1, 7) + record(2, 7))[:-100])
write("cifar/bad-label.bin", record(1, 7) + record(10, 7))
write("cifar/empty.bin", b"")
write("cifar/one-byte.bin", b"\x03")
write("cifar/cifar100.bin", record(3, 7, 45) + record(4, 7, 23))
write("cifar/corrupt.gz", gzip.compress(record(1, 7) * 2)[:40] + b"\xff" * 64)

# images/: image files for `cnnctl filter`, which decodes as the folder and
# list formats do
def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)

def png(width, height, rows):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows)) +
            png_chunk(b"IEND", b""))

os.makedirs(os.path.join(here, "images"), exist_ok=True)
good = png(4, 4, b"".join(b"\0" + bytes(range(12)) for _ in range(4)))
write("images/truncated-png.png", good[:len(good) - 20])
write("images/bomb-png.png", png(20000, 20000, b"\0"))
write("images/not-an-image.png", b"hello, this is text\n")
write("images/empty.png", b"")
# seed.jpg: a 16 x 16 colour gradient written by libjpeg at quality 90 (kept
# as it is; the fuzzer starts from it too): a 60000 x 60000 bomb is its
# frame header patched, a truncated file its first half of entropy data
seed = open(os.path.join(here, "images/seed.jpg"), "rb").read()
sof = seed.index(b"\xff\xc0")
write("images/bomb-jpeg.jpg", seed[:sof + 5] + struct.pack(">HH", 60000, 60000) + seed[sof + 9:])
sos = seed.index(b"\xff\xda")
write("images/truncated-jpeg.jpg", seed[:sos + (len(seed) - sos) // 2])
