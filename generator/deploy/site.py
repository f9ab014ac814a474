"""Publishing the console app: its files into the console's site bucket, under the app's digest.

The console template names the app's asset (a deterministic zip synth wrote to build/assets/) and the
prefix CloudFront serves (`Metadata`, key `pipectl:console-site`). Apply publishes into the deployed
site bucket before it executes any change set (one may switch CloudFront to the prefix), and again
right after the console stack changed, for its first deploy. Plan never writes there: it runs the
pushed commit's code, and the served app must change only with an approved apply. Content-addressed:
a zip whose digest is not its name is refused, and a prefix holding index.html is never written again.
`config.json` beside the files tells the app its API and sign-in, from the console's outputs.
"""

from __future__ import annotations

import hashlib
import io
import json
import mimetypes
import zipfile
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from generator.contract import ASSETS_DIR, CONSOLE_SITE_METADATA
from generator.deploy.aws import Aws, error_code
from generator.deploy.deployed import DeployedStack
from generator.deploy.errors import DeployError
from generator.deploy.manifest import CONSOLE_STACK, Manifest

CONFIG_FILE = "config.json"
CACHE_CONTROL = "max-age=300"
_CONFIG_OUTPUTS = {
    "graphqlUrl": "GraphQLUrl",
    "userPoolId": "UserPoolId",
    "clientId": "UserPoolClientId",
    "signInDomain": "SignInDomain",
    "issuer": "OidcIssuer",
    "consoleUrl": "ConsoleUrl",
}
_OIDC_OUTPUTS = {"clientId": "OidcClientId"}


def app_config(console: DeployedStack) -> dict[str, Any]:
    """What the app reads at start: the API, the region and how to sign in: Cognito's hosted UI
    (`signInDomain`), or an OpenID Connect provider (`issuer`, whose discovery document names the rest);
    `clientId` and `consoleUrl` (the redirect URI) in both."""
    outputs = {**_CONFIG_OUTPUTS, **_OIDC_OUTPUTS} if "OidcIssuer" in console.outputs else _CONFIG_OUTPUTS
    found = {key: console.outputs[output] for key, output in outputs.items() if output in console.outputs}
    return {"region": console.region, **found}


def _site(manifest: Manifest) -> Mapping[str, str] | None:
    spec = manifest.console
    if spec is None:
        return None
    found = (json.loads(manifest.template_body(spec)).get("Metadata") or {}).get(CONSOLE_SITE_METADATA)
    return found if isinstance(found, dict) else None


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def publish(aws: Aws, manifest: Manifest, deployed: Mapping[str, DeployedStack]) -> int | None:
    """Copy the app into the deployed site bucket; the number of files written, None without a site bucket."""
    site, console = _site(manifest), deployed.get(CONSOLE_STACK)
    bucket = console.outputs.get("SiteBucketName") if console else None
    if site is None or console is None or not bucket:
        return None
    s3 = aws.client("s3", console.region)
    prefix = site["prefix"]
    written = 0
    if not _exists(s3, bucket, f"{prefix}/index.html"):
        archive = manifest.root / ASSETS_DIR / f"{prefix}.zip"
        data = archive.read_bytes()
        if hashlib.sha256(data).hexdigest() != prefix:
            raise DeployError(f"{archive}: the console app's digest is not its name: run synth again")
        with zipfile.ZipFile(io.BytesIO(data)) as files:
            names = sorted(files.namelist(), key=lambda name: name == "index.html")  # index.html last: the marker
            for name in names:
                kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                s3.put_object(
                    Bucket=bucket,
                    Key=f"{prefix}/{name}",
                    Body=files.read(name),
                    ContentType=kind,
                    CacheControl=CACHE_CONTROL,
                )
                written += 1
    config = json.dumps(app_config(console), indent=2, sort_keys=True).encode()
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}/{CONFIG_FILE}",
        Body=config,
        ContentType="application/json",
        CacheControl="no-cache",
    )
    return written + 1
