"""sink.console prints a short summary: one line per stage with its state and main metrics, a progress line."""

from __future__ import annotations

from lcpipe.plugin import Port, Stage, StageType, hookimpl, settings
from lcpipe.sink.console import progress_line
from lcpipe.testing import run_spec


class Trainerish(Stage):
    """Reports progress and many metrics, like a trainer; waits for a while first."""

    def run(self):
        self.ctx.state("waiting", "for 28 more games")
        for step in range(1, 61):
            self.ctx.progress(step, total_steps=60, next_network=(step // 20 + 1) * 20, steps_per_s=10.0)
            self.ctx.metrics(
                {
                    "fake/loss": 3.0 - step / 100,
                    "fake/steps_per_s": 10.0,
                    **{f"fake/internal_{i}": float(i) for i in range(200)},
                },
                step,
            )
            self.ctx.output("numbers").put(step)


class Plugin:
    __name__ = "console_test_plugin"

    @hookimpl
    def lcpipe_stage_types(self):
        return [
            StageType(
                "fake.trainer",
                f"{__name__}:Trainerish",
                "Progress and metrics.",
                outputs=(Port("numbers", "fake/int", required=False),),
                summary=("fake/loss", "fake/steps_per_s"),
                schema=settings({}),
            )
        ]


def test_one_short_line_per_stage_with_summary_metrics_and_progress(tmp_path, capsys):
    spec = """
lcpipe: 1
name: console
stages:
  trainer: {use: fake.trainer}
  console: {use: sink.console, with: {interval: 60, stream: stdout}}
"""
    out = run_spec(spec, plugins=(Plugin(),))
    assert out.exit_code == 0, out.failures
    text = capsys.readouterr().out
    lines = [ln for ln in text.splitlines() if ln.strip().startswith("trainer")]
    assert lines, text
    last = lines[-1]
    assert "loss 2.4" in last and "steps_per_s 10" in last
    assert "internal" not in text  # 200 internal metrics stay out of the summary
    assert all(len(ln) <= 160 for ln in text.splitlines())
    assert "step 60 of 60" in text


def test_include_patterns_add_detail(tmp_path, capsys):
    spec = """
lcpipe: 1
name: console
stages:
  trainer: {use: fake.trainer}
  console: {use: sink.console, with: {interval: 60, stream: stdout, include: ["fake/internal_7"]}}
"""
    assert run_spec(spec, plugins=(Plugin(),)).exit_code == 0
    text = capsys.readouterr().out
    assert "internal_7 7" in text and "internal_8" not in text


def test_progress_line_gives_eta_to_next_network_and_end():
    line = progress_line({"step": 1200, "total_steps": 5000, "next_network": 1400, "steps_per_s": 2.5})
    assert line == "step 1,200 of 5,000 · 2.5 steps/s · next network at 1,400 in 1m20s · end in 25m20s"
    assert progress_line({"step": 10}) == "step 10"
