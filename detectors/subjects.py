"""Subject templates: federated subjects generalised the way people read them.

A growing organisation mints new subjects all day: each release tag and pull request of a
repository, each preview namespace of a cluster (``system:serviceaccount:pr-1234:web``), each
person signing in through the identity provider. An operator reads those as instances of a
template they already know (this repository's tags, the preview namespaces' ``web`` account,
people of the company), and a *new template* as the news. Per kind of subject:

- GitHub Actions (``repo:<owner>/<repo>:<context>``): the owner (the organization) is kept,
  its repositories are instances (``repo:acme/*``: new repositories are the organization
  growing), the context generalised: ``ref:refs/heads/*``, ``ref:refs/tags/*``,
  ``ref:refs/pull/*``, ``environment:*``; ``pull_request`` stays as it is. A repository of
  another owner is another template.
- Kubernetes service accounts (``system:serviceaccount:<namespace>:<name>``): the name is kept,
  the namespace's instance parts (any dash-separated part with a digit: ``pr-1234``,
  ``preview-7f3a9c``) become ``*``.
- SAML (IAM Identity Center, any IdP): subjects are people; the template is ``person``.
- Anything else (Cognito identity ids, custom issuers): UUIDs and runs of four or more digits
  become ``*``.
"""

from __future__ import annotations

import re

_GITHUB = re.compile(r"^repo:([^/:]+)/[^:]+:(.+)$")
_GITHUB_CONTEXTS = (
    (re.compile(r"^ref:refs/(heads|tags|pull)/.+$"), r"ref:refs/\1/*"),
    (re.compile(r"^environment:.+$"), "environment:*"),
)
_SERVICE_ACCOUNT = re.compile(r"^system:serviceaccount:([^:]+):(.+)$")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]{4,}")
_HAS_DIGIT = re.compile(r"[0-9]")
PERSON = "person"


def subject_template(subject: str, saml: bool) -> str:
    """The template ``subject`` is an instance of (see the module docstring)."""
    if saml:
        return PERSON
    github = _GITHUB.match(subject)
    if github:
        return f"repo:{github.group(1)}/*:{_github_context(github.group(2))}"
    account = _SERVICE_ACCOUNT.match(subject)
    if account:
        return f"system:serviceaccount:{_namespace(account.group(1))}:{account.group(2)}"
    return _DIGITS.sub("*", _UUID.sub("*", subject))


def _github_context(context: str) -> str:
    for pattern, template in _GITHUB_CONTEXTS:
        if pattern.match(context):
            return pattern.sub(template, context)
    return context


def _namespace(namespace: str) -> str:
    """``pr-1234`` → ``pr-*``; ``payments`` stays; ``web-preview-7f3a9c`` → ``web-preview-*``."""
    parts = ["*" if _HAS_DIGIT.search(part) else part for part in namespace.split("-")]
    collapsed = [p for i, p in enumerate(parts) if not (p == "*" and i and parts[i - 1] == "*")]
    return "-".join(collapsed)
