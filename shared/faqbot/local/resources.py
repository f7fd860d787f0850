"""The template's tables, queues and bucket, made real in the emulator, and each function's wiring.

Everything is read from `infra/template.yaml` (never a second hand-written list), so the local
stack, the tests and the deployed stack cannot drift. A resource's physical name is its logical
id (`KbTable`, `KbBucket`: what `faqbot --local` and the settings defaults expect). A template
may also spell a resource's name out (`BucketName: !Sub faqbot-${Stage}-kb-...`) and repeat that
name in a function's environment instead of a `!Ref` (to avoid a circular dependency): such a
value is translated to the local name. Intrinsics are resolved the way CloudFormation would for
one stack in eu-central-1, with every parameter at its default unless overridden.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faqbot.local.handlers import LOCAL_ACCOUNT_ID, LOCAL_REGION
from faqbot.local.template import function_properties

LOCAL_STACK_NAME = "faqbot-local"

TABLE = "AWS::DynamoDB::Table"
QUEUE = "AWS::SQS::Queue"
BUCKET = "AWS::S3::Bucket"
FUNCTION = "AWS::Serverless::Function"
CREATED_TYPES = (TABLE, QUEUE, BUCKET)
_NAME_PROPERTY = {TABLE: "TableName", QUEUE: "QueueName", BUCKET: "BucketName"}

# Queue properties that are SQS queue attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
)


class TemplateError(ValueError):
    """The template uses something the local stack cannot reproduce; the message says what."""


@dataclass(frozen=True)
class LocalResource:
    logical_id: str
    type: str
    name: str
    arn: str
    url: str | None = None
    declared_name: str | None = None  # the template's TableName / QueueName / BucketName, if any

    @property
    def ref(self) -> str:
        """What `!Ref` returns: a queue's URL, otherwise the name."""
        return self.url if self.type == QUEUE and self.url else self.name


@dataclass(frozen=True)
class HttpRoute:
    function: str
    method: str  # upper case, or ANY
    path: str  # e.g. /bots/{bot_id}/manychat, or $default

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsSource:
    function: str
    queue: str  # logical id
    batch_size: int = 10
    report_batch_item_failures: bool = False


@dataclass(frozen=True)
class S3Source:
    function: str
    bucket: str  # logical id
    event_id: str  # the event's key under the function's Events
    events: tuple[str, ...] = ("s3:ObjectCreated:*",)
    filter_rules: tuple[tuple[str, str], ...] = ()  # (prefix|suffix, value)

    def matches(self, key: str) -> bool:
        for rule, value in self.filter_rules:
            if rule.lower() == "prefix" and not key.startswith(value):
                return False
            if rule.lower() == "suffix" and not key.endswith(value):
                return False
        return True


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory_mb: int
    env: Mapping[str, str]
    routes: tuple[HttpRoute, ...] = ()
    sqs_sources: tuple[SqsSource, ...] = ()
    s3_sources: tuple[S3Source, ...] = ()
    max_retry_attempts: int = 2  # asynchronous invocations (S3 events)


@dataclass(frozen=True)
class LocalResources:
    """What the template declares, resolved for one local stack."""

    resources: Mapping[str, LocalResource]
    functions: Mapping[str, LocalFunction]
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, logical_id: str) -> LocalResource:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise KeyError(f"the template declares no table, queue or bucket {logical_id!r}") from None

    def of_type(self, type_: str) -> list[LocalResource]:
        return [r for r in self.resources.values() if r.type == type_]

    def by_arn(self, arn: str) -> LocalResource:
        for resource in self.resources.values():
            if resource.arn == arn:
                return resource
        raise KeyError(f"no local resource with ARN {arn}")

    def function(self, name: str) -> LocalFunction:
        """A function by logical id (`WebhookFunction`) or code folder name (`webhook`)."""
        if name in self.functions:
            return self.functions[name]
        for fn in self.functions.values():
            if fn.code_dir.name == name:
                return fn
        raise KeyError(f"the template declares no function {name!r}")

    @property
    def routes(self) -> list[HttpRoute]:
        return [route for fn in self.functions.values() for route in fn.routes]


def plan_resources(
    template: Mapping[str, Any],
    *,
    template_dir: Path,
    endpoint_url: str | None = None,
    parameter_overrides: Mapping[str, Any] | None = None,
) -> LocalResources:
    """Names, ARNs, URLs and function wiring, without creating anything.

    Queue URLs take the emulator's form when `endpoint_url` is given, else the AWS form that
    moto's in-process `mock_aws` also uses.
    """
    parameters = _parameters(template, parameter_overrides or {})
    resolver = _Resolver(template, parameters, {})
    for logical_id, declaration in _declared(template, CREATED_TYPES):
        resolver.resources[logical_id] = _plan_resource(logical_id, declaration, resolver, endpoint_url)
    functions = {
        logical_id: _plan_function(logical_id, template, resolver, template_dir)
        for logical_id, _ in _declared(template, (FUNCTION,))
    }
    return LocalResources(resources=dict(resolver.resources), functions=functions, parameters=parameters)


def create_resources(
    template: Mapping[str, Any],
    resources: LocalResources,
    *,
    dynamodb_client: Any,
    sqs_client: Any,
    s3_client: Any,
) -> None:
    """Create the planned tables, queues (dead-letter queues first) and buckets; existing ones are kept."""
    resolver = _Resolver(template, dict(resources.parameters), dict(resources.resources))
    create_tables(template, resources, dynamodb_client=dynamodb_client, resolver=resolver)
    queues = [(lid, d) for lid, d in _declared(template, (QUEUE,))]
    # A queue's RedrivePolicy names its dead-letter queue, which must exist first.
    queues.sort(key=lambda item: "RedrivePolicy" in (item[1].get("Properties") or {}))
    for logical_id, declaration in queues:
        _create_queue(resources[logical_id], declaration, resolver, sqs_client)
    for logical_id, declaration in _declared(template, (BUCKET,)):
        _create_bucket(resources[logical_id], declaration, resolver, s3_client)


def create_tables(
    template: Mapping[str, Any],
    resources: LocalResources,
    *,
    dynamodb_client: Any,
    resolver: _Resolver | None = None,
) -> None:
    """Create the template's DynamoDB tables (keys, indexes, TTL) through `dynamodb_client`."""
    resolver = resolver or _Resolver(template, dict(resources.parameters), dict(resources.resources))
    for logical_id, declaration in _declared(template, (TABLE,)):
        _create_table(resources[logical_id], declaration, resolver, dynamodb_client)


# ---------------------------------------------------------------------------------------- planning


def _declared(template: Mapping[str, Any], types: tuple[str, ...]) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (logical_id, declaration)
        for logical_id, declaration in (template.get("Resources") or {}).items()
        if isinstance(declaration, Mapping) and declaration.get("Type") in types
    ]


def _parameters(template: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    declared = template.get("Parameters") or {}
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"parameter overrides for undeclared parameters: {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            values[name] = overrides[name]
        elif "Default" in spec:
            values[name] = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no default: pass it as an override")
    return values


def _plan_resource(
    logical_id: str, declaration: Mapping[str, Any], resolver: _Resolver, endpoint_url: str | None
) -> LocalResource:
    type_ = declaration["Type"]
    properties = declaration.get("Properties") or {}
    explicit = properties.get(_NAME_PROPERTY[type_])
    declared = str(resolver.resolve(explicit)) if explicit is not None else None
    name = logical_id
    if type_ == QUEUE and _truthy(resolver.resolve(properties.get("FifoQueue", False))) and not name.endswith(".fifo"):
        name += ".fifo"
    if type_ == TABLE:
        arn = f"arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:table/{name}"
        return LocalResource(logical_id, type_, name, arn, declared_name=declared)
    if type_ == BUCKET:
        return LocalResource(logical_id, type_, name, f"arn:aws:s3:::{name}", declared_name=declared)
    base = endpoint_url.rstrip("/") if endpoint_url else f"https://sqs.{LOCAL_REGION}.amazonaws.com"
    arn = f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{name}"
    return LocalResource(logical_id, type_, name, arn, url=f"{base}/{LOCAL_ACCOUNT_ID}/{name}", declared_name=declared)


def _plan_function(
    logical_id: str,
    template: Mapping[str, Any],
    resolver: _Resolver,
    template_dir: Path,
) -> LocalFunction:
    properties = function_properties(template, logical_id)
    variables = (properties.get("Environment") or {}).get("Variables") or {}
    local_names = {r.declared_name: r.ref for r in resolver.resources.values() if r.declared_name}
    env = {}
    for key, value in variables.items():
        text = _env_value(resolver.resolve(value))
        env[key] = local_names.get(text, text)
    routes: list[HttpRoute] = []
    sqs_sources: list[SqsSource] = []
    s3_sources: list[S3Source] = []
    for event_id, event in (properties.get("Events") or {}).items():
        event_type = event.get("Type")
        event_properties = event.get("Properties") or {}
        if event_type == "HttpApi":
            routes.append(_http_route(logical_id, event_properties))
        elif event_type == "SQS":
            sqs_sources.append(_sqs_source(logical_id, event_properties, resolver))
        elif event_type == "S3":
            s3_sources.append(_s3_source(logical_id, event_id, event_properties))
        elif event_type == "Schedule":
            continue  # not run on a timer locally: `faqbot kb sync <bot> --local` runs the sync on demand
        else:
            raise TemplateError(f"{logical_id}.Events.{event_id}: the local stack cannot deliver {event_type} events")
    invoke_config = properties.get("EventInvokeConfig") or {}
    return LocalFunction(
        logical_id=logical_id,
        code_dir=_code_dir(str(properties.get("CodeUri", ".")), template_dir),
        handler=str(properties.get("Handler", "app.lambda_handler")),
        timeout=int(resolver.resolve(properties.get("Timeout", 3))),
        memory_mb=int(resolver.resolve(properties.get("MemorySize", 128))),
        env=env,
        routes=tuple(routes),
        sqs_sources=tuple(sqs_sources),
        s3_sources=tuple(s3_sources),
        max_retry_attempts=int(resolver.resolve(invoke_config.get("MaximumRetryAttempts", 2))),
    )


def _code_dir(code_uri: str, template_dir: Path) -> Path:
    """SAM resolves CodeUri against the template's folder."""
    return (template_dir / code_uri).resolve()


def _http_route(function: str, properties: Mapping[str, Any]) -> HttpRoute:
    path = str(properties.get("Path", "$default"))
    method = str(properties.get("Method", "ANY")).upper()
    if method in {"*", "X-AMAZON-APIGATEWAY-ANY-METHOD"}:
        method = "ANY"
    return HttpRoute(function=function, method=method, path=path)


def _sqs_source(function: str, properties: Mapping[str, Any], resolver: _Resolver) -> SqsSource:
    queue_arn = str(resolver.resolve(properties["Queue"]))
    queue = next((r.logical_id for r in resolver.resources.values() if r.type == QUEUE and r.arn == queue_arn), None)
    if queue is None:
        raise TemplateError(f"{function}: SQS event source {queue_arn} is not a queue of this template")
    return SqsSource(
        function=function,
        queue=queue,
        batch_size=int(resolver.resolve(properties.get("BatchSize", 10))),
        report_batch_item_failures="ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []),
    )


def _s3_source(function: str, event_id: str, properties: Mapping[str, Any]) -> S3Source:
    bucket = properties.get("Bucket")
    if not (isinstance(bucket, Mapping) and "Ref" in bucket):
        raise TemplateError(f"{function}: an S3 event's Bucket must be a !Ref to a bucket of this template")
    events = properties.get("Events", "s3:ObjectCreated:*")
    rules = ((properties.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
    return S3Source(
        function=function,
        bucket=str(bucket["Ref"]),
        event_id=event_id,
        events=tuple([events] if isinstance(events, str) else events),
        filter_rules=tuple((str(rule["Name"]), str(rule["Value"])) for rule in rules),
    )


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


# ---------------------------------------------------------------------------------------- creation


def _create_table(resource: LocalResource, declaration: Mapping[str, Any], resolver: _Resolver, client: Any) -> None:
    properties = resolver.resolve(dict(declaration.get("Properties") or {}))
    billing = properties.get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": resource.name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = properties.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(key):
            request[key] = properties[key]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    try:
        client.create_table(**request)
    except client.exceptions.ResourceInUseException:
        return
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and _truthy(ttl.get("Enabled", False)):
        client.get_waiter("table_exists").wait(TableName=resource.name, WaiterConfig={"Delay": 0.2})
        client.update_time_to_live(
            TableName=resource.name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )


def _create_queue(resource: LocalResource, declaration: Mapping[str, Any], resolver: _Resolver, client: Any) -> None:
    properties = resolver.resolve(dict(declaration.get("Properties") or {}))
    attributes = {key: str(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties}
    redrive = properties.get("RedrivePolicy")
    if redrive:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": redrive["deadLetterTargetArn"], "maxReceiveCount": int(redrive["maxReceiveCount"])}
        )
    if _truthy(properties.get("FifoQueue", False)):
        attributes["FifoQueue"] = "true"
        if _truthy(properties.get("ContentBasedDeduplication", False)):
            attributes["ContentBasedDeduplication"] = "true"
    url = client.create_queue(QueueName=resource.name, Attributes=attributes)["QueueUrl"]
    if url != resource.url:
        raise TemplateError(f"{resource.logical_id}: the emulator gave queue URL {url}, expected {resource.url}")


def _create_bucket(resource: LocalResource, declaration: Mapping[str, Any], resolver: _Resolver, client: Any) -> None:
    properties = resolver.resolve(dict(declaration.get("Properties") or {}))
    try:
        client.create_bucket(Bucket=resource.name, CreateBucketConfiguration={"LocationConstraint": LOCAL_REGION})
    except client.exceptions.BucketAlreadyOwnedByYou:
        return
    if ((properties.get("VersioningConfiguration") or {}).get("Status")) == "Enabled":
        client.put_bucket_versioning(Bucket=resource.name, VersioningConfiguration={"Status": "Enabled"})
    queues = (properties.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []
    if queues:
        client.put_bucket_notification_configuration(
            Bucket=resource.name,
            NotificationConfiguration={"QueueConfigurations": [_queue_notification(queue) for queue in queues]},
        )


def _queue_notification(declared: Mapping[str, Any]) -> dict[str, Any]:
    """A template's `QueueConfigurations` item (CloudFormation's shape) in the S3 API's shape."""
    configuration: dict[str, Any] = {"QueueArn": str(declared["Queue"]), "Events": [str(declared["Event"])]}
    rules = ((declared.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
    if rules:
        configuration["Filter"] = {
            "Key": {"FilterRules": [{"Name": str(r["Name"]).lower(), "Value": str(r["Value"])} for r in rules]}
        }
    return configuration


# ---------------------------------------------------------------------------------------- intrinsics

_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class _Resolver:
    """Evaluates CloudFormation intrinsic functions against the local stack."""

    def __init__(
        self, template: Mapping[str, Any], parameters: dict[str, Any], resources: dict[str, LocalResource]
    ) -> None:
        self.template = template
        self.parameters = parameters
        self.resources = resources
        self.pseudo: dict[str, Any] = {
            "AWS::Region": LOCAL_REGION,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::StackName": LOCAL_STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:stack/{LOCAL_STACK_NAME}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE,
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            intrinsic = self._intrinsics().get(key)
            if intrinsic is not None:
                return intrinsic(argument)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not _NO_VALUE}

    def _intrinsics(self) -> dict[str, Any]:
        return {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": lambda a: str(self.resolve(a[0])).join(str(v) for v in self.resolve(a[1])),
            "Fn::Select": lambda a: self.resolve(a[1])[int(self.resolve(a[0]))],
            "Fn::Split": lambda a: str(self.resolve(a[1])).split(str(self.resolve(a[0]))),
            "Fn::If": self._if,
            "Fn::Equals": lambda a: str(self.resolve(a[0])) == str(self.resolve(a[1])),
            "Fn::Not": lambda a: not self.resolve(a[0]),
            "Fn::And": lambda a: all(self.resolve(v) for v in a),
            "Fn::Or": lambda a: any(self.resolve(v) for v in a),
            "Condition": self._condition,
            "Fn::FindInMap": self._find_in_map,
        }

    def _ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.resources:
            return self.resources[name].ref
        if name in (self.template.get("Resources") or {}):
            return name  # functions, APIs, layers...: their logical id stands in for the physical id
        raise TemplateError(f"!Ref {name}: no such parameter or resource")

    def _get_att(self, argument: Any) -> Any:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: the local stack only knows tables, queues, buckets")
        values = {
            "Arn": resource.arn,
            "QueueName": resource.name,
            "QueueUrl": resource.url,
            "DomainName": f"{resource.name}.s3.amazonaws.com",
            "RegionalDomainName": f"{resource.name}.s3.{LOCAL_REGION}.amazonaws.com",
        }
        if values.get(attribute) is None:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute} is not supported locally")
        return values[attribute]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        local = {name: self.resolve(value) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in local:
                return str(local[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return str(self._get_att(name))
            return str(self._ref(name))

        # `${!Literal}` is an escaped `${Literal}`.
        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def _if(self, argument: list[Any]) -> Any:
        condition, if_true, if_false = argument
        return self.resolve(if_true if self._condition(condition) else if_false)

    def _condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"condition {name} is not declared")
        return bool(self.resolve(conditions[name]))

    def _find_in_map(self, argument: list[Any]) -> Any:
        map_name, top, second = (self.resolve(v) for v in argument)
        return (self.template.get("Mappings") or {})[map_name][top][second]
