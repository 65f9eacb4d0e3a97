"""The hand-written backward passes (layers.matmul, layers.layer_norm) give
the gradients autodiff gives for the same formulas."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lcpipe.model.layers import layer_norm, matmul

RNG = np.random.default_rng(7)


def _normal(*shape, dtype=np.float32):
    return jnp.asarray(RNG.standard_normal(shape).astype(np.float32)).astype(dtype)


def _grads(fn, args, weights):
    """Gradients of sum(fn(*args) * weights) with respect to every argument."""
    return jax.grad(
        lambda *a: jnp.sum(fn(*a).astype(jnp.float32) * weights), argnums=tuple(range(len(args)))
    )(*args)


def _assert_close(got, want, tol):
    for g, w in zip(got, want, strict=True):
        g, w = np.asarray(g, np.float32), np.asarray(w, np.float32)
        assert g.shape == w.shape
        scale = max(1.0, float(np.abs(w).max()))
        assert float(np.abs(g - w).max()) <= tol * scale, float(np.abs(g - w).max())


def test_matmul_gradients():
    x, w = _normal(3, 64, 24), _normal(24, 40)
    weights = _normal(3, 64, 40)
    np.testing.assert_array_equal(np.asarray(matmul(x, w)), np.asarray(x @ w))
    _assert_close(_grads(matmul, (x, w), weights), _grads(lambda a, b: a @ b, (x, w), weights), 1e-5)


def test_layer_norm_gradients():
    x, scale, bias = _normal(5, 64, 32) * 3 + 1, _normal(32), _normal(32)
    weights = _normal(5, 64, 32)

    def plain(x, s, b):
        mean = x.mean(-1, keepdims=True)
        var = jnp.square(x - mean).mean(-1, keepdims=True)
        return (x - mean) / jnp.sqrt(var + 1e-3) * s + b

    ours = lambda x, s, b: layer_norm(x, s, b, 1e-3)
    np.testing.assert_allclose(np.asarray(ours(x, scale, bias)), np.asarray(plain(x, scale, bias)), atol=1e-5)
    _assert_close(_grads(ours, (x, scale, bias), weights), _grads(plain, (x, scale, bias), weights), 1e-4)
