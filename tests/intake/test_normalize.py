"""Every record variant in the corpus reads into the model (see shared/corpus/README.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from helpers import CORPUS, corpus_record

from monitor.intake.envelopes import Record, decode
from monitor.intake.events import Copy, RoleEvent
from monitor.intake.normalize import RecordRejected, normalize


def event(relative: str, index: int = 0) -> RoleEvent:
    data = json.loads((CORPUS / relative).read_text())
    record = data[index] if isinstance(data, list) else data
    result = normalize(record)
    assert result is not None
    return result


def test_every_openly_licensed_corpus_record_parses_or_is_rejected_with_a_reason() -> None:
    outcomes: dict[str, int] = {"event": 0, "skipped": 0, "rejected": 0}
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.name.endswith((".txt", ".md")):
            continue
        for item in decode(path.read_bytes()):
            if not isinstance(item, Record):
                assert item.reason and item.detail
                outcomes["rejected"] += 1
                continue
            outcomes["event" if normalize(item.data) else "skipped"] += 1
    # 2 AWS doc examples are invalid JSON and the CloudWatch doc example has 3 stub messages
    # (one rejection for the three).
    assert outcomes == {"event": 22, "skipped": 113, "rejected": 3}


def test_role_owner_copy_of_a_cross_account_call() -> None:
    ev = event("cloud-snitch/TestReport_AWSAccountEvent.json")
    assert ev.copy_kind is Copy.OWNER
    assert ev.caller.identity_type == "AWSAccount"
    assert ev.caller.is_role_session  # AROA… principal id: the caller was a role session
    assert ev.principal_account == "774305579662"
    assert ev.role_account == "123412341234"
    assert ev.is_cross_account and ev.external_id_present
    assert ev.assumption_id == "6e410184-19dd-4d7d-a8f0-c17c584957a0"
    assert ev.credentials_expiration == datetime(2025, 3, 19, 1, 30, 20, tzinfo=UTC)


def test_caller_and_owner_copies_share_one_assumption_id() -> None:
    caller = event("awsdocs-iam-user-guide/01-assumerole-crossaccount-caller-side-IAMUser.json")
    owner = event(
        "awsdocs-iam-user-guide/02-assumerole-crossaccount-role-owner-side-AWSAccount.json"
    )
    assert caller.assumption_id == owner.assumption_id
    assert caller.caller.arn == "arn:aws:iam::777788889999:user/JohnDoe"
    assert owner.caller.arn is None and owner.caller.account_id == "777788889999"
    assert caller.mfa_serial_present and caller.source_identity == "JohnDoe"


def test_role_chaining_with_session_tags_and_source_identity() -> None:
    ev = event(
        "awsdocs-iam-user-guide/03-assumerole-role-chaining-AssumedRole-tags-sourceIdentity.json"
    )
    assert ev.caller.is_role_session
    assert ev.caller.session_issuer_arn == "arn:aws:iam::111111111111:role/JohnRole1"
    assert ev.caller.mfa_authenticated is False
    assert ev.caller.source_identity == "JohnDoe"
    assert ev.duration_seconds == 3600
    assert ev.assumed_role_arn == "arn:aws:sts::111111111111:assumed-role/test-role/Role2WithTags"


def test_failed_assume_role_takes_the_role_from_the_error_message() -> None:
    failures = [
        normalize(r)
        for r in json.loads(
            (
                CORPUS / "stratus-red-team/aws.credential-access.ec2-get-password-data.json"
            ).read_text()
        )
        if r.get("errorCode") and r["eventName"] == "AssumeRole"
    ]
    assert failures
    failed = failures[0]
    assert failed is not None and not failed.succeeded
    assert failed.role_arn == (
        "arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role"
    )
    assert failed.role_account == "457448411975"


def test_failed_web_identity_keeps_its_request_parameters() -> None:
    ev = event(
        "greenpau-argo-workflows-aws-plugin/eks-irsa-assumerolewithwebidentity-AccessDenied.json"
    )
    assert ev.error_code == "AccessDenied"
    assert ev.role_arn == "arn:aws:iam::100000000002:role/sm-pipelines-k8s-awf-aws-executor-plugin"
    assert ev.federation is not None
    assert ev.federation.provider_name == (
        "oidc.eks.us-west-2.amazonaws.com/id/A8242F25BFBB8F98F5321B2AE63C8B5C"
    )
    assert ev.federation.subject == "system:serviceaccount:argo:awf-aws-executor-plugin"


def test_github_actions_web_identity() -> None:
    ev = event("cloud-snitch/TestReport_WebIdentityUserEvent.json")
    assert ev.federation is not None
    assert ev.federation.kind == "web_identity"
    assert ev.federation.provider_name == "token.actions.githubusercontent.com"
    assert ev.federation.subject == "repo:ccbrown/cloud-snitch:ref:refs/heads/main"
    assert ev.federation.audience == "sts.amazonaws.com"


def test_cognito_bare_issuer() -> None:
    record = corpus_record("cloud-snitch/TestReport_WebIdentityUserEvent.json")
    record["userIdentity"]["identityProvider"] = "cognito-identity.amazonaws.com"
    record["responseElements"]["provider"] = "cognito-identity.amazonaws.com"
    ev = normalize(record)
    assert ev is not None and ev.federation is not None
    assert ev.federation.provider_name == "cognito-identity.amazonaws.com"


def test_service_caller_without_assumed_role_user_2019() -> None:
    ev = event("stevezieglerva-cloudtrail-log-analytics/lambda-service-AssumeRole-2019.json")
    assert ev.caller.identity_type == "AWSService"
    assert ev.caller.identifier == "lambda.amazonaws.com"
    assert ev.source_ip == "lambda.amazonaws.com"  # a service name, not an address
    assert ev.credentials_expiration == datetime(2019, 11, 10, 17, 17, 20, tzinfo=UTC)


def test_federation_token_is_in_scope_without_a_role() -> None:
    ev = event("stratus-red-team/aws.persistence.sts-federation-token.json")
    assert ev.event_name == "GetFederationToken"
    assert ev.role_arn is None and ev.role_account == "742491224508"


def test_lowercase_resource_arn_and_absent_resources() -> None:
    record = corpus_record("cloud-snitch/TestReport_AWSAccountEvent.json")
    arn = record["requestParameters"].pop("roleArn")
    record["resources"] = [{"type": "AWS::IAM::Role", "arn": arn}]
    assert (ev := normalize(record)) is not None and ev.role_arn == arn
    del record["resources"]
    assert (ev := normalize(record)) is not None and ev.role_arn is None


def test_assume_root_session_and_task_policy() -> None:
    record = corpus_record("cloud-snitch/TestReport_AWSAccountEvent.json")
    record.update(eventName="AssumeRoot", sharedEventID=None)
    record["requestParameters"] = {
        "targetPrincipal": "111122223333",
        "taskPolicyArn": {"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"},
    }
    record["userIdentity"] = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::774305579662:assumed-role/Admin/ops",
        "accountId": "774305579662",
        "sessionContext": {"assumedRoot": "true", "attributes": {"mfaAuthenticated": "true"}},
    }
    ev = normalize(record)
    assert ev is not None
    assert ev.target_principal == "111122223333" and ev.role_account == "111122223333"
    assert ev.task_policy_arn and ev.task_policy_arn.endswith("IAMAuditRootUserCredentials")
    assert ev.caller.assumed_root is True and ev.caller.mfa_authenticated is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-10-14 21:25:20", datetime(2021, 10, 14, 21, 25, 20, tzinfo=UTC)),
        ("2025-03-19T00:30:20Z", datetime(2025, 3, 19, 0, 30, 20, tzinfo=UTC)),
        ("2025-03-19T02:30:20.5+02:00", datetime(2025, 3, 19, 0, 30, 20, 500000, tzinfo=UTC)),
    ],
)
def test_event_time_forms(text: str, expected: datetime) -> None:
    record = corpus_record("cloud-snitch/TestReport_AWSAccountEvent.json")
    record["eventTime"] = text
    assert (ev := normalize(record)) is not None and ev.event_time == expected


@pytest.mark.parametrize("bad", ["yesterday", 12345, None, ""])
def test_event_time_that_is_not_a_time_is_rejected(bad: object) -> None:
    record = corpus_record("cloud-snitch/TestReport_AWSAccountEvent.json")
    record["eventTime"] = bad
    with pytest.raises(RecordRejected) as caught:
        normalize(record)
    assert caught.value.reason == "bad_event_time"


def test_out_of_scope_events_are_none_not_errors() -> None:
    record = corpus_record("cloud-snitch/TestReport_AWSAccountEvent.json")
    record["eventName"] = "GetCallerIdentity"
    assert normalize(record) is None
    record.update(eventName="AssumeRole", eventSource="iam.amazonaws.com")
    assert normalize(record) is None
