"""Every deployment in prefect.yaml (and operator.yaml) points at a flow that loads."""

from __future__ import annotations

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

from tests.conftest import PROJECT_ROOT

DEPLOYMENTS = [
    (file, deployment["name"], deployment["entrypoint"])
    for file in ("prefect.yaml", "deployments/operator.yaml")
    for deployment in yaml.safe_load((PROJECT_ROOT / file).read_text())["deployments"]
]


@pytest.mark.parametrize(("file", "name", "entrypoint"), DEPLOYMENTS)
def test_each_deployment_entrypoint_loads_the_flow_it_names(
    file: str, name: str, entrypoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PROJECT_ROOT)  # entrypoints are relative to the project, as on a worker
    loaded = load_flow_from_entrypoint(entrypoint)
    assert loaded.name == name, f"{file}: {name} runs {entrypoint}, a flow named {loaded.name}"
