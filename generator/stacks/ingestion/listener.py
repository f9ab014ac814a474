"""The HTTPS listener and the rule that sends collection requests to the collectors.

What happens to a request before it is forwarded (token verification, when the file asks for it) is
the rule's list of actions, assembled here in `collector_rule`; `tokens.py` contributes the verification.
"""

from __future__ import annotations

from troposphere import Parameter, Ref
from troposphere.elasticloadbalancingv2 import (
    Action,
    Certificate,
    Condition,
    FixedResponseConfig,
    Listener,
    ListenerRule,
    ListenerRuleAction,
    PathPatternConfig,
)

from generator.stacks.ingestion import tokens
from generator.stacks.ingestion.collectors import HEALTH_PATH
from generator.stacks.ingestion.parts import IngestionParts

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def _certificate(stack: IngestionParts) -> Parameter:
    """The ACM certificate the file names, as a parameter: a new certificate is a visible parameter change."""
    domain = stack.pipeline.spec.ingestion.domain
    return stack.template.add_parameter(
        Parameter(
            "CertificateArn",
            Type="String",
            Default=domain.certificate_arn,
            AllowedPattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$",
            Description=f"ACM certificate for {domain.name}, in the stack's region",
        )
    )


def https_listener(stack: IngestionParts) -> Listener:
    """HTTPS only, TLS 1.2 or newer; anything but the collector paths gets a 404."""
    return stack.template.add_resource(
        Listener(
            "HttpsListener",
            LoadBalancerArn=Ref(stack.load_balancer),
            Port=443,
            Protocol="HTTPS",
            SslPolicy=TLS_POLICY,
            Certificates=[Certificate(CertificateArn=Ref(_certificate(stack)))],
            DefaultActions=[
                Action(
                    Type="fixed-response",
                    FixedResponseConfig=FixedResponseConfig(
                        StatusCode="404", ContentType="text/plain", MessageBody="Not Found"
                    ),
                )
            ],
        )
    )


def collector_rule(stack: IngestionParts) -> ListenerRule:
    """The endpoint path and /health go to the collectors, after token verification when the file asks for it."""
    authentication = tokens.listener_actions(stack.pipeline)
    forward = ListenerRuleAction(Type="forward", Order=len(authentication) + 1, TargetGroupArn=Ref(stack.target_group))
    paths = sorted({stack.pipeline.spec.ingestion.endpoint_path, HEALTH_PATH})
    return stack.template.add_resource(
        ListenerRule(
            "CollectorListenerRule",
            ListenerArn=Ref(stack.listener),
            Priority=10,
            Conditions=[Condition(Field="path-pattern", PathPatternConfig=PathPatternConfig(Values=paths))],
            Actions=[*authentication, forward],
        )
    )
