"""The deploy tests' fixtures (an embedded AWS, a build/ directory written as synth writes it), shared."""

from tests.deploy.conftest import aws, aws_target, build, moto_url  # noqa: F401
