"""The deployment files in infra/ agree with the portal and with each other.

Nothing here builds an image or deploys a stack: the tests read the Dockerfile, the Compose file,
the CloudFormation template and the gunicorn settings, and check what a reviewer would otherwise
have to remember (a non-root image, private encrypted documents, queues that dead-letter, no
secret in a file, settings that production accepts, values that must match across files).
"""

from __future__ import annotations

import ast
import json
import os
import re
import runpy
import secrets
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest
import yaml
from cfnlint.api import lint_file
from cfnlint.config import ManualArgs
from cfnlint.decode import cfn_yaml

from portal import schedule
from portal.config import LOCALES, PROJECT_ROOT, ConfigError, PortalConfig
from portal.keys import new_key_text

INFRA = PROJECT_ROOT / "infra"
TEMPLATE = INFRA / "cloudformation.yaml"
COMPOSE = INFRA / "compose.yaml"
DOCKERFILE = INFRA / "Dockerfile"
DOCKERIGNORE = INFRA / "Dockerfile.dockerignore"
ENV_EXAMPLE = INFRA / "portal.env.example"
GUNICORN_CONF = INFRA / "gunicorn.conf.py"

# The template's Rules allow London only: it is linted for that region.
LINT_REGIONS = ["eu-west-2"]
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$")
INTERPOLATION = re.compile(r"\$\{[A-Z0-9_]+(?::?[-?][^}]*)?\}")
FOURTEEN_DAYS = 14 * 24 * 3600
# The containers' one writable place: a volume of its own in each task (not a shared host /tmp).
TMP = "/tmp"  # noqa: S108


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """cfn-lint's loader: it understands !Ref, !Sub and !GetAtt, which plain YAML refuses."""
    return cfn_yaml.load(str(TEMPLATE))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def properties(template: dict[str, Any], name: str) -> dict[str, Any]:
    return template["Resources"][name]["Properties"]


def containers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every container of the portal's image in every task definition, by container name (the
    clamd sidecars run ClamAV's image: test_clamd_runs_beside_the_portal_and_the_jobs)."""
    found = {}
    for task in resources(template, "AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            if container["Image"] != {"Ref": "ClamavImage"}:
                found[container["Name"]] = container
    return found


def environment(container: dict[str, Any]) -> dict[str, Any]:
    return {item["Name"]: item["Value"] for item in container.get("Environment", [])}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def restarts(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The schedules that call ECS's UpdateService themselves (no task), by resource name."""
    return {
        name: resource["Properties"]
        for name, resource in resources(template, "AWS::Scheduler::Schedule").items()
        if "aws-sdk:ecs:updateService" in str(resource["Properties"]["Target"]["Arn"])
    }


def schedules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each EventBridge schedule's properties, by the command its task is told to run."""
    found: dict[str, dict[str, Any]] = {}
    for name, resource in resources(template, "AWS::Scheduler::Schedule").items():
        if name in restarts(template):
            continue
        settings = resource["Properties"]
        (override,) = json.loads(settings["Target"]["Input"])["containerOverrides"]
        assert override["name"] == "jobs"
        *prefix, command = override["command"]
        assert prefix == ["flask", "--app", "portal"]
        assert command not in found, f"two schedules run {command}"
        found[command] = settings
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def dockerfile_stages() -> list[tuple[str, list[str]]]:
    """(FROM line, instructions) per stage, with continuation lines joined and comments dropped."""
    instructions: list[str] = []
    current = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        current = f"{current} {stripped}" if current else stripped
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        instructions.append(current)
        current = ""
    stages: list[tuple[str, list[str]]] = []
    for instruction in instructions:
        if instruction.upper().startswith("FROM "):
            stages.append((instruction, []))
        elif stages:
            stages[-1][1].append(instruction)
    return stages


def dockerfile_args() -> dict[str, str]:
    """Global ARG defaults (before the first FROM), used to resolve the stages' base images."""
    args = {}
    for line in DOCKERFILE.read_text().splitlines():
        if line.upper().startswith("FROM "):
            break
        match = re.match(r"ARG\s+(\w+)=(\S+)", line.strip())
        if match:
            args[match.group(1)] = match.group(2)
    return args


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _sep, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


# --------------------------------------------------------------------------- CloudFormation


def test_template_is_clean_for_cfn_lint_including_informational_checks():
    """Errors would fail the deployment; warnings and informational checks flag real mistakes
    (deprecated engine versions, stateful resources without a deletion policy), so none is
    tolerated."""
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=LINT_REGIONS, include_checks=["I"]))
    assert [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches] == []


def test_every_check_checkov_is_told_to_skip_says_why(template):
    """A suppressed finding is a decision: the template says which and why, beside the resource."""
    skipped = {
        name: resource["Metadata"]["checkov"]["skip"]
        for name, resource in template["Resources"].items()
        if "checkov" in resource.get("Metadata", {})
    }
    assert skipped
    for name, skips in skipped.items():
        for skip in skips:
            assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), name
            assert len(skip["comment"].split()) >= 8, f"{name} {skip['id']} gives no reason"


def test_template_is_clean_for_checkov():
    """checkov's policies beside cfn-lint's: every failed check fails the test, and only those
    skipped with a reason in the template are let through. checkov lives in a virtualenv of its
    own (`make test` builds .venv-checkov and sets PORTAL_CHECKOV): it pins an older boto3 than the
    portal's."""
    checkov = os.environ.get("PORTAL_CHECKOV") or shutil.which("checkov")
    if not checkov:
        pytest.skip("checkov is not installed: `make test` installs it (set PORTAL_CHECKOV)")
    result = subprocess.run(
        [
            checkov,
            "--file",
            str(TEMPLATE),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--quiet",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == []
    assert summary["failed"] == 0
    assert summary["passed"] > 0
    assert summary["parsing_errors"] == 0


def test_documents_bucket_is_private_and_encrypted_with_a_rotating_key(template):
    """Applicants' identity documents: never public, always encrypted with our own KMS key."""
    bucket = properties(template, "DocumentsBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = rule["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert default["KMSMasterKeyID"] == {"Fn::GetAtt": ["DocumentsKey", "Arn"]}
    assert properties(template, "DocumentsKey")["EnableKeyRotation"] is True
    # Losing the key or the bucket with the stack would lose every document.
    for name in ("DocumentsKey", "DocumentsBucket"):
        assert template["Resources"][name]["DeletionPolicy"] == "Retain"


def test_uploads_sent_straight_to_the_bucket_expire_unless_checked_and_only_the_portal_posts(
    template,
):
    """docs/capacity.md: browsers post files under incoming/; the portal's check moves them to
    documents/ and deletes them, and whatever no check took in is gone a day later."""
    bucket = properties(template, "DocumentsBucket")
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    unchecked = rules["ExpireUncheckedUploads"]
    assert unchecked["Status"] == "Enabled"
    assert unchecked["Prefix"] == "incoming/"
    assert unchecked["ExpirationInDays"] == 1
    assert unchecked["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    (cors,) = bucket["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedOrigins"] == [{"Ref": "BaseUrl"}]
    assert cors["AllowedMethods"] == ["POST"]


def test_bucket_policy_refuses_requests_without_tls(template):
    policy = properties(template, "DocumentsBucketPolicy")
    assert policy["Bucket"] == {"Ref": "DocumentsBucket"}
    denials = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(
        s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and s["Principal"] == "*"
        and s["Action"] == "s3:*"
        and len(s["Resource"]) == 2  # the bucket and its objects
        for s in denials
    )


def test_queues_redrive_to_the_dead_letter_queue_which_keeps_messages_fourteen_days(template):
    dead_letter = properties(template, "DeadLetterQueue")
    assert dead_letter["MessageRetentionPeriod"] == FOURTEEN_DAYS == 1209600
    assert "RedrivePolicy" not in dead_letter
    for name in ("CheckingQueue", "PriorityQueue"):
        queue = properties(template, name)
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
            "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
        }
        assert queue["MessageRetentionPeriod"] == FOURTEEN_DAYS
        assert queue["VisibilityTimeout"] == 1800


def test_queue_settings_match_what_the_portal_is_told(template):
    """The portal's lease and dead-letter count must be SQS's, or the two disagree on when an
    application is abandoned or dead."""
    for name in ("CheckingQueue", "PriorityQueue"):
        queue = properties(template, name)
        for container in containers(template).values():
            env = environment(container)
            assert env["PORTAL_QUEUE_LEASE_SECONDS"] == str(queue["VisibilityTimeout"])
            assert env["PORTAL_QUEUE_MAX_RECEIVES"] == str(
                queue["RedrivePolicy"]["maxReceiveCount"]
            )


def alarms_by_metric(template: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        settings = alarm["Properties"]
        found.setdefault((settings["Namespace"], settings["MetricName"]), []).append(settings)
    return found


def test_an_alarm_goes_off_when_the_dead_letter_queue_holds_a_message(template):
    (alarm,) = [
        a
        for a in alarms_by_metric(template)[("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
        if a["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
    ]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0


def test_a_failed_plan_capacity_run_is_mailed_to_the_alarm_topic(template):
    """The scale-out before a window is only planned if plan-capacity runs: a run that exits other
    than 0, or whose task never starts, reaches the alarm address at once."""
    rule = properties(template, "PlanCapacityFailed")
    assert rule["State"] == "ENABLED"
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ecs"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    detail = pattern["detail"]
    assert detail["clusterArn"] == [{"Fn::GetAtt": ["Cluster", "Arn"]}]
    assert detail["lastStatus"] == ["STOPPED"]
    assert detail["$or"] == [
        {"containers": {"exitCode": [{"anything-but": 0}]}},
        {"stopCode": ["TaskFailedToStart"]},
    ]
    # The command matched is the one the schedule starts, so the two cannot drift apart.
    schedule = properties(template, "PlanCapacitySchedule")["Target"]
    assert schedule["EcsParameters"]["TaskDefinitionArn"] == {"Ref": "JobsTaskDefinition"}
    (started,) = json.loads(schedule["Input"])["containerOverrides"]
    (matched,) = detail["overrides"]["containerOverrides"]["command"]
    assert matched == "plan-capacity" and matched in started["command"]

    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": "AlarmTopic"}
    assert "plan-capacity failed" in target["InputTransformer"]["InputTemplate"]
    # EventBridge may publish to the (encrypted) topic, as this rule only; alarms still may.
    policy = properties(template, "AlarmTopicPolicy")
    assert policy["Topics"] == [{"Ref": "AlarmTopic"}]
    publishers = {
        statement["Principal"]["Service"]: statement
        for statement in policy["PolicyDocument"]["Statement"]
    }
    assert set(publishers) == {"cloudwatch.amazonaws.com", "events.amazonaws.com"}
    assert publishers["events.amazonaws.com"]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["PlanCapacityFailed", "Arn"]}}
    }
    for statement in publishers.values():
        assert statement["Action"] == "sns:Publish"
        assert statement["Resource"] == {"Ref": "AlarmTopic"}
    key = properties(template, "AlarmsKey")["KeyPolicy"]["Statement"]
    assert any(
        statement["Principal"] == {"Service": "events.amazonaws.com"}
        and "kms:GenerateDataKey*" in statement["Action"]
        for statement in key
    )


def test_alarms_watch_the_edge_the_database_the_queues_and_the_mail(template):
    """What goes wrong on the day a window opens, each mailed to an address the stack requires."""
    found = alarms_by_metric(template)
    assert set(found) >= {
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SES", "Reputation.BounceRate"),
    }
    aged = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in found[("AWS/SQS", "ApproximateAgeOfOldestMessage")]
    }
    assert aged >= {"CheckingQueue", "PriorityQueue", "SesEventsQueue"}
    dead = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in found[("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
    }
    assert dead >= {"DeadLetterQueue", "SesEventsDeadLetterQueue"}
    # Queue age must be noticed long before SQS drops the message (14 days).
    default_age = template["Parameters"]["QueueAgeAlarmSeconds"]["Default"]
    assert int(default_age) < FOURTEEN_DAYS / 2
    for settings in (a for group in found.values() for a in group):
        assert settings["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert settings["OKActions"] == [{"Ref": "AlarmTopic"}]
    # An alarm that mails nobody is no alarm: the address has no default and no condition.
    email = template["Parameters"]["AlarmEmail"]
    assert "Default" not in email and email["AllowedPattern"]
    subscription = template["Resources"]["AlarmSubscription"]
    assert "Condition" not in subscription
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
    # CloudWatch cannot use the AWS-managed SNS key: the topic's key must let it.
    assert properties(template, "AlarmTopic")["KmsMasterKeyId"] == {"Ref": "AlarmsKey"}
    grants = properties(template, "AlarmsKey")["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in grants)


def waf_rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in properties(template, "WebAcl")["Rules"]}


def test_waf_guards_the_load_balancer_with_the_managed_rules_and_logs_what_it_stops(template):
    acl = properties(template, "WebAcl")
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    association = properties(template, "WebAclAssociation")
    assert association == {
        "ResourceArn": {"Ref": "LoadBalancer"},
        "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]},
    }
    managed = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]: rule
        for rule in waf_rules(template).values()
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert set(managed) == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    for rule in managed.values():
        assert rule["OverrideAction"] == {"None": {}}, "a group left in count mode blocks nothing"
    overrides = managed["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"][
        "RuleActionOverrides"
    ]
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    priorities = [rule["Priority"] for rule in acl["Rules"]]
    assert len(set(priorities)) == len(priorities)
    logging = properties(template, "WafLogging")
    assert logging["ResourceArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    (destination,) = logging["LogDestinationConfigs"]
    assert destination["Fn::Sub"].endswith(":log-group:${WafLogGroup}")
    assert properties(template, "WafLogGroup")["LogGroupName"]["Fn::Sub"].startswith(
        "aws-waf-logs-"
    )
    assert {"SingleHeader": {"Name": "cookie"}} in logging["RedactedFields"]


def test_the_rate_rule_lets_a_shelters_shared_address_through(template):
    """Hundreds of applicants behind one address (a shelter's Wi-Fi, a mobile operator's NAT),
    about 45 requests each: the edge limit must stay far above a busy hour there."""
    rule = waf_rules(template)["RateLimitPerAddress"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert rule["Action"] == {"Block": {}}
    window_minutes = rate.get("EvaluationWindowSec", 300) / 60
    applicants_an_hour, requests_each = 300, 45
    busy_hour_per_window = applicants_an_hour * requests_each * window_minutes / 60
    assert rate["Limit"] >= 2 * busy_hour_per_window
    assert rate["Limit"] >= 2000


def test_large_bodies_are_blocked_except_on_the_upload_routes(template, app):
    """The common rules' 8 KB body limit would block every document upload: it only counts, and
    a rule blocks what it labels unless the path is an upload route. The path pattern is checked
    against the app's own URL map, in every locale, so a renamed route cannot slip out of it."""
    rule = waf_rules(template)["LargeBodiesOnlyForUploads"]
    assert rule["Action"] == {"Block": {}}
    label, negated = rule["Statement"]["AndStatement"]["Statements"]
    assert label["LabelMatchStatement"] == {
        "Scope": "LABEL",
        "Key": "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body",
    }
    regex = negated["NotStatement"]["Statement"]["RegexMatchStatement"]
    assert regex["FieldToMatch"] == {"UriPath": {}}
    pattern = re.compile(regex["RegexString"])
    common = waf_rules(template)["CommonRules"]
    assert rule["Priority"] > common["Priority"], "the label must exist when the rule runs"
    uploads = {"documents.add", "backoffice.returns_list"}
    matched = set()
    for url_rule in app.url_map.iter_rules():
        if "POST" not in (url_rule.methods or ()):
            continue
        for locale in LOCALES:
            path = re.sub(r"<(?:[^:>]+:)?locale>", locale, url_rule.rule)
            path = re.sub(r"<[^>]+>", "passport", path)
            if pattern.search(path):
                matched.add(url_rule.endpoint)
            elif url_rule.endpoint in uploads:
                raise AssertionError(f"{path} is an upload route the WAF would block")
    assert matched == uploads
    # Uploads the portal accepts are far over the managed rule's 8 KB.
    assert PortalConfig().DOCUMENT_MAX_BYTES > 8 * 1024


def test_the_load_balancer_logs_every_request_to_a_private_expiring_bucket(template):
    attributes = {
        a["Key"]: a["Value"] for a in properties(template, "LoadBalancer")["LoadBalancerAttributes"]
    }
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogsBucket"}
    bucket = properties(template, "AccessLogsBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (expiry,) = bucket["LifecycleConfiguration"]["Rules"]
    assert 30 <= expiry["ExpirationInDays"] <= 400
    policy = properties(template, "AccessLogsBucketPolicy")["PolicyDocument"]["Statement"]
    writes = next(s for s in policy if s["Effect"] == "Allow")
    assert writes["Action"] == "s3:PutObject"
    prefix = attributes["access_logs.s3.prefix"]
    assert writes["Resource"]["Fn::Sub"].endswith(f"/{prefix}/AWSLogs/${{AWS::AccountId}}/*")
    assert any(s["Effect"] == "Deny" and s["Condition"] for s in policy)


def test_database_is_postgresql_15_encrypted_private_and_protected(template):
    database = properties(template, "Database")
    assert database["Engine"] == "postgres"
    assert database["EngineVersion"] == {"Ref": "DatabaseEngineVersion"}
    assert template["Parameters"]["DatabaseEngineVersion"]["Default"].startswith("15.")
    assert database["StorageEncrypted"] is True
    assert database["PubliclyAccessible"] is False
    assert database["DeletionProtection"] is True
    assert database["MultiAZ"] == {"Ref": "MultiAZ"}
    # The password is generated in Secrets Manager and never written in the template.
    assert "{{resolve:secretsmanager:" in database["MasterUserPassword"]["Fn::Sub"]
    parameters = properties(template, "DatabaseParameterGroup")
    assert parameters["Parameters"]["rds.force_ssl"] == "1"


def test_the_database_url_verifies_the_servers_certificate_with_the_bundle_in_the_image(template):
    """sslmode=require encrypts but accepts any server; verify-full checks the certificate
    against RDS's authorities and the host name against the endpoint."""
    urls = {environment(c)["DATABASE_URL"]["Fn::Sub"] for c in containers(template).values()}
    (url,) = urls
    assert "@" not in url, "the user and password come from their secret, not the URL"
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    assert query["sslmode"] == "verify-full"
    (*_builders, (_base, final)) = dockerfile_stages()
    (added,) = [i for i in final if i.startswith("ADD ")]
    assert added.split()[-1] == query["sslrootcert"]
    assert "https://truststore.pki.rds.amazonaws.com/" in added
    assert "--chmod=644" in added, "the portal user must be able to read it"


def test_portal_is_served_over_https_and_checked_on_readyz(template):
    https = properties(template, "HttpsListener")
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    http = properties(template, "HttpListener")
    assert http["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"
    target = properties(template, "TargetGroup")
    assert (target["HealthCheckPath"], target["Port"]) == ("/readyz", 8000)
    service = properties(template, "PortalService")
    assert service["LoadBalancers"][0]["ContainerPort"] == 8000
    assert "LoadBalancers" not in properties(template, "RelayService")
    assert "LoadBalancers" not in properties(template, "SenderService")


# An RDS Multi-AZ failover takes 60 to 120 seconds (AWS documentation).
FAILOVER_SECONDS = 120


def test_each_health_check_asks_the_right_endpoint(template):
    """The load balancer asks /readyz (dependencies); the container checks ask /livez (the
    process only), so an outage of a dependency never gets every task killed."""
    target = properties(template, "TargetGroup")
    assert target["HealthCheckPath"] == "/readyz"
    checked = {
        name: container["HealthCheck"]["Command"][-1]
        for name, container in containers(template).items()
        if "HealthCheck" in container
    }
    assert set(checked) == {"portal"}
    assert "/livez" in checked["portal"] and "readyz" not in checked["portal"]
    (_, final) = dockerfile_stages()[-1]
    (healthcheck,) = [i for i in final if i.upper().startswith("HEALTHCHECK ")]
    assert "/livez" in healthcheck and "readyz" not in healthcheck
    for text in (INFRA / "compose.yaml").read_text(), (INFRA / "cloudformation.yaml").read_text():
        assert "/healthz" not in text


def test_health_thresholds_ride_out_a_database_failover(template):
    """ECS replaces a task that the target group finds unhealthy: not before a failover ends."""
    target = properties(template, "TargetGroup")
    interval = target["HealthCheckIntervalSeconds"]
    assert target["HealthCheckTimeoutSeconds"] < interval
    assert interval * target["UnhealthyThresholdCount"] > FAILOVER_SECONDS
    assert interval * target["HealthyThresholdCount"] <= 30, "back in service quickly"
    # Each readiness check gives up within the balancer's timeout when its dependency hangs.
    from portal.documents.storage import PROBE
    from portal.health import STATEMENT_TIMEOUT_MS

    assert PROBE.connect_timeout + PROBE.read_timeout < target["HealthCheckTimeoutSeconds"]
    assert target["HealthCheckTimeoutSeconds"] > STATEMENT_TIMEOUT_MS / 1000
    check = containers(template)["portal"]["HealthCheck"]
    assert "timeout=4" in check["Command"][-1] and check["Timeout"] > 4
    assert check["Interval"] * check["Retries"] > FAILOVER_SECONDS


def test_containers_run_the_image_roles_and_share_one_environment(template):
    """The four environments are written out four times (CloudFormation has no YAML aliases):
    a variable added to one and forgotten in another would make that process behave
    differently."""
    found = containers(template)
    assert set(found) == {"portal", "migrate", "relay", "sender", "delivery-events", "jobs"}
    assert found["portal"].get("Command") is None  # the image's gunicorn command
    assert found["migrate"]["Command"] == ["flask", "--app", "portal", "init-db"]
    assert found["relay"]["Command"] == ["flask", "--app", "portal", "relay"]
    assert found["sender"]["Command"] == ["flask", "--app", "portal", "send-messages"]
    assert found["delivery-events"]["Command"] == [
        "flask",
        "--app",
        "portal",
        "consume-delivery-events",
    ]
    # The schedules name the command; without one the task only prints the help and stops.
    assert found["jobs"]["Command"] == ["flask", "--app", "portal", "--help"]
    assert "PortMappings" not in found["jobs"]
    assert found["portal"]["DependsOn"] == [
        {"ContainerName": "migrate", "Condition": "SUCCESS"},
        {"ContainerName": "clamd", "Condition": "HEALTHY"},
    ]
    names = {name: set(environment(c)) for name, c in found.items()}
    assert (
        names["portal"] - {"WEB_CONCURRENCY", "GUNICORN_THREADS"}
        == names["migrate"] - {"PORTAL_DATABASE_RUNTIME_ROLE"}
        == names["relay"]
        == names["sender"]
        == names["delivery-events"]
        == names["jobs"] - {name for name in names["jobs"] if name.startswith("PORTAL_CAPACITY_")}
    )
    # Processes that serve no requests keep no rate-limit counters, and need no way to Redis.
    for name in ("relay", "sender", "delivery-events", "jobs"):
        assert environment(found[name])["PORTAL_RATELIMIT_STORAGE_URL"] == "memory://"


def test_containers_run_read_only_without_capabilities_and_write_only_to_their_tmp(template):
    """A compromised process can change no code and no system file; uploads spool to /tmp, a
    volume of the container's own, which the image declares so Fargate keeps its permissions."""
    for task in resources(template, "AWS::ECS::TaskDefinition").values():
        settings = task["Properties"]
        volumes = {volume["Name"] for volume in settings.get("Volumes", [])}
        mounted = []
        for container in settings["ContainerDefinitions"]:
            if container["Image"] == {"Ref": "ClamavImage"}:
                continue  # freshclam writes its signatures into clamd's own image
            name = container["Name"]
            assert container["ReadonlyRootFilesystem"] is True, name
            assert container["LinuxParameters"]["Capabilities"] == {"Drop": ["ALL"]}, name
            (mount,) = container["MountPoints"]
            assert mount["ContainerPath"] == TMP, name
            assert mount.get("ReadOnly", False) is False
            mounted.append(mount["SourceVolume"])
        assert sorted(mounted) == sorted(volumes), "one /tmp per container, none shared"
        assert len(set(mounted)) == len(mounted)
    (*_builders, (_base, final)) = dockerfile_stages()
    assert 'VOLUME ["/tmp"]' in final
    # The app's only other writes: the Prometheus directory falls back to /tmp, and production
    # keeps documents in S3, never under PORTAL_INSTANCE_PATH.
    assert f"{TMP}/portal-metrics" in GUNICORN_CONF.read_text()
    for container in containers(template).values():
        assert environment(container)["PORTAL_DOCUMENT_STORAGE"] == "s3"


def test_the_stack_can_only_be_created_in_london(template):
    """UK government services run in eu-west-2; the containers are told the stack's own region."""
    (rule,) = template["Rules"].values()
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-2"]}
    # The portal's own defaults name the same region, so a setting left out still agrees.
    defaults = PortalConfig()
    assert {defaults.S3_REGION, defaults.SQS_REGION, defaults.SES_REGION, defaults.SNS_REGION} == {
        "eu-west-2"
    }
    for container in containers(template).values():
        env = environment(container)
        for name in ("PORTAL_S3_REGION", "PORTAL_SQS_REGION", "PORTAL_SES_REGION"):
            assert env[name] == {"Ref": "AWS::Region"}


def test_task_settings_are_what_production_requires(template):
    """PortalConfig.finalise() refuses the log backend, an http:// base URL and missing keys."""
    assert template["Parameters"]["BaseUrl"]["AllowedPattern"].startswith("^https://")
    for container in containers(template).values():
        env = environment(container)
        assert env["PORTAL_ENV"] == "production"
        assert env["PORTAL_CLAMD_HOST"] == "127.0.0.1", "production refuses to start without it"
        assert env["PORTAL_NOTIFY_BACKEND"] == {"Ref": "EmailBackend"}
        assert env["PORTAL_SMS_BACKEND"] == {"Ref": "SmsBackend"}
        assert env["PORTAL_DOCUMENT_STORAGE"] == "s3"
        assert env["PORTAL_S3_BUCKET"] == {"Ref": "DocumentsBucket"}
        assert env["PORTAL_QUEUE"] == "sqs"
        # A secret comes from Secrets Manager, never as a plain environment value.
        assert not [
            name for name in env if SECRET_NAME.search(name) and name != "PORTAL_S3_KMS_KEY_ID"
        ]


# Secrets a process reads beyond what the production start-up check requires, by container.
OWN_SECRETS = {
    "sender": {"PORTAL_SMTP_PASSWORD"},  # the SMTP backend logs in when it sends
    "portal": {"PORTAL_NOTIFY_CALLBACK_TOKEN"},  # Notify's delivery callbacks come to the web app
    "migrate": {"PORTAL_DATABASE_RUNTIME_PASSWORD"},  # 0034 creates the runtime role with it
}
# Every process logs in to the database with a user and password of its own secret's (the URL
# names the server only).
DATABASE_CREDENTIALS = {"PORTAL_DATABASE_USERNAME", "PORTAL_DATABASE_PASSWORD"}
# Stand-ins for the template's parameters and resources when a container's settings are checked.
PARAMETER_VALUES = {
    "BaseUrl": "https://apply.example.org",
    "EmailBackend": "notify",
    "SmsBackend": "notify",
    "NotifyEmailTemplateId": "3" * 36,
    "NotifySmsTemplateId": "4" * 36,
    "SmtpPort": "587",
    "PortalMinCount": "2",
    "PortalWindowMinCount": "14",
    "PortalMaxCount": "16",
    "WindowLeadMinutes": "30",
    "WindowSurgeHours": "3",
}


def secret_stand_in(name: str) -> str:
    return {
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
        "PORTAL_DOCUMENT_KEY": new_key_text(),
        "PORTAL_NOTIFY_API_KEY": "portal-" + "1" * 36 + "-" + "2" * 36,
    }.get(name, "stand-in")


def container_config(
    container: dict[str, Any], monkeypatch: pytest.MonkeyPatch, without: str = ""
) -> PortalConfig:
    env = {
        name: value if isinstance(value, str) else PARAMETER_VALUES.get(value.get("Ref"), "x")
        for name, value in environment(container).items()
    }
    env["DATABASE_URL"] = "postgresql://db.example.org:5432/portal?sslmode=verify-full"
    env.update(
        {
            s["Name"]: secret_stand_in(s["Name"])
            for s in container["Secrets"]
            if s["Name"] != without
        }
    )
    for name in list(os.environ):
        if name.startswith("PORTAL_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PortalConfig.from_env()


def test_each_container_gets_the_secrets_it_needs_and_no_other(template, monkeypatch):
    """With its secrets, each process passes the production start-up check; each secret is
    either one that check requires (without it the process refuses to start) or one its own code
    reads. Every family no longer gets every secret."""
    for name, container in containers(template).items():
        given = {s["Name"] for s in container["Secrets"]}
        container_config(container, monkeypatch).finalise()
        required = set()
        for secret in given:
            try:
                container_config(container, monkeypatch, without=secret).finalise()
            except ConfigError:
                required.add(secret)
        assert given - required == OWN_SECRETS.get(name, set()) | DATABASE_CREDENTIALS, name
        assert "PORTAL_SECRET_KEY" in required


def secret_of(value_from: Any) -> Any:
    """The secret a container's ValueFrom reads: the secret itself, or one JSON field of it
    ("${Secret}:field::"), which the execution role reads as the whole secret."""
    if isinstance(value_from, dict) and "Fn::Sub" in value_from:
        found = re.fullmatch(r"\$\{(\w+)\}:\w+::", value_from["Fn::Sub"])
        assert found, value_from
        return {"Ref": found.group(1)}
    return value_from


def test_each_task_can_read_only_the_secrets_its_containers_name(template):
    """The execution role reads the secrets into the containers: one role per set of secrets, so
    no family's role reaches another family's secret."""
    for name, task in resources(template, "AWS::ECS::TaskDefinition").items():
        settings = task["Properties"]
        named = [
            secret_of(secret["ValueFrom"])
            for container in settings["ContainerDefinitions"]
            for secret in container.get("Secrets", [])
        ]
        role = settings["ExecutionRoleArn"]["Fn::GetAtt"][0]
        (readable,) = statements(template["Resources"][role])
        assert readable["Action"] == "secretsmanager:GetSecretValue"
        assert sorted(map(str, readable["Resource"])) == sorted(set(map(str, named))), name


# Where the code calls AWS, by the function that makes the call ("module:Class.function"), and
# the processes that run each one: the one judgement here. The calls themselves are read from the
# code (aws_calls_in_code), so a new call, or one moved to another function, fails the test below
# until a role grants it; a grant no call uses fails it too.
ROLE_CALL_SITES = {
    # The web app: uploads, downloads and removals of documents, the readiness check, the
    # caseworkers' checking queue, and the admins' dead letters (counted, drained, sent back).
    "PortalTaskRole": {
        "portal.documents.storage:S3Storage.put",
        "portal.documents.storage:S3Storage.open",
        "portal.documents.storage:S3Storage.delete",
        "portal.documents.storage:S3Storage.reachable",
        "portal.documents.storage:S3Storage.presigned_post",
        "portal.queue.backends:SqsQueue._claim_from",
        "portal.queue.backends:SqsQueue._delete",
        "portal.queue.backends:SqsQueue._set_visibility",
        "portal.queue.backends:SqsQueue.reachable",
        "portal.queue.backends:SqsQueue.send_unreadable",
        "portal.queue.backends:SqsQueue._drain_dead_letters",
        "portal.queue.backends:SqsQueue.dead_letter_count",
    },
    # `flask --app portal relay`: publishes the outbox, nothing else.
    "RelayTaskRole": {"portal.queue.relay:_send_batch"},
    # `send-messages` and `consume-delivery-events` (one task, two containers).
    "SenderTaskRole": {
        "portal.notify.providers.aws:SesEmailBackend.deliver",
        "portal.notify.providers.aws:SnsSmsBackend.deliver",
        "portal.notify.ses_events:consume_batch",
    },
    # The timed jobs: retention deletes, documents-clean-up lists and deletes, scan-documents
    # reads the files it scans, plan-capacity keeps the portal's scheduled actions.
    "JobsTaskRole": {
        "portal.documents.storage:S3Storage.delete",
        "portal.documents.storage:S3Storage.keys",
        "portal.documents.storage:S3Storage.open",
        "portal.capacity:CapacityPlanner.existing",
        "portal.capacity:CapacityPlanner.put_action",
        "portal.capacity:CapacityPlanner.delete_action",
    },
}

# IAM actions of the API operations the code calls, where IAM names them otherwise. Reading or
# writing an object encrypted with the documents key also uses the key, through S3.
IAM_ACTIONS = {
    "s3:HeadBucket": {"s3:ListBucket"},
    "s3:ListObjectsV2": {"s3:ListBucket"},
    "s3:GetObject": {"s3:GetObject", "kms:Decrypt"},
    # upload_fileobj: one PutObject, or a multipart upload (also s3:PutObject, and kms:Decrypt
    # to finish it) that it aborts when a part fails.
    "s3:upload_fileobj": {
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    },
    # A presigned POST makes no call itself: the browser's upload is authorised as the signer's
    # PutObject (with the documents key, through S3).
    "s3:generate_presigned_post": {"s3:PutObject", "kms:GenerateDataKey"},
    "sqs:SendMessageBatch": {"sqs:SendMessage"},
    "sqs:DeleteMessageBatch": {"sqs:DeleteMessage"},
    "sqs:ChangeMessageVisibilityBatch": {"sqs:ChangeMessageVisibility"},
}


def aws_operations() -> dict[str, set[str]]:
    """Method names of boto3 clients for S3, SQS, SES, SNS and Application Auto Scaling
    (botocore's own service models),
    and the S3 transfer and presigned POST the storage uses, with the operations they call."""
    session = botocore.session.get_session()
    operations: dict[str, set[str]] = {
        "upload_fileobj": {"s3:upload_fileobj"},
        "generate_presigned_post": {"s3:generate_presigned_post"},
    }
    for service in ("s3", "sqs", "ses", "sns", "application-autoscaling"):
        for name in session.get_service_model(service).operation_names:
            operations.setdefault(botocore.xform_name(name), set()).add(f"{service}:{name}")
    return operations


def client_calls(
    node: ast.AST, scope: tuple[str, ...], operations: dict[str, set[str]]
) -> Iterator[tuple[str, set[str]]]:
    """(enclosing "Class.function", operations) of each call on something named a client
    (self._client, queue.client, self._clients.get()): the portal's own send_email or
    delete_objects are not boto3's."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        scope = (*scope, node.name)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and "client" in ast.unparse(node.func.value)
    ):
        method = node.func.attr
        if method == "get_paginator":
            (argument,) = node.args
            assert isinstance(argument, ast.Constant)
            method = argument.value
        if method in operations:
            yield ".".join(scope), operations[method]
    for child in ast.iter_child_nodes(node):
        yield from client_calls(child, scope, operations)


def aws_calls_in_code() -> dict[str, set[str]]:
    """API operations called on boto3 clients in portal/, by "module:Class.function"."""
    operations = aws_operations()
    found: dict[str, set[str]] = {}
    for path in sorted((PROJECT_ROOT / "portal").rglob("*.py")):
        module = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
        for function, called in client_calls(ast.parse(path.read_text()), (), operations):
            found.setdefault(f"{module}:{function}", set()).update(called)
    return found


def test_each_task_role_grants_exactly_the_aws_calls_its_code_makes(template):
    """Derived from the code, so policy and code cannot drift: a call the role does not grant
    fails in AWS with AccessDenied (the dead-letters page once did), a grant no call uses is
    more than least privilege."""
    calls = aws_calls_in_code()
    assert calls, "the scan finds the portal's boto3 calls"
    claimed = set().union(*ROLE_CALL_SITES.values())
    assert set(calls) == claimed, "every call site is run by some role, and each named one exists"
    for role_name, sites in ROLE_CALL_SITES.items():
        needed = {
            action
            for site in sites
            for operation in calls[site]
            for action in IAM_ACTIONS.get(operation, {operation})
        }
        granted = {
            a for s in statements(template["Resources"][role_name]) for a in as_list(s["Action"])
        }
        assert granted == needed, role_name


def test_task_roles_limit_what_each_grant_reaches(template):
    """Each action on its own resources: documents under documents/, the key only through S3."""
    portal = template["Resources"]["PortalTaskRole"]
    relay = template["Resources"]["RelayTaskRole"]
    jobs = template["Resources"]["JobsTaskRole"]
    sender = template["Resources"]["SenderTaskRole"]
    for role in (sender,):
        # Text messages to phone numbers have no ARN: everything but a topic.
        sms = next(s for s in statements(role) if s["Action"] == "sns:Publish")
        assert sms["NotResource"] == {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}
    for role in (portal, relay, jobs, sender):
        for statement in statements(role):
            assert statement["Effect"] == "Allow"
            # SMS to phone numbers, and listing scheduled actions: IAM names no resource for them.
            if statement["Action"] in (
                "sns:Publish",
                "application-autoscaling:DescribeScheduledActions",
            ):
                continue
            assert "*" not in as_list(statement["Resource"])
            assert not any(action.endswith(":*") for action in as_list(statement["Action"]))
    objects = next(s for s in statements(portal) if s.get("Sid") == "Documents")
    assert objects["Resource"] == {"Fn::Sub": "${DocumentsBucket.Arn}/documents/*"}
    # Browsers' direct uploads land under incoming/ only, where the check reads and deletes them.
    incoming = next(s for s in statements(portal) if s.get("Sid") == "IncomingUploads")
    assert incoming["Resource"] == {"Fn::Sub": "${DocumentsBucket.Arn}/incoming/*"}
    assert sorted(incoming["Action"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    deletes = next(s for s in statements(jobs) if s["Action"] == "s3:DeleteObject")
    assert deletes["Resource"] == {"Fn::Sub": "${DocumentsBucket.Arn}/documents/*"}
    listing = next(s for s in statements(jobs) if s["Action"] == "s3:ListBucket")
    assert listing["Resource"] == {"Fn::GetAtt": ["DocumentsBucket", "Arn"]}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "documents/*"}}
    # HeadBucket (the readiness check) is authorised by s3:ListBucket and names no prefix: a
    # prefix condition would deny it.
    heads = next(s for s in statements(portal) if s["Action"] == "s3:ListBucket")
    assert heads["Resource"] == {"Fn::GetAtt": ["DocumentsBucket", "Arn"]}
    assert "Condition" not in heads
    # The documents key only through S3 in this region: a stolen role cannot decrypt directly.
    for role in (portal, jobs):
        for statement in statements(role):
            if any(a.startswith("kms:") for a in as_list(statement["Action"])):
                assert statement["Resource"] == {"Fn::GetAtt": ["DocumentsKey", "Arn"]}
                assert statement["Condition"] == {
                    "StringEquals": {
                        "kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}
                    }
                }
    task_definitions = resources(template, "AWS::ECS::TaskDefinition")
    assert task_definitions["JobsTaskDefinition"]["Properties"]["TaskRoleArn"] == {
        "Fn::GetAtt": ["JobsTaskRole", "Arn"]
    }


def test_clamd_runs_beside_the_portal_and_the_jobs(template):
    """Production scans every upload inline, and scan-documents runs in the jobs task: both tasks
    carry clamd, and what uses it waits until it answers."""
    tasks = resources(template, "AWS::ECS::TaskDefinition")
    for task_name, user, essential in (
        ("PortalTaskDefinition", "portal", True),
        ("JobsTaskDefinition", "jobs", False),
    ):
        by_name = {c["Name"]: c for c in tasks[task_name]["Properties"]["ContainerDefinitions"]}
        clamd = by_name["clamd"]
        assert clamd["Image"] == {"Ref": "ClamavImage"}
        assert clamd["Essential"] is essential
        assert clamd["HealthCheck"]["Command"] == ["CMD", "clamdcheck.sh"]
        assert {"ContainerName": "clamd", "Condition": "HEALTHY"} in by_name[user]["DependsOn"]
    assert not template["Parameters"]["ClamavImage"]["Default"].endswith("_base")
    # clamd holds about 1.5 GB of signatures, twice that while it reloads them.
    assert int(template["Parameters"]["PortalMemory"]["Default"]) >= 4096
    assert int(tasks["JobsTaskDefinition"]["Properties"]["Memory"]) >= 4096
    relay = tasks["RelayTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert [c["Name"] for c in relay] == ["relay"], "the relay never scans a file"


def test_the_portal_scales_on_cpu_and_on_requests_per_task(template):
    """Uploads from slow phones hold threads with little CPU: CPU alone would scale out late."""
    policies = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]: p["Properties"]
        for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert set(policies) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    for policy in policies.values():
        assert policy["ScalingTargetId"] == {"Ref": "PortalScalableTarget"}
    requests = policies["ALBRequestCountPerTarget"]["TargetTrackingScalingPolicyConfiguration"]
    label = requests["PredefinedMetricSpecification"]["ResourceLabel"]["Fn::Sub"]
    assert label == "${LoadBalancer.LoadBalancerFullName}/${TargetGroup.TargetGroupFullName}"
    assert requests["TargetValue"] == {"Ref": "PortalRequestsPerTask"}


# max_connections of RDS PostgreSQL classes (LEAST(DBInstanceClassMemory / 9531392, 5000),
# rounded down), for the classes the template may default to.
MAX_CONNECTIONS = {"db.t4g.medium": 400, "db.m7g.large": 800, "db.m7g.xlarge": 1600}
# Connections outside the task pools: the rotation functions, the console or psql of an operator,
# RDS's own (rdsadmin) and superuser_reserved_connections.
OTHER_CONNECTIONS = 10


def pool_of(container: dict[str, Any]) -> int:
    env = environment(container)
    return int(env["PORTAL_DB_POOL_SIZE"]) + int(env["PORTAL_DB_MAX_OVERFLOW"])


def test_the_database_pools_fit_its_connection_limit_with_room(template):
    """Every process of every task at its most, pool and overflow full, stays within three
    quarters of the database's connections (docs/capacity.md has the same sum)."""
    parameters = template["Parameters"]
    found = containers(template)
    web = int(parameters["PortalMaxCount"]["Default"]) * (
        int(parameters["PortalWorkers"]["Default"]) * pool_of(found["portal"])
        + pool_of(found["migrate"])
    )
    workers = int(parameters["RelayCount"]["Default"]) * pool_of(found["relay"]) + int(
        parameters["SenderCount"]["Default"]
    ) * (pool_of(found["sender"]) + pool_of(found["delivery-events"]))
    # Jobs: at most the schedules that can start in the same minute, each one task.
    jobs = 4 * pool_of(found["jobs"])
    total = web + workers + jobs + OTHER_CONNECTIONS
    limit = MAX_CONNECTIONS[parameters["DatabaseInstanceClass"]["Default"]]
    assert total <= 0.75 * limit, (total, limit)
    assert int(parameters["DatabaseConnectionsAlarmThreshold"]["Default"]) == 0.75 * limit
    # A thread past the pool waits for a connection instead of failing: keep the pool near the
    # threads, and within them.
    threads = int(parameters["PortalThreads"]["Default"])
    assert threads // 2 <= pool_of(found["portal"]) <= threads
    assert environment(found["portal"])["GUNICORN_THREADS"] == {"Ref": "PortalThreads"}
    assert environment(found["portal"])["WEB_CONCURRENCY"] == {"Ref": "PortalWorkers"}
    # Not burstable: two hours of a window would spend a t-class's CPU credits.
    assert not parameters["DatabaseInstanceClass"]["Default"].startswith("db.t")


def capacity_table() -> dict[str, str]:
    """The rows of docs/capacity.md's table that name a template parameter: `Name` | value."""
    rows = {}
    for line in (PROJECT_ROOT / "docs" / "capacity.md").read_text().splitlines():
        found = re.match(r"\|\s*`([A-Za-z]+)`\s*\|\s*([^|]+?)\s*\|", line)
        if found:
            rows[found.group(1)] = found.group(2)
    return rows


def test_the_template_says_what_the_capacity_table_says():
    """docs/capacity.md derives sizes and counts from measured figures; the defaults are those."""
    table = capacity_table()
    parameters = cfn_yaml.load(str(TEMPLATE))["Parameters"]
    assert set(table) >= {
        "PortalCpu",
        "PortalMemory",
        "PortalWorkers",
        "PortalThreads",
        "PortalMinCount",
        "PortalWindowMinCount",
        "PortalMaxCount",
        "PortalRequestsPerTask",
        "DatabaseInstanceClass",
    }
    for name, value in table.items():
        assert str(parameters[name]["Default"]) == value, name


def test_plan_capacity_runs_in_the_jobs_task_against_the_portal_service(template):
    env = environment(containers(template)["jobs"])
    assert env["PORTAL_CAPACITY_RESOURCE_ID"] == {
        "Fn::Sub": "service/${Cluster}/${PortalService.Name}"
    }
    target = properties(template, "PortalScalableTarget")
    assert target["ResourceId"] == {"Fn::Sub": "service/${Cluster}/${PortalService.Name}"}
    assert env["PORTAL_CAPACITY_BASE_MIN_TASKS"] == target["MinCapacity"]
    assert env["PORTAL_CAPACITY_MAX_TASKS"] == target["MaxCapacity"]
    assert env["PORTAL_CAPACITY_WINDOW_MIN_TASKS"] == {"Ref": "PortalWindowMinCount"}
    parameters = template["Parameters"]
    assert (
        int(parameters["PortalMinCount"]["Default"])
        < int(parameters["PortalWindowMinCount"]["Default"])
        <= int(parameters["PortalMaxCount"]["Default"])
    )
    plan = next(
        s
        for s in statements(template["Resources"]["JobsTaskRole"])
        if s.get("Sid") == "PlanCapacity"
    )
    assert plan["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:application-autoscaling:${AWS::Region}:"
        "${AWS::AccountId}:scalable-target/*"
    }


def test_the_owner_only_migrates_and_everything_else_logs_in_as_the_runtime_role(template):
    for name, container in containers(template).items():
        secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
        expected = "DatabaseSecret" if name == "migrate" else "RuntimeDatabaseSecret"
        for field in ("username", "password"):
            key = f"PORTAL_DATABASE_{field.upper()}"
            assert secrets[key] == {"Fn::Sub": f"${{{expected}}}:{field}::"}, name
        assert ("PORTAL_DATABASE_RUNTIME_PASSWORD" in secrets) == (name == "migrate")
    migrate_env = environment(containers(template)["migrate"])
    assert migrate_env["PORTAL_DATABASE_RUNTIME_ROLE"] == "portal_app"
    runtime = properties(template, "RuntimeDatabaseSecret")["GenerateSecretString"]
    template_string = json.loads(
        runtime["SecretStringTemplate"]["Fn::Sub"].replace("${DatabaseSecret}", "arn")
    )
    assert template_string["username"] == migrate_env["PORTAL_DATABASE_RUNTIME_ROLE"]
    assert (
        properties(template, "Database")["MasterUsername"]
        == json.loads(
            properties(template, "DatabaseSecret")["GenerateSecretString"]["SecretStringTemplate"]
        )["username"]
    )


def test_database_credentials_rotate_and_running_tasks_keep_working(template):
    """Secrets Manager's hosted functions: the owner alone (only migrate uses it, briefly), the
    runtime role alternating two users, so a running task's password outlives one rotation."""
    assert template["Transform"] == "AWS::SecretsManager-2020-07-23"
    rotations = {
        r["Properties"]["SecretId"]["Ref"]: r
        for r in resources(template, "AWS::SecretsManager::RotationSchedule").values()
    }
    assert set(rotations) == {"DatabaseSecretAttachment", "RuntimeDatabaseSecretAttachment"}
    attachments = resources(template, "AWS::SecretsManager::SecretTargetAttachment")
    assert {a["Properties"]["SecretId"]["Ref"] for a in attachments.values()} == {
        "DatabaseSecret",
        "RuntimeDatabaseSecret",
    }
    owner = rotations["DatabaseSecretAttachment"]["Properties"]
    runtime = rotations["RuntimeDatabaseSecretAttachment"]["Properties"]
    assert owner["HostedRotationLambda"]["RotationType"] == "PostgreSQLSingleUser"
    assert runtime["HostedRotationLambda"]["RotationType"] == "PostgreSQLMultiUser"
    assert runtime["HostedRotationLambda"]["MasterSecretArn"] == {"Ref": "DatabaseSecret"}
    # Never both at once: the runtime rotation logs in as the owner.
    assert (
        owner["RotationRules"]["ScheduleExpression"]
        != runtime["RotationRules"]["ScheduleExpression"]
    )
    for rotation in rotations.values():
        # After the first deploy's migration has made the runtime role.
        assert rotation["DependsOn"] == "PortalService"
        lambda_settings = rotation["Properties"]["HostedRotationLambda"]
        assert lambda_settings["VpcSecurityGroupIds"] == {"Ref": "RotationSecurityGroup"}
    sources = [
        rule["SourceSecurityGroupId"]
        for rule in properties(template, "DatabaseSecurityGroup")["SecurityGroupIngress"]
    ]
    assert {"Ref": "RotationSecurityGroup"} in sources


def test_every_service_starts_new_tasks_the_day_after_the_runtime_credentials_rotate(template):
    """A task keeps the password it read at its start; the rotation after next would change it.
    Restarting every service the day after each rotation keeps every task on the current one."""
    found = restarts(template)
    services = {}
    for settings in found.values():
        target = settings["Target"]
        assert target["RoleArn"] == {"Fn::GetAtt": ["RestartRole", "Arn"]}
        body = target["Input"]["Fn::Sub"]
        service = re.search(r"\$\{(\w+)\.Name\}", body).group(1)
        decoded = json.loads(body.replace("${Cluster}", "c").replace(f"${{{service}.Name}}", "s"))
        assert decoded == {"Cluster": "c", "Service": "s", "ForceNewDeployment": True}
        services[service] = settings["ScheduleExpression"]
    assert set(services) == set(resources(template, "AWS::ECS::Service"))
    rotation = properties(template, "RuntimeDatabaseSecretRotation")["RotationRules"]
    rotated_on = rotation["ScheduleExpression"].split()[2]
    for expression in services.values():
        assert expression.split()[2] == str(int(rotated_on) + 1)
    (grant,) = statements(template["Resources"]["RestartRole"])
    assert grant["Action"] == "ecs:UpdateService"
    assert sorted(g["Ref"] for g in grant["Resource"]) == sorted(services)


# Timed commands only AWS runs: scheduled scaling is Application Auto Scaling's, and Compose has
# nothing to scale (so they are not in portal/schedule.py, which the compose scheduler reads).
AWS_ONLY_SCHEDULES = {"plan-capacity": "cron(0/15 * * * ? *)"}


def test_every_job_in_the_table_has_one_schedule_with_its_time_and_command(template):
    """portal/schedule.py is the one table of the timed jobs: the compose scheduler reads it, and
    the template must say the same, nothing more than the AWS-only commands."""
    found = schedules(template)
    assert set(found) == {job.command for job in schedule.JOBS} | set(AWS_ONLY_SCHEDULES)
    expressions = {job.command: schedule.eventbridge_expression(job) for job in schedule.JOBS}
    for command, settings in found.items():
        expected = expressions.get(command) or AWS_ONLY_SCHEDULES[command]
        assert settings["ScheduleExpression"] == expected
        assert settings["ScheduleExpressionTimezone"] == schedule.TIMEZONE
        assert settings["FlexibleTimeWindow"] == {"Mode": "OFF"}
        target = settings["Target"]
        assert target["Arn"] == {"Fn::GetAtt": ["Cluster", "Arn"]}
        assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
        assert target["RetryPolicy"] == {
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 3600,
        }
        ecs = target["EcsParameters"]
        assert ecs["TaskDefinitionArn"] == {"Ref": "JobsTaskDefinition"}
        assert ecs["LaunchType"] == "FARGATE"
        assert ecs["NetworkConfiguration"]["AwsvpcConfiguration"] == {
            "AssignPublicIp": "DISABLED",
            "Subnets": {"Ref": "PrivateSubnetIds"},
            "SecurityGroups": [{"Ref": "JobsSecurityGroup"}],
        }


def test_the_scheduler_may_only_start_job_tasks_in_this_cluster(template):
    """EventBridge may start any task it can pass roles to: only the jobs', only here."""
    role = template["Resources"]["SchedulerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    granted = statements(template["Resources"]["SchedulerRole"])
    assert {s["Action"] for s in granted} == {"ecs:RunTask", "iam:PassRole"}
    run = next(s for s in granted if s["Action"] == "ecs:RunTask")
    assert "task-definition/${AWS::StackName}-jobs:" in run["Resource"]["Fn::Sub"]
    assert properties(template, "JobsTaskDefinition")["Family"] == {
        "Fn::Sub": "${AWS::StackName}-jobs"
    }
    assert run["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["Cluster", "Arn"]}}}
    passed = next(s for s in granted if s["Action"] == "iam:PassRole")
    assert passed["Resource"] == [
        {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
        {"Fn::GetAtt": ["JobsTaskRole", "Arn"]},
    ]


def test_job_tasks_reach_the_database_and_nothing_reaches_them(template):
    assert "SecurityGroupIngress" not in properties(template, "JobsSecurityGroup")
    sources = [
        rule["SourceSecurityGroupId"]
        for rule in properties(template, "DatabaseSecurityGroup")["SecurityGroupIngress"]
        if rule["FromPort"] == rule["ToPort"] == 5432
    ]
    assert {"Ref": "JobsSecurityGroup"} in sources


# --------------------------------------------------------------------------- Compose


def test_compose_has_the_services_and_starts_them_after_the_migration(compose):
    services = compose["services"]
    assert set(services) == {
        "portal",
        "relay",
        "sender",
        "scheduler",
        "migrate",
        "postgres",
        "redis",
        "clamd",
    }
    for name in ("portal", "relay", "sender", "scheduler"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["migrate"]["command"] == ["flask", "--app", "portal", "init-db"]
    assert services["relay"]["command"] == ["flask", "--app", "portal", "relay"]
    assert services["sender"]["command"] == ["flask", "--app", "portal", "send-messages"]
    assert services["scheduler"]["command"] == ["flask", "--app", "portal", "scheduler"]
    assert services["scheduler"]["restart"] == "unless-stopped"
    assert services["scheduler"]["healthcheck"] == {"disable": True}
    assert services["scheduler"]["stop_grace_period"] == "30s"
    assert "command" not in services["portal"]  # the image's gunicorn command
    for name in ("portal", "relay", "sender", "scheduler", "migrate"):
        assert services[name]["build"] == {"context": "..", "dockerfile": "infra/Dockerfile"}
        assert services[name]["read_only"] is True
    assert services["postgres"]["image"] == "postgres:15"
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["redis"]["image"] == "redis:7"
    # Published on the loopback only: TLS terminates in a proxy in front of it.
    assert services["portal"]["ports"] == ["127.0.0.1:8000:8000"]
    # Uploads are scanned as they come, and scan-documents runs from the scheduler.
    assert services["clamd"]["image"].startswith("clamav/clamav:")
    assert not services["clamd"]["image"].endswith("_base")
    assert "ports" not in services["clamd"], "reached on Compose's network only"
    assert services["clamd"]["healthcheck"]["test"] == ["CMD", "clamdcheck.sh"]
    assert "clamav:/var/lib/clamav" in services["clamd"]["volumes"]
    for name in ("portal", "scheduler"):
        assert services[name]["depends_on"]["clamd"] == {"condition": "service_healthy"}
        assert services[name]["environment"]["PORTAL_CLAMD_HOST"] == "clamd"


def test_compose_runs_the_app_as_the_runtime_role_and_only_the_migration_as_the_owner(compose):
    """The owner can alter tables and drop the audit log's triggers: only the migration connects
    as it, and it creates the data-only role (migration 0034) that every other container uses."""
    services = compose["services"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    migrate = services["migrate"]["environment"]
    assert migrate["DATABASE_URL"].startswith(f"postgresql://{owner}:")
    role = migrate["PORTAL_DATABASE_RUNTIME_ROLE"]
    assert role and role != owner
    assert INTERPOLATION.fullmatch(migrate["PORTAL_DATABASE_RUNTIME_PASSWORD"])
    runtime_password = migrate["PORTAL_DATABASE_RUNTIME_PASSWORD"]
    for name in ("portal", "relay", "sender", "scheduler"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert url.startswith(f"postgresql://{role}:"), name
        assert url.split("://", 1)[1].split("@", 1)[0].partition(":")[2] == runtime_password
        assert "PORTAL_DATABASE_RUNTIME_PASSWORD" not in services[name]["environment"], name
    # Every container but the migration shares the same environment as the web app.
    assert migrate["PORTAL_ENV"] == services["portal"]["environment"]["PORTAL_ENV"]


def test_compose_holds_no_secret_values(compose):
    """Secrets come from infra/portal.env or, for the database password, from Compose's
    interpolation: the file itself must stay safe to commit."""
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert value is None or INTERPOLATION.fullmatch(str(value)), (name, key)
            if "://" in str(value) and "@" in str(value):
                credentials = str(value).split("://", 1)[1].split("@", 1)[0]
                password = credentials.partition(":")[2]
                assert not password or INTERPOLATION.fullmatch(password), (name, key)
    example = env_file(ENV_EXAMPLE)
    for key in (
        "PORTAL_SECRET_KEY",
        "PORTAL_DOCUMENT_KEY",
        "PORTAL_NOTIFY_API_KEY",
        "PORTAL_NOTIFY_CALLBACK_TOKEN",
    ):
        assert example[key] == "", key


def test_compose_settings_are_accepted_by_production_once_the_operator_fills_them_in(
    compose, monkeypatch
):
    """The example env file plus Compose's own values pass finalise(); left empty, the portal
    refuses to start rather than run with something unsafe."""
    compose_env = {
        key: INTERPOLATION.sub("password0123", str(value))
        for key, value in compose["services"]["portal"]["environment"].items()
    }
    operator = {
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(48),
        "PORTAL_DOCUMENT_KEY": new_key_text(),
        "PORTAL_BASE_URL": "https://apply.example.org",
        "PORTAL_SMTP_HOST": "smtp.example.org",
        "PORTAL_SMTP_USERNAME": "portal",
        "PORTAL_SMTP_PASSWORD": "smtp password",
        "PORTAL_MAIL_FROM": "no-reply@apply.example.org",
        "PORTAL_NOTIFY_API_KEY": "portal-" + "1" * 36 + "-" + "2" * 36,
        "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID": "3" * 36,
        "PORTAL_NOTIFY_SMS_TEMPLATE_ID": "4" * 36,
        "PORTAL_NOTIFY_CALLBACK_TOKEN": "callback token",
    }

    def configure(env: dict[str, str]) -> PortalConfig:
        for key in [*compose_env, *env_file(ENV_EXAMPLE), *operator]:
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return PortalConfig.from_env()

    # Compose gives `environment` precedence over `env_file`.
    filled = configure({**env_file(ENV_EXAMPLE), **operator, **compose_env})
    filled.finalise()
    assert filled.is_production
    assert filled.RATELIMIT_STORAGE_URL.startswith("redis://redis:")
    with pytest.raises(ConfigError):
        configure({**env_file(ENV_EXAMPLE), **compose_env}).finalise()


# --------------------------------------------------------------------------- image


def test_final_stage_is_slim_python_as_a_non_root_user_with_a_health_check():
    (*builders, (base, final)) = dockerfile_stages()
    args = dockerfile_args()
    image = base.split()[1]
    resolved = INTERPOLATION.sub(lambda m: args[m.group(0)[2:-1]], image)
    # By digest: a tag is whatever was pushed last, a digest is one image.
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", resolved), resolved
    assert [b.split()[1] for b, _ in builders] == ["${NODE_IMAGE}", "${PYTHON_IMAGE}"]
    assert args["NODE_IMAGE"] == "node:20-slim"
    users = [i.split()[1] for i in final if i.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    (healthcheck,) = [i for i in final if i.upper().startswith("HEALTHCHECK ")]
    assert "/livez" in healthcheck and "urllib" in healthcheck and "curl" not in healthcheck
    assert "EXPOSE 8000" in final
    assert final[-1] == 'CMD ["gunicorn", "-c", "infra/gunicorn.conf.py", "portal:create_app()"]'
    # No build tools: nothing is installed in the final stage, it only copies built files.
    assert not [i for i in final if re.search(r"\b(apt-get|apk|npm|pip)\b", i)]


def test_image_installs_the_project_from_pyproject_and_builds_assets_and_catalogs():
    stages = dict(dockerfile_stages())
    assets = next(body for base, body in stages.items() if base.endswith("AS assets"))
    python = next(body for base, body in stages.items() if base.endswith("AS python"))
    assert any(i.startswith("RUN npm ci") for i in assets)
    assert "RUN node static/build.mjs" in assets
    install = next(i for i in python if i.startswith("RUN pip install ."))
    assert "-e" not in install.split()
    assert "RUN pybabel compile -d translations" in python


def test_image_has_every_folder_the_portal_reads_beside_its_package():
    """portal.config.PROJECT_ROOT is the folder above portal/: the app reads its templates,
    assets, catalogs, migrations and queue schema there, so /app must hold them all."""
    (*_builders, (_base, final)) = dockerfile_stages()
    copied = " ".join(i for i in final if i.startswith("COPY "))
    for needed in ("templates/", "migrations/", "docs/queue-message.schema.json"):
        assert needed in copied, needed
    assert "COPY --from=assets /src/static/dist /app/static/dist" in final
    assert "COPY --from=python /app /app" in final  # portal/ and the compiled translations/
    assert "PYTHONPATH=/app" in " ".join(final)


def test_build_context_holds_what_the_dockerfile_copies_and_no_local_secrets():
    """The ignore file is an allowlist: instance/ (development keys, uploaded files) stays out."""
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    sources = []
    for _base, body in dockerfile_stages():
        for instruction in body:
            parts = instruction.split()
            if parts[0] == "COPY" and not parts[1].startswith("--from="):
                sources += [p.rstrip("/") for p in parts[1:-1] if not p.startswith("--")]
    assert sources
    assert not [s for s in sources if s not in allowed]
    assert not [a for a in allowed if a.startswith(("instance", ".venv", "node_modules", ".git"))]


# --------------------------------------------------------------------------- gunicorn


def gunicorn_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_settings_are_valid_and_read_from_the_environment(monkeypatch):
    from gunicorn.config import Config

    settings = gunicorn_settings(
        monkeypatch, WEB_CONCURRENCY="5", FORWARDED_ALLOW_IPS="10.0.0.0/16"
    )
    config = Config()
    for name, value in settings.items():
        if name in config.settings:
            config.set(name, value)  # runs gunicorn's own validators
    assert config.workers == 5
    assert config.forwarded_allow_ips == ["10.0.0.0/16"]
    assert config.worker_class_str == "gthread"
    assert config.threads > 1
    assert config.bind == ["0.0.0.0:8000"]
    assert config.accesslog is None  # the app logs each request itself, as JSON
    assert config.max_requests > 0 and config.max_requests_jitter > 0
    # The read-only root file system has nowhere for gunicornc's socket, and nothing uses it.
    assert config.control_socket_disable is True
    default = gunicorn_settings(monkeypatch)
    assert default["workers"] == 2 * default["_cores"]() + 1


def test_gunicorn_error_log_formatter_is_the_apps_json_formatter(monkeypatch):
    from pythonjsonlogger.json import JsonFormatter

    settings = gunicorn_settings(monkeypatch)
    formatter = dict(settings["logconfig_dict"]["formatters"]["json"])
    assert formatter.pop("()") == "pythonjsonlogger.json.JsonFormatter"
    JsonFormatter(**formatter)  # accepts the arguments dictConfig will pass
    # Any logconfig turns gunicorn's access log on: it must be sent nowhere.
    assert settings["logconfig_dict"]["loggers"]["gunicorn.access"]["handlers"] == ["discard"]


def test_gunicorn_timeouts_fit_the_load_balancer_and_the_task(template, monkeypatch):
    """Keepalive above the ALB's idle timeout avoids 502s on reused connections; the graceful
    timeout inside the task's stop timeout lets requests finish before SIGKILL."""
    settings = gunicorn_settings(monkeypatch)
    attributes = {
        a["Key"]: a["Value"] for a in properties(template, "LoadBalancer")["LoadBalancerAttributes"]
    }
    assert settings["keepalive"] > int(attributes["idle_timeout.timeout_seconds"])
    assert settings["graceful_timeout"] < containers(template)["portal"]["StopTimeout"]


# --------------------------------------------------------------------------- dependencies


def runtime_dependencies() -> set[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    return {
        re.split(r"[\[=<>~! ]", spec, maxsplit=1)[0].lower() for spec in project["dependencies"]
    }


def test_the_images_server_is_a_runtime_dependency_of_the_project():
    """The image installs [project] dependencies only: gunicorn must be one of them."""
    assert "gunicorn" in runtime_dependencies()


def test_the_compose_scheduler_is_a_runtime_dependency_of_the_project():
    """`flask --app portal scheduler` runs in the same image, on APScheduler."""
    assert "apscheduler" in runtime_dependencies()
