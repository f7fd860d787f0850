"""`infra/template.yaml`, read as data: the one description of the stack that tests and the local stack share.

CloudFormation YAML uses short-form tags (`!Ref X`, `!GetAtt X.Arn`, `!Sub "..."`) that a plain
YAML loader rejects; here they become their long JSON forms (`{"Ref": "X"}`,
`{"Fn::GetAtt": ["X", "Arn"]}`, `{"Fn::Sub": "..."}`), the shape cfn-lint and CloudFormation use.
Evaluating them for the local stack is `faqbot.local.resources`' job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

FUNCTION_TYPE = "AWS::Serverless::Function"


def repo_root() -> Path:
    """The checkout this package is installed from (editable install: shared/faqbot/local/ → repo)."""
    return Path(__file__).resolve().parents[3]


def default_template_path() -> Path:
    return repo_root() / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short-form tags; dates stay strings (`Version: 2012-10-17`)."""


_CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)  # `!GetAtt Queue.Arn` is short for ["Queue", "Arn"]
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: str | Path | None = None) -> dict[str, Any]:
    """The template as plain dicts and lists (intrinsics in their long JSON form); default: infra/template.yaml."""
    source = Path(path) if path is not None else default_template_path()
    template = yaml.load(source.read_text(encoding="utf-8"), Loader=_CfnLoader)  # a SafeLoader subclass
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError(f"not a CloudFormation template: {source}")
    return template


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id → resource, for every resource of `resource_type` (e.g. `AWS::SQS::Queue`)."""
    return {lid: res for lid, res in template["Resources"].items() if res.get("Type") == resource_type}


def _merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's rule: maps merge (the function's keys win), lists append (globals first), scalars are overridden."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def function_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties as SAM deploys them: `Globals.Function` merged in (environments merge too)."""
    resource = template["Resources"][logical_id]
    if resource.get("Type") != FUNCTION_TYPE:
        raise ValueError(f"{logical_id} is not an {FUNCTION_TYPE}")
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    merged: dict[str, Any] = _merge_globals(globals_, resource.get("Properties") or {})
    return merged
