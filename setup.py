"""What pyproject.toml cannot say on its own: `templates/` ships inside the package as `generator.templates`.

Every other setting lives in pyproject.toml. The packages (`generator` and the collector) are found,
never listed, so a new sub-package ships without an edit here.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["generator", "generator.*", "collector", "collector.*"]), "generator.templates"]
)
