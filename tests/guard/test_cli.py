"""``flask --app app guard status|allow|set``."""

from __future__ import annotations

from .conftest import DEACTIVATE


def test_status_lists_the_held_changes_and_ends_with_the_count(company, scim, runner):
    ids = company(20)
    for user_id in ids[:12]:
        scim.patch(f"/Users/{user_id}", DEACTIVATE)
    result = runner.invoke(args=["guard", "status", "--org", "default"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "held: 2"
    assert "trips past max(10, 10 % of active users) deprovisionings in 60 minutes" in result.output
    assert sum(ids[10] in line or ids[11] in line for line in lines) == 2


def test_status_of_a_quiet_organization_says_held_zero(runner):
    result = runner.invoke(args=["guard", "status"])
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "held: 0"


def test_set_changes_the_threshold_and_off_turns_the_guard_off(runner):
    result = runner.invoke(args=["guard", "set", "--count", "25", "--percent", "5",
                                 "--window-minutes", "30"])
    assert result.exit_code == 0, result.output
    assert "max(25, 5 % of active users) deprovisionings in 30 minutes" in result.output
    assert runner.invoke(args=["guard", "set", "--off"]).output.strip().endswith("\nguard: off")
    # Turning it on again keeps the threshold.
    again = runner.invoke(args=["guard", "set", "--count", "30"]).output
    assert "max(30, 5 % of active users) deprovisionings in 30 minutes" in again


def test_bad_arguments_get_a_clear_error_and_change_nothing(runner):
    for args, message in [
        (["guard", "set", "--count", "0"], "count must be between"),
        (["guard", "set", "--percent", "101"], "percent must be between"),
        (["guard", "set", "--window-minutes", "0"], "window must be between"),
        (["guard", "set", "--off", "--count", "5"], "--off takes no threshold"),
        (["guard", "allow"], "exactly one of --all or --user"),
        (["guard", "allow", "--all", "--user", "x"], "exactly one of --all or --user"),
        (["guard", "allow", "--user", "nobody"], "no held change for user nobody"),
        (["guard", "status", "--org", "nope"], "nope"),
    ]:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    status = runner.invoke(args=["guard", "status"]).output
    assert "max(10, 10 % of active users) deprovisionings in 60 minutes" in status
