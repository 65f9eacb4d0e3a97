"""lc0 data layer: training records, chunks/tars, the input encoding, the policy index.

Modules (each one job):
  frames     V6/V7 record dtypes, parse (V3-V5 upgraded), validation
  chunks     .gz chunks and .tar files: read (forgiving), write (atomic)
  tario      the tar reader behind chunks (PAX, GNU long names, v7 entries)
  report     ReadReport: what was read, what was skipped and where
  policy     the 1858-move index, transforms, attention/convolution gather maps
  bits       bitboard helpers (flip, mirror, transpose, stored bit order)
  encoder    python-chess history -> 104 planes + aux bytes (formats 1,2,3,4,5,132,133)
  decoder    planes + aux bytes -> board (white's view) and history
  tensors    frames -> lcpipe.types.Batch: THE reference decoder
  synth      deterministic synthetic games
  pgn        PGN games -> frames
  cli        `lcpipe data dump | pgn2chunks | generate | stats`

Import the submodules directly (``from lcpipe.lc0 import tensors``); this
package imports nothing heavy itself so that stage declarations stay light.
"""
