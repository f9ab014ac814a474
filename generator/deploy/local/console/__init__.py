"""The console on the local target: GraphQL answered in Python with the AppSync resolvers' logic."""

from __future__ import annotations

from generator.deploy.local.console.api import Identity, answer

__all__ = ["Identity", "answer"]
