"""lc0 network files (.pb.gz): wire format, schema, read/write, import/export.

Light to import: numpy only at this level; flax/jax are imported by the
functions that need them.
"""
