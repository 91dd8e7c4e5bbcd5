#!/usr/bin/python3
"""PyTorch (Debian's 1.13) training-throughput benchmark for the Fashion-MNIST ViTs of models/ (default fmnist-vit-p4).

Same model (read from --config, a VitSharp model.json: image size, patch or convolutional stem (BatchNorm or
LayerNorm2d), width, depth, heads, MLP ratio; qkv bias, class token, LayerNorm eps 1e-6, timm module names) and same recipe as the VitSharp run in run.sh: batch 128, AdamW
lr 1e-3 wd 0.05, label smoothing 0.1, no mixup/cutmix, drop path --drop-path (linear over depth, as timm), grad clip
1.0, random horizontal flip and either a padded random crop (--crop-padding, the shipped recipe) or
RandomResizedCrop (--rrc-scale-min), done with torch ops on whole batches.

It runs --warmup steps, then --steps timed steps, and prints one JSON line. Two rates are reported:
  * images_per_s: forward + loss + backward + clip + AdamW step (+ loss.item() and the accuracy count), i.e. the
    same span VitSharp's Trainer times (its epoch "img/s" = images / time spent inside Step(); building and
    augmenting the batch happens in the data loader, outside that clock);
  * images_per_s_with_data: the same plus sampling, augmenting and normalising the batch.
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


# ---- model: timm VisionTransformer layout and parameter names --------------------------------------------------
class DropPath(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask.div_(keep)


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_chans, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class LayerNorm2d(nn.LayerNorm):
    """timm LayerNorm2d: each pixel normalised over its channels (channels last for the norm, then back)."""

    def forward(self, x):
        # Under torch 1.13's CPU autocast the convolution before it returns bfloat16 while the norm's weights stay
        # float32, which layer_norm refuses: normalise in float32 (a no-op in fp32 runs).
        return F.layer_norm(x.permute(0, 2, 3, 1).float(), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


STEM_NORMS = {"batchnorm": nn.BatchNorm2d, "layernorm2d": LayerNorm2d}


class ConvNormAct(nn.Module):
    """timm ConvNormAct as used by ConvStem: conv (no bias) + norm (key bn; BatchNorm or LayerNorm2d, eps 1e-5) + ReLU,
    or a bare conv with a bias last."""

    def __init__(self, cin, cout, k, s, last, norm="batchnorm"):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, padding=((s - 1) + (k - 1)) // 2, bias=last)
        self.bn = nn.Sequential() if last else STEM_NORMS[norm](cout, eps=1e-5)
        self.last = last

    def forward(self, x):
        x = self.bn(self.conv(x))
        return x if self.last else F.relu(x)


class HybridEmbed(nn.Module):
    """timm HybridEmbed(ConvStem(...), proj=False): the config's convolutional stem; its cells are the tokens."""

    def __init__(self, stem, in_chans):
        super().__init__()
        assert not stem.get("proj"), "a stem with a 1x1 projection is not written here"
        assert stem.get("act", "relu") == "relu", "only a ReLU stem is written here"
        norm = (stem.get("norm") or "batchnorm").lower()
        assert norm in STEM_NORMS, f"stem norm {norm} is not written here"
        chans = [in_chans, *stem["channels"]]
        self.backbone = nn.Sequential(*[ConvNormAct(chans[i], chans[i + 1], stem.get("kernel_sizes", [3] * len(stem["strides"]))[i], s,
                                                    i == len(stem["strides"]) - 1, norm) for i, s in enumerate(stem["strides"])])

    def forward(self, x):
        return self.backbone(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, heads, qkv_bias=True):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, drop_path, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class ViT(nn.Module):
    def __init__(self, img=28, patch=4, in_chans=1, num_classes=10, dim=128, depth=6, heads=4, mlp_ratio=2.0,
                 drop_path=0.05, eps=1e-6, conv_stem=None):
        super().__init__()
        n = (img // patch) ** 2
        self.patch_embed = HybridEmbed(conv_stem, in_chans) if conv_stem else PatchEmbed(patch, in_chans, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        dpr = torch.linspace(0, drop_path, depth).tolist()
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp_ratio, dpr[i], eps) for i in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.head = nn.Linear(dim, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.cls_token, std=1e-6)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


# ---- batch augmentation: per-sample flip + RandomResizedCrop via one affine_grid/grid_sample --------------------
def augment(x, scale=(0.7, 1.0), ratio=(3 / 4, 4 / 3)):
    """x: [B,1,H,W] float in [0,1]. RandomResizedCrop (bilinear) + horizontal flip with p=0.5, per sample."""
    B = x.shape[0]
    area = torch.empty(B).uniform_(*scale)
    logr = torch.empty(B).uniform_(math.log(ratio[0]), math.log(ratio[1]))
    r = torch.exp(logr)
    w = torch.sqrt(area * r).clamp(max=1.0)  # crop size as a fraction of the image side
    h = torch.sqrt(area / r).clamp(max=1.0)
    cx = (torch.rand(B) * 2 - 1) * (1 - w)  # crop centre in [-1,1] coordinates, crop stays inside
    cy = (torch.rand(B) * 2 - 1) * (1 - h)
    flip = torch.where(torch.rand(B) < 0.5, -1.0, 1.0)
    theta = torch.zeros(B, 2, 3)
    theta[:, 0, 0] = w * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = h
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def shift(x, padding):
    """torchvision RandomCrop(size, padding): zero-pad every side, crop back at a uniform offset per sample."""
    B, _, H, W = x.shape
    padded = F.pad(x, (padding,) * 4)
    offsets = torch.randint(0, 2 * padding + 1, (B, 2))
    return torch.stack([padded[i, :, t:t + H, l:l + W] for i, (t, l) in enumerate(offsets.tolist())])


def flip(x):
    mask = torch.rand(x.shape[0]) < 0.5
    x = x.clone()
    x[mask] = x[mask].flip(-1)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=os.path.join(os.path.dirname(__file__), "../../models/fmnist-vit-p4/model.json"))
    ap.add_argument("--crop-padding", type=int, default=2)
    ap.add_argument("--rrc-scale-min", type=float, default=None, help="RandomResizedCrop + flip instead of crop padding + flip")
    ap.add_argument("--drop-path", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--label", default="")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: forward and loss under torch.autocast('cpu', bfloat16), PyTorch's own mixed precision (fp32 weights and AdamW)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    images = read_idx(f"{DATA}/train-images-idx3-ubyte.gz")
    labels = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz")
    images_t = torch.from_numpy(images.copy())  # uint8 [60000,28,28]
    labels_t = torch.from_numpy(labels.astype(np.int64))
    mean, std = images.mean() / 255.0, images.std() / 255.0

    cfg = json.load(open(a.config))
    img = cfg["img_size"][0] if isinstance(cfg["img_size"], list) else cfg["img_size"]
    model = ViT(img=img, patch=cfg["patch_size"], in_chans=cfg["in_chans"], num_classes=cfg["num_classes"], dim=cfg["embed_dim"],
                depth=cfg["depth"], heads=cfg["num_heads"], mlp_ratio=cfg["mlp_ratio"], drop_path=a.drop_path,
                conv_stem=cfg.get("conv_stem") if cfg.get("patch_embed") == "conv_stem" else None)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "pos_embed" not in n and "cls_token" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "pos_embed" not in n and "cls_token" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)

    def make_batch():
        idx = torch.from_numpy(rng.integers(0, images_t.shape[0], a.batch))
        x = images_t[idx].unsqueeze(1).float().div_(255.0)
        x = augment(x, scale=(a.rrc_scale_min, 1.0)) if a.rrc_scale_min is not None else flip(shift(x, a.crop_padding))
        x = (x - mean) / std
        return x, labels_t[idx]

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=0.1)
        lv = loss.item()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        correct = (logits.argmax(-1) == y).sum().item()
        return lv, correct

    for _ in range(a.warmup):
        step(*make_batch())

    step_s = 0.0
    t0 = time.perf_counter()
    for _ in range(a.steps):
        x, y = make_batch()
        s0 = time.perf_counter()
        loss, _ = step(x, y)
        step_s += time.perf_counter() - s0
    total_s = time.perf_counter() - t0
    n = a.steps * a.batch
    print(json.dumps({
        "framework": "pytorch", "torch": torch.__version__, "model": {k: cfg.get(k) for k in ("embed_dim", "depth", "num_heads", "patch_size", "patch_embed")}, "threads": torch.get_num_threads(), "batch": a.batch,
        "warmup_steps": a.warmup, "timed_steps": a.steps, "label": a.label, "precision": a.precision,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH", ""), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "images_per_s": round(n / step_s, 1), "images_per_s_with_data": round(n / total_s, 1),
        "last_loss": round(loss, 4),
    }))


if __name__ == "__main__":
    main()
