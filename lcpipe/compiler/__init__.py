"""Spec -> stage graph -> execution plan."""

from lcpipe.compiler.compile import Link, Pipeline, compile_document, compile_file
from lcpipe.compiler.plan import Plan, Segment, describe_plan, plan_pipeline

__all__ = [
    "Link",
    "Pipeline",
    "Plan",
    "Segment",
    "compile_document",
    "compile_file",
    "describe_plan",
    "plan_pipeline",
]
