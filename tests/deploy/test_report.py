"""plan.json round trip and plan.md: summary, dangers first, widening, change set links."""

from __future__ import annotations

from pathlib import Path

from generator.deploy.cfn import change_set_name
from generator.deploy.manifest import Manifest
from generator.deploy.plan import Plan, ResourceChange, StackPlan, read_plan, write_plan
from generator.deploy.progress import PlainProgress, make_progress
from generator.deploy.revision import resolve_revision

STACK_ID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/pipectl-shop-prod-storage/abc"
CS_ID = "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/pipectl-1a2b3c4/def"


def sample() -> Plan:
    storage = StackPlan(
        "pipectl-shop-prod-storage",
        "update",
        CS_ID,
        "pipectl-1a2b3c4",
        STACK_ID,
        "h1",
        [
            ResourceChange("DataBucket", "AWS::S3::Bucket", "Modify", "True", stateful=True),
            ResourceChange("Key", "AWS::KMS::Key", "Modify", "False", stateful=True, widening=True),
            ResourceChange("CollectorRole", "AWS::IAM::Role", "Add", "n/a", widening=True),
        ],
        "eu-west-1",
        "shop",
        "prod",
        "storage",
    )
    return Plan(
        "1a2b3c4",
        "2026-01-01T00:00:00Z",
        "aws",
        "eu-west-1",
        [
            storage,
            StackPlan("pipectl-shop-prod-ingestion", "none", hash="h2"),
            StackPlan("pipectl-old-prod-storage", "delete", reason="its pipeline is no longer in the manifest"),
            StackPlan(
                "pipectl-shop-prod-processing",
                "create",
                hash="h3",
                changes=[ResourceChange("Queue", "AWS::SQS::Queue", "Add", "n/a")],
            ),
        ],
    )


def test_plan_md_puts_data_at_risk_first_and_links_change_sets(tmp_path: Path) -> None:
    _, md = write_plan(sample(), Manifest(tmp_path, ()), tmp_path)
    text = md.read_text()
    # line 3 is what the approval message quotes (buildspec.yml reads it)
    assert text.splitlines()[2].startswith("**1 to create, 1 to update, 1 unchanged, 1 with their file gone")
    assert "| create | 1 |\n| update | 1 |\n| unchanged | 1 |" in text
    assert "| file gone: `pipectl prune` deletes, `apply` does not | 1 |" in text
    risk = text.index("**Data at risk**")
    assert risk < text.index("## pipectl-shop-prod-storage")
    assert "**pipectl-shop-prod-storage: stateful DataBucket (AWS::S3::Bucket) is replaced" in text
    gone = text[text.index("## Stacks whose pipeline file is gone") :]
    assert "- pipectl-old-prod-storage (its pipeline is no longer in the manifest)" in gone
    assert "## pipectl-old-prod-storage" not in text  # not a section of things apply does
    assert "Key (AWS::KMS::Key) is" not in text  # modified in place, not at risk
    assert (
        "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/changesets/"
        "changes?stackId=arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack%2Fpipectl-shop-prod-"
        "storage%2Fabc&changeSetId=arn%3Aaws%3Acloudformation"
    ) in text
    assert "| **DataBucket** | **AWS::S3::Bucket** | **Modify** | **True** |  |" in text


def test_plan_md_on_the_local_target_shows_local_identifiers(tmp_path: Path) -> None:
    plan = sample()
    plan.target = "local"
    _, md = write_plan(plan, Manifest(tmp_path, ()), tmp_path)
    text = md.read_text()
    assert "console.aws.amazon.com" not in text
    assert f"Change set `pipectl-1a2b3c4` on the local target (`{CS_ID}`)." in text


def test_plan_json_round_trips(tmp_path: Path) -> None:
    plan = sample()
    path, _ = write_plan(plan, Manifest(tmp_path, ()), tmp_path)
    again = read_plan(path)
    assert again == plan
    assert again.stacks[0].changes[0].data_at_risk


def test_change_set_names_are_sanitised() -> None:
    assert change_set_name("feature/x_y 1") == "pipectl-feature-x-y-1"
    assert change_set_name("///") == "pipectl-local"
    assert len(change_set_name("a" * 300)) == 128


def test_revision_falls_back_to_local_outside_git(tmp_path: Path) -> None:
    assert resolve_revision("given") == "given"
    assert resolve_revision(None, cwd=tmp_path) == "local"


def test_progress_is_plain_under_ci_or_when_piped(tmp_path: Path) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            return None

    assert isinstance(make_progress(Tty(), {"CI": "true"}), PlainProgress)  # type: ignore[arg-type]
    with (tmp_path / "log").open("w") as piped:
        progress = make_progress(piped, {})
        assert isinstance(progress, PlainProgress)
        progress.finish("s", "failed", "why")
    assert (tmp_path / "log").read_text() == "s: failed (why)\n"
    rich = make_progress(Tty(), {"NO_COLOR": "1"})  # type: ignore[arg-type]
    assert not isinstance(rich, PlainProgress)
    rich.close()


def deferred_sample() -> Plan:
    from generator.deploy.changes import TO_CONFIRM

    storage = StackPlan("pipectl-shop-prod-storage", "update", CS_ID, "pipectl-1a2b3c4", STACK_ID, "h1")
    ingestion = StackPlan(
        "pipectl-shop-prod-ingestion",
        "update-after",
        None,
        None,
        "arn:stack/ingestion",
        "h2",
        [
            ResourceChange("Logs", "AWS::Logs::LogGroup", "Modify", "unknown", stateful=True, note=TO_CONFIRM),
            ResourceChange("TaskRole", "AWS::IAM::Role", "Add", "n/a", widening=True, note=TO_CONFIRM),
        ],
        "eu-west-1",
        "shop",
        "prod",
        "ingestion",
        after=["pipectl-shop-prod-storage"],
        template_sha256="ab12",
    )
    return Plan("1a2b3c4", "2026-01-01T00:00:00Z", "aws", "eu-west-1", [storage, ingestion])


def test_plan_md_shows_a_deferred_stack_honestly(tmp_path: Path) -> None:
    plan = deferred_sample()
    assert plan.summary() == "0 to create, 2 to update (1 after their dependencies), 0 unchanged"
    json_path, md = write_plan(plan, Manifest(tmp_path, ()), tmp_path)
    text = md.read_text()
    assert "## pipectl-shop-prod-ingestion — update after pipectl-shop-prod-storage" in text
    assert "Change set created at apply time, once pipectl-shop-prod-storage succeeded" in text
    assert "with sha256 `ab12` and refuses any other" in text
    assert "1 modified stateful resource(s) in stacks whose change set is created at apply time" in text
    assert "unknown replacement (the target did not report it" not in text
    assert "| TaskRole | AWS::IAM::Role | Add | n/a |" in text
    again = read_plan(json_path)
    assert again == plan and again.stacks[1].action.deferred and again.stacks[1].after == ["pipectl-shop-prod-storage"]
