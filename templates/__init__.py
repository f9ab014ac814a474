"""Jinja2 templates (ASL, AppSync schema and resolvers, dashboards), shipped as `generator.templates`.

The folder stays at the top of the repository; pyproject.toml maps it into the package, so an editable
install and a wheel both find it with `importlib.resources`, never by a path relative to the source.
"""
