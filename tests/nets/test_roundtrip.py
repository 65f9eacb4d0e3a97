"""Export -> .pb.gz -> import for every architecture and encoding, bounds checked;
Maia import -> describe -> re-export."""

from __future__ import annotations

import numpy as np
import pytest

from lcpipe.nets.describe import describe
from lcpipe.nets.export import export_snapshot, snapshot_to_net
from lcpipe.nets.import_ import UnsupportedNetwork, import_net
from lcpipe.nets.layers import max_error
from lcpipe.nets.lc0net import Lc0Net, read_net
from lcpipe.nets.schema import Enc
from lcpipe.types import NetworkSnapshot

SMALL_HEADS = dict(value_channels=8, value_hidden=16, moves_left_channels=4, moves_left_hidden=8)
CONFIGS = {
    "resnet_se_conv_mish_mlh": dict(
        body="resnet",
        filters=16,
        blocks=2,
        se_ratio=4,
        policy_type="conv",
        activation="mish",
        moves_left=True,
        **SMALL_HEADS,
    ),
    "resnet_classical_relu": dict(
        body="resnet",
        filters=16,
        blocks=1,
        se_ratio=0,
        policy_type="classical",
        policy_channels=8,
        activation="relu",
        moves_left=False,
        **SMALL_HEADS,
    ),
    "resnet_attention_policy": dict(
        body="resnet",
        filters=16,
        blocks=1,
        se_ratio=2,
        policy_type="attention",
        policy_embedding=16,
        policy_d_model=8,
        activation="mish",
        moves_left=True,
        **SMALL_HEADS,
    ),
    "transformer_smolgen_multihead": dict(
        body="transformer",
        d_model=32,
        embedding_dense=8,
        embedding_dff=32,
        encoder_layers=2,
        heads=4,
        dff=48,
        smolgen=True,
        smolgen_hidden_channels=4,
        smolgen_hidden_size=16,
        smolgen_gen_size=8,
        ffn_activation="relu_2",
        smolgen_activation="swish",
        policy_heads=["vanilla", "optimistic", "soft", "opponent", "next"],
        value_heads=["winner", "q", "st"],
        value_error=["q"],
        value_categorical=5,
        moves_left=True,
        policy_embedding=16,
        policy_d_model=16,
        **SMALL_HEADS,
    ),
    "transformer_plain": dict(
        body="transformer",
        d_model=32,
        embedding_dense=4,
        embedding_dff=16,
        encoder_layers=1,
        heads=2,
        dff=32,
        smolgen=False,
        activation="relu",
        moves_left=False,
        **SMALL_HEADS,
    ),
}
EXPECTED_FLAGS = {
    "resnet_se_conv_mish_mlh": dict(network=4, policy=2, moves_left=1, default_activation=1),
    "resnet_classical_relu": dict(network=3, policy=1, moves_left=0, default_activation=0),
    "resnet_attention_policy": dict(network=4, policy=3, moves_left=1, default_activation=1),
    "transformer_smolgen_multihead": dict(
        network=7,
        policy=3,
        moves_left=1,
        default_activation=1,
        input_embedding=2,
        ffn_activation=8,
        smolgen_activation=7,
    ),
    "transformer_plain": dict(
        network=7, policy=3, moves_left=0, default_activation=0, input_embedding=2, ffn_activation=0
    ),
}
ENCODINGS = ["linear16", "float16", "bfloat16", "float32"]


def _leaves(tree, prefix=""):
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}/{k}")
        else:
            yield f"{prefix}/{k}", np.asarray(v)


@pytest.fixture(scope="module")
def models():
    import jax

    from lcpipe.model import build_model

    out = {}
    for i, (name, cfg) in enumerate(CONFIGS.items()):
        model = build_model(cfg)
        x = np.random.default_rng(i).random((8, 112, 8, 8)).astype(np.float32).round()
        x[:, 109] = np.random.default_rng(i).integers(0, 100, 8)[:, None, None] / 99.0
        init = jax.jit(
            lambda key, z, m=model: m.init(key, z, train=False)
        )  # one compile beats eager dispatch
        variables = jax.tree.map(np.asarray, init(jax.random.PRNGKey(i), x))
        variables = {k: dict(v) for k, v in variables.items()}
        rng = np.random.default_rng(100 + i)
        if "batch_stats" in variables:  # non-trivial running statistics
            variables["batch_stats"] = jax.tree.map(
                lambda a, rng=rng: (rng.random(a.shape) * 0.5 + 0.5).astype(np.float32),
                variables["batch_stats"],
            )
        apply = jax.jit(lambda v, z, m=model: m.apply(v, z, train=False))
        out[name] = (model, variables, x, apply)
    return out


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("name", list(CONFIGS))
def test_export_import_round_trip(models, tmp_path, name, encoding):
    model, variables, x, apply = models[name]
    snap = NetworkSnapshot(step=1234, model=dict(model.cfg), params=variables, input_format=1)
    path = export_snapshot(snap, tmp_path / "net.pb.gz", encoding)
    net = read_net(path)
    enc = {
        "linear16": Enc.LINEAR16,
        "float16": Enc.FLOAT16,
        "bfloat16": Enc.BFLOAT16,
        "float32": Enc.FLOAT32,
    }[encoding]
    assert net.magic == 0x1C0 and net.training_params["training_steps"] == 1234
    for k, v in EXPECTED_FLAGS[name].items():
        assert net.network_format.get(k, 0) == v, k
    assert net.network_format["input"] == 1 and net.network_format["value"] == 2
    assert all(layer.encoding == enc for _, layer in net.iter_layers())
    if encoding != "linear16":
        assert net.min_version >= (0, 33, 0)
    if name.startswith("transformer"):
        assert net.weights["headcount"] == CONFIGS[name]["heads"]
        assert net.min_version >= (0, 31, 0)
    # the encoded layers decode to the exported float values within the encoding's bound
    exact, _ = snapshot_to_net(snap, "float32")
    decoded = dict(net.iter_layers())
    assert decoded.keys() == dict(exact.iter_layers()).keys()
    for pa, a in exact.iter_layers():
        assert np.abs(a.values - decoded[pa].values).max() <= max_error(a.values, enc), pa
    # import gives back the same configuration and parameters within the bound
    imp = import_net(path)
    for key, value in CONFIGS[name].items():
        if key.startswith("moves_left_") and not CONFIGS[name]["moves_left"]:
            continue  # no head in the file, nothing to derive them from
        assert imp.model[key] == value, key
    assert imp.step == 1234
    exported = {p: layer.values for p, layer in exact.iter_layers()}
    got = dict(_leaves(imp.variables))
    want = dict(_leaves(variables))
    assert got.keys() == want.keys()
    worst_rel = 0.0
    for path_, w in want.items():
        g = got[path_]
        assert g.shape == w.shape, path_
        # plane-109 weights are stored /99: their error is 99x that of the stored layer
        lc0_layer = {
            "/params/body/input/conv/kernel": "input.weights",
            "/params/body/embedding/dense/kernel": "ip_emb_w",
        }.get(path_)
        if lc0_layer:
            bound = max(max_error(w, enc), 99.0 * max_error(exported[lc0_layer], enc))
        else:
            bound = max_error(w, enc)
        bound += 1e-6 * float(np.abs(w).max())
        err = float(np.abs(g - w).max())
        assert err <= bound, (path_, err, bound)
        worst_rel = max(worst_rel, err / (float(np.abs(w).max()) + 1e-12))
    assert exported  # (used for the per-layer check above)
    # and the model computes the same thing
    a = apply(variables, x)
    b = apply(imp.variables, x)
    tol = {"linear16": 2e-3, "float16": 2e-3, "bfloat16": 3e-2, "float32": 1e-5}[encoding]
    for head in model.cfg["policy_heads"]:
        pa, pb = np.asarray(a["policy"][head]), np.asarray(b["policy"][head])
        assert np.abs(pa - pb).max() <= tol * max(1.0, np.abs(pa).max()), head
    for head in model.cfg["value_heads"]:
        wa, wb = np.asarray(a["value"][head]["wdl"]), np.asarray(b["value"][head]["wdl"])
        assert np.abs(wa - wb).max() <= tol * max(1.0, np.abs(wa).max()), head


def test_rule50_plane_scaled_on_export(models):
    model, variables, _, _ = models["resnet_se_conv_mish_mlh"]
    ours = variables["params"]["body"]["input"]["conv"]["kernel"]
    for fmt, factor in ((1, 99.0), (3, 99.0), (4, 1.0), (5, 1.0)):
        snap = NetworkSnapshot(step=1, model=dict(model.cfg), params=variables, input_format=fmt)
        net, _ = snapshot_to_net(snap, "float32")
        lc0 = net.weights["input"]["weights"].values.reshape(16, 112, 3, 3)
        np.testing.assert_allclose(lc0[:, 109] * factor, ours[:, :, 109, :].transpose(2, 0, 1), rtol=1e-6)
        np.testing.assert_array_equal(lc0[:, 108], ours[:, :, 108, :].transpose(2, 0, 1))
        assert net.network_format["input"] == fmt


def _engine_attention_policy(tokens, emb_w, emb_b, head, act):
    """What lc0 computes for one attention policy head from the file's layers: the
    (shared) embedding ip_pol_w/b [Pe][D], then ip2 (Q), ip3 (K) [Pd][Pe], ip4 [4][Pd]."""
    from lcpipe.lc0.policy import ATTENTION_GATHER

    def fc(x, w, b):
        return x @ w.values.reshape(b.size, -1).T + b.values

    h = fc(tokens, emb_w, emb_b)
    h = h * np.tanh(np.log1p(np.exp(h))) if act == "mish" else np.maximum(h, 0)
    q = fc(h, head["ip2_pol_w"], head["ip2_pol_b"])
    k = fc(h, head["ip3_pol_w"], head["ip3_pol_b"])
    pd = q.shape[-1]
    logits = q @ np.swapaxes(k, 1, 2) / np.sqrt(pd)  # [B, from, to]
    ppo = head["ip4_pol_w"].values.reshape(4, pd)
    offs = k[:, 56:64, :] @ ppo.T  # [B, to-file, q r b n]
    promo = np.empty((len(tokens), 8, 8, 3))
    for piece in range(3):  # from-file, to-file, piece; knight offset added to each
        promo[..., piece] = logits[:, 48:56, 56:64] + (offs[:, :, piece] + offs[:, :, 3])[:, None, :]
    full = np.concatenate([logits.reshape(len(tokens), -1), promo.reshape(len(tokens), -1)], axis=1)
    return full[:, ATTENTION_GATHER]


def test_every_policy_head_runs_from_the_files_shared_embedding(models):
    """Each lc0 policy head (vanilla, optimistic_st, soft, opponent; 'next' in policy_head_map),
    computed as the engine does from the exported layers, gives our head's logits."""
    model, variables, x, apply = models["transformer_smolgen_multihead"]
    net, _ = snapshot_to_net(NetworkSnapshot(step=1, model=dict(model.cfg), params=variables), "float32")
    ph = net.weights["policy_heads"]
    assert set(ph) == {
        "ip_pol_w",
        "ip_pol_b",
        "vanilla",
        "optimistic_st",
        "soft",
        "opponent",
        "policy_head_map",
    }
    assert [e["key"] for e in ph["policy_head_map"]] == ["next"]
    assert not any(
        k in ph[f] for f in ("vanilla", "optimistic_st", "soft", "opponent") for k in ("ip_pol_w", "ip_pol_b")
    )
    _, inter = model.apply(variables, x, train=False, capture_intermediates=lambda m, _: m.name == "body")
    tokens = np.asarray(inter["intermediates"]["body"]["__call__"][0], np.float64)
    out = apply(variables, x)
    lc0_heads = {
        "vanilla": ph["vanilla"],
        "optimistic": ph["optimistic_st"],
        "soft": ph["soft"],
        "opponent": ph["opponent"],
        "next": ph["policy_head_map"][0]["value"],
    }
    for ours, head in lc0_heads.items():
        ref = _engine_attention_policy(tokens, ph["ip_pol_w"], ph["ip_pol_b"], head, model.cfg["activation"])
        got = np.asarray(out["policy"][ours])
        assert np.abs(got - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max()), ours
    # the heads differ, so a swapped field would be seen
    assert np.abs(np.asarray(out["policy"]["opponent"]) - np.asarray(out["policy"]["next"])).max() > 1e-2


def test_a_head_with_its_own_embedding_is_refused(models, tmp_path):
    model, variables, _, _ = models["transformer_smolgen_multihead"]
    net, _ = snapshot_to_net(NetworkSnapshot(step=1, model=dict(model.cfg), params=variables), "float32")
    ph = net.weights["policy_heads"]
    # a copy of the shared embedding in a head changes nothing for the engine: accepted
    ph["soft"]["ip_pol_w"] = ph["ip_pol_w"]
    ph["soft"]["ip_pol_b"] = ph["ip_pol_b"]
    imp = import_net(Lc0Net.from_bytes(net.to_bytes("float32")))
    assert imp.model["policy_heads"] == CONFIGS["transformer_smolgen_multihead"]["policy_heads"]
    # a different one overrides the shared embedding for that head in lc0: not representable
    from lcpipe.nets.lc0net import Layer

    ph["soft"]["ip_pol_b"] = Layer(ph["ip_pol_b"].values + 1.0)
    with pytest.raises(UnsupportedNetwork, match="'soft' has its own embedding"):
        import_net(Lc0Net.from_bytes(net.to_bytes("float32")))


def test_maia_import_describe_reexport(lc0_fixtures, tmp_path):
    import jax

    from lcpipe.lc0.chunks import iter_games
    from lcpipe.lc0.tensors import frames_to_batch
    from lcpipe.model import build_model

    src = lc0_fixtures / "nets" / "maia-1100.pb.gz"
    original = read_net(src)
    text = describe(original)
    assert "blocks=6" in text and "filters=64" in text and "CONVOLUTION" in text and "868,355" in text
    imp = import_net(src)
    out = export_snapshot(imp.snapshot(), tmp_path / "maia.pb.gz")
    again = read_net(out)
    assert again.network_format == {**original.network_format, "moves_left": 0, "default_activation": 0}
    assert again.min_version == (0, 21, 0) and again.training_params["training_steps"] == 400000
    paths_a = [p for p, _ in original.iter_layers()]
    paths_b = [p for p, _ in again.iter_layers()]
    assert paths_a == paths_b
    for (p, a), (_, b) in zip(original.iter_layers(), again.iter_layers()):
        assert (
            np.abs(a.values - b.values).max()
            <= max_error(a.values, Enc.LINEAR16) + 1e-6 * np.abs(a.values).max()
        ), p
    # same policy top move on real positions
    frames = np.concatenate(
        [g for _, g in list(iter_games(lc0_fixtures / "lc0-selfplay" / "selfplay-fmt1.tar"))[:6]]
    )
    x = frames_to_batch(frames).inputs
    model = build_model(imp.model)
    pa = np.asarray(model.apply(imp.variables, x, train=False)["policy"]["vanilla"])
    pb = np.asarray(model.apply(import_net(out).variables, x, train=False)["policy"]["vanilla"])
    legal = frames["probabilities"] >= 0
    top_a = np.where(legal, pa, -np.inf).argmax(1)
    top_b = np.where(legal, pb, -np.inf).argmax(1)
    assert len(frames) > 300
    assert (top_a == top_b).all()
    assert jax.numpy.abs(pa - pb).max() < 1e-3


def test_unrepresentable_networks_name_the_feature(lc0_fixtures):
    net = read_net(lc0_fixtures / "nets" / "maia-1900.pb.gz")
    net.weights["residual"][3].pop("se")
    with pytest.raises(UnsupportedNetwork, match="squeeze-excitation in some residual blocks"):
        import_net(net)
    net = read_net(lc0_fixtures / "nets" / "maia-1900.pb.gz")
    net.network_format["policy"] = 3
    net.weights["ip_pol_w"] = net.weights["ip1_val_w"]
    net.weights["ip_pol_b"] = net.weights["ip1_val_b"]
    for k in ("ip2_pol_w", "ip2_pol_b", "ip3_pol_w", "ip3_pol_b", "ip4_pol_w"):
        net.weights[k] = net.weights["ip1_val_b"]
    net.weights["pol_encoder"] = [{}]
    with pytest.raises(UnsupportedNetwork, match="policy encoder layers"):
        import_net(net)
    net = read_net(lc0_fixtures / "nets" / "maia-1900.pb.gz")
    net.network_format.update(network=6, input_embedding=1)
    net.weights["residual"] = []
    with pytest.raises(UnsupportedNetwork, match="PE_MAP"):
        import_net(net)
    net.network_format["network"] = 5
    with pytest.raises(UnsupportedNetwork, match="ONNX"):
        import_net(net)


def test_classical_value_head_imports_as_wdl(lc0_fixtures):
    """An old tanh value head: q = tanh(v) exactly through the WDL softmax, d = 0."""
    import jax

    from lcpipe.nets.mapping import from_lc0

    net = read_net(lc0_fixtures / "nets" / "maia-1900.pb.gz")
    w2 = net.weights["ip2_val_w"].values.reshape(3, -1)
    b2 = net.weights["ip2_val_b"].values
    from lcpipe.nets.lc0net import Layer

    net.weights["ip2_val_w"] = Layer(w2[0] - w2[2])
    net.weights["ip2_val_b"] = Layer(b2[:1] - b2[2:])
    net.network_format.update(value=1, output=1)
    cfg, variables, notes = from_lc0(net)
    assert any("classical value head" in n for n in notes)
    from lcpipe.model import build_model

    x = np.zeros((2, 112, 8, 8), np.float32)
    x[:, 111] = 1
    out = build_model(cfg).apply(variables, x, train=False)
    wdl = np.asarray(jax.nn.softmax(out["value"]["winner"]["wdl"]))
    from lcpipe.nets.inputs import engine_planes
    from lcpipe.nets.reference import forward_classic

    ref = forward_classic(net, engine_planes(x, 1))
    np.testing.assert_allclose(wdl[:, 0] - wdl[:, 2], ref["q"], atol=1e-5)
    assert np.all(wdl[:, 1] < 1e-6)


def test_lc0net_object_round_trip_without_file(lc0_fixtures):
    net = read_net(lc0_fixtures / "nets" / "maia-1900.pb.gz")
    again = Lc0Net.from_bytes(net.to_bytes("bfloat16"))
    assert all(layer.encoding == Enc.BFLOAT16 for _, layer in again.iter_layers())
