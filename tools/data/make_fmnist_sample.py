#!/usr/bin/env python3
"""Writes data/fashion-mnist-sample/: the first N images and labels of each Fashion-MNIST split, in the original
IDX format, gzip'd, cut from Debian's dataset-fashion-mnist files (the official ones).

Usage: tools/data/make_fmnist_sample.py [--source /usr/share/datasets/fashion-mnist] [--count 1000]
The gzip header carries no name and mtime 0, so the output is byte-identical on every run.
"""
import argparse
import gzip
import os
import struct

FILES = [
    ("train-images-idx3-ubyte.gz", 3),
    ("train-labels-idx1-ubyte.gz", 1),
    ("t10k-images-idx3-ubyte.gz", 3),
    ("t10k-labels-idx1-ubyte.gz", 1),
]


def cut(data: bytes, dims: int, count: int) -> bytes:
    zero, dtype, ndims = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08 or ndims != dims:
        raise ValueError(f"not an unsigned-byte IDX file with {dims} dimensions")
    shape = list(struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims]))
    if shape[0] < count:
        raise ValueError(f"the file has {shape[0]} items, fewer than {count}")
    item = 1
    for d in shape[1:]:
        item *= d
    header = struct.pack(">HBB", 0, 0x08, dims) + struct.pack(f">{dims}I", count, *shape[1:])
    start = 4 + 4 * dims
    return header + data[start : start + count * item]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "data", "fashion-mnist-sample"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, dims in FILES:
        with gzip.open(os.path.join(args.source, name), "rb") as f:
            sample = cut(f.read(), dims, args.count)
        with open(os.path.join(args.out, name), "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as g:
                g.write(sample)
        print(f"{name}: {len(sample)} bytes before gzip")


if __name__ == "__main__":
    main()
