"""What pyproject.toml cannot say: the repo-root resources/ folder ships as atlas_desk.resources."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["atlas_desk", "atlas_desk.*"]), "atlas_desk.resources"],
    package_dir={"atlas_desk.resources": "resources"},
)
