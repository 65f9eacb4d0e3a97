"""lcpipe-ray: the ``selfplay.ray`` stage, lcpipe's native self-play engine in Ray actors."""
