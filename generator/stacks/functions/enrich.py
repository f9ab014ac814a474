"""Enrich the raw/ objects written in a time window into enriched/ objects under the same key."""

import gzip
import ipaddress
import json
import os
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3

Json = dict[str, Any]
BROWSERS = {
    "Edge": "Edg",
    "Opera": "OPR/",
    "Samsung": "SamsungBrowser",
    "Firefox": "Firefox|FxiOS",
    "Chrome": "Chrome|CriOS",
    "Safari": "Safari",
    "IE": "MSIE|Trident",
}
SYSTEMS = {
    "iOS": "iPhone|iPad|iPod",
    "Android": "Android",
    "Windows": "Windows",
    "ChromeOS": "CrOS",
    "macOS": "Macintosh",
    "Linux": "Linux",
}


def _family(rules: dict[str, str], ua: str) -> str:
    return next((name for name, pattern in rules.items() if re.search(pattern, ua)), "Other")


def user_agent(ua: str) -> dict[str, str]:
    """Browser, OS and device family from the markers nearly all real traffic carries."""
    tablet = re.search("iPad|Tablet", ua) or ("Android" in ua and "Mobile" not in ua)
    device = (
        "Bot"
        if re.search("(?i)bot|crawl|spider|curl", ua)
        else "Tablet"
        if tablet
        else ("Mobile" if re.search("Mobi|iPhone", ua) else "Desktop" if ua else "Other")
    )
    return {"browser": _family(BROWSERS, ua), "os": _family(SYSTEMS, ua), "device": device}


def anonymise_ip(ip: str) -> str | None:
    """IPv4 keeps its /24, IPv6 its /48: coarse location, too little to single out a person."""
    try:
        net = ipaddress.ip_network(ip.strip())
        return str(net.supernet(new_prefix=24 if net.version == 4 else 48)[0])
    except ValueError:
        return None


def enrich(event: Json, todo: list[str]) -> Json:
    out = dict(event)
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if "user-agent" in todo:
        out["ua"] = user_agent(event.get("user_agent") or headers.get("user-agent") or "")
    if "ip-geo" in todo:
        out["ip"] = anonymise_ip(event.get("ip") or headers.pop("x-forwarded-for", "").split(",")[0])
        if "headers" in out:
            out["headers"] = headers
        country = headers.get("cloudfront-viewer-country") or headers.get("x-country")
        if country:
            out["geo"] = {"country": country.strip().upper()[:2]}
    if "referer" in todo:
        referer = event.get("referer") or headers.get("referer")
        out["referer_host"] = urlsplit(referer).hostname if referer else None
    return out


def enrich_object(s3: Any, bucket: str, key: str, out_key: str, todo: list[str]) -> int:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    lines = (gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body).splitlines()
    rows = [json.dumps(enrich(json.loads(line), todo), sort_keys=True) + "\n" for line in lines if line.strip()]
    s3.put_object(Bucket=bucket, Key=out_key, Body=gzip.compress("".join(rows).encode(), mtime=0))
    return len(rows)


def process_window(s3: Any, env: dict[str, str], start: datetime, end: datetime) -> dict[str, int]:
    """Objects written in [start, end); the hour before is listed too, as a write may straddle it."""
    bucket, raw, todo = env["BUCKET"], env["RAW_PREFIX"], [e for e in env["ENRICHMENTS"].split(",") if e]
    hour, keys = (start - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0), []
    while hour < end:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{raw}{hour:%Y/%m/%d/%H}/")
        keys += [o["Key"] for p in pages for o in p.get("Contents", []) if start <= o["LastModified"] < end]
        hour += timedelta(hours=1)
    events = sum(enrich_object(s3, bucket, k, env["ENRICHED_PREFIX"] + k[len(raw) :], todo) for k in keys)
    return {"objects": len(keys), "events": events}


def handler(event: Json, context: Any) -> Json:
    end = datetime.fromisoformat(event["window_end"].replace("Z", "+00:00"))
    start = end - timedelta(minutes=int(event["window_minutes"]))
    done = process_window(boto3.client("s3"), dict(os.environ), start, end)
    return {"window_start": start.isoformat(), "window_end": end.isoformat(), **done}
