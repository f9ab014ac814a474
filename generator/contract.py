"""Facts every layer shares: the spec, the stack builders, the controller and the local target.

Each fact lives here once; the layers import it and never retype it.
"""

from __future__ import annotations

from typing import Final

STACK_PREFIX: Final = "pipectl-"
CONSOLE_STACK: Final = "pipectl-console"
DELIVERY_STACK: Final = "pipectl-delivery"
BOOTSTRAP_STACK: Final = "pipectl-bootstrap"
"""Per account and region: the template and asset bucket that deploys into that account need."""

ASSETS_DIR: Final = "assets"
"""Under build/: content-addressed files (Lambda code zips) named `<sha256>.<ext>`."""
ASSET_KEY_PREFIX: Final = "assets/"
"""Object keys of assets in the template and asset bucket: `assets/<sha256>.<ext>`."""
ASSET_BUCKET_PARAMETER: Final = "AssetBucket"
"""A template that declares this parameter has it filled by the controller with the bucket's name."""
TEMPLATE_KEY_PREFIX: Final = "pipectl/templates/"
"""Object keys of templates sent by TemplateURL: `pipectl/templates/<stack>/<sha256>.json` (expired by lifecycle)."""
TEMPLATE_BUCKET_OUTPUT: Final = "TemplateBucketName"
"""The bootstrap stack's output (and `<stack>:<output>` export) naming the template and asset bucket."""

MAX_TEMPLATE_BODY: Final = 51_200
"""Bytes CloudFormation accepts inline as TemplateBody; larger templates go through S3."""
MAX_TEMPLATE_URL_BODY: Final = 1_000_000
"""Bytes CloudFormation accepts for a template read from S3 by TemplateURL."""
