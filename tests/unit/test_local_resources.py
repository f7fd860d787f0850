"""The local stack reads the template: resource names, function environments, event sources, intrinsics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from faqbot.local.resources import (
    QUEUE,
    TABLE,
    HttpRoute,
    TemplateError,
    plan_resources,
)

ENDPOINT = "http://127.0.0.1:4599"


def plan(template: dict[str, Any], **kwargs: Any) -> Any:
    return plan_resources(template, template_dir=Path("/repo/infra"), **kwargs)


def test_every_table_queue_and_bucket_of_the_template_is_planned_under_its_logical_id(template: dict[str, Any]) -> None:
    # given
    declared = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"}
    }

    # when
    resources = plan(template, endpoint_url=ENDPOINT)

    # then
    assert set(resources.resources) == declared
    assert all(resource.name == logical_id for logical_id, resource in resources.resources.items())
    for queue in resources.of_type(QUEUE):
        assert queue.url == f"{ENDPOINT}/123456789012/{queue.logical_id}"
        assert queue.arn == f"arn:aws:sqs:eu-central-1:123456789012:{queue.logical_id}"


def test_function_environments_resolve_refs_to_local_names_and_queue_urls(template: dict[str, Any]) -> None:
    # when
    resources = plan(template, endpoint_url=ENDPOINT)

    # then
    webhook = resources.function("WebhookFunction").env
    assert webhook["KB_TABLE_NAME"] == "KbTable"  # from Globals
    assert webhook["CONVERSATIONS_TABLE_NAME"] == "ConversationsTable"
    assert webhook["ESCALATIONS_QUEUE_URL"] == f"{ENDPOINT}/123456789012/EscalationsQueue"
    assert webhook["STAGE"] == template["Parameters"]["Stage"]["Default"]


def test_a_bucket_name_spelled_out_in_an_environment_variable_means_the_local_bucket(template: dict[str, Any]) -> None:
    # given: the template names the bucket with !Sub and repeats that name in kb_ingest's environment
    assert "BucketName" in template["Resources"]["KbBucket"]["Properties"]

    # when
    resources = plan(template)

    # then
    assert resources["KbBucket"].declared_name == "faqbot-dev-kb-123456789012-eu-central-1"
    assert resources.function("kb_ingest").env["KB_BUCKET_NAME"] == "KbBucket"


def test_event_sources_come_from_the_template(template: dict[str, Any]) -> None:
    # when
    resources = plan(template)

    # then
    assert HttpRoute("WebhookFunction", "POST", "/bots/{bot_id}/manychat") in resources.routes
    assert HttpRoute("HistoryPageFunction", "GET", "/history/{token}") in resources.routes
    (escalations,) = resources.function("notify").sqs_sources
    assert (escalations.queue, escalations.batch_size, escalations.report_batch_item_failures) == (
        "EscalationsQueue",
        10,
        True,
    )
    (upload,) = resources.function("kb_ingest").s3_sources  # KB uploads
    assert upload.bucket == "KbBucket"
    assert upload.matches("kb/demo/faq.csv") and not upload.matches("reports/demo/faq.json")
    (transcripts,) = resources.function("kb_ingest").sqs_sources  # FAQ mining's transcripts, in batches
    assert (transcripts.queue, transcripts.batch_size, transcripts.report_batch_item_failures) == (
        "TranscriptQueue",
        1000,
        True,
    )


def test_functions_are_found_by_logical_id_or_folder_and_code_dir_is_relative_to_the_template(
    template: dict[str, Any],
) -> None:
    resources = plan(template)

    assert resources.function("webhook") is resources.function("WebhookFunction")
    assert resources.function("webhook").code_dir == Path("/repo/functions/webhook")
    with pytest.raises(KeyError):
        resources.function("nope")


def _tiny_template(**environment: Any) -> dict[str, Any]:
    return {
        "Parameters": {
            "Stage": {"Type": "String", "Default": "dev"},
            "BaseUrl": {"Type": "String", "Default": ""},
        },
        "Conditions": {"HasBaseUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "BaseUrl"}, ""]}]}},
        "Resources": {
            "Dlq": {"Type": QUEUE},
            "Jobs": {
                "Type": QUEUE,
                "Properties": {
                    "VisibilityTimeout": 60,
                    "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}, "maxReceiveCount": 3},
                },
            },
            "Things": {"Type": TABLE, "Properties": {"KeySchema": [], "AttributeDefinitions": []}},
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": "../functions/fn/",
                    "Handler": "app.lambda_handler",
                    "Environment": {"Variables": environment},
                },
            },
        },
    }


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Fn::Sub": "/app/${Stage}/${AWS::Region}/key"}, "/app/dev/eu-central-1/key"),
        ({"Fn::Sub": ["${Name}-${Things}", {"Name": {"Ref": "Stage"}}]}, "dev-Things"),
        ({"Fn::Sub": "${Jobs.Arn}|${!Literal}"}, "arn:aws:sqs:eu-central-1:123456789012:Jobs|${Literal}"),
        ({"Fn::GetAtt": ["Jobs", "QueueName"]}, "Jobs"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}, "a-dev"),
        ({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}, "y"),
        ({"Fn::If": ["HasBaseUrl", {"Ref": "BaseUrl"}, "fallback"]}, "fallback"),
        ({"Ref": "Jobs"}, "https://sqs.eu-central-1.amazonaws.com/123456789012/Jobs"),
        (5, "5"),
    ],
)
def test_intrinsics_resolve_like_cloudformation(expression: Any, expected: str) -> None:
    resources = plan(_tiny_template(VALUE=expression))

    assert resources.function("Fn").env["VALUE"] == expected


def test_parameter_overrides_change_conditions() -> None:
    template = _tiny_template(VALUE={"Fn::If": ["HasBaseUrl", {"Ref": "BaseUrl"}, "fallback"]})

    resources = plan(template, parameter_overrides={"BaseUrl": "http://127.0.0.1:3000"})

    assert resources.function("Fn").env["VALUE"] == "http://127.0.0.1:3000"


def test_unknown_references_and_parameters_fail_with_a_message() -> None:
    with pytest.raises(TemplateError, match="Nowhere"):
        plan(_tiny_template(VALUE={"Ref": "Nowhere"}))
    with pytest.raises(TemplateError, match="Missing"):
        plan(_tiny_template(), parameter_overrides={"Missing": "x"})


def test_an_event_type_the_stack_cannot_deliver_is_refused() -> None:
    template = _tiny_template()
    template["Resources"]["Fn"]["Properties"]["Events"] = {"Topic": {"Type": "SNS", "Properties": {}}}

    with pytest.raises(TemplateError, match="SNS"):
        plan(template)


def test_a_schedule_is_not_run_locally_but_does_not_stop_the_stack() -> None:
    # given: kb_ingest's sheet sync runs on a schedule in AWS; locally `faqbot kb sync --local` runs it
    template = _tiny_template()
    template["Resources"]["Fn"]["Properties"]["Events"] = {"Tick": {"Type": "Schedule", "Properties": {}}}

    # when
    fn = plan(template).function("Fn")

    # then
    assert fn.routes == () and fn.sqs_sources == () and fn.s3_sources == ()
