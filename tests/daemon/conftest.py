"""The daemon tests drive a real `lcpipe daemon` subprocess (and in-process runs) on the core tests' toy stages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from daemon_testlib import DaemonProcess


@pytest.fixture
def daemon(tmp_path):
    d = DaemonProcess(tmp_path)
    yield d
    d.close()
