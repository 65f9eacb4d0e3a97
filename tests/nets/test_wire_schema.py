"""Wire format, schema codec and the .pb.gz reader/writer on the real Maia files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from lcpipe.nets import schema, wire
from lcpipe.nets.lc0net import Lc0Net, NetFileError, read_net


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31 - 1, 2**32 - 1, 2**63 - 1])
def test_varint_round_trip(value):
    data = wire.encode_varint(value)
    assert wire.decode_varint(data, 0) == (value, len(data))


def test_negative_int32_is_ten_bytes_and_decodes_back():
    data = wire.field_varint(2, -5)
    msg = schema.decode("BackendCache", data)
    assert msg["x"] == -5


def test_packed_and_unpacked_dims_both_decode():
    unpacked = wire.field_varint(5, 3) + wire.field_varint(5, 64)
    packed = wire.field_packed_varints(5, [3, 64])
    assert schema.decode("Layer", unpacked)["dims"] == [3, 64]
    assert schema.decode("Layer", packed)["dims"] == [3, 64]


def test_unknown_fields_survive_a_round_trip():
    data = wire.field_varint(1, 0) + wire.field_varint(99, 7) + wire.field_bytes(98, b"xyz")
    msg = schema.decode("EngineVersion", data)
    assert msg["_unknown"] == [(99, wire.VARINT, 7), (98, wire.LEN, b"xyz")]
    again = schema.decode("EngineVersion", schema.encode("EngineVersion", msg))
    assert again["major"] == 0
    assert sorted(again["_unknown"]) == sorted(msg["_unknown"])  # written in field-number order


def test_truncated_message_is_a_clear_error():
    data = wire.field_bytes(3, b"\x00" * 10)[:-3]
    with pytest.raises(wire.WireError, match="runs past the end"):
        schema.decode("Layer", data)


def test_wrong_wire_type_is_rejected():
    with pytest.raises(wire.WireError, match="wire type"):
        schema.decode("Net", wire.field_varint(10, 1))  # weights must be length-delimited


@pytest.mark.parametrize("name", ["maia-1100", "maia-1900"])
def test_maia_decodes_and_re_encodes_byte_identically(lc0_fixtures, name):
    raw = gzip.decompress((lc0_fixtures / "nets" / f"{name}.pb.gz").read_bytes())
    net = Lc0Net.from_bytes(raw)
    assert net.to_bytes() == raw
    assert net.network_format == {"input": 1, "output": 2, "network": 4, "policy": 2, "value": 2}
    assert net.training_params["training_steps"] == 400000
    assert net.min_version == (0, 21, 0)
    w = net.weights
    assert len(w["residual"]) == 6
    assert w["input"]["weights"].size == 64 * 112 * 9
    assert w["residual"][0]["se"]["w1"].size == 8 * 64
    assert w["policy"]["biases"].size == 80
    assert "moves_left" not in w


def test_maia_reads_through_the_gzip_file(lc0_fixtures, tmp_path):
    net = read_net(lc0_fixtures / "nets" / "maia-1900.pb.gz")
    out = net.write(tmp_path / "copy.pb.gz")
    again = read_net(out)
    for (pa, a), (pb, b) in zip(net.iter_layers(), again.iter_layers()):
        assert pa == pb
        np.testing.assert_array_equal(a.values, b.values)
    assert list(tmp_path.iterdir()) == [out]  # no temp file left behind


def test_bad_magic_and_garbage_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.pb.gz"
    bad.write_bytes(gzip.compress(wire.field_fixed32(1, 0x1234)))
    with pytest.raises(NetFileError, match="bad magic"):
        read_net(bad)
    junk = tmp_path / "junk.pb.gz"
    junk.write_bytes(gzip.compress(b"\xff\xff\xff"))
    with pytest.raises(NetFileError, match="not an lc0 network"):
        read_net(junk)
    text = tmp_path / "text.txt"
    text.write_bytes(b"2\n1 2 3\n")
    with pytest.raises(NetFileError, match="text-format"):
        read_net(text)


def test_upgrade_of_old_files_follows_lc0(lc0_fixtures):
    raw = gzip.decompress((lc0_fixtures / "nets" / "maia-1900.pb.gz").read_bytes())
    net = Lc0Net.from_bytes(raw)
    net.has_network_format = False
    net.network_format = {}
    old = Lc0Net.from_bytes(net.to_bytes())
    assert not old.has_network_format
    notes = old.upgrade()
    assert old.network_format == {"input": 1, "output": 1, "network": 3, "value": 1, "policy": 1}
    assert notes
    se = Lc0Net.from_bytes(raw)
    se.network_format = {"input": 1, "network": 2}
    se.upgrade()
    assert se.network_format["network"] == 4 and se.network_format["policy"] == 1
