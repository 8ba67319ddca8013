"""Standalone reproducer: oneDNN's 1x1 strided convolution, backward weights, NHWC input with
fewer than 16 channels, more than one thread -> writes past oneDNN's workspace, heap corruption.

    python bench/onednn_1x1_stride_nhwc.py [THREADS] [STEPS] [nhwc|nchw|no-onednn]

(Not a benchmark and not part of bench/run.py; nnlife's workaround and the findings are in
docs/known-issues.md.)

A Conv2d(1, 32, kernel_size=1, stride=2) on a (93, 1, 28, 28) batch whose channel stride is 1
(an NHWC image batch seen as NCHW, e.g. ``images.permute(0, 3, 1, 2)``): torch hands oneDNN an
nhwc source, oneDNN picks ``jit_1x1:avx512_core`` backward_weights with its "reduce to unit
stride" (rtus) copy, and the copy's write offset (``sp * ic_block``) runs past the per-thread
workspace (``is * ic``) when IC < ic_block, so it writes into whatever lies beyond. With 2 threads
this dies ("free(): invalid size", "corrupted size vs. prev_size", SIGSEGV) within a few hundred
steps on torch 2.14.1 (oneDNN 3.12) on an AVX-512 CPU; the gradients it returns before that are
right (the wild writes land in other memory). With 1 thread (at this size), ``nchw`` (the
standard channel stride: oneDNN's blocked path) or ``no-onednn`` (torch.backends.mkldnn.enabled
= False) it runs to the end. Imports torch only.
"""

import sys

import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
mode = sys.argv[3] if len(sys.argv) > 3 else "nhwc"
torch.set_num_threads(threads)
torch.backends.mkldnn.enabled = mode != "no-onednn"
gen = torch.Generator().manual_seed(0)
w = torch.randn(32, 1, 1, 1, generator=gen, requires_grad=True)
wrong = 0
for step in range(steps):
    x = torch.randn(93, 28, 28, 1, generator=gen).permute(0, 3, 1, 2)  # strides (784, 1, 28, 1)
    if mode == "nchw":
        x = torch.empty(93, 1, 28, 28).copy_(x)  # the same values, strides (784, 784, 28, 1)
    w.grad = None
    F.conv2d(x, w, stride=2).sum().backward()
    # d(sum of outputs)/dw[o] is the sum of the pixels the stride-2 1x1 kernel sees, for every o
    expected = x[:, :, ::2, ::2].double().sum().item()
    err = (w.grad.double().flatten() - expected).abs().max().item()
    if err > 1e-3 * max(1.0, abs(expected)):
        wrong += 1
        print(f"step {step}: weight gradient off by {err:.3g} (expected {expected:.4f})", flush=True)
print(
    f"{steps} steps, {wrong} wrong gradients; torch {torch.__version__}, {threads} thread(s), {mode}",
    flush=True,
)
