"""Hook implementations of the example plugin."""

from lcpipe.plugin import Port, StageType, field, hookimpl, settings


@hookimpl
def lcpipe_stage_types():
    return [
        StageType(
            name="example.batch_stats",
            factory="lcpipe_example.batch_stats:BatchStats",
            description="Reports statistics of training batches (results, policy entropy, moves left) "
            "and passes them on unchanged.",
            inputs=(Port("batches", "batches", doc="batches to look at"),),
            outputs=(Port("batches", "batches", required=False, doc="the same batches, unchanged"),),
            schema=settings(
                {
                    "every": field(
                        "integer", 1, "Report after this many batches.", minimum=1, maximum=1_000_000
                    ),
                }
            ),
        )
    ]
