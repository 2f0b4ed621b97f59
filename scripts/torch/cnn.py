#!/usr/bin/python3
"""PyTorch reference timing for qnlab's SimpleCNN training step.

Same model as qnlab/pkg/models.SimpleCNN (conv 3x3 16 -> ReLU -> maxpool 2 -> conv 3x3 32 -> ReLU ->
maxpool 2 -> fc 1568->128 -> ReLU -> fc 128->10, "same" padding, 206,922 parameters), same batch
(128 images 1x28x28, float32), same step (forward, cross-entropy, backward, Adam lr 1e-3).
The data is random (normalised-pixel scale): the time of a step does not depend on the values.

Prints one JSON line: the median milliseconds per step over --repeats runs of --steps steps,
after --warmup steps, with --threads intra-op threads.

With --epoch DIR it trains instead one epoch of Adam (lr 1e-3, batch 128, 469 steps) on the real
MNIST training set read from DIR (the four IDX .gz files qnlab reads), pixels normalised as
qnlab's models.normalise does ((x/255 − 0.1307)/0.3081), shuffled with --seed, and prints the
epoch's training seconds (batch slicing included, like qnlab's; no evaluation inside) and the
test accuracy on the 10,000 test images afterwards.

Setup (Debian): apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread
Run with the system interpreter: /usr/bin/python3 scripts/torch/cnn.py
"""

import argparse
import gzip
import json
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SimpleCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def loaded_blas():
    """The BLAS shared libraries this process has mapped (Debian's torch uses the libblas.so.3
    alternative: OpenBLAS with libopenblas0-pthread, else the slow reference BLAS)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return sorted(libs)
    except OSError:
        return []


def read_idx(path):
    """An IDX .gz file as a uint8 tensor of its dimensions (magic 0x0801 labels, 0x0803 images)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return torch.frombuffer(bytearray(data[4 + 4 * len(dims):]), dtype=torch.uint8).reshape(dims)


def epoch(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    norm = lambda x: (x.float() / 255 - 0.1307) / 0.3081
    train_x = norm(read_idx(os.path.join(args.epoch, "train-images-idx3-ubyte.gz"))).unsqueeze(1)
    train_y = read_idx(os.path.join(args.epoch, "train-labels-idx1-ubyte.gz")).long()
    test_x = norm(read_idx(os.path.join(args.epoch, "t10k-images-idx3-ubyte.gz"))).unsqueeze(1)
    test_y = read_idx(os.path.join(args.epoch, "t10k-labels-idx1-ubyte.gz")).long()
    model = SimpleCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(train_x.shape[0])
    start = time.perf_counter()
    steps = 0
    for i in range(0, train_x.shape[0], args.batch):
        idx = order[i:i + args.batch]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
        loss.backward()
        opt.step()
        steps += 1
    seconds = time.perf_counter() - start
    with torch.no_grad():
        correct = sum(int((model(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum())
                      for i in range(0, test_x.shape[0], 1000))
    print(json.dumps({
        "bench": "torch_cnn_epoch",
        "seconds": round(seconds, 3),
        "steps": steps,
        "test_accuracy": correct / test_x.shape[0],
        "batch": args.batch,
        "threads": args.threads,
        "torch": torch.__version__,
        "blas": loaded_blas(),
    }))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epoch", metavar="DIR", help="train one epoch on the real MNIST files in DIR instead")
    args = p.parse_args()
    if args.epoch:
        return epoch(args)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = SimpleCNN()
    params = sum(t.numel() for t in model.parameters())
    assert params == 206922, params
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.randn(args.batch, 1, 28, 28)
    labels = torch.randint(0, 10, (args.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    runs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        runs.append(1000 * (time.perf_counter() - start) / args.steps)
    print(json.dumps({
        "bench": "torch_cnn_step",
        "ms_per_step": round(statistics.median(runs), 3),
        "runs_ms": [round(r, 3) for r in runs],
        "batch": args.batch,
        "threads": args.threads,
        "steps": args.steps,
        "repeats": args.repeats,
        "params": params,
        "torch": torch.__version__,
        "blas": loaded_blas(),
    }))


if __name__ == "__main__":
    main()
