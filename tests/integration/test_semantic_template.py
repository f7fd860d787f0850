"""infra/template.yaml grants Bedrock only when the semantic tier is enabled, and only on the configured models."""

from __future__ import annotations

from typing import Any

import pytest
from faqbot.local.template import default_template_path, load_template

pytestmark = pytest.mark.integration

MODEL_ARN = "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/${%s}"
PROFILE_ARN = "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/${SemanticJudgeModelId}"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(default_template_path())


def _statements(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = template["Resources"][logical_id]["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _subs(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [item["Fn::Sub"] for item in values]


def test_the_tier_is_off_unless_the_stack_enables_it(template: dict[str, Any]) -> None:
    # then
    assert template["Parameters"]["SemanticTier"]["Default"] == "disabled"
    assert template["Conditions"]["SemanticTierEnabled"] == {"Fn::Equals": [{"Ref": "SemanticTier"}, "enabled"]}
    assert template["Parameters"]["SemanticEmbeddingModelId"]["Default"] == "amazon.titan-embed-text-v2:0"


def test_only_the_conditional_policies_mention_bedrock(template: dict[str, Any]) -> None:
    # given
    mentioning = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if "bedrock" in str(resource).lower()
    }

    # then
    assert set(mentioning) == {"SemanticIngestPolicy", "SemanticWebhookPolicy"}
    for resource in mentioning.values():
        assert resource["Type"] == "AWS::IAM::Policy"
        assert resource["Condition"] == "SemanticTierEnabled"


def test_kb_ingest_may_only_embed_with_the_configured_model(template: dict[str, Any]) -> None:
    # given
    policy = template["Resources"]["SemanticIngestPolicy"]["Properties"]

    # then
    assert policy["Roles"] == [{"Ref": "KbIngestFunctionRole"}]
    [statement] = _statements(template, "SemanticIngestPolicy")
    assert statement["Action"] == "bedrock:InvokeModel"
    assert _subs(statement["Resource"]) == [MODEL_ARN % "SemanticEmbeddingModelId"]


def test_the_webhook_may_only_invoke_the_embedding_model_and_the_judge(template: dict[str, Any]) -> None:
    # given
    policy = template["Resources"]["SemanticWebhookPolicy"]["Properties"]
    direct, through_profile = _statements(template, "SemanticWebhookPolicy")

    # then
    assert policy["Roles"] == [{"Ref": "WebhookFunctionRole"}]
    assert {direct["Action"], through_profile["Action"]} == {"bedrock:InvokeModel"}
    assert "Condition" not in direct
    assert _subs(direct["Resource"]) == [
        MODEL_ARN % "SemanticEmbeddingModelId",
        MODEL_ARN % "SemanticJudgeModelId",
        PROFILE_ARN,
    ]
    # any region's copy of a model, but only when called through the configured inference profile
    assert _subs(through_profile["Resource"]) == ["arn:${AWS::Partition}:bedrock:*::foundation-model/*"]
    condition = through_profile["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"]
    assert condition == {"Fn::Sub": PROFILE_ARN}
