"""Building blocks shared by the residual and the transformer bodies.

Activations follow lc0's definitions (ActivationFunction in the engine):
mish = x*tanh(softplus(x)), swish = x*sigmoid(x), relu_2 = relu(x)^2, selu
with the standard constants. BatchNorm is our own so that batch
renormalisation and ghost (virtual) batches are available and its parameters
have stable names (scale, bias / batch_stats mean, var).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

F32 = jnp.float32


def mish(x):
    """x * tanh(softplus(x)) with one exp: tanh(log(1+e)) = n / (n + 2), n = e (e + 2).

    Same function (to f32 rounding), a third of the transcendental work on CPU.
    """
    if x.dtype != jnp.float32 and x.dtype != jnp.float64:  # e*e overflows half types
        return mish(x.astype(jnp.float32)).astype(x.dtype)
    e = jnp.exp(jnp.minimum(x, 20.0))  # beyond 20 the ratio is 1 in f32
    n = e * (e + 2)
    return x * (n / (n + 2))


def relu_2(x):
    r = jax.nn.relu(x)
    return r * r


ACTIVATIONS: dict[str, Callable] = {
    "mish": mish,
    "relu": jax.nn.relu,
    "swish": jax.nn.silu,
    "relu_2": relu_2,
    "selu": jax.nn.selu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "none": lambda x: x,
}
ALIASES = {"silu": "swish", "relu2": "relu_2", "sqrrelu": "relu_2", "identity": "none", "linear": "none"}


def activation(name: str) -> Callable:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[key]


def glorot(scale: float = 1.0):
    """Glorot-normal initialiser with an extra gain (DeepNorm's beta)."""
    return nn.initializers.variance_scaling(scale * scale, "fan_avg", "truncated_normal")


@jax.custom_vjp
def matmul(x, w):
    """x[..., K] @ w[K, M], with a backward pass laid out for the CPU's matmul library.

    Autodiff's weight gradient x^T g contracts over all the rows; XLA:CPU folds
    the transpose into the dot, stores g transposed and runs the product through
    its slow generic path (a third of a transformer step on 2 cores). Writing
    x^T out behind an optimization barrier gives a plain row-major product the
    fast (YNNPACK) path takes: about 11% less CPU per step. Same values.
    """
    return x @ w


def _matmul_fwd(x, w):
    return x @ w, (x, w)


def _matmul_bwd(res, g):
    x, w = res
    k, m = w.shape
    # The first barrier makes the copy read the saved x: otherwise XLA recomputes x's producer (an
    # activation, a layer norm's scale and shift) inside the transpose, reading its inputs in
    # column order (4-6% of the step's CPU time in same-run A/B runs).
    x = jax.lax.optimization_barrier(x)
    xt = jax.lax.optimization_barrier(x.reshape(-1, k).T)  # a real [K, rows] copy, kept out of the dot
    dw = jnp.dot(xt, g.reshape(-1, m), preferred_element_type=F32)
    return g @ w.T.astype(g.dtype), dw.astype(w.dtype)


matmul.defvjp(_matmul_fwd, _matmul_bwd)


class Dense(nn.Module):
    """flax.linen.Dense (same parameter names and dtype rules) on `matmul`."""

    features: int
    use_bias: bool = True
    dtype: Any = F32
    kernel_init: Callable = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", self.kernel_init, (x.shape[-1], self.features), F32)
        y = matmul(x.astype(self.dtype), kernel.astype(self.dtype))
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,), F32).astype(self.dtype)
        return y


def dense(features: int, name: str, dtype: Any, use_bias: bool = True, gain: float = 1.0) -> Dense:
    return Dense(features, use_bias=use_bias, dtype=dtype, kernel_init=glorot(gain), name=name)


@partial(jax.custom_vjp, nondiff_argnums=(3,))
def layer_norm(x, scale, bias, epsilon):
    """(x - mean) / sqrt(var + eps) * scale + bias over the last axis, in f32.

    The backward pass is written out (one pass over the saved normalised
    values) rather than differentiated through mean and variance, which on
    XLA:CPU costs several extra passes and broadcasts per layer norm.
    """
    return _layer_norm_fwd(x, scale, bias, epsilon)[0]


def _layer_norm_fwd(x, scale, bias, epsilon):
    x32 = x.astype(F32)
    mean = x32.mean(-1, keepdims=True)
    centered = x32 - mean
    inv = jax.lax.rsqrt(jnp.square(centered).mean(-1, keepdims=True) + epsilon)
    xhat = centered * inv
    return (xhat * scale + bias).astype(x.dtype), (xhat, inv, scale)


def _layer_norm_bwd(epsilon, res, g):
    xhat, inv, scale = res
    g32 = g.astype(F32)  # g has y's dtype, which is x's
    rows = tuple(range(g32.ndim - 1))
    gx = g32 * scale
    dx = inv * (gx - gx.mean(-1, keepdims=True) - xhat * (gx * xhat).mean(-1, keepdims=True))
    return dx.astype(g.dtype), (g32 * xhat).sum(rows), g32.sum(rows)


layer_norm.defvjp(_layer_norm_fwd, _layer_norm_bwd)


class LayerNorm(nn.Module):
    """Layer norm over the last axis in f32 (lc0: mean/var over channels)."""

    epsilon: float = 1e-6

    @nn.compact
    def __call__(self, x):
        c = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (c,), F32)
        bias = self.param("bias", nn.initializers.zeros, (c,), F32)
        return layer_norm(x, scale, bias, self.epsilon)


class BatchNorm(nn.Module):
    """Batch norm over all axes but the last (NHWC), with options.

    ghost > 0: statistics per virtual batch of that many samples (when the
    batch divides evenly), running statistics from their average.
    renorm: batch renormalisation (Ioffe 2017): r and d, clipped to rmax/dmax
    and held constant for the gradient, correct towards the running moments.
    Inference uses the running moments: y = scale*(x-mean)/sqrt(var+eps)+bias,
    which the exporter folds into lc0's conv bias / bn fields.
    """

    epsilon: float = 1e-5
    momentum: float = 0.99
    renorm: bool = False
    rmax: float = 3.0
    dmax: float = 5.0
    ghost: int = 0

    @nn.compact
    def __call__(self, x, train: bool):
        c = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (c,), F32)
        bias = self.param("bias", nn.initializers.zeros, (c,), F32)
        ra_mean = self.variable("batch_stats", "mean", lambda: jnp.zeros((c,), F32))
        ra_var = self.variable("batch_stats", "var", lambda: jnp.ones((c,), F32))
        x32 = x.astype(F32)
        if not train:
            y = (x32 - ra_mean.value) * jax.lax.rsqrt(ra_var.value + self.epsilon)
            return (y * scale + bias).astype(x.dtype)
        b = x32.shape[0]
        g = self.ghost if (self.ghost and b > self.ghost and b % self.ghost == 0) else b
        xs = x32.reshape((b // g, g) + x32.shape[1:])
        axes = tuple(range(1, xs.ndim - 1))
        mean = xs.mean(axes, keepdims=True)
        var = jnp.square(xs - mean).mean(axes, keepdims=True)
        inv = jax.lax.rsqrt(var + self.epsilon)
        y = (xs - mean) * inv
        if self.renorm:
            sigma = jnp.sqrt(ra_var.value + self.epsilon)
            r = jax.lax.stop_gradient(
                jnp.clip(jnp.sqrt(var + self.epsilon) / sigma, 1.0 / self.rmax, self.rmax)
            )
            d = jax.lax.stop_gradient(jnp.clip((mean - ra_mean.value) / sigma, -self.dmax, self.dmax))
            y = y * r + d
        y = y.reshape(x32.shape)
        if not self.is_initializing():
            m = self.momentum
            flat_axes = tuple(range(mean.ndim - 1))
            ra_mean.value = m * ra_mean.value + (1 - m) * mean.mean(flat_axes)
            ra_var.value = m * ra_var.value + (1 - m) * var.mean(flat_axes)
        return (y * scale + bias).astype(x.dtype)


class ConvBN(nn.Module):
    """conv (no bias) -> batch norm -> activation; names: conv/kernel, bn/*."""

    features: int
    kernel: int
    act: str
    bn: dict
    dtype: Any = F32
    activate: bool = True

    @nn.compact
    def __call__(self, x, train: bool):
        x = nn.Conv(
            self.features,
            (self.kernel, self.kernel),
            padding="SAME",
            use_bias=False,
            dtype=self.dtype,
            param_dtype=F32,
            kernel_init=glorot(),
            name="conv",
        )(x)
        x = BatchNorm(name="bn", **self.bn)(x, train)
        return activation(self.act)(x) if self.activate else x


def nchw_flatten(x):
    """[B,8,8,C] (NHWC) -> [B, C*64] in lc0's channel-major order (c*64 + square)."""
    b, h, w, c = x.shape
    return jnp.transpose(x, (0, 3, 1, 2)).reshape(b, c * h * w)
