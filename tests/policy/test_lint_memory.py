"""cfn-lint's rules hold one copy of IAM's Policies.json, equal to cfn-lint's own, and nothing else changes."""

from __future__ import annotations

from cfnlint import helpers
from cfnlint.data import AdditionalSpecs

from generator.policy import lint


def test_the_iam_rules_share_one_copy_of_the_data_they_each_loaded() -> None:
    loader = helpers.load_resource
    rules = lint._load_rules()
    holders = [getattr(rules.data[rule_id], name) for rule_id, name in lint.SHARED_DATA_HOLDERS]
    assert len(holders) == 2
    assert holders[0] is holders[1]
    fresh = helpers.load_resource(AdditionalSpecs, "Policies.json")
    assert fresh == holders[0]
    assert fresh is not holders[0]  # after the rules are built, loads are cfn-lint's own again
    assert helpers.load_resource is loader
