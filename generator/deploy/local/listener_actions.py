"""Load balancer actions AWS accepts and moto does not know yet, checked as ELBv2 checks them.

`jwt-validation` (a listener rule verifying a bearer token against an issuer's keys) is what the
collection path uses for apps and servers. ELBv2 refuses the action without an issuer or a JWKS
endpoint, with a JWKS endpoint that is not HTTPS, with a claim it checks by itself (exp, iss, nbf,
iat), with an unknown claim format and with more than 10 claims or values; so does the local target.
"""

from __future__ import annotations

from typing import Any

from generator.deploy.local import compat

JWT_VALIDATION = "jwt-validation"
CLAIM_FORMATS = frozenset({"single-string", "space-separated-values", "string-array"})
ALWAYS_CHECKED = frozenset({"exp", "iss", "nbf", "iat"})
MAX_CLAIMS = 10
MAX_VALUES = 10


def jwt_validation_problem(action: dict[str, Any]) -> str | None:
    """Why ELBv2 would refuse this `jwt-validation` action, or None when it is valid."""
    config = action.get("JwtValidationConfig")
    if not isinstance(config, dict):
        return "JwtValidationConfig is required for an action of type jwt-validation"
    for key in ("Issuer", "JwksEndpoint"):
        if not config.get(key):
            return f"JwtValidationConfig.{key} is required"
    if not str(config["JwksEndpoint"]).startswith("https://"):
        return "JwtValidationConfig.JwksEndpoint must be an HTTPS URL"
    claims = config.get("AdditionalClaims") or []
    if len(claims) > MAX_CLAIMS:
        return f"JwtValidationConfig.AdditionalClaims: at most {MAX_CLAIMS} claims"
    for claim in claims:
        name, values = claim.get("Name"), claim.get("Values") or []
        if not name or name in ALWAYS_CHECKED:
            return f"JwtValidationConfig.AdditionalClaims: claim name {name!r} is not allowed"
        if claim.get("Format") not in CLAIM_FORMATS:
            return f"JwtValidationConfig.AdditionalClaims: unknown format {claim.get('Format')!r}"
        if not values or len(values) > MAX_VALUES:
            return f"JwtValidationConfig.AdditionalClaims: claim {name!r} needs 1 to {MAX_VALUES} values"
    return None


def enforce() -> None:
    """Accept `jwt-validation` actions on the local target exactly where ELBv2 accepts them."""
    compat.allow_elbv2_action(JWT_VALIDATION, jwt_validation_problem)
