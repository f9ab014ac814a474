"""Every mistake in a pipeline file is reported at its exact place: FILE:LINE:COL: key.path: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from generator.spec.errors import SpecErrors
from generator.spec.loader import load_directory

from .conftest import CERT, ENVIRONMENTS, MINIMAL


def errors_of(folder: Path) -> list[str]:
    with pytest.raises(SpecErrors) as caught:
        load_directory(folder, "pipelines.d")
    return [str(e) for e in caught.value.errors]


def replace(old: str, new: str) -> str:
    assert old in MINIMAL, old
    return MINIMAL.replace(old, new)


# (case, file name, content, expected "file:line:col: path: " prefix, expected words in the message)
CASES = [
    ("broken yaml", "shop.yaml", "owner: a@example.com\napps: [\n", "shop.yaml:3:1: (file): ", "expected valid YAML"),
    ("unknown top key", "shop.yaml", MINIMAL + "colour: red\n", "shop.yaml:7:1: colour: ", "unknown key 'colour'"),
    (
        "unknown nested key",
        "shop.yaml",
        MINIMAL + "  colour: red\n",
        "shop.yaml:7:3: ingestion.colour: ",
        "expected one of",
    ),
    (
        "wrong type",
        "shop.yaml",
        MINIMAL + "  capacity: {min: two}\n",
        "shop.yaml:7:19: ingestion.capacity.min: ",
        "found 'two'",
    ),
    (
        "out of range",
        "shop.yaml",
        MINIMAL + "  capacity: {target_cpu: 5}\n",
        "shop.yaml:7:26: ingestion.capacity.target_cpu: ",
        "expected a number >= 10, found 5",
    ),
    (
        "min above max",
        "shop.yaml",
        MINIMAL + "  capacity: {min: 4, max: 3}\n",
        "shop.yaml:7:27: ingestion.capacity.max: ",
        "expected >= capacity.min (4), found 3",
    ),
    (
        "duplicate app id",
        "shop.yaml",
        replace("apps: [{id: web, platform: web}]", "apps: [{id: web, platform: web}, {id: web, platform: ios}]"),
        "shop.yaml:3:39: apps[1].id: ",
        "unique app id",
    ),
    (
        "kinesis option with s3 sink",
        "shop.yaml",
        MINIMAL + "  sink: {type: s3, mode: on-demand}\n",
        "shop.yaml:7:20: ingestion.sink.mode: ",
        "an option of kinesis",
    ),
    (
        "unknown sink type",
        "shop.yaml",
        MINIMAL + "  sink: {type: kafka}\n",
        "shop.yaml:7:9: ingestion.sink: ",
        "expected 'kinesis', 's3', 'firehose', found 'kafka'",
    ),
    (
        "firehose interval below its minimum",
        "shop.yaml",
        MINIMAL + "  sink: {type: firehose, interval_s: 30}\n",
        "shop.yaml:7:38: ingestion.sink.interval_s: ",
        "expected a number >= 60, found 30",
    ),
    (
        "kinesis option with firehose sink",
        "shop.yaml",
        MINIMAL + "  sink: {type: firehose, shards: 2}\n",
        "shop.yaml:7:26: ingestion.sink.shards: ",
        "an option of kinesis",
    ),
    (
        "shards missing when provisioned",
        "shop.yaml",
        MINIMAL + "  sink: {type: kinesis, mode: provisioned}\n",
        "shop.yaml:7:9: ingestion.sink.shards: ",
        "expected a shard count",
    ),
    (
        "region that does not exist",
        "shop.yaml",
        replace("region: eu-west-1", "region: eu-west-9"),
        "shop.yaml:2:9: region: ",
        "found 'eu-west-9'",
    ),
    (
        "certificate in another region",
        "shop.yaml",
        replace(CERT, CERT.replace("eu-west-1", "us-east-1")),
        "shop.yaml:6:50: ingestion.domain.certificate_arn: ",
        "expected a certificate in eu-west-1, found one in us-east-1",
    ),
    ("invalid stack name", "My_Shop.yaml", MINIMAL, "My_Shop.yaml:1:1: (file name): ", "found 'My_Shop'"),
    ("name too long", "a" * 41 + ".yaml", MINIMAL, "a" * 41 + ".yaml:1:1: (file name): ", "at most 40"),
    (
        "duplicate key",
        "shop.yaml",
        MINIMAL + "owner: b@example.com\n",
        "shop.yaml:7:1: owner: ",
        "found 'owner' again (first at line 1)",
    ),
    (
        "missing required key",
        "shop.yaml",
        MINIMAL.replace("owner: data@example.com\n", ""),
        "shop.yaml:1:1: owner: ",
        "expected a value (required), found nothing",
    ),
    ("missing nested key", "shop.yaml", MINIMAL.split("  domain")[0], "shop.yaml:4:1: ingestion.domain: ", "required"),
    (
        "python object tag",
        "shop.yaml",
        replace("owner: data@example.com", "owner: !!python/object/apply:os.system [ls]"),
        "shop.yaml:1:8: owner: ",
        "YAML tag",
    ),
    (
        "alias",
        "shop.yaml",
        replace("apps: [{id: web, platform: web}]", "apps: [&a {id: web, platform: web}, *a]"),
        "shop.yaml:3:8: (file): ",
        "found an anchor (a)",
    ),
    (
        "non-utf8",
        "shop.yaml",
        MINIMAL.encode() + b"description: caf\xe9\n",
        "shop.yaml:7:17: (file): ",
        "expected UTF-8 text, found byte 0xe9",
    ),
    (
        "bad environment name",
        "shop.yaml",
        MINIMAL + "environments: {Prod: {}}\n",
        "shop.yaml:7:16: environments.Prod: ",
        "environment name",
    ),
    (
        "environment override",
        "shop.yaml",
        MINIMAL + "  capacity: {min: 2}\nenvironments:\n  test: {ingestion: {capacity: {max: 1}}}\n",
        "shop.yaml:9:38: environments.test.ingestion.capacity.max: ",
        "expected >= capacity.min (2), found 1",
    ),
    ("not a mapping", "shop.yaml", "- one\n- two\n", "shop.yaml:1:1: (file): ", "expected a mapping of settings"),
    (
        "instance type with fargate",
        "shop.yaml",
        MINIMAL + "  instance_type: t3.large\n",
        "shop.yaml:7:18: ingestion.instance_type: ",
        "launch_type: fargate",
    ),
    (
        "email",
        "shop.yaml",
        replace("owner: data@example.com", "owner: nobody"),
        "shop.yaml:1:8: owner: ",
        "found 'nobody'",
    ),
    ("empty file", "shop.yaml", "", "shop.yaml:1:1: owner: ", "required"),
    ("tab indentation", "shop.yaml", MINIMAL + "\tcolour: red\n", "shop.yaml:7:1: (file): ", "expected valid YAML"),
]


@pytest.mark.parametrize(("case", "name", "content", "prefix", "words"), CASES, ids=[c[0] for c in CASES])
def test_error_is_located(pipelines, case, name, content, prefix, words):
    folder = pipelines({name: content})
    errors = errors_of(folder)
    matching = [e for e in errors if e.startswith("pipelines.d/" + prefix)]
    assert matching, f"no error at {prefix}: {errors}"
    assert any(words in e for e in matching), f"{words!r} not in {matching}"


def test_error_in_defaults_points_at_defaults_file(pipelines):
    folder = pipelines({"_defaults.yaml": "region: eu-west-1\nprocessing: {retention_days: 0}\n", "shop.yaml": MINIMAL})
    errors = errors_of(folder)
    assert errors == ["pipelines.d/_defaults.yaml:2:30: processing.retention_days: expected a number >= 1, found 0"]


def test_all_errors_of_all_files_in_one_run(pipelines):
    folder = pipelines(
        {
            "a.yaml": MINIMAL + "colour: red\n",
            "b.yaml": replace("region: eu-west-1", "region: mars-1"),
            "c.yaml": "apps: [\n",
        }
    )
    errors = errors_of(folder)
    files = {e.split(":")[0] for e in errors}
    assert files == {"pipelines.d/a.yaml", "pipelines.d/b.yaml", "pipelines.d/c.yaml"}


def test_error_shared_by_environments_is_reported_once(pipelines):
    folder = pipelines({"shop.yaml": MINIMAL + "colour: red\n"})
    assert len(errors_of(folder)) == 1


def test_cli_exit_code_2_nothing_written(pipelines, tmp_path, capsys):
    folder = pipelines({"shop.yaml": MINIMAL + "colour: red\n"})
    build = tmp_path / "build"
    code = main(["synth", "--pipelines", str(folder), "--build-dir", str(build)])
    captured = capsys.readouterr()
    assert code == 2
    assert "shop.yaml:7:1: colour: expected one of" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not build.exists()


def test_console_file_errors_are_located(pipelines):
    folder = pipelines({"_console.yaml": "auth: {type: oidc, issuer: http://insecure}\n", "shop.yaml": MINIMAL})
    errors = errors_of(folder)
    assert any(e.startswith("pipelines.d/_console.yaml:1:28: auth.issuer: ") for e in errors), errors
    assert any(e.startswith("pipelines.d/_console.yaml:1:1: auth.client_id: ") for e in errors), errors


@pytest.mark.parametrize(
    "auth",
    [
        "{type: cognito, callback_urls: [https://c.example.com/cb]}",
        "{type: oidc, issuer: https://id.example.com, client_id: x}",
    ],
)
def test_browser_sign_in_on_the_collection_path_is_refused_with_what_to_write(pipelines, auth):
    """Files written for earlier versions stop at validate, located, and say what replaces them."""
    folder = pipelines({"shop.yaml": MINIMAL + f"  auth: {auth}\n"})
    (error,) = errors_of(folder)
    assert error.startswith("pipelines.d/shop.yaml:7:16: ingestion.auth.type: expected type: none "), error
    assert "type: jwt with issuer and jwks_endpoint" in error
    assert "no longer allowed on the collection path, found " in error


@pytest.mark.parametrize(
    ("auth", "prefix", "words"),
    [
        ("{type: jwt, issuer: https://id.example.com}", "7:3: ingestion.auth.jwks_endpoint: ", "required"),
        (
            "{type: jwt, issuer: http://id.example.com, jwks_endpoint: https://id.example.com/k}",
            "7:29: ingestion.auth.issuer: ",
            "expected an https URL, found 'http://id.example.com'",
        ),
        (
            "{type: jwt, issuer: https://i.example.com, jwks_endpoint: https://i.example.com/k, "
            "claims: [{name: exp, values: ['1']}]}",
            "7:108: ingestion.auth.claims[0].name: ",
            "expected a claim other than exp, iss, nbf, iat (those are always checked), found 'exp'",
        ),
        (
            "{type: jwt, issuer: https://i.example.com, jwks_endpoint: https://i.example.com/k, "
            "claims: [{name: aud, format: csv, values: [a]}]}",
            "7:121: ingestion.auth.claims[0].format: ",
            "found 'csv'",
        ),
        (
            "{type: jwt, issuer: https://i.example.com, jwks_endpoint: https://i.example.com/k, "
            "claims: [{name: aud, values: []}]}",
            "7:121: ingestion.auth.claims[0].values: ",
            "expected at least 1 item(s), found 0",
        ),
    ],
)
def test_jwt_options_are_checked_where_written(pipelines, auth, prefix, words):
    folder = pipelines({"shop.yaml": MINIMAL + f"  auth: {auth}\n"})
    (error,) = errors_of(folder)
    assert error.startswith(f"pipelines.d/shop.yaml:{prefix}"), error
    assert words in error, error


def test_console_threat_protection_is_checked_where_written(pipelines):
    folder = pipelines(
        {"_console.yaml": "user_pool: {threat_protection: always}\n", "shop.yaml": MINIMAL + ENVIRONMENTS}
    )
    (error,) = errors_of(folder)
    assert error.startswith("pipelines.d/_console.yaml:1:32: user_pool.threat_protection: expected "), error
    assert "found 'always'" in error


def test_reserved_concurrency_is_checked_where_written(pipelines):
    folder = pipelines({"shop.yaml": MINIMAL.replace("ingestion:", "processing: {concurrency: 0}\ningestion:")})
    (error,) = errors_of(folder)
    assert ": processing.concurrency: expected a number >= 1, found 0" in error, error


def test_a_file_with_too_many_values_is_refused_where_the_limit_is_passed(pipelines):
    folder = pipelines({"shop.yaml": "".join(f"k{i}: v\n" for i in range(5001))})
    assert errors_of(folder) == [
        "pipelines.d/shop.yaml:5001:1: (file): expected a pipeline file of at most 10000 keys and values, found more"
    ]


def test_nesting_deeper_than_the_limit_is_refused_before_it_is_composed(pipelines):
    folder = pipelines({"shop.yaml": "owner: " + "[" * 40 + "]" * 40 + "\n"})
    assert errors_of(folder) == [
        "pipelines.d/shop.yaml:1:39: (file): expected at most 32 levels of nesting, found more"
    ]


ZONED = (
    MINIMAL.replace(f'certificate_arn: "{CERT}"}}', f'certificate_arn: "{CERT}", hosted_zone_id: ZOTHERS123}}')
    + ENVIRONMENTS
)


def test_a_record_in_a_hosted_zone_the_installation_does_not_own_is_refused_where_it_is_named(pipelines):
    folder = pipelines({"_console.yaml": "hosted_zones: [ZOWNED1234]\n", "shop.yaml": ZONED})
    (error,) = errors_of(folder)
    assert error.startswith("pipelines.d/shop.yaml:6:")
    assert "ingestion.domain.hosted_zone_id: expected a hosted zone listed in _console.yaml hosted_zones " in error
    assert "(ZOWNED1234), found 'ZOTHERS123'" in error
    # Listed, the same file loads.
    owned = pipelines({"_console.yaml": "hosted_zones: [ZOWNED1234, ZOTHERS123]\n", "shop.yaml": ZONED})
    assert load_directory(owned, "pipelines.d").pipelines[0].spec.ingestion.domain.hosted_zone_id == "ZOTHERS123"


def test_validate_exits_2_for_a_zone_not_owned(pipelines, tmp_path, capsys):
    folder = pipelines({"shop.yaml": ZONED})
    code = main(["validate", "--pipelines", str(folder), "--build-dir", str(tmp_path / "build")])
    captured = capsys.readouterr()
    assert code == 2
    assert "ingestion.domain.hosted_zone_id: expected a hosted zone listed in _console.yaml hosted_zones (none)" in (
        captured.err
    )
    assert "Traceback" not in captured.err + captured.out
