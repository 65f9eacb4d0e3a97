"""Plugins: discovery through entry points, and broken plugins that are named
and left out without taking the others down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from lcpipe.registry import clear_cache, load_registry

HERE = Path(__file__).parent
REPO = HERE.parents[1]


def run_cli(*args, env_extra=None, cwd=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "lcpipe.cli.main", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


def test_example_plugin_is_found_through_its_entry_point():
    from importlib import metadata

    eps = [ep for ep in metadata.entry_points(group="lcpipe") if ep.name == "example"]
    assert eps, "plugins/lcpipe-example is not installed (the Makefile installs it)"
    reg = load_registry()
    st = reg.get("example.batch_stats")
    assert st is not None and st.plugin == "example"


def test_builtin_stages_use_the_same_hooks(registry):
    st = registry.get("sink.jsonl")
    assert st.plugin == "lcpipe.sink.stages"
    assert registry.manager.get_plugin("lcpipe.sink.stages") is not None


def test_pipeline_with_plugin_stage_runs(tmp_path):
    """A real pipeline through the CLI that uses the third-party stage."""
    spec = tmp_path / "p.yaml"
    metrics = tmp_path / "m.jsonl"
    spec.write_text(
        textwrap.dedent(f"""
        lcpipe: 1
        name: plugin-demo
        stages:
          games: {{use: data.generate, with: {{out_dir: "{tmp_path}/games", games: 4, seed: 3}}}}
          batches: {{use: data.batches, from: games, with: {{batch_size: 32}}}}
          stats: {{use: example.batch_stats, from: batches}}
          log: {{use: sink.jsonl, with: {{path: "{metrics}", flush_every: 0}}}}
        """)
    )
    done = run_cli("run", str(spec), "--stop-after", "batches=3")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in metrics.read_text().splitlines()]
    stats = [e["values"] for e in events if e["kind"] == "metrics" and e["stage"] == "stats"]
    assert stats, done.stderr
    assert 0.0 < stats[0]["policy_entropy"] < 8.0
    total = stats[0]["result_win"] + stats[0]["result_draw"] + stats[0]["result_loss"]
    assert abs(total - 1.0) < 1e-5


def _broken_env(*modules):
    return {
        "LCPIPE_EXTRA_PLUGINS": ",".join(modules),
        "PYTHONPATH": os.pathsep.join([str(HERE / "broken_plugins"), os.environ.get("PYTHONPATH", "")]),
    }


def test_broken_plugins_are_named_and_others_keep_working():
    done = run_cli(
        "stages",
        env_extra=_broken_env(
            "plugin_import_error", "plugin_bad_schema", "plugin_duplicate", "plugin_misspelled_hook"
        ),
    )
    assert done.returncode == 0
    err = done.stderr
    assert (
        "plugin 'plugin_import_error': failed to import: No module named 'lcpipe_dependency_that_does_not_exist'"
        in err
    )
    assert "plugin 'plugin_bad_schema': stage 'bad.schema': its settings schema is invalid" in err
    assert (
        "plugin 'plugin_duplicate': stage 'sink.jsonl' is already provided by plugin "
        "'lcpipe.sink.stages'; this one is ignored"
    ) in err
    assert "plugin 'plugin_misspelled_hook': cannot be registered: unknown hook 'lcpipe_stage_typez'" in err
    # everything else is still there, including the good stage of the half-broken plugin
    assert "sink.jsonl" in done.stdout and "dup.fine" in done.stdout and "example.batch_stats" in done.stdout
    assert "an impostor" not in done.stdout


def test_broken_entry_point_is_named(tmp_path):
    """A third-party distribution whose entry point cannot be imported."""
    dist = tmp_path / "brokenplug-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[lcpipe]\nbrokenplug = brokenplug_missing_module\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = run_cli("plugins", env_extra=env)
    assert done.returncode == 1
    assert "broken: plugin 'brokenplug': failed to import (brokenplug_missing_module)" in done.stdout
    assert "example: example.batch_stats" in done.stdout


def test_load_plugins_variable_restricts_third_party_plugins():
    clear_cache()
    old = os.environ.get("LCPIPE_LOAD_PLUGINS")
    os.environ["LCPIPE_LOAD_PLUGINS"] = ""
    try:
        reg = load_registry()
        assert reg.get("example.batch_stats") is None
        assert reg.get("sink.console") is not None
    finally:
        if old is None:
            del os.environ["LCPIPE_LOAD_PLUGINS"]
        else:
            os.environ["LCPIPE_LOAD_PLUGINS"] = old
        clear_cache()


def test_plugin_exiting_or_interrupting_at_import_is_a_broken_plugin():
    done = run_cli("plugins", env_extra=_broken_env("plugin_exits", "plugin_interrupts"))
    assert done.returncode == 1, done.stderr
    assert (
        "broken: plugin 'plugin_exits': failed to import: raised SystemExit(plugin_exits refuses to load)"
        in done.stdout
    )
    assert "broken: plugin 'plugin_interrupts': failed to import: raised KeyboardInterrupt" in done.stdout
    assert "example: example.batch_stats" in done.stdout and "Traceback" not in done.stderr
    done = run_cli(
        "validate",
        "pipelines/quickstart.yaml",
        cwd=REPO,
        env_extra=_broken_env("plugin_exits", "plugin_interrupts"),
    )
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr


def test_plugin_command_clash_keeps_the_builtin_and_a_raising_hook_is_reported():
    env = _broken_env("plugin_commands", "plugin_commands_raise")
    done = run_cli("hello", env_extra=env)
    assert done.returncode == 0 and "hello from a plugin" in done.stdout, done.stderr
    assert "plugin 'plugin_commands': command 'run' is already taken; the existing one is kept" in done.stderr
    assert "plugin 'plugin_commands_raise': lcpipe_cli_commands raised SystemExit" in done.stderr
    done = run_cli("run", "pipelines/quickstart.yaml", "--stop-after", "batches=1", cwd=REPO, env_extra=env)
    assert done.returncode == 0, done.stderr  # the built-in run, not the impostor (exit 99)


def test_hanging_plugin_import_does_not_block_builtin_commands(tmp_path):
    """Third-party plugins load lazily: --version, --help and commands that need no stage types
    never import them."""
    env = {**os.environ, **_broken_env("plugin_hangs")}
    for argv in (
        ["--version"],
        ["--help"],
        ["data", "generate", "--games", "1", "--out", str(tmp_path)],
        ["net", "--help"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "lcpipe.cli.main", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, (argv, done.stderr)


def test_builtin_commands_use_the_cli_hook():
    """Built-in command groups register through lcpipe_cli_commands, as a plugin's do (and the
    trace shows the call), without importing any third-party plugin."""
    from lcpipe.registry import BUILTIN_CLIS, builtin_cli_manager

    impls = builtin_cli_manager().hook.lcpipe_cli_commands.get_hookimpls()
    assert sorted(i.plugin_name for i in impls) == sorted(BUILTIN_CLIS)
    done = run_cli("--help", env_extra={"LCPIPE_TRACE_PLUGINS": "1"})
    assert done.returncode == 0 and "lcpipe_cli_commands [hook]" in done.stderr, done.stderr
    assert all(name in done.stdout for name in ("run", "data", "net", "daemon", "match"))
