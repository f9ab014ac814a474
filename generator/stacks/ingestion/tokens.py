"""Verifying the apps' and servers' tokens at the collectors' load balancer: a `jwt-validation` action
placed before the forward to the collectors.

Browser sign-in (`authenticate-cognito`, `authenticate-oidc`) answers every client without a session
cookie with a redirect to a login page, which an app or a server cannot follow; a bearer token checked
against the issuer's published keys works for every client that can send a header.
"""

from __future__ import annotations

from troposphere.elasticloadbalancingv2 import (
    JwtValidationActionAdditionalClaim,
    JwtValidationConfig,
    ListenerRuleAction,
)

from generator.spec.loader import Pipeline
from generator.spec.models import JwtAuth


def listener_actions(pipeline: Pipeline) -> list[ListenerRuleAction]:
    """The action that refuses a request without a valid token, if the file asks for one."""
    auth = pipeline.spec.ingestion.auth
    if not isinstance(auth, JwtAuth):
        return []
    config = JwtValidationConfig(Issuer=auth.issuer, JwksEndpoint=auth.jwks_endpoint)
    if auth.claims:
        config.AdditionalClaims = [
            JwtValidationActionAdditionalClaim(Name=claim.name, Format=claim.format, Values=list(claim.values))
            for claim in auth.claims
        ]
    return [ListenerRuleAction(Type="jwt-validation", Order=1, JwtValidationConfig=config)]
