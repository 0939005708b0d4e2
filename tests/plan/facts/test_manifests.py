"""Dependency facts from the manifests of each ecosystem."""

from __future__ import annotations

from tests.plan.facts.helpers import deps

PYPROJECT = """\
[project]
name = "urllib3"
dependencies = [
    "idna>=2.0",
]

[dependency-groups]
dev = [
    "pytest>=8",
]
"""


def test_pyproject_runtime_added_bumped_and_dev() -> None:
    added = PYPROJECT.replace('    "idna>=2.0",\n', '    "idna>=2.0",\n    "certifi>=2024",\n')
    assert "certifi" in deps("pyproject.toml", PYPROJECT, added)["deps.added"]
    bumped = PYPROJECT.replace("idna>=2.0", "idna>=2.8")
    assert list(deps("pyproject.toml", PYPROJECT, bumped)) == ["deps.bumped"]
    major = PYPROJECT.replace("idna>=2.0", "idna>=3.7")
    assert list(deps("pyproject.toml", PYPROJECT, major)) == ["deps.major"]
    dev = PYPROJECT.replace('    "pytest>=8",\n', '    "pytest>=8",\n    "mypy==1.11",\n')
    assert list(deps("pyproject.toml", PYPROJECT, dev)) == ["deps.dev"]
    urls = PYPROJECT + '\n[project.urls]\nFunding = "https://example.org/sponsor"\n'
    assert deps("pyproject.toml", PYPROJECT, urls) == {}


def test_requirements_and_setup_cfg() -> None:
    old = "idna==3.7\nchardet==5.2.0\n"
    assert "chardet" in deps("requirements.txt", old, "idna==3.7\n")["deps.removed"]


def test_package_json_runtime_versus_dev() -> None:
    old = (
        '{\n  "dependencies": {\n    "debug": "^4.3.4"\n  },\n'
        '  "devDependencies": {\n    "jest": "^29.0.0"\n  }\n}\n'
    )
    runtime = old.replace('"debug": "^4.3.4"', '"debug": "^4.3.4",\n    "undici": "^6.0.0"')
    assert "undici" in deps("package.json", old, runtime)["deps.added"]
    dev = old.replace('"jest": "^29.0.0"', '"jest": "^29.0.0",\n    "vitest": "^2.0.0"')
    assert list(deps("package.json", old, dev)) == ["deps.dev"]


def test_go_mod_cargo_and_gradle() -> None:
    gomod = "module example.com/app\n\ngo 1.22\n\nrequire (\n\tgolang.org/x/net v0.25.0\n)\n"
    added = gomod.replace(
        "\tgolang.org/x/net v0.25.0\n",
        "\tgithub.com/quic-go/quic-go v0.45.0\n\tgolang.org/x/net v0.25.0\n",
    )
    assert "quic-go" in deps("go.mod", gomod, added)["deps.added"]
    indirect = gomod.replace(
        "\tgolang.org/x/net v0.25.0\n",
        "\tgolang.org/x/net v0.25.0\n\tgolang.org/x/text v0.15.0 // indirect\n",
    )
    assert deps("go.mod", gomod, indirect) == {}
    cargo = '[package]\nname = "axum"\n\n[dependencies]\ntower = "0.4"\n'
    swapped = cargo.replace(
        'tower = "0.4"', 'tower = "0.5"\nhyper = { version = "1", features = ["server"] }'
    )
    found = deps("Cargo.toml", cargo, swapped)
    assert "hyper" in found["deps.added"]
    gradle = "dependencies {\n    implementation 'com.squareup.okhttp3:okhttp:4.12.0'\n}\n"
    dropped = gradle.replace("    implementation 'com.squareup.okhttp3:okhttp:4.12.0'\n", "")
    assert "okhttp" in deps("build.gradle", gradle, dropped)["deps.removed"]


def test_a_new_major_version_of_a_runtime_dependency() -> None:
    old = (
        '{\n  "dependencies": {\n    "content-disposition": "0.5.4",\n    "debug": "^4.3.4"\n  },\n'
        '  "devDependencies": {\n    "jest": "^29.0.0"\n  }\n}\n'
    )
    major = old.replace('"0.5.4"', '"^1.0.0"')
    assert "content-disposition" in deps("package.json", old, major)["deps.major"]
    zero_minor = old.replace('"0.5.4"', '"~0.6.0"')  # below 1.0 a minor release may break
    assert list(deps("package.json", old, zero_minor)) == ["deps.major"]
    patch = old.replace('"^4.3.4"', '"^4.4.0"')
    assert list(deps("package.json", old, patch)) == ["deps.bumped"]
    dev = old.replace('"^29.0.0"', '"^30.0.0"')
    assert list(deps("package.json", old, dev)) == ["deps.dev"]
    go = "module example.com/app\n\nrequire (\n\tgithub.com/acme/lib v1.4.0\n)\n"
    assert list(deps("go.mod", go, go.replace("v1.4.0", "v1.5.2"))) == ["deps.bumped"]
