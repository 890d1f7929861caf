#!/usr/bin/python3
"""The Python PyTorch peer of `fsc bench train`: the same model and the same training step.

Faceswap's face-swap autoencoders laid out exactly as fsc's core/model (face_swap_model.h,
layers.h, model_registry.h), so the parameter count is fsc's (original: 82,062,470):

  encoder: conv 5x5 stride 2 pad 2 + LeakyReLU(0.1) per encoder filter
           -> flatten in NHWC order -> dense -> dense -> reshape NHWC -> upscale
  decoder: upscale per decoder filter -> conv 5x5 pad 2 to 3 channels -> sigmoid
  upscale: conv 3x3 pad 1 to 4x filters -> LeakyReLU(0.1) -> pixel shuffle x2

One training step, as fsc's trainer (core/train/train_step.h): a batch of N faces per side (A and
B, uniform 0..1 random data), both sides through the shared encoder as one 2N batch (--encoder
split: one pass per side), the latent split, each half through its side's decoder, loss SSIM + MSE
per side (1 - SSIM with an 11x11 Gaussian window, sigma 1.5, "valid", in float32 outside autocast,
like core/train/ssim.h), the two sides' losses summed, backward, one Adam step over all
parameters (lr 5e-5, betas 0.9/0.999, eps 1e-7). --weighted multiplies both losses by a per-pixel
weight map (a face ellipse with eyes x3 and mouth x2, like fsc's masked loss); off by default.

Written the way a competent PyTorch user writes a CPU training loop: --channels-last (NHWC weights
and input, so oneDNN runs NHWC kernels without reorders; the NHWC flatten/reshape are then free
views), --precision bf16 (torch.autocast on the CPU: convs and dense layers in bf16, losses in
float32), in-place activations, Adam with foreach (multi-tensor) updates, zero_grad(set_to_none).

examples/s counts both sides: 2·N faces per step, the same definition as fsc.

  train_peer.py [--model original] [--batch 16] [--iterations 5] [--warmup 2] [--threads 2]
                [--precision fp32|bf16] [--channels-last] [--weighted] [--adam foreach|single]
                [--encoder joint|split]
  train_peer.py --params [--model NAME]        parameter count and GFLOP per step only
  train_peer.py --gemm [--threads T]           fp32/bf16 GFLOP/s of torch.mm and a 3x3 conv

Prints one JSON object on stdout.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# fsc's core/model/model_registry.cc.
ARCHITECTURES = {
    "original": dict(input_size=64, encoder_filters=[128, 256, 512, 1024], dense_dim=1024,
                     latent_size=4, latent_channels=1024, encoder_upscale=512,
                     decoder_filters=[256, 128, 64]),
    "lightweight": dict(input_size=64, encoder_filters=[128, 256, 512], dense_dim=512,
                        latent_size=4, latent_channels=512, encoder_upscale=256,
                        decoder_filters=[512, 256, 128]),
    "dfl-h128": dict(input_size=128, encoder_filters=[128, 256, 512, 1024], dense_dim=512,
                     latent_size=8, latent_channels=512, encoder_upscale=512,
                     decoder_filters=[512, 256, 128]),
}
# model_registry.h's documented counts (without a learned mask).
EXPECTED_PARAMS = {"original": 82062470, "lightweight": 51066374, "dfl-h128": 107716102}

LEAKY_SLOPE = 0.1
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01 ** 2
SSIM_C2 = 0.03 ** 2


class Downscale(nn.Module):
    def __init__(self, cin, filters, kernel=5):
        super().__init__()
        self.conv = nn.Conv2d(cin, filters, kernel, stride=2, padding=kernel // 2)

    def forward(self, x):
        return F.leaky_relu(self.conv(x), LEAKY_SLOPE, inplace=True)


class Upscale(nn.Module):
    def __init__(self, cin, filters):
        super().__init__()
        self.conv = nn.Conv2d(cin, filters * 4, 3, padding=1)

    def forward(self, x):
        # LeakyReLU commutes with the shuffle; in place on the conv output, as fsc.
        return F.pixel_shuffle(F.leaky_relu(self.conv(x), LEAKY_SLOPE, inplace=True), 2)


class Encoder(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.latent_size = a["latent_size"]
        self.latent_channels = a["latent_channels"]
        downs, c = [], 3
        for f in a["encoder_filters"]:
            downs.append(Downscale(c, f))
            c = f
        self.downs = nn.Sequential(*downs)
        side = a["input_size"] >> len(a["encoder_filters"])
        self.dense0 = nn.Linear(side * side * c, a["dense_dim"])
        self.dense1 = nn.Linear(a["dense_dim"],
                                self.latent_size * self.latent_size * self.latent_channels)
        self.upscale = Upscale(self.latent_channels, a["encoder_upscale"])

    def forward(self, x):
        y = self.downs(x)
        channels_last = y.is_contiguous(memory_format=torch.channels_last) and \
            not y.is_contiguous()
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        y = y.permute(0, 2, 3, 1).flatten(1)  # NHWC flatten, as Keras (a view if channels-last)
        y = self.dense1(self.dense0(y))
        y = y.view(y.size(0), self.latent_size, self.latent_size, self.latent_channels)
        y = y.permute(0, 3, 1, 2).contiguous(memory_format=fmt)
        return self.upscale(y)


class Decoder(nn.Module):
    def __init__(self, a):
        super().__init__()
        ups, c = [], a["encoder_upscale"]
        for f in a["decoder_filters"]:
            ups.append(Upscale(c, f))
            c = f
        self.ups = nn.Sequential(*ups)
        self.out = nn.Conv2d(c, 3, 5, padding=2)

    def forward(self, x):
        return torch.sigmoid(self.out(self.ups(x)))


class FaceSwapModel(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.encoder = Encoder(a)
        self.decoder_a = Decoder(a)
        self.decoder_b = Decoder(a)
        for m in self.modules():  # Faceswap's init: He uniform convs, Glorot dense, zero biases
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=0.0, nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)


def gaussian_kernels(channels, device):
    d = torch.arange(SSIM_WINDOW, dtype=torch.float32, device=device) - SSIM_WINDOW // 2
    g = torch.exp(-d * d / (2 * SSIM_SIGMA ** 2))
    g = g / g.sum()
    rows = g.view(1, 1, SSIM_WINDOW, 1).repeat(channels, 1, 1, 1)
    cols = g.view(1, 1, 1, SSIM_WINDOW).repeat(channels, 1, 1, 1)
    return rows, cols


def ssim_mse_loss(pred, target, kernels, weight=None):
    """1 - SSIM + MSE in float32 outside autocast, optionally weighted per pixel (fsc's rule: the
    mean over pixels of weight x error; SSIM's weights cropped to the valid windows)."""
    with torch.autocast("cpu", enabled=False):
        x = pred.float()
        y = target.float()
        c = x.size(1)
        stacked = torch.cat([x, y, x * x, y * y, x * y], 1)
        rows, cols = kernels
        b = F.conv2d(F.conv2d(stacked, rows, groups=5 * c), cols, groups=5 * c)
        mu_x, mu_y, e_xx, e_yy, e_xy = b.chunk(5, 1)
        mu_xy = mu_x * mu_y
        mu_xx = mu_x * mu_x
        mu_yy = mu_y * mu_y
        cs = (2 * (e_xy - mu_xy) + SSIM_C2) / ((e_xx - mu_xx) + (e_yy - mu_yy) + SSIM_C2)
        ssim = (2 * mu_xy + SSIM_C1) / (mu_xx + mu_yy + SSIM_C1) * cs
        ssim_err = 1 - ssim
        sq_err = (x - y).square()
        if weight is None:
            return ssim_err.mean() + sq_err.mean()
        h = SSIM_WINDOW // 2
        w_crop = weight[:, :, h:h + ssim_err.size(2), h:h + ssim_err.size(3)]
        return (ssim_err * w_crop).mean() + (sq_err * weight).mean()


def face_weight_map(size):
    """A fixed 1 x 1 x S x S weight map: a face ellipse, eyes x3, mouth x2 (as fsc's masked loss
    with Faceswap's multipliers; the shape does not matter for speed)."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size),
                            indexing="ij")
    w = ((xx / 0.8) ** 2 + (yy / 0.95) ** 2 <= 1).float()
    eyes = (((xx - 0.35) ** 2 + (yy + 0.25) ** 2) < 0.02) | \
        (((xx + 0.35) ** 2 + (yy + 0.25) ** 2) < 0.02)
    mouth = ((xx / 0.4) ** 2 + ((yy - 0.5) / 0.15) ** 2) <= 1
    w = w * (1 + 2 * eyes.float() + 1 * mouth.float())
    return w.view(1, 1, size, size)


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def step_flops(a, batch):
    """Analytic FLOPs of one training step: forward 2·MACs for every conv and dense layer, backward
    2x forward (gradients of inputs and weights), the encoder on 2N faces and each decoder on N."""
    s = a["input_size"]
    enc = 0
    c = 3
    for f in a["encoder_filters"]:
        s //= 2
        enc += s * s * f * c * 25
        c = f
    flat = s * s * c
    latent = a["latent_size"] ** 2 * a["latent_channels"]
    enc += flat * a["dense_dim"] + a["dense_dim"] * latent
    s = a["latent_size"]
    enc += s * s * a["encoder_upscale"] * 4 * a["latent_channels"] * 9
    s *= 2
    dec, c = 0, a["encoder_upscale"]
    for f in a["decoder_filters"]:
        dec += s * s * f * 4 * c * 9
        c = f
        s *= 2
    dec += s * s * 3 * c * 25
    forward_macs = 2 * batch * enc + 2 * batch * dec  # encoder: 2N faces; each decoder: N
    forward = 2 * forward_macs
    return 3 * forward  # forward + backward (2x forward)


def measure_gemm(threads, size=2048, seconds=2.0):
    """The machine's dense-math ceiling at `threads` threads, fp32 and bf16, best of runs:
    a square torch.mm (the BLAS / oneDNN matmul) and a channels-last 3x3 convolution through
    oneDNN, the kernels the training step runs (32 x 1024 x 16 x 16 -> 1024)."""
    torch.set_num_threads(threads)

    def best_seconds(fn):
        fn()  # warm-up
        best, runs = math.inf, 0
        deadline = time.perf_counter() + seconds
        while runs < 3 or time.perf_counter() < deadline:
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
            runs += 1
        return best

    out = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.rand(size, size).to(dtype)
        b = torch.rand(size, size).to(dtype)
        c = torch.empty(size, size, dtype=dtype)
        out[name + "_gemm_gflops"] = 2 * size ** 3 / best_seconds(
            lambda: torch.mm(a, b, out=c)) / 1e9
        x = torch.rand(32, 1024, 16, 16).to(dtype).contiguous(memory_format=torch.channels_last)
        w = (torch.rand(1024, 1024, 3, 3) * 0.01).to(dtype).contiguous(
            memory_format=torch.channels_last)
        flops = 2 * 32 * 16 * 16 * 1024 * 1024 * 9
        with torch.no_grad():
            out[name + "_conv_gflops"] = flops / best_seconds(
                lambda: F.conv2d(x, w, padding=1)) / 1e9
    out["gemm_size"] = size
    out["threads"] = threads
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="original", choices=sorted(ARCHITECTURES))
    p.add_argument("--batch", type=int, default=16, help="faces per side per step")
    p.add_argument("--iterations", type=int, default=5, help="timed steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--weighted", action="store_true", help="masked loss with eye/mouth weights")
    p.add_argument("--adam", default="foreach", choices=["foreach", "single"])
    p.add_argument("--encoder", default="joint", choices=["joint", "split"],
                   help="joint: A and B through the encoder as one 2N batch (fsc's step); "
                   "split: one encoder pass per side")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--params", action="store_true", help="print parameters and GFLOP/step only")
    p.add_argument("--gemm", action="store_true", help="measure matmul GFLOP/s only")
    p.add_argument("--gemm-size", type=int, default=2048)
    args = p.parse_args()

    if args.gemm:
        print(json.dumps(measure_gemm(args.threads, args.gemm_size)))
        return 0

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    a = ARCHITECTURES[args.model]
    model = FaceSwapModel(a)
    params = count_params(model)
    flops = step_flops(a, args.batch)
    expected = EXPECTED_PARAMS[args.model]
    if params != expected:
        print(f"train_peer: {args.model} has {params} parameters, fsc's has {expected}",
              file=sys.stderr)
        return 1
    if args.params:
        print(json.dumps({"model": args.model, "params": params, "batch": args.batch,
                          "gflop_per_step": flops / 1e9}))
        return 0

    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-5, betas=(0.9, 0.999), eps=1e-7,
                                 foreach=(args.adam == "foreach"))
    s = a["input_size"]
    n = args.batch
    # Random faces (uniform 0..1), made before timing; a few distinct batches in rotation.
    batches = [tuple(torch.rand(n, 3, s, s).contiguous(memory_format=fmt) for _ in range(4))
               for _ in range(2)]
    kernels = gaussian_kernels(5 * 3, torch.device("cpu"))  # x, y, x², y², xy
    weight = face_weight_map(s) if args.weighted else None
    bf16 = args.precision == "bf16"

    joint = args.encoder == "joint"

    def step(i):
        warped_a, target_a, warped_b, target_b = batches[i % len(batches)]
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            if joint:  # as fsc: one 2N batch through the shared encoder, the latent split
                latent = model.encoder(torch.cat([warped_a, warped_b]).contiguous(
                    memory_format=fmt))
                pred_a = model.decoder_a(latent[:n])
                pred_b = model.decoder_b(latent[n:])
            else:
                pred_a = model.decoder_a(model.encoder(warped_a))
                pred_b = model.decoder_b(model.encoder(warped_b))
        loss = ssim_mse_loss(pred_a, target_a, kernels, weight) + \
            ssim_mse_loss(pred_b, target_b, kernels, weight)
        loss.backward()
        optimizer.step()
        return loss

    for i in range(args.warmup):
        step(i)
    times = []
    loss = None
    for i in range(args.iterations):
        t0 = time.perf_counter()
        loss = step(i)
        times.append(time.perf_counter() - t0)
    total = sum(times)
    step_seconds = total / len(times)
    result = {
        "examples_per_sec": 2 * n * len(times) / total,
        "step_seconds": step_seconds,
        "best_step_seconds": min(times),
        "params": params,
        "gflop_per_step": flops / 1e9,
        "gflops": flops / step_seconds / 1e9,
        "model": args.model,
        "batch": n,
        "iterations": args.iterations,
        "threads": args.threads,
        "precision": args.precision,
        "channels_last": args.channels_last,
        "weighted": args.weighted,
        "adam": args.adam,
        "encoder": args.encoder,
        "loss": float(loss),
        "torch": torch.__version__,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
