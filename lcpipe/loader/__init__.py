"""The native data loader: stage declarations (stages.py) and the runner of a
fused native segment (segment.py). The work is done in C++ (csrc/loader)."""
