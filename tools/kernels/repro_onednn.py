#!/usr/bin/env python3
"""Minimal reproduction of the two oneDNN paths VitSharp found wrong on an AMD EPYC of cpu family 26 (Zen 5,
AVX-512 with BF16/VNNI/VP2INTERSECT), in plain PyTorch, for an upstream maintainer (docs/kernels.md, "Root causes").

  python3 tools/kernels/repro_onednn.py                 # both parts
  ONEDNN_VERBOSE=1 python3 tools/kernels/repro_onednn.py --part linear 2>&1 | grep -E 'reorder|matmul|inner_product'
  ONEDNN_MAX_CPU_ISA=AVX2 python3 tools/kernels/repro_onednn.py     # the same with oneDNN capped at AVX2

Part 1 (linear, PyTorch >= 2.0 built with oneDNN): a weight packed by mkldnn::_reorder_linear_weight, multiplied by
mkldnn::_linear_pointwise (the operators Inductor's CPU backend uses for frozen linears; VitSharp called the same two
through libtorch's C shim), against torch.nn.functional.linear in float64. On the Zen 5 host every output width that
oneDNN packs with a zero-padded tail of output channels (ONEDNN_VERBOSE shows the `p` flag in the weight's memory
descriptor) was wrong by a relative 0.4-0.9, e.g. 48, 80, 96, 100, 112, 144, 1000, 1008; unpadded widths (16, 32,
64, 128, 192, 256, 1024, 1152) were right, and all were right under ONEDNN_MAX_CPU_ISA=AVX2.

Part 2 (attention, any PyTorch with torch.mkldnn_convolution, 1.13 included): both attention products as grouped
1x1 convolutions, one group per (image, head), against softmax(q k^T) v in float64. On the Zen 5 host 65 and 197
tokens were wrong (max error 0.24-0.81 on the context), 16-64, 96, 128 and 281 right.

Prints one line per case: the shape, max |error| relative to max |reference|, and OK / WRONG (threshold 1e-3, far
above float32 rounding at these reduction lengths and far below the errors seen). Exit code 1 if any case is WRONG.
"""
import argparse
import sys

import torch
import torch.nn.functional as F

THRESHOLD = 1e-3


def relative_error(actual, reference):
    return ((actual.double() - reference).abs().max() / reference.abs().max()).item()


def report(what, error):
    verdict = "OK" if error <= THRESHOLD else "WRONG"
    print(f"{what:<58} {error:10.2e}  {verdict}")
    return verdict == "OK"


def part_linear():
    ops = getattr(torch.ops, "mkldnn", None)
    try:
        reorder, pointwise = ops._reorder_linear_weight, ops._linear_pointwise
    except (AttributeError, RuntimeError):
        print("part 1 skipped: this PyTorch has no mkldnn::_reorder_linear_weight / _linear_pointwise (needs >= 2.0)")
        return True
    ok = True
    torch.manual_seed(0)
    in_features = 384
    for out_features in [10, 16, 32, 48, 64, 80, 96, 100, 112, 128, 144, 192, 256, 1000, 1008, 1024, 1152]:
        weight = torch.randn(out_features, in_features) / in_features ** 0.5
        bias = torch.randn(out_features)
        for rows in [1, 8, 197, 1576]:
            x = torch.randn(rows, in_features)
            packed = reorder(weight, rows)  # the pack for this batch size, as Inductor makes it
            y = pointwise(x, packed, bias, "none", [], "")
            reference = F.linear(x.double(), weight.double(), bias.double())
            ok &= report(f"linear rows {rows:5d} in {in_features} out {out_features:5d}", relative_error(y, reference))
    return ok


def grouped_conv_attention(qkv, heads, scale):
    """VitSharp's former OneDnnAttention: qkv [B, N, 3C] -> context [B, N, C]."""
    b, n, c3 = qkv.shape
    c = c3 // 3
    d = c // heads
    g = b * heads
    parts = qkv.reshape(b, n, 3, heads, d)
    q = (parts[:, :, 0] * scale).permute(1, 0, 2, 3).reshape(1, n, 1, g * d).permute(0, 3, 1, 2)
    k = parts[:, :, 1].permute(0, 2, 1, 3).reshape(g * n, 1, 1, d).permute(0, 3, 1, 2)
    scores = torch.mkldnn_convolution(q, k, None, [0, 0], [1, 1], [1, 1], g)
    p = scores.permute(0, 2, 3, 1).reshape(n, g, n).softmax(-1)
    p4 = p.reshape(1, n, 1, g * n).permute(0, 3, 1, 2)
    v = parts[:, :, 2].permute(0, 2, 3, 1).reshape(g * d, 1, 1, n).permute(0, 3, 1, 2)
    context = torch.mkldnn_convolution(p4, v, None, [0, 0], [1, 1], [1, 1], g)
    return context.permute(0, 2, 3, 1).reshape(n, b, c).transpose(0, 1).contiguous()


def reference_attention(qkv, heads, scale):
    b, n, c3 = qkv.shape
    c = c3 // 3
    q, k, v = qkv.double().reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    attention = (q @ k.transpose(-2, -1) * scale).softmax(-1)
    return (attention @ v).transpose(1, 2).reshape(b, n, c)


def part_attention():
    ok = True
    torch.manual_seed(0)
    for heads, width in [(6, 384), (12, 768)]:
        scale = (width // heads) ** -0.5
        for tokens in [16, 64, 65, 96, 128, 197, 281]:
            for batch in [1, 8]:
                qkv = torch.randn(batch, tokens, 3 * width)
                context = grouped_conv_attention(qkv, heads, scale)
                ok &= report(f"attention batch {batch} tokens {tokens:3d} heads {heads:2d} head width {width // heads}",
                             relative_error(context, reference_attention(qkv, heads, scale)))
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["linear", "attention", "both"], default="both")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (layouts depend on it)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    onednn = [line.strip() for line in torch.__config__.show().splitlines() if "DNN" in line]
    print(f"torch {torch.__version__}; {onednn[0] if onednn else 'no oneDNN listed'}; {torch.get_num_threads()} threads")
    ok = True
    if args.part in ("linear", "both"):
        ok &= part_linear()
    if args.part in ("attention", "both"):
        ok &= part_attention()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
