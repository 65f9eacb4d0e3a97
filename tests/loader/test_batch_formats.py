"""Native batches carry each row's input format, so the trainer can refuse data not in its model's."""

from __future__ import annotations

import time

import numpy as np
from loader_testlib import build_chain, in_order

from lcpipe.loader.segment import batch_from_arrays


def test_batches_of_mixed_real_data_name_every_rows_format(lc0_fixtures):
    tars = [lc0_fixtures / "lc0-selfplay" / f"selfplay-fmt{f}.tar" for f in (1, 5)]
    seg, qin, qout = build_chain(in_order())
    seg.start()
    try:
        for tar in tars:
            while seg.push_path(qin, str(tar), 0.1) == 0:
                pass
        seg.close_input(qin)
        formats = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, arrays = seg.pop_batch(qout, 0.1)
            if status < 0:
                break
            if status == 1:
                batch = batch_from_arrays(arrays)
                assert batch.input_formats.shape == (len(batch),)
                formats.append(np.array(batch.input_formats))
    finally:
        seg.stop()
    formats = np.concatenate(formats)
    assert len(formats) == 2 * 7029  # every frame of both tars, in file order
    assert (formats[:7029] == 1).all() and (formats[7029:] == 5).all()
