"""infra/template.yaml, samconfig.toml and events/: what SAM, cfn-lint and the functions rely on.

The SAM CLI and cfn-lint run for real (pinned dev dependencies); `sam build` builds the layer and
every function with this machine's python3.11 (no Docker), downloading wheels for the Lambda
python3.11 image from PyPI.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model, S3Model, SqsModel
from faqbot import settings
from faqbot.events import parse_queue_event
from faqbot.local.template import (
    FUNCTION_TYPE,
    default_template_path,
    function_properties,
    load_template,
    repo_root,
    resources_of_type,
)
from pydantic_settings import BaseSettings

ROOT = repo_root()
TEMPLATE_PATH = default_template_path()
BIN = Path(sys.executable).parent
SAM = BIN / "sam"
CFN_LINT = BIN / "cfn-lint"

# The HTTP API contract (COMMON.md, issues 2, 10 and 11): method, path → function.
ROUTES = {
    ("POST", "/bots/{bot_id}/manychat"): "WebhookFunction",
    ("POST", "/bots/{bot_id}/smartsender"): "WebhookFunction",
    ("POST", "/telegram/{bot_id}"): "WebhookFunction",
    ("GET", "/health"): "WebhookFunction",
    ("GET", "/bots/{bot_id}/health"): "WebhookFunction",
    ("POST", "/bots/{bot_id}/contacts/{contact_id}/resume"): "WebhookFunction",
    ("GET", "/widget/{file}"): "WebhookFunction",
    ("POST", "/bots/{bot_id}/web/messages"): "WebhookFunction",
    ("GET", "/bots/{bot_id}/web/messages"): "WebhookFunction",
    ("OPTIONS", "/bots/{bot_id}/web/messages"): "WebhookFunction",
    ("GET", "/history/{token}"): "HistoryPageFunction",
    ("GET", "/try/{token}"): "HistoryPageFunction",
    ("ANY", "/try/{proxy+}"): "HistoryPageFunction",
}

FUNCTIONS = {
    "WebhookFunction": ("webhook", settings.WebhookSettings),
    "KbIngestFunction": ("kb_ingest", settings.IngestSettings),
    "NotifyFunction": ("notify", settings.NotifySettings),
    "CrmSyncFunction": ("crm_sync", settings.CrmSyncSettings),
    "HistoryPageFunction": ("history_page", settings.HistorySettings),
}

# Least privilege, as designed: which function may do what with which resource.
DYNAMODB_ACCESS = {
    "WebhookFunction": {"KbTable": "read", "ConversationsTable": "crud", "IdempotencyTable": "crud"},
    "KbIngestFunction": {"KbTable": "crud", "ConversationsTable": "read"},  # the latter: FAQ mining's weekly report
    "NotifyFunction": {"KbTable": "read", "ConversationsTable": "crud", "IdempotencyTable": "crud"},
    "CrmSyncFunction": {"KbTable": "read", "ConversationsTable": "crud", "IdempotencyTable": "crud"},
    "HistoryPageFunction": {"KbTable": "read", "ConversationsTable": "read"},
}
QUEUE_ACCESS = {
    "WebhookFunction": {"EscalationsQueue": "send", "CrmQueue": "send"},
    "KbIngestFunction": {},
    "NotifyFunction": {"EscalationsQueue": "poll", "EscalationsDlq": "send"},
    "CrmSyncFunction": {"CrmQueue": "poll", "CrmDlq": "send"},
    "HistoryPageFunction": {},
}

# Environment variables the runtime or Powertools read, not our settings models.
PLATFORM_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL", "PYDANTIC_DISABLE_PLUGINS"}
# Settings fields that name a deployed resource: the template must set them (defaults only suit the emulator).
RESOURCE_FIELD = re.compile(r"^(stage|.*_table_name|.*_queue_url|.*_bucket_name|.*_param|public_base_url)$")


def _run(args: list[str | Path], *, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: function_properties(template, lid) for lid in resources_of_type(template, FUNCTION_TYPE)}


def _policies(properties: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for policy in properties.get("Policies", []):
        if isinstance(policy, dict):
            yield from policy.items()
        else:
            yield policy, None


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


# ------------------------------------------------------------------------------------------ SAM CLI, cfn-lint


def test_sam_validate_lint_passes() -> None:
    # when
    result = _run([SAM, "validate", "--lint", "-t", TEMPLATE_PATH])

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


def test_samconfig_points_sam_at_the_template_and_has_dev_and_prod() -> None:
    # given
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())

    # when: plain `sam validate` from the repo root, as the README says
    result = _run([SAM, "validate"])

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{TEMPLATE_PATH} is a valid SAM Template" in result.stdout
    assert config["default"]["validate"]["parameters"]["lint"] is True
    for env, stage in (("default", "dev"), ("prod", "prod")):
        assert (ROOT / config[env]["global"]["parameters"]["template_file"]).resolve() == TEMPLATE_PATH
        deploy = config[env]["deploy"]["parameters"]
        assert deploy["stack_name"] == f"faqbot-{stage}"
        assert f"Stage={stage}" in deploy["parameter_overrides"].split()
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["resolve_s3"] is True


def test_cfn_lint_is_clean_including_informational_rules() -> None:
    # when
    result = _run([CFN_LINT, "--include-checks", "I", "--", TEMPLATE_PATH])

    # then
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` into a temporary folder (its dependency cache too, so it never touches the checkout)."""
    work = tmp_path_factory.mktemp("sam-build")
    result = _run(
        [
            SAM, "build", "-t", TEMPLATE_PATH, "--build-dir", work / "build", "--cache-dir", work / "cache",
            "--cached", "--parallel",
        ],
        cwd=work,
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return work / "build"


def _dist_versions(folder: Path) -> dict[str, str]:
    versions = {}
    for dist_info in folder.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        versions[name.lower().replace("_", "-")] = version
    return versions


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_sam_build_ships_faqbot_in_the_layer_with_the_pinned_versions(sam_build: Path) -> None:
    # given
    layer = sam_build / "SharedLayer" / "python"
    kb_ingest = sam_build / "KbIngestFunction"

    # then
    assert (layer / "faqbot" / "__init__.py").is_file()
    assert (layer / "faqbot" / "settings.py").is_file()
    layer_versions, ingest_versions = _dist_versions(layer), _dist_versions(kb_ingest)
    for requirement, versions in (
        (ROOT / "shared" / "requirements.txt", layer_versions),
        (ROOT / "functions" / "kb_ingest" / "requirements.txt", ingest_versions),
    ):
        for name, version in _pins(requirement).items():
            assert versions.get(name.split("[")[0]) == version, f"{requirement.name}: {name}=={version} not built"
    assert "pandas" not in layer_versions, "pandas belongs to kb_ingest only (webhook cold start)"
    for name in ("WebhookFunction", "NotifyFunction", "CrmSyncFunction", "HistoryPageFunction"):
        assert not _dist_versions(sam_build / name), f"{name} should take its dependencies from the layer"


def test_sam_build_output_only_holds_wheels_the_lambda_python311_image_can_load(sam_build: Path) -> None:
    # given: Amazon Linux 2 (python3.11) has glibc 2.26
    bad = []

    # when
    for wheel_file in sam_build.glob("*/**/*.dist-info/WHEEL"):
        for tag in re.findall(r"^Tag: (\S+)$", wheel_file.read_text(), flags=re.M):
            _python, _abi, platform = tag.split("-")
            glibc = re.match(r"manylinux_(\d+)_(\d+)_x86_64$", platform)
            legacy = platform in {"manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64"}
            if platform == "any" or legacy or (glibc and (int(glibc[1]), int(glibc[2])) <= (2, 26)):
                break
        else:
            bad.append(str(wheel_file.parent.relative_to(sam_build)))

    # then
    assert not bad, f"wheels the python3.11 Lambda runtime cannot load: {bad}"


def test_sam_build_fits_lambdas_unzipped_size_limit(sam_build: Path) -> None:
    # given: a function and its layers must stay under 250 MB unzipped
    layer = _folder_bytes(sam_build / "SharedLayer")

    # then
    for name in FUNCTIONS:
        assert layer + _folder_bytes(sam_build / name) < 250 * 1024 * 1024, name


# ------------------------------------------------------------------------------------------ structure


def test_every_function_has_its_handler_requirements_and_the_shared_layer(template: dict[str, Any]) -> None:
    # given
    functions = _functions(template)

    # then
    assert set(functions) == set(FUNCTIONS)
    for logical_id, (folder, _) in FUNCTIONS.items():
        properties = functions[logical_id]
        code_dir = (TEMPLATE_PATH.parent / properties["CodeUri"]).resolve()
        assert code_dir == ROOT / "functions" / folder
        module, handler = properties["Handler"].rsplit(".", 1)
        source = code_dir / f"{module}.py"
        assert source.is_file(), f"{logical_id}: handler file {source} is missing"
        tree = ast.parse(source.read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} | {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        assert handler in defined, f"{logical_id}: {source.name} defines no {handler}"
        assert (code_dir / "requirements.txt").is_file()
        assert {"Ref": "SharedLayer"} in properties["Layers"]
        assert properties["Runtime"] == "python3.11"
        assert properties["Tracing"] == "Active"


def test_the_layer_is_built_from_shared_for_the_functions_runtime_and_architecture(template: dict[str, Any]) -> None:
    # given
    layer = template["Resources"]["SharedLayer"]
    architectures = template["Globals"]["Function"]["Architectures"]

    # then
    assert (TEMPLATE_PATH.parent / layer["Properties"]["ContentUri"]).resolve() == ROOT / "shared"
    assert (ROOT / "shared" / "requirements.txt").is_file()
    assert layer["Metadata"]["BuildMethod"] == "python3.11"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11"]
    assert [layer["Metadata"]["BuildArchitecture"]] == architectures
    assert layer["Properties"]["CompatibleArchitectures"] == architectures


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path}: {line!r} is not pinned with =="
            pins[name.strip().lower()] = version.strip()
    return pins


def test_lambda_requirements_pin_what_pyproject_pins() -> None:
    # given
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def pinned(requirements: list[str]) -> dict[str, str]:
        return {name.lower(): version for name, _, version in (r.partition("==") for r in requirements) if version}

    # then: the layer ships the runtime dependencies, kb_ingest the ingest extra, at the tested versions
    layer = _pins(ROOT / "shared" / "requirements.txt")
    for name, version in pinned(project["dependencies"]).items():
        assert layer.get(name) == version, f"shared/requirements.txt: {name} must be =={version}"
    assert _pins(ROOT / "functions" / "kb_ingest" / "requirements.txt") == pinned(
        project["optional-dependencies"]["ingest"]
    )
    for folder in ("webhook", "notify", "crm_sync", "history_page"):
        assert "pandas" not in _pins(ROOT / "functions" / folder / "requirements.txt")


def test_every_contract_route_and_no_other_is_on_the_http_api(template: dict[str, Any]) -> None:
    # given
    routes = {}
    for logical_id, properties in _functions(template).items():
        for event in properties.get("Events", {}).values():
            if event["Type"] == "HttpApi":
                assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}
                assert event["Properties"].get("PayloadFormatVersion", "2.0") == "2.0"
                routes[(event["Properties"]["Method"].upper(), event["Properties"]["Path"])] = logical_id

    # then
    assert template["Resources"]["HttpApi"]["Type"] == "AWS::Serverless::HttpApi"
    assert routes == ROUTES


def test_every_sqs_consumer_reports_partial_failures_and_its_queue_has_a_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    # given
    queues = resources_of_type(template, "AWS::SQS::Queue")
    consumers = {}

    # when
    for logical_id, properties in _functions(template).items():
        for event in properties.get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            queue_id, attribute = event["Properties"]["Queue"]["Fn::GetAtt"]
            consumers[queue_id] = logical_id
            # then
            assert attribute == "Arn"
            assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            queue = queues[queue_id]["Properties"]
            dlq_id, _ = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"]
            assert "RedrivePolicy" not in queues[dlq_id]["Properties"], f"{dlq_id} must be a terminal queue"
            assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
            assert queue["VisibilityTimeout"] >= 6 * properties["Timeout"], f"{queue_id}: < 6x {logical_id} timeout"
            dlq_retention = queues[dlq_id]["Properties"]["MessageRetentionPeriod"]
            assert dlq_retention > queue.get("MessageRetentionPeriod", 345600)

    # then
    assert consumers == {
        "EscalationsQueue": "NotifyFunction",
        "CrmQueue": "CrmSyncFunction",
        "TranscriptQueue": "KbIngestFunction",
    }
    assert set(queues) == {
        "EscalationsQueue",
        "EscalationsDlq",
        "CrmQueue",
        "CrmDlq",
        "TranscriptQueue",
        "TranscriptDlq",
    }


def test_transcripts_reach_kb_ingest_in_batches_through_a_queue_only_the_bucket_may_send_to(
    template: dict[str, Any],
) -> None:
    # given
    resources = template["Resources"]
    bucket = resources["KbBucket"]
    events = resources["KbIngestFunction"]["Properties"]["Events"]
    policy = resources["TranscriptQueuePolicy"]["Properties"]

    # when
    (notification,) = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    mining = events["TranscriptUpload"]
    (statement,) = policy["PolicyDocument"]["Statement"]

    # then: every object created under transcripts/ is an event in TranscriptQueue ...
    assert notification["Queue"] == {"Fn::GetAtt": ["TranscriptQueue", "Arn"]}
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "transcripts/"}]
    # ... which S3 may send to once the policy exists, for this bucket only (its name, not a !Ref: no cycle) ...
    assert bucket["DependsOn"] == "TranscriptQueuePolicy" and policy["Queues"] == [{"Ref": "TranscriptQueue"}]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert source == "arn:${AWS::Partition}:s3:::" + bucket["Properties"]["BucketName"]["Fn::Sub"]
    # ... and kb_ingest takes a minute's events as one batch, at most two batches at a time
    assert mining["Type"] == "SQS" and mining["Properties"]["BatchSize"] >= 100
    assert mining["Properties"]["MaximumBatchingWindowInSeconds"] >= 30
    assert mining["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_kb_uploads_under_kb_prefix_invoke_kb_ingest_without_a_circular_dependency(template: dict[str, Any]) -> None:
    # given
    bucket = template["Resources"]["KbBucket"]
    ingest = template["Resources"]["KbIngestFunction"]["Properties"]
    bucket_name = bucket["Properties"]["BucketName"]

    # when
    s3_events = [e["Properties"] for e in ingest["Events"].values() if e["Type"] == "S3"]
    outside_events = {key: value for key, value in ingest.items() if key != "Events"}

    # then: KB uploads (transcripts for FAQ mining go through a queue, below)
    assert [event["Filter"]["S3Key"]["Rules"] for event in s3_events] == [[{"Name": "prefix", "Value": "kb/"}]]
    assert all(event["Bucket"] == {"Ref": "KbBucket"} for event in s3_events)
    assert all(event["Events"] == "s3:ObjectCreated:*" for event in s3_events)
    references = [v for v in _walk(outside_events) if isinstance(v, dict) and ("Ref" in v or "Fn::GetAtt" in v)]
    assert not [r for r in references if r.get("Ref") == "KbBucket" or r.get("Fn::GetAtt", [""])[0] == "KbBucket"]
    assert ingest["Environment"]["Variables"]["KB_BUCKET_NAME"] == bucket_name
    policy_names = [args["BucketName"] for name, args in _policies(ingest) if name == "S3ReadPolicy"]
    assert policy_names == [bucket_name]


def test_kb_bucket_is_private_encrypted_and_versioned(template: dict[str, Any]) -> None:
    # given
    properties = template["Resources"]["KbBucket"]["Properties"]

    # then
    assert all(properties["PublicAccessBlockConfiguration"][key] is True for key in (
        "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"
    ))  # fmt: skip
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}


def test_tables_have_the_keys_and_ttls_the_code_uses(template: dict[str, Any]) -> None:
    # given
    tables = {lid: r["Properties"] for lid, r in resources_of_type(template, "AWS::DynamoDB::Table").items()}

    def keys(table: dict[str, Any]) -> list[tuple[str, str]]:
        return [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]]

    # then
    assert set(tables) == {"KbTable", "ConversationsTable", "IdempotencyTable"}
    assert all(t["BillingMode"] == "PAY_PER_REQUEST" for t in tables.values())
    assert keys(tables["KbTable"]) == [("pk", "HASH"), ("sk", "RANGE")]
    assert tables["KbTable"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert keys(tables["ConversationsTable"]) == [("pk", "HASH"), ("sk", "RANGE")]
    assert tables["ConversationsTable"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert keys(tables["IdempotencyTable"]) == [("id", "HASH")]
    assert tables["IdempotencyTable"]["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def test_environment_variables_are_exactly_the_settings_each_function_reads(template: dict[str, Any]) -> None:
    # given
    functions = _functions(template)

    for logical_id, (_, model) in FUNCTIONS.items():
        assert issubclass(model, BaseSettings)
        assert not model.model_config.get("env_prefix")
        fields = {name.upper() for name in model.model_fields}
        required = {name.upper() for name in model.model_fields if RESOURCE_FIELD.match(name)}

        # when
        env = functions[logical_id]["Environment"]["Variables"]
        ours = set(env) - PLATFORM_ENV

        # then
        assert ours <= fields, f"{logical_id} sets variables its settings do not read: {ours - fields}"
        assert required <= ours, f"{logical_id} leaves resource settings at emulator defaults: {required - ours}"
        for name, value in env.items():
            if name.endswith("_TABLE_NAME"):
                assert value == {"Ref": _camel(name.removesuffix("_TABLE_NAME").lower()) + "Table"}, name
            if name.endswith("_QUEUE_URL"):
                assert value == {"Ref": _camel(name.removesuffix("_QUEUE_URL").lower()) + "Queue"}, name
        assert env["STAGE"] == {"Ref": "Stage"}
        assert env["LOG_LEVEL"] == {"Ref": "LogLevel"}


def test_policies_grant_each_function_only_the_access_it_needs(template: dict[str, Any]) -> None:
    for logical_id, properties in _functions(template).items():
        # given
        tables: dict[str, str] = {}
        queues: dict[str, str] = {}

        # when
        for name, args in _policies(properties):
            if name in ("DynamoDBReadPolicy", "DynamoDBCrudPolicy"):
                table = args["TableName"]["Ref"]
                assert table not in tables, f"{logical_id}: two policies for {table}"
                tables[table] = "read" if name == "DynamoDBReadPolicy" else "crud"
            elif name in ("SQSSendMessagePolicy", "SQSPollerPolicy"):
                queue, attribute = args["QueueName"]["Fn::GetAtt"]
                assert attribute == "QueueName"
                queues[queue] = "send" if name == "SQSSendMessagePolicy" else "poll"
            elif name == "SSMParameterReadPolicy":
                assert args["ParameterName"] == {"Fn::Sub": "faqbot/${Stage}/*"}
            elif name == "AWSSecretsManagerGetSecretValuePolicy":
                assert args["SecretArn"]["Fn::Sub"].endswith(":secret:faqbot/${Stage}/*")
            elif name not in ("S3ReadPolicy", "Statement"):
                pytest.fail(f"{logical_id}: unexpected policy {name}")

        # then
        assert tables == DYNAMODB_ACCESS[logical_id], logical_id
        assert queues == QUEUE_ACCESS[logical_id], logical_id
        param = properties["Environment"]["Variables"].get("HISTORY_SIGNING_KEY_PARAM")
        if param is not None:
            assert param == {"Fn::Sub": "/faqbot/${Stage}/history-signing-key"}
            assert "SSMParameterReadPolicy" in dict(_policies(properties))


def test_only_kb_ingest_touches_the_bucket_and_it_writes_reports_only(template: dict[str, Any]) -> None:
    # given
    functions = _functions(template)
    bucket_name = template["Resources"]["KbBucket"]["Properties"]["BucketName"]["Fn::Sub"]

    # then
    for logical_id, properties in functions.items():
        s3_policies = [name for name, _ in _policies(properties) if name.startswith("S3")]
        assert s3_policies == (["S3ReadPolicy"] if logical_id == "KbIngestFunction" else []), logical_id
    statements = [s for name, args in _policies(functions["KbIngestFunction"]) if name == "Statement" for s in args]
    assert statements == [
        {
            "Sid": "WriteIngestReports",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket_name}/reports/*"},
        },
        {
            "Sid": "WriteSyncedSheets",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket_name}/kb/*/kb-source.*"},
        },
        {
            "Sid": "WriteMiningDrafts",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": [
                {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket_name}/drafts/*"},
                {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket_name}/transcripts/*"},
            ],
        },
        {
            "Sid": "TranscribeCallRecordings",
            "Effect": "Allow",
            "Action": "transcribe:StartTranscriptionJob",
            "Resource": "*",
        },
    ]


def test_kb_ingest_syncs_connected_sheets_on_a_configurable_schedule(template: dict[str, Any]) -> None:
    # given
    from faqbot.kb.sync import SOURCE_FILE_STEM, is_sync_event

    ingest = template["Resources"]["KbIngestFunction"]["Properties"]
    parameter = template["Parameters"]["KbSyncSchedule"]

    # when
    schedule = ingest["Events"]["KbSourceSync"]

    # then: every 15 minutes by default, the event kb_ingest recognises as the sync, uploads where ingest looks
    assert schedule["Type"] == "Schedule"
    assert schedule["Properties"]["Schedule"] == {"Ref": "KbSyncSchedule"}
    assert parameter["Default"] == "rate(15 minutes)"
    assert re.match(parameter["AllowedPattern"], "cron(0/5 * * * ? *)")
    assert not re.match(parameter["AllowedPattern"], "every 5 minutes")
    assert is_sync_event(json.loads(schedule["Properties"]["Input"]))
    assert f"/kb/*/{SOURCE_FILE_STEM}." in json.dumps(ingest["Policies"])


def test_kb_ingest_writes_every_bots_unanswered_questions_report_weekly(template: dict[str, Any]) -> None:
    # given
    from faqbot.mining.jobs import is_weekly_report_event

    ingest = template["Resources"]["KbIngestFunction"]["Properties"]

    # when
    schedule = ingest["Events"]["UnansweredReport"]

    # then: once a week (one day-of-week in the cron), with the event kb_ingest recognises as the report run
    assert schedule["Type"] == "Schedule"
    minutes, hours, day, month, weekday, year = schedule["Properties"]["Schedule"].removeprefix("cron(")[:-1].split()
    assert (day, month, year) == ("?", "*", "*") and weekday.isalpha() and hours.isdigit() and minutes.isdigit()
    assert is_weekly_report_event(json.loads(schedule["Properties"]["Input"]))
    assert ingest["Environment"]["Variables"]["CONVERSATIONS_TABLE_NAME"] == {"Ref": "ConversationsTable"}


SECRET_PATTERNS = {
    "telegram bot token": re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b"),
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "bearer token": re.compile(r"Bearer\s+\S+", re.I),
    "long random string": re.compile(r"\b[A-Za-z0-9+/_-]{40,}\b"),
}


def test_no_secret_is_written_into_the_template(template: dict[str, Any]) -> None:
    # given
    text = TEMPLATE_PATH.read_text()

    # then
    for kind, pattern in SECRET_PATTERNS.items():
        assert not pattern.search(text), f"template contains what looks like a {kind}"
    for logical_id, properties in _functions(template).items():
        for name, value in properties["Environment"]["Variables"].items():
            if re.search(r"SECRET|TOKEN|PASSWORD|API_KEY|SIGNING_KEY", name):
                assert name.endswith(("_PARAM", "_NAME")), f"{logical_id}.{name}: pass a parameter name, not a secret"
                assert isinstance(value, dict), f"{logical_id}.{name}: literal value"
    for name, spec in template["Parameters"].items():
        if re.search(r"secret|token|password|key", name, re.I):
            assert spec.get("NoEcho") is True, name


def test_outputs_give_the_cli_the_api_url_bucket_tables_and_queues(template: dict[str, Any]) -> None:
    # given
    outputs = template["Outputs"]

    # then
    assert outputs["KbBucketName"]["Value"] == {"Ref": "KbBucket"}
    assert outputs["ApiUrl"]["Value"] == {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    for table in ("KbTable", "ConversationsTable", "IdempotencyTable"):
        assert outputs[f"{table}Name"]["Value"] == {"Ref": table}
    for queue in ("EscalationsQueue", "EscalationsDlq", "CrmQueue", "CrmDlq"):
        assert outputs[f"{queue}Url"]["Value"] == {"Ref": queue}


# ------------------------------------------------------------------------------------------ events/

EVENT_FILES = sorted((ROOT / "events").glob("*.json"))


def _kind(event: dict[str, Any]) -> str:
    if event.get("version") == "2.0" and "routeKey" in event:
        return "http"
    sources = {record.get("eventSource") for record in event.get("Records", [])}
    if sources == {"aws:sqs"}:
        return "sqs"
    if sources == {"aws:s3"}:
        return "s3"
    raise AssertionError(f"not an HTTP API v2, SQS or S3 event: {sorted(event)}")


def test_the_sample_events_cover_every_function() -> None:
    names = {path.name for path in EVENT_FILES}

    assert {
        "manychat_instagram.json", "manychat_whatsapp.json", "manychat_telegram.json", "manychat_messenger.json",
        "smartsender_message.json", "health.json", "bot_health.json", "history_page.json",
        "sqs_escalation.json", "sqs_lead_ready.json", "sqs_transcripts.json", "s3_kb_put.json",
    } <= names  # fmt: skip


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_sample_event_parses_with_powertools_and_matches_the_template(path: Path, template: dict[str, Any]) -> None:
    # given
    event = json.loads(path.read_text(encoding="utf-8"))
    kind = _kind(event)

    # when / then
    if kind == "http":
        parsed = APIGatewayProxyEventV2Model.model_validate(event)
        method, route_path = parsed.routeKey.split(" ", 1)
        assert (method, route_path) in ROUTES, f"{parsed.routeKey} is not a route of the template"
        assert parsed.requestContext.http.method == method
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route_path))
        match = re.fullmatch(pattern, parsed.rawPath)
        assert match, f"{parsed.rawPath} does not match {route_path}"
        assert (parsed.pathParameters or {}) == match.groupdict()
        assert event["isBase64Encoded"] is False
        if parsed.body is not None:
            assert isinstance(parsed.body, str)
            assert isinstance(json.loads(parsed.body), dict)
            assert int(event["headers"]["content-length"]) == len(parsed.body.encode())
    elif kind == "sqs":
        records = SqsModel.model_validate(event).Records
        consumers = {
            e["Properties"]["Queue"]["Fn::GetAtt"][0]
            for p in _functions(template).values()
            for e in p.get("Events", {}).values()
            if e["Type"] == "SQS"
        }
        for record in records:
            assert isinstance(record.body, str)
            assert record.eventSourceARN.rsplit(":", 1)[1] in consumers
            assert record.md5OfBody == hashlib.md5(record.body.encode()).hexdigest()
            if record.eventSourceARN.endswith(":TranscriptQueue"):  # S3's notifications of new transcripts
                for s3_record in S3Model.model_validate_json(str(record.body)).Records:
                    assert s3_record.s3.object is not None
                    assert s3_record.s3.object.key.startswith("transcripts/")
                continue
            queue_event = parse_queue_event(record.body)
            expected_queue = "EscalationsQueue" if queue_event.type == "escalation" else "CrmQueue"
            assert record.eventSourceARN.endswith(f":{expected_queue}")
    else:
        for s3_record in S3Model.model_validate(event).Records:
            assert s3_record.s3.object is not None
            assert s3_record.s3.object.key.startswith("kb/")
            assert s3_record.eventName.startswith("ObjectCreated:")


def test_s3_sample_event_names_the_local_stacks_bucket() -> None:
    # given: the local stack names resources by logical id
    event = S3Model.model_validate(json.loads((ROOT / "events" / "s3_kb_put.json").read_text()))

    # then
    assert event.Records[0].s3.bucket.name == "KbBucket"
    assert event.Records[0].s3.object is not None
    assert event.Records[0].s3.object.key == "kb/demo/faq.csv"


def test_queue_sample_events_are_the_webhooks_event_models() -> None:
    # given
    escalation = json.loads((ROOT / "events" / "sqs_escalation.json").read_text())["Records"][0]["body"]
    lead = json.loads((ROOT / "events" / "sqs_lead_ready.json").read_text())["Records"][0]["body"]

    # when
    parsed_escalation, parsed_lead = parse_queue_event(escalation), parse_queue_event(lead)

    # then: every field of the sample is a field of the model (nothing silently ignored)
    assert parsed_escalation.type == "escalation"
    assert set(json.loads(escalation)) <= set(type(parsed_escalation).model_fields)
    assert parsed_lead.type == "lead.ready"
    assert set(json.loads(lead)) <= set(type(parsed_lead).model_fields)
