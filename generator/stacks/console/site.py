"""The console's web app on AWS: a private bucket behind CloudFront (origin access control), with
security headers, its own domain when `_console.yaml` gives one, and the app's version as origin path.

The app ships as one content-addressed asset (a zip of `templates/console/`). The controller publishes
its files into the site bucket under `<sha256>/` (generator/deploy/site.py) before CloudFront's origin
path switches to that prefix, so a change of the app is one atomic switch and needs no invalidation
beyond the short TTL of the cache policy. The template and asset bucket cannot be the origin: it is
encrypted with the AWS-managed key aws/s3, whose policy cannot grant CloudFront, so the app is copied
into a bucket of its own, encrypted with the console key, whose policy lets CloudFront decrypt it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Ref, Sub
from troposphere.cloudfront import (
    CacheCookiesConfig,
    CacheHeadersConfig,
    CachePolicy,
    CachePolicyConfig,
    CacheQueryStringsConfig,
    ContentSecurityPolicy,
    ContentTypeOptions,
    CustomErrorResponse,
    DefaultCacheBehavior,
    Distribution,
    DistributionConfig,
    FrameOptions,
    Origin,
    OriginAccessControl,
    OriginAccessControlConfig,
    ParametersInCacheKeyAndForwardedToOrigin,
    ReferrerPolicy,
    ResponseHeadersPolicy,
    ResponseHeadersPolicyConfig,
    S3OriginConfig,
    SecurityHeadersConfig,
    StrictTransportSecurity,
    ViewerCertificate,
)
from troposphere.s3 import (
    Bucket,
    BucketEncryption,
    BucketPolicy,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from generator.contract import CONSOLE_SITE_METADATA
from generator.policy import console as policy
from generator.stacks import assets
from generator.stacks.accepted import (
    CLOUDFRONT_FIREWALL,
    CLOUDFRONT_LOGS,
    DEFAULT_CERTIFICATE,
    SITE_FILES,
    accept,
)
from generator.stacks.common import add_output, keep
from generator.stacks.console.names import SITE_BUCKET, STACK
from generator.stacks.console.state import ControlPlane

CACHE_SECONDS = 300  # how long an old app may still be served after its version switched
SPA_ERRORS = (403, 404)  # S3 answers 403 for a key that does not exist: both are routes of the app


@dataclass(frozen=True)
class Site:
    """What sign-in needs from the hosting: the console's URL (callback and sign-out target)."""

    url: Any
    distribution: Distribution


def add_site(plane: ControlPlane, api: Any, sign_in_origin: Any) -> Site:
    template, console = plane.template, plane.console
    asset = assets.attach(template, assets.site_asset())
    bucket = template.add_resource(accept(keep(_bucket(plane), True), SITE_FILES))
    access = template.add_resource(
        OriginAccessControl(
            "SiteOriginAccessControl",
            OriginAccessControlConfig=OriginAccessControlConfig(
                Name=Sub("pipectl-console-${AWS::Region}"),
                Description="The console distribution signs its requests to the site bucket",
                OriginAccessControlOriginType="s3",
                SigningBehavior="always",
                SigningProtocol="sigv4",
            ),
        )
    )
    distribution = template.add_resource(
        Distribution(
            "ConsoleDistribution",
            DistributionConfig=DistributionConfig(
                Comment="pipectl console",
                Enabled=True,
                DefaultRootObject="index.html",
                HttpVersion="http2and3",
                IPV6Enabled=True,
                PriceClass="PriceClass_100",
                Origins=[
                    Origin(
                        Id="Site",
                        DomainName=GetAtt(bucket, "RegionalDomainName"),
                        OriginPath=f"/{asset.sha256}",
                        OriginAccessControlId=GetAtt(access, "Id"),
                        S3OriginConfig=S3OriginConfig(OriginAccessIdentity=""),
                    )
                ],
                DefaultCacheBehavior=DefaultCacheBehavior(
                    TargetOriginId="Site",
                    ViewerProtocolPolicy="redirect-to-https",
                    AllowedMethods=["GET", "HEAD"],
                    CachedMethods=["GET", "HEAD"],
                    Compress=True,
                    CachePolicyId=Ref(_cache_policy(plane)),
                    ResponseHeadersPolicyId=Ref(_headers_policy(plane, api, sign_in_origin)),
                ),
                # Deep links of the single-page app: any missing key answers index.html, and the app routes.
                CustomErrorResponses=[
                    CustomErrorResponse(
                        ErrorCode=code, ResponseCode=200, ResponsePagePath="/index.html", ErrorCachingMinTTL=10
                    )
                    for code in SPA_ERRORS
                ],
                **_domain(console.domain),
            ),
        )
    )
    template.add_resource(
        BucketPolicy(
            "SiteBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=policy.site_bucket_policy(
                GetAtt(bucket, "Arn"),
                Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${ConsoleDistribution}"),
            ),
        )
    )
    accept(distribution, CLOUDFRONT_FIREWALL, CLOUDFRONT_LOGS)
    if console.domain is None:
        accept(distribution, DEFAULT_CERTIFICATE)
    url = f"https://{console.domain.name}" if console.domain else Sub("https://${ConsoleDistribution.DomainName}")
    add_output(template, STACK, "ConsoleUrl", url, "Where the console is served")
    add_output(template, STACK, "SiteBucketName", Ref(bucket), "Bucket the console app is published to")
    add_output(template, STACK, "ConsoleDistributionId", Ref(distribution), "CloudFront distribution of the console")
    metadata = dict(template.metadata)
    metadata[CONSOLE_SITE_METADATA] = {"asset": asset.key, "prefix": asset.sha256}
    template.set_metadata(metadata)
    return Site(url, distribution)


def _bucket(plane: ControlPlane) -> Bucket:
    """Private, versioned, SSE-KMS with the console key, which CloudFront may use for this bucket only."""
    return Bucket(
        "SiteBucket",
        BucketName=Sub(SITE_BUCKET),
        BucketEncryption=BucketEncryption(
            ServerSideEncryptionConfiguration=[
                ServerSideEncryptionRule(
                    BucketKeyEnabled=True,
                    ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(
                        SSEAlgorithm="aws:kms", KMSMasterKeyID=plane.key_arn
                    ),
                )
            ]
        ),
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
        ),
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
    )


def _cache_policy(plane: ControlPlane) -> CachePolicy:
    """Short-lived and compressed: a new app version is seen within minutes, without an invalidation."""
    return plane.template.add_resource(
        CachePolicy(
            "SiteCachePolicy",
            CachePolicyConfig=CachePolicyConfig(
                Name=Sub("pipectl-console-${AWS::Region}"),
                Comment="pipectl console app: short TTL, compressed",
                MinTTL=0,
                DefaultTTL=CACHE_SECONDS,
                MaxTTL=CACHE_SECONDS,
                ParametersInCacheKeyAndForwardedToOrigin=ParametersInCacheKeyAndForwardedToOrigin(
                    EnableAcceptEncodingGzip=True,
                    EnableAcceptEncodingBrotli=True,
                    CookiesConfig=CacheCookiesConfig(CookieBehavior="none"),
                    HeadersConfig=CacheHeadersConfig(HeaderBehavior="none"),
                    QueryStringsConfig=CacheQueryStringsConfig(QueryStringBehavior="none"),
                ),
            ),
        )
    )


def content_security_policy(sign_in_origin: Any) -> Sub:
    """The app may load only its own files, and talk only to the API (HTTPS and its realtime socket) and
    to the sign-in provider; nothing may frame it."""
    return Sub(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self' https://${GraphQLApi.GraphQLDns} wss://${GraphQLApi.RealtimeDns} "
        "https://cognito-idp.${AWS::Region}.amazonaws.com ${SignIn}; "
        "form-action 'self' ${SignIn}; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
        SignIn=sign_in_origin,
    )


def _headers_policy(plane: ControlPlane, api: Any, sign_in_origin: Any) -> ResponseHeadersPolicy:
    return plane.template.add_resource(
        ResponseHeadersPolicy(
            "SiteHeadersPolicy",
            ResponseHeadersPolicyConfig=ResponseHeadersPolicyConfig(
                Name=Sub("pipectl-console-${AWS::Region}"),
                Comment="pipectl console: CSP, HSTS, no framing, no sniffing, no referrer across origins",
                SecurityHeadersConfig=SecurityHeadersConfig(
                    ContentSecurityPolicy=ContentSecurityPolicy(
                        ContentSecurityPolicy=content_security_policy(sign_in_origin), Override=True
                    ),
                    StrictTransportSecurity=StrictTransportSecurity(
                        AccessControlMaxAgeSec=63072000, IncludeSubdomains=True, Preload=True, Override=True
                    ),
                    FrameOptions=FrameOptions(FrameOption="DENY", Override=True),
                    ContentTypeOptions=ContentTypeOptions(Override=True),
                    ReferrerPolicy=ReferrerPolicy(ReferrerPolicy="strict-origin-when-cross-origin", Override=True),
                ),
            ),
        )
    )


def _domain(domain: Any) -> dict[str, Any]:
    """The console's own name and certificate (us-east-1, checked at load), or CloudFront's default."""
    if domain is None:
        return {"ViewerCertificate": ViewerCertificate(CloudFrontDefaultCertificate=True)}
    return {
        "Aliases": [domain.name],
        "ViewerCertificate": ViewerCertificate(
            AcmCertificateArn=domain.certificate_arn,
            SslSupportMethod="sni-only",
            MinimumProtocolVersion="TLSv1.2_2021",
        ),
    }
