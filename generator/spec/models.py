"""The pipeline file format: pydantic models, the single source of truth.

Every model forbids unknown keys. Rules that span several fields (min <= max,
unique app ids, a certificate in the pipeline's region) live in `rules.py`,
where they can name the exact key at fault.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Discriminator, Field, StringConstraints, Tag, field_validator
from pydantic.json_schema import SkipJsonSchema

from generator.contract import CLOUDFRONT_CERTIFICATE_REGION, COGNITO_GROUPS_CLAIM
from generator.spec.base import Strict
from generator.spec.sinks import KinesisSink, Sink

Email = Annotated[
    str,
    StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"),
    Field(description="an e-mail address"),
]
AppId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]
VpcId = Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")]
Schedule = Annotated[
    str,
    StringConstraints(pattern=r"^(rate\(\s*\d+\s+(minute|minutes|hour|hours|day|days)\s*\)|cron\([^)]+\))$"),
    Field(description="an EventBridge Scheduler expression: rate(1 hour) or cron(0 2 * * ? *)"),
]
DomainName = Annotated[
    str,
    StringConstraints(max_length=253, pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
]
HttpsOrigin = Annotated[str, StringConstraints(pattern=r"^https://[a-z0-9.-]+(:\d{1,5})?$")]
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s]+$")]
CertificateArn = Annotated[
    str,
    StringConstraints(pattern=r"^arn:aws(-cn|-us-gov)?:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"),
]
SecretArn = Annotated[
    str,
    StringConstraints(pattern=r"^arn:aws(-cn|-us-gov)?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$"),
]


class App(Strict):
    """One web or mobile app that sends events to the pipeline."""

    id: AppId = Field(description="app id sent by the tracker; lowercase, digits, underscore")
    platform: Literal["web", "ios", "android", "server"]


class ExistingNetwork(Strict):
    """Deploy into a VPC that already exists."""

    vpc_id: VpcId
    public_subnets: list[SubnetId] = Field(min_length=2, description="for the load balancer")
    private_subnets: list[SubnetId] = Field(min_length=2, description="for the collectors")


class CreatedNetwork(Strict):
    """Let the ingestion stack create a VPC with public and private subnets."""

    create: Literal[True]
    cidr: Annotated[str, StringConstraints(pattern=r"^10\.\d{1,3}\.0\.0/16$")] = "10.0.0.0/16"
    az_count: int = Field(default=2, ge=2, le=3)
    nat_gateways: int = Field(default=1, ge=1, le=3, description="one per AZ for HA, one to save cost")


class Capacity(Strict):
    min: int = Field(default=2, ge=1, le=100)
    max: int = Field(default=8, ge=1, le=200)
    target_cpu: int = Field(default=50, ge=10, le=90, description="target tracking on average CPU %")


HostedZoneId = Annotated[str, StringConstraints(pattern=r"^Z[0-9A-Z]{4,32}$")]


class Domain(Strict):
    name: DomainName
    certificate_arn: CertificateArn
    hosted_zone_id: HostedZoneId | None = Field(
        default=None, description="when set, an alias record for the name is created in this zone"
    )


def _network_kind(value: object) -> str:
    """`create: true` selects a new VPC; anything else is read as an existing one."""
    if isinstance(value, dict):
        return "created" if "create" in value else "existing"
    return "created" if isinstance(value, CreatedNetwork) else "existing"


Network = Annotated[
    Annotated[ExistingNetwork, Tag("existing")] | Annotated[CreatedNetwork, Tag("created")],
    Discriminator(_network_kind),
]


class NoAuth(Strict):
    """Anyone may send events, as public web pages do; the load balancer's firewall limits rate and size."""

    type: Literal["none"]


ClaimName = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^\S+$")]
CHECKED_CLAIMS = ("exp", "iss", "nbf", "iat")


class JwtClaim(Strict):
    """A claim the token must carry, besides the exp, iss, nbf and iat claims the load balancer always checks."""

    name: ClaimName = Field(description="not exp, iss, nbf or iat: those are always checked")
    format: Literal["single-string", "space-separated-values", "string-array"] = "single-string"
    values: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(min_length=1, max_length=10)

    @field_validator("name")
    @classmethod
    def _not_always_checked(cls, value: str) -> str:
        """The load balancer refuses a rule naming a claim it checks by itself."""
        if value in CHECKED_CLAIMS:
            raise ValueError(f"a claim other than {', '.join(CHECKED_CLAIMS)} (those are always checked)")
        return value


class JwtAuth(Strict):
    """Apps and servers send `Authorization: Bearer <JWT>`; the load balancer verifies it before the collectors."""

    type: Literal["jwt"]
    issuer: HttpsUrl = Field(description="the token's iss claim")
    jwks_endpoint: HttpsUrl = Field(description="where the load balancer fetches the issuer's signing keys")
    claims: list[JwtClaim] = Field(default_factory=list, max_length=10)


BROWSER_SIGN_IN = ("cognito", "oidc")


class BrowserSignIn(Strict):
    """The shape of earlier versions (`type: cognito` or `oidc`), kept only to explain what to write instead:
    browser sign-in answers apps with a redirect, so it can never guard the collection path."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str

    @field_validator("type")
    @classmethod
    def _moved(cls, value: str) -> str:
        raise ValueError(
            f"type: none (public web pages) or type: jwt with issuer and jwks_endpoint (apps and servers); "
            f"browser sign-in ({value}) redirects apps instead of accepting their events, so it is no longer "
            "allowed on the collection path"
        )


def _auth_kind(value: object) -> str:
    """`cognito` and `oidc` select the explaining model; the JSON Schema lists only `none` and `jwt`."""
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "browser" if kind in BROWSER_SIGN_IN else str(kind)


Auth = Annotated[
    Annotated[NoAuth, Tag("none")]
    | Annotated[JwtAuth, Tag("jwt")]
    | Annotated[SkipJsonSchema[BrowserSignIn], Tag("browser")],
    Discriminator(_auth_kind),
]


class Ingestion(Strict):
    launch_type: Literal["fargate", "ec2"] = "fargate"
    instance_type: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")] = Field(
        default="t3.medium", description="only with launch_type: ec2"
    )
    image: Annotated[str, StringConstraints(min_length=3, max_length=255, pattern=r"^\S+$")] = Field(
        description="the collector container image, usually set once in _defaults.yaml"
    )
    container_port: int = Field(default=8080, ge=1024, le=65535)
    cpu: Literal[256, 512, 1024, 2048, 4096] = 512
    memory: int = Field(default=1024, ge=512, le=30720, description="MiB")
    capacity: Capacity = Field(default_factory=Capacity)
    domain: Domain
    endpoint_path: Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9/._-]{0,120}$")] = "/collect"
    cors_origins: list[HttpsOrigin] = Field(default_factory=list)
    sink: Sink = Field(default_factory=lambda: KinesisSink(type="kinesis"))
    auth: Auth = Field(default_factory=lambda: NoAuth(type="none"))


Enrichment = Literal["ip-geo", "user-agent", "referer"]


class Processing(Strict):
    schedule: Schedule = "rate(1 hour)"
    enrich: list[Enrichment] = Field(default_factory=lambda: list[Enrichment](["ip-geo", "user-agent"]))
    retention_days: int = Field(default=365, ge=1, le=3650, description="days data objects are kept")
    memory_mb: int = Field(default=1024, ge=128, le=10240)
    timeout_s: int = Field(default=300, ge=10, le=900)
    concurrency: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="reserved concurrency per function; unset, functions share the account's pool. "
        "A Kinesis sink function reserves one per shard of a provisioned stream instead",
    )


class Monitoring(Strict):
    """Logs, alarm thresholds and who is paged; every default is what an on-call engineer would pick."""

    alarm_email: Email | None = Field(default=None, description="who is paged, besides the owner; defaults to owner")
    log_retention_days: Literal[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
    ] = 30
    no_events_minutes: int = Field(
        default=15, ge=5, le=1440, description="alarm when no event arrived for this many minutes"
    )
    error_rate_percent: float = Field(
        default=1.0, gt=0, le=100, description="alarm when more than this % of collector requests get a 5xx"
    )
    iterator_age_seconds: int = Field(
        default=600, ge=60, le=86400, description="alarm when the sink is this far behind the Kinesis stream"
    )
    collectors_missing_minutes: int = Field(
        default=10, ge=1, le=60, description="alarm when fewer collectors than desired run for this many minutes"
    )
    function_errors: int = Field(
        default=0, ge=0, le=10000, description="alarm when a function fails more than this often in 5 minutes"
    )
    execution_log_level: Literal["ALL", "ERROR", "FATAL", "OFF"] = Field(
        default="ALL", description="which state machine execution events are logged"
    )
    execution_data: bool = Field(
        default=False, description="log the input and output of each state (may hold event data)"
    )


class PipelineSpec(Strict):
    """One pipeline for one environment, after `_defaults.yaml` and its overrides are merged."""

    description: Annotated[str, StringConstraints(max_length=200)] = ""
    owner: Email
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    apps: list[App] = Field(min_length=1, max_length=100)
    network: Network = Field(default_factory=lambda: CreatedNetwork(create=True))
    ingestion: Ingestion
    processing: Processing = Field(default_factory=Processing)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    deletion: Literal["retain", "delete"] = Field(
        default="retain", description="what happens to data when the pipeline is removed"
    )

    @property
    def alarm_email(self) -> str:
        return self.monitoring.alarm_email or self.owner

    @property
    def retain(self) -> bool:
        return self.deletion == "retain"


EnvName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,9}$")]


class ConsoleAuthCognito(Strict):
    type: Literal["cognito"]


class ConsoleAuthOidc(Strict):
    type: Literal["oidc"]
    issuer: HttpsUrl
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    groups_claim: Annotated[str, StringConstraints(pattern=r"^[\w:./-]{1,128}$")] = Field(
        default="groups", description="the ID token claim that lists the user's groups"
    )


GroupName = Annotated[str, StringConstraints(pattern=r"^[\w+=,.@-]{1,128}$")]
PipelineName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,62}$")]


class ConsoleAccess(Strict):
    """Who sees which pipelines in the console: members of `admins_group` see everything; with `groups`
    mapped, everyone else sees the pipelines of their groups only (and without it, every user sees all)."""

    admins_group: GroupName = "admins"
    groups: dict[GroupName, list[PipelineName]] = Field(
        default_factory=dict, description="group -> the pipelines (file names) its members may see"
    )


class ConsoleDomain(Strict):
    """The console's own name; CloudFront serves only certificates of ACM in us-east-1."""

    name: DomainName
    certificate_arn: CertificateArn

    @field_validator("certificate_arn")
    @classmethod
    def _in_us_east_1(cls, value: str) -> str:
        region = value.split(":")[3]
        if region != CLOUDFRONT_CERTIFICATE_REGION:
            raise ValueError(f"a certificate of ACM in {CLOUDFRONT_CERTIFICATE_REGION} (CloudFront uses no other)")
        return value


class ConsoleUserPool(Strict):
    """What the console's Cognito user pool costs: threat protection needs the Plus plan, billed per active user."""

    threat_protection: Literal["none", "audit", "enforced"] = Field(
        default="none", description="audit or enforced moves the pool to the Plus plan, billed per active user"
    )

    @property
    def tier(self) -> Literal["ESSENTIALS", "PLUS"]:
        return "ESSENTIALS" if self.threat_protection == "none" else "PLUS"

    @property
    def advanced_security_mode(self) -> Literal["OFF", "AUDIT", "ENFORCED"]:
        return (
            "OFF" if self.threat_protection == "none" else "AUDIT" if self.threat_protection == "audit" else "ENFORCED"
        )


class ConsoleSpec(Strict):
    """Settings of the installation's control plane, from the optional `pipelines.d/_console.yaml`."""

    auth: ConsoleAuthCognito | ConsoleAuthOidc = Field(
        default_factory=lambda: ConsoleAuthCognito(type="cognito"), discriminator="type"
    )
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")] | None = Field(
        default=None, description="where the console stack lives; defaults to where most pipelines are"
    )
    admin_email: Email | None = Field(default=None, description="first console user (Cognito only)")
    log_retention_days: Literal[30, 60, 90, 180, 365, 731] = 90
    user_pool: ConsoleUserPool = Field(default_factory=ConsoleUserPool, description="Cognito only")
    hosted_zones: list[HostedZoneId] = Field(
        default_factory=list,
        description="the Route 53 zones pipelines may add records to: the execution role may change these, no others",
    )
    access: ConsoleAccess = Field(default_factory=ConsoleAccess, description="who sees which pipelines")
    domain: ConsoleDomain | None = Field(
        default=None, description="the console's name and certificate; the CloudFront domain when not given"
    )

    @property
    def groups_claim(self) -> str:
        """The token claim the API reads the caller's groups from."""
        return self.auth.groups_claim if isinstance(self.auth, ConsoleAuthOidc) else COGNITO_GROUPS_CLAIM
