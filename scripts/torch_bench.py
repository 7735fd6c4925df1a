#!/usr/bin/python3
"""torch_bench.py [simple|lenet5|vgg-small|cifar-resnet20|fcn|yolo ...] -
the yardstick for cnnctl's training speed: the same networks as
configs/simple.ini, configs/lenet5.ini, configs/vgg-small.ini,
configs/cifar-resnet20.ini, configs/fcn.ini and configs/yolo.ini in PyTorch
(Debian: python3-torch), trained in a plain loop on random inputs of the
config's shape (1x28x28 at batch 100; cifar-resnet20: 3x32x32 at batch 128;
fcn and yolo: 1x64x64 at batch 32) with the same optimizer, at 1 and at 2
threads. fcn's loss is the per-pixel cross-entropy, as cnnctl's; yolo's is
a mean squared error over the head's map in place of the YOLO loss (which
PyTorch does not have; cnnctl's yolo layer is under 3% of its step). Prints, per network, the steady-state images per second at
each thread count (median of 5 timings after a warm-up) and the best.

PyTorch is measured at its best: glibc's allocator is kept from handing
memory back to the system every step (without that PyTorch page-faults
through each step and runs 2-3x slower), and OpenBLAS (its affine layers)
runs one thread so its pool does not fight PyTorch's own, with its AVX-512
kernel where the CPU has it. The script re-executes itself with those
settings when they are missing.

scripts/vs-pytorch.sh runs this and cnnctl side by side."""
import os
import statistics
import sys
import time

ENV = {
    "MALLOC_MMAP_THRESHOLD_": "4294967296",
    "MALLOC_TRIM_THRESHOLD_": "4294967296",
    "OPENBLAS_NUM_THREADS": "1",
}
# Debian's OpenBLAS 0.3.21 takes Zen 5 for Haswell (AVX2); on a CPU with
# AVX-512 its SkylakeX kernel is about twice as fast.
try:
    with open("/proc/cpuinfo") as f:
        if " avx512f" in f.read():
            ENV["OPENBLAS_CORETYPE"] = "SkylakeX"
except OSError:
    pass
if any(os.environ.get(k) != v for k, v in ENV.items()):
    os.environ.update(ENV)
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch  # noqa: E402  (after the environment is set)
from torch import nn  # noqa: E402


def simple():
    # SimpleConvNet: conv 30@5x5 -> relu -> maxpool 2 -> affine 100 -> relu -> affine 10
    net = nn.Sequential(nn.Conv2d(1, 30, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(30 * 12 * 12, 100), nn.ReLU(), nn.Linear(100, 10))
    return net, torch.optim.SGD(net.parameters(), lr=0.1)


def lenet5():
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                        nn.Linear(84, 10))
    return net, torch.optim.SGD(net.parameters(), lr=0.05)


def vgg_small():
    net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Linear(256, 10))
    return net, torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)


class BasicBlock(nn.Module):
    """Two 3x3 conv + batchnorm, the input added back before the last ReLU;
    a 1x1 conv at stride 2 with batchnorm where the block downsamples
    (configs/cifar-resnet20.ini)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                      if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def cifar_resnet20():
    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for cout, stride in ((16, 1), (32, 2), (64, 2)):
        for b in range(3):
            layers.append(BasicBlock(cin, cout, stride if b == 0 else 1))
            cin = cout
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    return net, torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)


def conv_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]


class FCN(nn.Module):
    """configs/fcn.ini: three stages of two 3x3 convs and a max pool, a 3x3
    conv at 8 x 8, a score per class there, doubled by transposed
    convolutions and added to the scores of the 16, 32 and 64 pixel stages."""

    def __init__(self, classes=11):
        super().__init__()
        self.s1 = nn.Sequential(*conv_relu(1, 16), *conv_relu(16, 16))
        self.s2 = nn.Sequential(nn.MaxPool2d(2), *conv_relu(16, 32), *conv_relu(32, 32))
        self.s3 = nn.Sequential(nn.MaxPool2d(2), *conv_relu(32, 64), *conv_relu(64, 64))
        self.s4 = nn.Sequential(nn.MaxPool2d(2), *conv_relu(64, 128), nn.Conv2d(128, classes, 1))
        self.up = nn.ModuleList(nn.ConvTranspose2d(classes, classes, 4, 2, 1) for _ in range(3))
        self.skip = nn.ModuleList(nn.Conv2d(c, classes, 1) for c in (64, 32, 16))

    def forward(self, x):
        a = self.s1(x)
        b = self.s2(a)
        c = self.s3(b)
        score = self.s4(c)
        for up, skip, lower in zip(self.up, self.skip, (c, b, a)):
            score = up(score) + skip(lower)
        return score


def fcn():
    net = FCN()
    return net, torch.optim.Adam(net.parameters(), lr=0.002)


def yolo():
    net = nn.Sequential(*conv_relu(1, 16), *conv_relu(16, 16), nn.MaxPool2d(2), *conv_relu(16, 32),
                        *conv_relu(32, 32), nn.MaxPool2d(2), *conv_relu(32, 64), *conv_relu(64, 64), nn.MaxPool2d(2),
                        *conv_relu(64, 128), *conv_relu(128, 128), nn.Conv2d(128, 45, 1))
    return net, torch.optim.Adam(net.parameters(), lr=0.002)


NETS = {"simple": simple, "lenet5": lenet5, "vgg-small": vgg_small, "cifar-resnet20": cifar_resnet20, "fcn": fcn,
        "yolo": yolo}
# input shape and batch per network: the configs' own
SHAPES = {"cifar-resnet20": ((3, 32, 32), 128), "fcn": ((1, 64, 64), 32), "yolo": ((1, 64, 64), 32)}


def loss_and_target(name, batch):
    """The loss and a random target of its kind: a class per image, a class
    per pixel (fcn), or a map as the head's (yolo, see above)."""
    if name == "fcn":
        return nn.CrossEntropyLoss(), torch.randint(0, 11, (batch, 64, 64))
    if name == "yolo":
        return nn.MSELoss(), torch.rand(batch, 45, 8, 8)
    return nn.CrossEntropyLoss(), torch.randint(0, 10, (batch,))


def images_per_second(name, threads, shape=(1, 28, 28), batch=100, seconds=1.0, repeats=5):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net, opt = NETS[name]()
    loss_fn, y = loss_and_target(name, batch)
    x = torch.rand(batch, *shape)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()

    for _ in range(20):  # warm-up: oneDNN primitives, allocator pools
        step()
    start = time.perf_counter()
    steps = 0
    while time.perf_counter() - start < 0.5:
        step()
        steps += 1
    per_timing = max(3, int(steps * seconds / 0.5))
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(per_timing):
            step()
        rates.append(per_timing * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    names = sys.argv[1:] or list(NETS)
    for name in names:
        if name not in NETS:
            sys.exit(f"torch_bench.py: unknown network '{name}' (expected {', '.join(NETS)})")
    print(f"PyTorch {torch.__version__}, training images/s (median of 5)")
    print(f"{'network':<14} {'1 thread':>10} {'2 threads':>10} {'best':>10}  batch")
    for name in names:
        shape, batch = SHAPES.get(name, ((1, 28, 28), 100))
        one = images_per_second(name, 1, shape, batch)
        two = images_per_second(name, 2, shape, batch)
        print(f"{name:<14} {one:>10.0f} {two:>10.0f} {max(one, two):>10.0f}  {batch}", flush=True)


if __name__ == "__main__":
    main()
