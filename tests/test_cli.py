"""The `scrkb` command group: the store can be named before the command or after it, or by SCRKB_HOME."""

import json

from conftest import run_cli


def test_kb_before_or_after_the_command_or_from_the_environment(ingested, tmp_path):
    store = str(ingested.settings.home)
    empty = tmp_path / "empty"  # SCRKB_HOME points here, so only --kb can find the ingested store
    for args in (["--kb", store, "stats", "--json"], ["stats", "--json", "--kb", store]):
        assert json.loads(run_cli(*args, home=empty).stdout)["documents"] == 1, args
    assert json.loads(run_cli("stats", "--json", home=ingested.settings.home).stdout)["documents"] == 1
    # named twice, the one after the command wins
    both = run_cli("--kb", str(empty), "stats", "--json", "--kb", store, home=empty)
    assert json.loads(both.stdout)["documents"] == 1
    assert "--kb DIRECTORY" in run_cli("--help", home=empty).stdout
