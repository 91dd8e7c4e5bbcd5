#!/usr/bin/python3
"""PyTorch side of bench/compare: the same ViT weights for every peer, PyTorch eager timings, ONNX exports.

For each architecture (timm's ViT-S/16 and ViT-B/16 shapes, 1000 classes) it
  1. builds a ViT in timm's module layout and parameter names (seeded truncated-normal weights), and writes the
     weights as OUT/ARCH.safetensors with OUT/ARCH.json (VitSharp reads both: `vitsharp bench --weights`);
  2. for each size, resamples the position table once for that grid (timm's resample_abs_pos_embed: bicubic,
     antialias, as timm's set_input_size does), so that PyTorch runs the size the way a PyTorch user would;
  3. times PyTorch eager in torch.inference_mode() at every batch size (warm-up passes, then at least --iterations
     passes and --seconds seconds), one JSON line per configuration on stdout;
  4. exports that model to OUT/ARCH_HxW.onnx (opset 17, dynamic batch), for ONNX Runtime.
It also writes OUT/ARCH_HxW.check.safetensors: a fixed input and PyTorch's logits for it, so each peer's output can
be checked against PyTorch before its time is believed.

Run it with Debian's torch and OpenBLAS told its CPU (see bench/README.md); bench/compare/run.sh does.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "fixtures"))
sys.path.insert(0, os.path.join(HERE, "..", "train-throughput"))
from safetensors_writer import save_file  # noqa: E402  (dependency-free writer; the safetensors package is not installed)
from train_pytorch import ViT  # noqa: E402  (the PyTorch ViT in timm's layout that the training benchmark uses)

ARCHS = {  # timm's shapes
    "vit_small_patch16_224": dict(embed_dim=384, depth=12, num_heads=6),
    "vit_base_patch16_224": dict(embed_dim=768, depth=12, num_heads=12),
}


def build_vit(arch, grid):
    """timm's VisionTransformer layout and names (class token, learned table with the class row, pre-norm, token
    pooling): train-throughput's PyTorch ViT, whose table is then laid out on `grid`."""
    shape = ARCHS[arch]
    model = ViT(img=224, patch=16, in_chans=3, num_classes=1000, dim=shape["embed_dim"], depth=shape["depth"],
                heads=shape["num_heads"], mlp_ratio=4.0, drop_path=0.0)
    if grid != (14, 14):
        model.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid[0] * grid[1], shape["embed_dim"]))
    return model.eval()


def resample_pos_embed(pos_embed, old, new):
    """timm resample_abs_pos_embed (bicubic, antialias=True, class row kept)."""
    if old == new:
        return pos_embed
    prefix, grid = pos_embed[:, :1], pos_embed[:, 1:]
    d = grid.shape[-1]
    grid = grid.reshape(1, old[0], old[1], d).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new, mode="bicubic", antialias=True, align_corners=False)
    return torch.cat([prefix, grid.permute(0, 2, 3, 1).reshape(1, -1, d)], dim=1)


def parse_size(text):
    h, _, w = text.partition("x")
    return int(h), int(w or h)


def time_passes(model, x, warmup, iterations, seconds):
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        lat = []
        start = time.perf_counter()
        while len(lat) < iterations or time.perf_counter() - start < seconds:
            t = time.perf_counter()
            model(x)
            lat.append((time.perf_counter() - t) * 1000)
    return lat


def percentile(values, p):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(p * len(s)) - 1))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--arch", nargs="+", default=list(ARCHS))
    ap.add_argument("--size", nargs="+", default=["224", "224x320"])
    ap.add_argument("--batch", nargs="+", type=int, default=[1, 8])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--no-export", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)

    for arch in a.arch:
        torch.manual_seed(0)
        model = build_vit(arch, (14, 14))
        weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        save_file(weights, os.path.join(a.out, f"{arch}.safetensors"), metadata={"format": "pt", "generator": "bench/compare/peers.py"})
        with open(os.path.join(a.out, f"{arch}.json"), "w") as f:
            json.dump(dict(img_size=224, patch_size=16, in_chans=3, num_classes=1000, mlp_ratio=4.0, qkv_bias=True,
                           layer_norm_eps=1e-6, class_token=True, global_pool="token", posembed_style="timm", **ARCHS[arch]), f, indent=1)
        for size_text in a.size:
            size = parse_size(size_text)
            grid = (size[0] // 16, size[1] // 16)
            sized = build_vit(arch, grid)
            sized_weights = dict(weights, pos_embed=resample_pos_embed(weights["pos_embed"], (14, 14), grid))
            sized.load_state_dict(sized_weights)
            tag = f"{arch}_{size[0]}x{size[1]}"
            g = torch.Generator().manual_seed(1)
            check_x = torch.randn(2, 3, *size, generator=g)
            with torch.inference_mode():
                save_file({"input": check_x, "logits": sized(check_x)}, os.path.join(a.out, f"{tag}.check.safetensors"))
            if not a.no_export:
                torch.onnx.export(sized, torch.randn(1, 3, *size), os.path.join(a.out, f"{tag}.onnx"), opset_version=17,
                                  input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
            for batch in a.batch:
                x = torch.randn(batch, 3, *size)
                lat = time_passes(sized, x, a.warmup, a.iterations, a.seconds)
                print(json.dumps({
                    "peer": "pytorch", "version": torch.__version__, "arch": arch, "size": f"{size[0]}x{size[1]}", "batch": batch,
                    "dtype": "fp32", "threads": torch.get_num_threads(), "iterations": len(lat),
                    "images_per_s": round(len(lat) * batch / (sum(lat) / 1000), 3),
                    "p50_ms": round(percentile(lat, 0.5), 3), "p95_ms": round(percentile(lat, 0.95), 3),
                    "blas": os.environ.get("LD_LIBRARY_PATH", ""), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
                }), flush=True)


if __name__ == "__main__":
    main()
