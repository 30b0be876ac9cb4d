"""Change records of a growing organisation, beside the STS builders of :mod:`bench.org_records`.

Shapes follow the documented CloudTrail records: IAM calls (``CreateRole`` with its URL-encoded
trust policy in the response, ``UpdateOpenIDConnectProviderThumbprint``,
``AddClientIDToOpenIDConnectProvider``, ``CreateOpenIDConnectProvider``), Organizations calls
(``CreateAccount`` then the ``CreateAccountResult`` service event, ``InviteAccountToOrganization``
then ``AcceptHandshake`` logged in the invited account), Control Tower's ``CreateManagedAccount``
service event, and EKS Pod Identity's ``AssumeRole`` by ``pods.eks.amazonaws.com``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson

from bench.org_records import REGION, Records, Session, role_id, stamp, unique

IAM = "iam.amazonaws.com"
ORGANIZATIONS = "organizations.amazonaws.com"
ORG_ID = "o-g7rw4k2m9x"


class ChangeRecords(Records):
    """Assumptions (inherited) plus the IAM, Organizations and Control Tower calls."""

    def call(
        self,
        at: datetime,
        source: str,
        name: str,
        identity: dict[str, Any],
        account: str,
        request: dict[str, Any] | None,
        response: dict[str, Any] | None = None,
        *,
        agent: str,
        ip: str = "10.20.0.15",
        region: str = "us-east-1",
    ) -> dict[str, Any]:
        """One management API call as the account it landed in logged it."""
        return {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": stamp(at),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": agent,
            "requestParameters": request,
            "responseElements": response,
            "requestID": self._id(),
            "eventID": self._id(),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
        }

    def service_event(
        self, at: datetime, source: str, name: str, account: str, details: dict[str, Any]
    ) -> dict[str, Any]:
        """An ``AwsServiceEvent``: the service reports an outcome, nobody called."""
        return {
            "eventVersion": "1.08",
            "userIdentity": {"accountId": account, "invokedBy": source},
            "eventTime": stamp(at),
            "eventSource": source,
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": source,
            "userAgent": source,
            "requestParameters": None,
            "responseElements": None,
            "eventID": self._id(),
            "readOnly": False,
            "eventType": "AwsServiceEvent",
            "managementEvent": True,
            "recipientAccountId": account,
            "serviceEventDetails": details,
            "eventCategory": "Management",
        }

    # -- IAM ------------------------------------------------------------------------------------

    def create_role(
        self, at: datetime, caller: Session, arn: str, policy: dict[str, Any], *, agent: str
    ) -> dict[str, Any]:
        account, name = arn.split(":")[4], arn.rsplit("/", 1)[-1]
        text = orjson.dumps(policy).decode()
        role = {
            "path": "/",
            "roleName": name,
            "roleId": role_id(arn),
            "arn": arn,
            "createDate": at.strftime("%b %-d, %Y, %-I:%M:%S %p"),
            "assumeRolePolicyDocument": quote(text, safe=""),
        }
        request = {"roleName": name, "assumeRolePolicyDocument": text, "maxSessionDuration": 3600}
        return self.call(
            at, IAM, "CreateRole", caller.identity(), account, request, {"role": role}, agent=agent
        )

    def update_trust(
        self, at: datetime, caller: Session, arn: str, policy: dict[str, Any], *, agent: str
    ) -> dict[str, Any]:
        request = {
            "roleName": arn.rsplit("/", 1)[-1],
            "policyDocument": orjson.dumps(policy).decode(),
        }
        return self.call(
            at,
            IAM,
            "UpdateAssumeRolePolicy",
            caller.identity(),
            arn.split(":")[4],
            request,
            agent=agent,
        )

    def delete_role(self, at: datetime, caller: Session, arn: str, *, agent: str) -> dict:
        request = {"roleName": arn.rsplit("/", 1)[-1]}
        account = arn.split(":")[4]
        return self.call(at, IAM, "DeleteRole", caller.identity(), account, request, agent=agent)

    def create_oidc_provider(
        self,
        at: datetime,
        caller: Session,
        url: str,
        clients: list[str],
        thumbprint: str,
        agent: str,
    ) -> dict[str, Any]:
        account = caller.account
        host = url.split("://", 1)[-1]
        request = {"url": url, "clientIDList": clients, "thumbprintList": [thumbprint]}
        response = {"openIDConnectProviderArn": f"arn:aws:iam::{account}:oidc-provider/{host}"}
        return self.call(
            at,
            IAM,
            "CreateOpenIDConnectProvider",
            caller.identity(),
            account,
            request,
            response,
            agent=agent,
        )

    def thumbprint(
        self, at: datetime, caller: Session, provider: str, thumbprints: list[str], agent: str
    ) -> dict[str, Any]:
        request = {"openIDConnectProviderArn": provider, "thumbprintList": thumbprints}
        return self.call(
            at,
            IAM,
            "UpdateOpenIDConnectProviderThumbprint",
            caller.identity(),
            provider.split(":")[4],
            request,
            agent=agent,
        )

    def add_client_id(
        self, at: datetime, caller: Session, provider: str, client: str, agent: str
    ) -> dict[str, Any]:
        request = {"openIDConnectProviderArn": provider, "clientID": client}
        return self.call(
            at,
            IAM,
            "AddClientIDToOpenIDConnectProvider",
            caller.identity(),
            provider.split(":")[4],
            request,
            agent=agent,
        )

    # -- Organizations and Control Tower --------------------------------------------------------

    def managed_account(
        self, at: datetime, management: str, name: str, account: str, ou: str
    ) -> dict[str, Any]:
        """Control Tower's Account Factory reports the account it vended (``SUCCEEDED``)."""
        status = {
            "organizationalUnit": {"organizationalUnitName": ou, "organizationalUnitId": ou},
            "account": {"accountName": name, "accountId": account},
            "state": "SUCCEEDED",
            "message": "AWS Control Tower successfully created an enrolled account.",
            "requestedTimestamp": stamp(at - timedelta(minutes=28)),
            "completedTimestamp": stamp(at),
        }
        return self.service_event(
            at,
            "controltower.amazonaws.com",
            "CreateManagedAccount",
            management,
            {"createManagedAccountStatus": status},
        )

    def create_account(
        self, at: datetime, caller: Session, name: str, email: str, agent: str
    ) -> tuple[dict[str, Any], str]:
        """``CreateAccount`` (asynchronous: the request id the result event names)."""
        request_id = "car-" + unique("", name, stamp(at), length=32).lower()
        response = {
            "createAccountStatus": {
                "id": request_id,
                "state": "IN_PROGRESS",
                "accountName": "HIDDEN_DUE_TO_SECURITY_REASONS",
                "requestedTimestamp": at.strftime("%b %-d, %Y, %-I:%M:%S %p"),
            }
        }
        request = {"accountName": "HIDDEN_DUE_TO_SECURITY_REASONS", "email": email}
        record = self.call(
            at,
            ORGANIZATIONS,
            "CreateAccount",
            caller.identity(),
            caller.account,
            request,
            response,
            agent=agent,
        )
        return record, request_id

    def create_account_result(
        self, at: datetime, management: str, request_id: str, name: str, account: str
    ) -> dict[str, Any]:
        status = {
            "id": request_id,
            "state": "SUCCEEDED",
            "accountName": name,
            "accountId": account,
            "requestedTimestamp": stamp(at - timedelta(minutes=3)),
            "completedTimestamp": stamp(at),
        }
        return self.service_event(
            at, ORGANIZATIONS, "CreateAccountResult", management, {"createAccountStatus": status}
        )

    def invite(self, at: datetime, caller: Session, account: str, agent: str) -> tuple[dict, str]:
        handshake = "h-" + unique("", account, stamp(at), length=32).lower()
        request = {"target": {"type": "ACCOUNT", "id": account}, "notes": "HIDDEN"}
        response = {"handshake": self._handshake(handshake, account, "OPEN", at)}
        record = self.call(
            at,
            ORGANIZATIONS,
            "InviteAccountToOrganization",
            caller.identity(),
            caller.account,
            request,
            response,
            agent=agent,
        )
        return record, handshake

    def accept(
        self, at: datetime, identity: dict[str, Any], account: str, handshake: str, agent: str
    ) -> dict[str, Any]:
        """Logged in the invited account: its administrator accepted."""
        response = {"handshake": self._handshake(handshake, account, "ACCEPTED", at)}
        return self.call(
            at,
            ORGANIZATIONS,
            "AcceptHandshake",
            identity,
            account,
            {"handshakeId": handshake},
            response,
            agent=agent,
        )

    @staticmethod
    def _handshake(handshake: str, account: str, state: str, at: datetime) -> dict[str, Any]:
        return {
            "id": handshake,
            "arn": f"arn:aws:organizations::{account}:handshake/{ORG_ID}/invite/{handshake}",
            "parties": [{"id": ORG_ID, "type": "ORGANIZATION"}, {"id": account, "type": "ACCOUNT"}],
            "state": state,
            "requestedTimestamp": stamp(at),
            "action": "INVITE",
        }
