"""Signing people in at the collectors' load balancer: a Cognito user pool of the pipeline's own, or the
company's OpenID Connect provider, as listener actions placed before the forward to the collectors.
"""

from __future__ import annotations

import hashlib

from troposphere import (
    GetAtt,
    Ref,
    Sub,
    Template,
)
from troposphere.cognito import (
    AccountRecoverySetting,
    AdminCreateUserConfig,
    PasswordPolicy,
    Policies,
    RecoveryOption,
    UserPool,
    UserPoolAddOns,
    UserPoolClient,
    UserPoolDomain,
)
from troposphere.elasticloadbalancingv2 import (
    AuthenticateCognitoConfig,
    ListenerRuleAction,
    ListenerRuleAuthenticateOidcConfig,
)

from generator.spec.loader import Pipeline
from generator.spec.models import CognitoAuth, OidcAuth
from generator.stacks import common


def listener_actions(template: Template, pipeline: Pipeline) -> list[ListenerRuleAction]:
    """The actions that sign a user in before the request reaches a collector, if the file asks."""
    auth = pipeline.spec.ingestion.auth
    if isinstance(auth, CognitoAuth):
        pool, client, domain = _user_pool(template, pipeline, auth)
        return [
            ListenerRuleAction(
                Type="authenticate-cognito",
                Order=1,
                AuthenticateCognitoConfig=AuthenticateCognitoConfig(
                    UserPoolArn=GetAtt(pool, "Arn"), UserPoolClientId=Ref(client), UserPoolDomain=Ref(domain)
                ),
            )
        ]
    if isinstance(auth, OidcAuth):
        return [
            ListenerRuleAction(
                Type="authenticate-oidc",
                Order=1,
                AuthenticateOidcConfig=ListenerRuleAuthenticateOidcConfig(
                    Issuer=auth.issuer,
                    AuthorizationEndpoint=auth.authorization_endpoint,
                    TokenEndpoint=auth.token_endpoint,
                    UserInfoEndpoint=auth.user_info_endpoint,
                    ClientId=auth.client_id,
                    # A dynamic reference: CloudFormation reads the secret at deploy time, the template never holds it.
                    ClientSecret=f"{{{{resolve:secretsmanager:{auth.client_secret_arn}:SecretString:client_secret}}}}",
                ),
            )
        ]
    return []


def _cognito_domain_prefix(pipeline: Pipeline) -> Sub:
    """Hosted UI prefixes are global per region: make them unique with the account id, within 63 chars."""
    base = f"{pipeline.name}-{pipeline.env}"
    if len(base) > 33:
        digest = hashlib.sha256(base.encode()).hexdigest()[:8]
        base = f"{base[:24].rstrip('-')}-{digest}"
    return Sub(f"pipectl-{base}-${{AWS::AccountId}}")


def _callback_urls(pipeline: Pipeline, auth: CognitoAuth) -> list[str]:
    """The file's callback URLs, plus the load balancer's own /oauth2/idpresponse on the domain."""
    own = f"https://{pipeline.spec.ingestion.domain.name}/oauth2/idpresponse"
    return [*auth.callback_urls, *([own] if own not in auth.callback_urls else [])]


def _user_pool(
    template: Template, pipeline: Pipeline, auth: CognitoAuth
) -> tuple[UserPool, UserPoolClient, UserPoolDomain]:
    """A user pool for this pipeline only: admins create users, MFA with an authenticator app is required."""
    pool = template.add_resource(
        common.keep(
            UserPool(
                "CollectorUserPool",
                UserPoolName=f"pipectl-{pipeline.name}-{pipeline.env}-collector",
                UserPoolTier="PLUS",  # threat protection (advanced security) needs the Plus tier
                UserPoolAddOns=UserPoolAddOns(AdvancedSecurityMode="ENFORCED"),
                MfaConfiguration="ON",
                EnabledMfas=["SOFTWARE_TOKEN_MFA"],
                AdminCreateUserConfig=AdminCreateUserConfig(AllowAdminCreateUserOnly=True),
                UsernameAttributes=["email"],
                AutoVerifiedAttributes=["email"],
                AccountRecoverySetting=AccountRecoverySetting(
                    RecoveryMechanisms=[RecoveryOption(Name="verified_email", Priority=1)]
                ),
                Policies=Policies(
                    PasswordPolicy=PasswordPolicy(
                        MinimumLength=14,
                        RequireLowercase=True,
                        RequireUppercase=True,
                        RequireNumbers=True,
                        RequireSymbols=True,
                        TemporaryPasswordValidityDays=3,
                    )
                ),
                DeletionProtection="ACTIVE" if pipeline.spec.retain else "INACTIVE",
            ),
            pipeline.spec.retain,
        )
    )
    domain = template.add_resource(
        UserPoolDomain("CollectorUserPoolDomain", UserPoolId=Ref(pool), Domain=_cognito_domain_prefix(pipeline))
    )
    client = template.add_resource(
        UserPoolClient(
            "CollectorUserPoolClient",
            UserPoolId=Ref(pool),
            ClientName=f"pipectl-{pipeline.name}-{pipeline.env}-load-balancer",
            GenerateSecret=True,
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthFlows=["code"],
            AllowedOAuthScopes=["openid", "email"],
            CallbackURLs=_callback_urls(pipeline, auth),
            SupportedIdentityProviders=["COGNITO"],
            ExplicitAuthFlows=["ALLOW_REFRESH_TOKEN_AUTH"],
            PreventUserExistenceErrors="ENABLED",
            EnableTokenRevocation=True,
        )
    )
    return pool, client, domain
