"""The deployment files in infra/ agree with the portal and with each other.

Nothing here builds an image or deploys a stack: the tests read the Dockerfile, the Compose file,
the CloudFormation template and the gunicorn settings, and check what a reviewer would otherwise
have to remember (a non-root image, private encrypted documents, queues that dead-letter, no
secret in a file, settings that production accepts, values that must match across files).
"""

from __future__ import annotations

import json
import re
import runpy
import secrets
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import lint_file
from cfnlint.config import ManualArgs
from cfnlint.decode import cfn_yaml

from portal import schedule
from portal.config import PROJECT_ROOT, ConfigError, PortalConfig
from portal.documents.crypto import new_key_text

INFRA = PROJECT_ROOT / "infra"
TEMPLATE = INFRA / "cloudformation.yaml"
COMPOSE = INFRA / "compose.yaml"
DOCKERFILE = INFRA / "Dockerfile"
DOCKERIGNORE = INFRA / "Dockerfile.dockerignore"
ENV_EXAMPLE = INFRA / "portal.env.example"
GUNICORN_CONF = INFRA / "gunicorn.conf.py"

# Regions the template is linted for: the portal's default (Paris), London, and cfn-lint's own.
LINT_REGIONS = ["eu-west-3", "eu-west-2", "us-east-1"]
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$")
INTERPOLATION = re.compile(r"\$\{[A-Z0-9_]+(?::?[-?][^}]*)?\}")
FOURTEEN_DAYS = 14 * 24 * 3600


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


def schedules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each EventBridge schedule's properties, by the command its task is told to run."""
    found: dict[str, dict[str, Any]] = {}
    for resource in resources(template, "AWS::Scheduler::Schedule").values():
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


def test_an_alarm_goes_off_when_the_dead_letter_queue_holds_a_message(template):
    (alarm,) = resources(template, "AWS::CloudWatch::Alarm").values()
    alarm = alarm["Properties"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}
    ]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["AlarmActions"]


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
    assert set(found) == {"portal", "migrate", "relay", "jobs"}
    assert found["portal"].get("Command") is None  # the image's gunicorn command
    assert found["migrate"]["Command"] == ["flask", "--app", "portal", "init-db"]
    assert found["relay"]["Command"] == ["flask", "--app", "portal", "relay"]
    # The schedules name the command; without one the task only prints the help and stops.
    assert found["jobs"]["Command"] == ["flask", "--app", "portal", "--help"]
    assert "PortMappings" not in found["jobs"]
    assert found["portal"]["DependsOn"] == [
        {"ContainerName": "migrate", "Condition": "SUCCESS"},
        {"ContainerName": "clamd", "Condition": "HEALTHY"},
    ]
    names = {name: set(environment(c)) for name, c in found.items()}
    assert (
        names["portal"] - {"WEB_CONCURRENCY"} == names["migrate"] == names["relay"] == names["jobs"]
    )
    secret_sets = {name: {s["Name"] for s in c["Secrets"]} for name, c in found.items()}
    assert (
        secret_sets["portal"]
        == secret_sets["migrate"]
        == secret_sets["relay"]
        == secret_sets["jobs"]
    )
    # Processes that serve no requests keep no rate-limit counters, and need no way to Redis.
    for name in ("relay", "jobs"):
        assert environment(found[name])["PORTAL_RATELIMIT_STORAGE_URL"] == "memory://"


def test_task_settings_are_what_production_requires(template):
    """PortalConfig.finalise() refuses the log backend, an http:// base URL and missing keys."""
    assert template["Parameters"]["BaseUrl"]["AllowedPattern"].startswith("^https://")
    for container in containers(template).values():
        env = environment(container)
        assert env["PORTAL_ENV"] == "production"
        assert env["PORTAL_CLAMD_HOST"] == "127.0.0.1", "production refuses to start without it"
        assert env["PORTAL_NOTIFY_BACKEND"] == "smtp"
        assert env["PORTAL_DOCUMENT_STORAGE"] == "s3"
        assert env["PORTAL_S3_BUCKET"] == {"Ref": "DocumentsBucket"}
        assert env["PORTAL_QUEUE"] == "sqs"
        injected = {s["Name"] for s in container["Secrets"]}
        assert {"PORTAL_SECRET_KEY", "PORTAL_DOCUMENT_KEY", "DATABASE_URL"} <= injected
        # A secret comes from Secrets Manager, never as a plain environment value.
        assert not [
            name for name in env if SECRET_NAME.search(name) and name != "PORTAL_S3_KMS_KEY_ID"
        ]


def test_task_roles_grant_only_what_each_process_calls(template):
    """The web app reads and writes documents and consumes the queues; the relay only sends; the
    jobs only list and delete stored documents."""
    portal = template["Resources"]["PortalTaskRole"]
    relay = template["Resources"]["RelayTaskRole"]
    jobs = template["Resources"]["JobsTaskRole"]
    portal_actions = {a for s in statements(portal) for a in as_list(s["Action"])}
    assert portal_actions == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListBucket",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    }
    assert {a for s in statements(relay) for a in as_list(s["Action"])} == {"sqs:SendMessage"}
    assert {a for s in statements(jobs) for a in as_list(s["Action"])} == {
        "s3:DeleteObject",
        "s3:ListBucket",
        "s3:GetObject",  # scan-documents reads the files it scans
        "kms:Decrypt",
    }
    for role in (portal, relay, jobs):
        for statement in statements(role):
            assert statement["Effect"] == "Allow"
            assert "*" not in as_list(statement["Resource"])
            assert not any(action.endswith(":*") for action in as_list(statement["Action"]))
    objects = next(s for s in statements(portal) if s.get("Sid") == "Documents")
    assert objects["Resource"] == {"Fn::Sub": "${DocumentsBucket.Arn}/documents/*"}
    deletes = next(s for s in statements(jobs) if s["Action"] == "s3:DeleteObject")
    assert deletes["Resource"] == {"Fn::Sub": "${DocumentsBucket.Arn}/documents/*"}
    for role in (portal, jobs):
        listing = next(s for s in statements(role) if s["Action"] == "s3:ListBucket")
        assert listing["Resource"] == {"Fn::GetAtt": ["DocumentsBucket", "Arn"]}
        assert listing["Condition"] == {"StringLike": {"s3:prefix": "documents/*"}}
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


def test_every_job_in_the_table_has_one_schedule_with_its_time_and_command(template):
    """portal/schedule.py is the one table of the timed jobs: the compose scheduler reads it, and
    the template must say the same, nothing more."""
    found = schedules(template)
    assert set(found) == {job.command for job in schedule.JOBS}
    for job in schedule.JOBS:
        settings = found[job.command]
        assert settings["ScheduleExpression"] == schedule.eventbridge_expression(job)
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
        "scheduler",
        "migrate",
        "postgres",
        "redis",
        "clamd",
    }
    for name in ("portal", "relay", "scheduler"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["migrate"]["command"] == ["flask", "--app", "portal", "init-db"]
    assert services["relay"]["command"] == ["flask", "--app", "portal", "relay"]
    assert services["scheduler"]["command"] == ["flask", "--app", "portal", "scheduler"]
    assert services["scheduler"]["restart"] == "unless-stopped"
    assert services["scheduler"]["healthcheck"] == {"disable": True}
    assert services["scheduler"]["stop_grace_period"] == "30s"
    assert "command" not in services["portal"]  # the image's gunicorn command
    for name in ("portal", "relay", "scheduler", "migrate"):
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
    for key in ("PORTAL_SECRET_KEY", "PORTAL_DOCUMENT_KEY", "PORTAL_SMTP_PASSWORD"):
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
    assert INTERPOLATION.sub(lambda m: args[m.group(0)[2:-1]], image) == "python:3.11-slim"
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
