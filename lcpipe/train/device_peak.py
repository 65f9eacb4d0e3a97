"""Peak dense FLOP/s of accelerators, for model FLOPs utilisation (MFU).

Published dense (no sparsity) tensor-core figures, TFLOP/s per device. "float32" is the TF32
tensor-core rate: XLA runs float32 matmuls on NVIDIA GPUs as TF32 at JAX's default matmul
precision. A device not listed has no known peak: MFU is not reported (benchmarks take
--peak-tflops instead). The first matching name wins, so more specific names come first.
"""

from __future__ import annotations

# (substring of jax's device_kind, {precision: dense TFLOP/s})
PEAK_TFLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"bfloat16": 756.0, "float16": 756.0, "float32": 378.0}),
    ("H100 NVL", {"bfloat16": 835.0, "float16": 835.0, "float32": 418.0}),
    ("H100", {"bfloat16": 989.0, "float16": 989.0, "float32": 495.0}),  # SXM
    ("GH200", {"bfloat16": 989.0, "float16": 989.0, "float32": 495.0}),
    ("H200", {"bfloat16": 989.0, "float16": 989.0, "float32": 495.0}),
    ("B200", {"bfloat16": 2250.0, "float16": 2250.0, "float32": 1100.0}),
    ("A100", {"bfloat16": 312.0, "float16": 312.0, "float32": 156.0}),
    ("L40S", {"bfloat16": 362.0, "float16": 362.0, "float32": 183.0}),
    ("L4", {"bfloat16": 121.0, "float16": 121.0, "float32": 60.0}),
    ("RTX 4090", {"bfloat16": 165.0, "float16": 165.0, "float32": 83.0}),
    ("RTX 3090", {"bfloat16": 71.0, "float16": 71.0, "float32": 36.0}),
)


def peak_flops(device_kind: str, precision: str) -> float | None:
    """Peak FLOP/s of one device of ``device_kind`` at ``precision``; None when unknown."""
    for name, peaks in PEAK_TFLOPS:
        if name in device_kind:
            tflops = peaks.get(precision)
            return tflops * 1e12 if tflops else None
    return None


def mfu(flops_per_step: float, steps_per_s: float, devices: list, precision: str) -> float | None:
    """Achieved FLOP/s over the devices' combined peak (None when a device's peak is unknown)."""
    peaks = [peak_flops(str(getattr(d, "device_kind", "")), precision) for d in devices]
    if not devices or any(p is None for p in peaks):
        return None
    return flops_per_step * steps_per_s / sum(p for p in peaks if p is not None)
