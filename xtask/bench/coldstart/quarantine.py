"""The cold-start reference: Cordon's quarantine task for an IAM user, in Python 3.11 + boto3.

`cargo xtask coldstart` (and `cargo xtask bench`) runs it under the official Lambda runtime
interface client, `python -m awslambdaric quarantine.handler`, beside the Rust
`cordon-quarantine` bootstrap, on the same event, with the same environment (what
`infra/template.yaml` gives QuarantineFunction) and against the same moto.

It makes the calls `tasks/cordon-quarantine` makes for a user, in the same order, with the
same conditions, and answers with the same output shape:

1. Cordon's own roles (`CORDON_OWN_ROLE_ARNS` and `CORDON_FUNCTION_ROLE_ARN`) and the
   policy's protected principals and allowlisted actors resolved to unique ids with
   `iam:GetRole` / `iam:GetUser`, once, at the first invocation (not at import: no network
   call before the first event);
2. root, Cordon's own roles and protected principals refused by unique id;
3. the user's facts: `GetUser`, then `ListUserTags`, `ListGroupsForUser`,
   `ListAttachedUserPolicies`, `ListUserPolicies`, `ListAccessKeys`, `ListMFADevices` and
   `GetLoginProfile` concurrently (the Rust task joins them the same way);
4. the identity check (the user bearing the name is the one of the event, by unique id);
5. the snapshot stored once (`UpdateItem` conditional on the incident existing and having
   none; on a failed condition the stored one is read back);
6. the customer-managed deny-all and `AWSDenyAll` attached unless attached already;
7. remediation as the response policy says: active keys deactivated, the console password
   deleted; the force-MFA policy for MFA findings when the policy asks for it;
8. one timeline entry (`PutItem`, conditional) with what this run changed.

Only what the benchmark's event exercises is guaranteed identical; a role's session
revocation (the Rust task's other branch) is not reproduced and is refused here.
"""

import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import boto3
from botocore.exceptions import ClientError

# The handler's own INFO lines only, as RUST_LOG=info gives the Rust task's (botocore's
# INFO chatter at client creation would be extra work the Rust side does not do).
logger = logging.getLogger("cordon.quarantine")
logger.setLevel(logging.INFO)

# --- configuration, read at init as the Rust task reads it ------------------------------

_env = os.environ


def _list(name):
    return [v.strip() for v in _env.get(name, "").split(",") if v.strip()]


TABLE = _env["CORDON_TABLE_NAME"]
QUARANTINE_POLICY_ARN = _env["CORDON_QUARANTINE_POLICY_ARN"]
_PARTITION = QUARANTINE_POLICY_ARN.split(":")[1]
DENY_ALL_POLICY_ARN = (
    _env.get("CORDON_DENY_ALL_POLICY_ARN", "").strip()
    or f"arn:{_PARTITION}:iam::aws:policy/AWSDenyAll"
)
FORCE_MFA_POLICY_ARN = _env.get("CORDON_FORCE_MFA_POLICY_ARN", "").strip() or None
POLICY = json.loads(_env.get("CORDON_RESPONSE_POLICY", "").strip() or "{}")
PROTECTED = list(POLICY.get("protected_principals", [])) + _list(
    "CORDON_PROTECTED_PRINCIPALS"
)
ALLOWLISTED = list(POLICY.get("allowlisted_actors", [])) + _list(
    "CORDON_ALLOWLISTED_ACTORS"
)
_function_role = _env["CORDON_FUNCTION_ROLE_ARN"].strip()
OWN_ROLES = _list("CORDON_OWN_ROLE_ARNS")
if _function_role not in OWN_ROLES:
    OWN_ROLES.append(_function_role)

MFA_RULES = {
    "signin.console-login-no-mfa",
    "iam.mfa-deactivated",
    "iam.mfa-device-deleted",
    "audit.mfa-missing",
}
AUDIT_RULES = {"audit.mfa-missing", "audit.root-mfa-missing", "audit.access-key-stale"}
TAG_KEYS = {"SecurityStatus", "CordonIncident", "QuarantinedAt"}

# Clients are built at init (no network call: botocore connects on the first request).
iam = boto3.client("iam")
dynamodb = boto3.client("dynamodb")

_identities = None


class CordonError(Exception):
    pass


class ProtectedPrincipal(CordonError):
    pass


class PrincipalNotFound(CordonError):
    pass


class ConfigError(CordonError):
    pass


# --- identities --------------------------------------------------------------------------


def _is_unique_id(entry):
    return (
        entry[:4] in ("AIDA", "AROA")
        and 16 <= len(entry) <= 128
        and all(c.isupper() or c.isdigit() for c in entry)
    )


def _resolve_entry(entry):
    if _is_unique_id(entry):
        return entry
    try:
        if entry.startswith("arn:"):
            kind, _, name = entry.split(":", 5)[5].partition("/")
            name = name.rsplit("/", 1)[-1]
            if kind == "role":
                found = iam.get_role(RoleName=name)["Role"]
                return found["RoleId"] if found["Arn"] == entry else None
            found = iam.get_user(UserName=name)["User"]
            return found["UserId"] if found["Arn"] == entry else None
        return iam.get_user(UserName=entry)["User"]["UserId"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise


def _resolved():
    global _identities
    if _identities is None:
        ids = {"own": set(), "protected": set(), "allowlisted": set()}
        for key, entries in (
            ("own", OWN_ROLES),
            ("protected", PROTECTED),
            ("allowlisted", ALLOWLISTED),
        ):
            for entry in entries:
                found = _resolve_entry(entry)
                if found:
                    ids[key].add(found)
        _identities = ids
    return _identities


def _unique_id(principal):
    pid = (principal.get("principalId") or "").split(":")[0]
    return pid if pid and pid.isalnum() and len(pid) <= 128 else None


def _check_containable(principal, ids):
    who = principal.get("arn") or principal.get("name") or "unknown principal"
    if principal.get("kind") == "Root" or (principal.get("arn") or "").endswith(":root"):
        raise ProtectedPrincipal(f"{who}: the root user is never contained")
    uid = _unique_id(principal)
    if uid and uid in ids["own"]:
        raise ProtectedPrincipal(f"{who}: it is one of Cordon's own roles")
    if uid and uid in ids["protected"]:
        raise ProtectedPrincipal(f"{who}: it is on the protected_principals list")
    if not principal.get("name") and not principal.get("arn"):
        raise PrincipalNotFound("(unknown: the event does not identify the principal)")


# --- IAM and DynamoDB --------------------------------------------------------------------


def _paginate(op, key, **kwargs):
    out = []
    for page in iam.get_paginator(op).paginate(**kwargs):
        out.extend(page[key])
    return out


def _iso(dt):
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt else None


def _user_facts(user_name):
    try:
        user = iam.get_user(UserName=user_name)["User"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise

    def login_profile():
        try:
            iam.get_login_profile(UserName=user_name)
            return True
        except ClientError as e:
            if e.response["Error"]["Code"] == "NoSuchEntity":
                return False
            raise

    with ThreadPoolExecutor(max_workers=7) as pool:
        tags = pool.submit(_paginate, "list_user_tags", "Tags", UserName=user_name)
        groups = pool.submit(_paginate, "list_groups_for_user", "Groups", UserName=user_name)
        attached = pool.submit(
            _paginate, "list_attached_user_policies", "AttachedPolicies", UserName=user_name
        )
        inline = pool.submit(_paginate, "list_user_policies", "PolicyNames", UserName=user_name)
        keys = pool.submit(
            _paginate, "list_access_keys", "AccessKeyMetadata", UserName=user_name
        )
        mfa = pool.submit(_paginate, "list_mfa_devices", "MFADevices", UserName=user_name)
        login = pool.submit(login_profile)
    boundary = user.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    return {
        "userName": user["UserName"],
        "userId": user["UserId"],
        "arn": user["Arn"],
        "path": user.get("Path", "/"),
        "created": _iso(user.get("CreateDate")),
        "tags": {t["Key"]: t["Value"] for t in tags.result()},
        "groups": [g["GroupName"] for g in groups.result()],
        "attachedPolicies": [
            {"name": p["PolicyName"], "arn": p["PolicyArn"]} for p in attached.result()
        ],
        "inlinePolicies": inline.result(),
        "accessKeys": [
            {"id": k["AccessKeyId"], "status": k["Status"], "created": _iso(k.get("CreateDate"))}
            for k in keys.result()
        ],
        "mfaDevices": [d["SerialNumber"] for d in mfa.result()],
        "loginProfile": login.result(),
        "permissionsBoundary": boundary,
    }


def _timestamp(at):
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _key(incident_id, sk):
    return {"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": sk}}


def _append(incident_id, at, step, message, details):
    stamp = _timestamp(at)
    item = _key(incident_id, f"TL#{stamp}#{step}")
    item.update(
        {
            "entity": {"S": "TIMELINE"},
            "incident_id": {"S": incident_id},
            "at": {"S": stamp},
            "step": {"S": step},
            "message": {"S": message},
            "details": {"S": json.dumps(details, separators=(",", ":"))},
        }
    )
    try:
        dynamodb.put_item(
            TableName=TABLE,
            Item=item,
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": "pk"},
        )
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def _save_snapshot(incident_id, snapshot, at):
    try:
        dynamodb.update_item(
            TableName=TABLE,
            Key=_key(incident_id, "META"),
            UpdateExpression="SET #n0 = :v0, #n1 = :v1",
            ConditionExpression="attribute_exists(#n2) AND attribute_not_exists(#n0)",
            ExpressionAttributeNames={"#n0": "snapshot", "#n1": "snapshot_at", "#n2": "pk"},
            ExpressionAttributeValues={
                ":v0": {"S": json.dumps(snapshot, separators=(",", ":"))},
                ":v1": {"S": _timestamp(at)},
            },
        )
        return True, snapshot
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    item = dynamodb.get_item(
        TableName=TABLE, Key=_key(incident_id, "META"), ConsistentRead=True
    ).get("Item")
    if not item:
        raise PrincipalNotFound(f"incident {incident_id} does not exist")
    return False, json.loads(item["snapshot"]["S"])


# --- the handler -------------------------------------------------------------------------


def handler(event, context):
    started = time.monotonic()
    incident_id = event["incidentId"]
    detection = event["detection"]
    principal = detection.get("principal")
    if not principal:
        raise PrincipalNotFound("(unknown: the detection names no principal to contain)")
    ids = _resolved()
    _check_containable(principal, ids)
    rule = detection.get("rule", "")
    if principal.get("kind") != "IAMUser" or not principal.get("name"):
        raise ProtectedPrincipal(
            f"{principal.get('arn')}: the reference contains IAM users only"
        )
    user_name = principal["name"]
    facts = _user_facts(user_name)
    if facts is None:
        raise PrincipalNotFound(user_name)

    now = datetime.now(timezone.utc)
    expected = _unique_id(principal) or ((event.get("facts") or {}).get("userId") or None)
    if expected and expected != facts["userId"]:
        message = (
            f"user {user_name} is not the user of this incident: its unique id is now "
            f"{facts['userId']}, the incident's was {expected}; nothing was done."
        )
        _append(
            incident_id,
            now,
            "QuarantineRefused",
            message,
            {
                "identityMismatch": {
                    "userName": user_name,
                    "expectedUserId": expected,
                    "foundUserId": facts["userId"],
                }
            },
        )
        raise PrincipalNotFound(message)
    _check_containable(dict(principal, principalId=facts["userId"]), ids)

    keys = facts["accessKeys"]
    snapshot = {
        "userName": facts["userName"],
        "userArn": facts["arn"],
        "userId": facts["userId"] or None,
        "takenAt": _iso(now),
        "attachedPolicyArns": [p["arn"] for p in facts["attachedPolicies"]],
        "activeAccessKeyIds": [k["id"] for k in keys if k["status"] == "Active"],
        "inactiveAccessKeyIds": [k["id"] for k in keys if k["status"] == "Inactive"],
        "loginProfile": facts["loginProfile"],
        "mfaDevices": facts["mfaDevices"],
        "groups": facts["groups"],
        "inlinePolicies": facts["inlinePolicies"],
        "cordonTags": {k: v for k, v in facts["tags"].items() if k in TAG_KEYS},
    }
    saved, snapshot = _save_snapshot(incident_id, snapshot, now)

    force_mfa = bool(POLICY.get("attach_force_mfa_policy")) and rule in MFA_RULES
    deny_all = not (force_mfa and rule in AUDIT_RULES)
    policy_arns = [QUARANTINE_POLICY_ARN, DENY_ALL_POLICY_ARN] if deny_all else []
    present = {p["arn"] for p in facts["attachedPolicies"]}
    actions, attached = [], []
    for arn in policy_arns:
        if arn not in present:
            iam.attach_user_policy(UserName=user_name, PolicyArn=arn)
            actions.append(f"attached the deny-all policy {arn}")
            attached.append(arn)
    already_attached = not attached

    remediate = event.get("remediate")
    remediation = {"deactivatedKeys": [], "loginProfileDeleted": False}
    if remediate if remediate is not None else POLICY.get("deactivate_access_keys", False):
        for k in keys:
            if k["status"] == "Active":
                iam.update_access_key(
                    UserName=user_name, AccessKeyId=k["id"], Status="Inactive"
                )
                actions.append(f"deactivated access key {k['id']}")
                remediation["deactivatedKeys"].append(k["id"])
    delete_login = remediate if remediate is not None else POLICY.get("delete_login_profile", False)
    if delete_login and facts["loginProfile"]:
        try:
            iam.delete_login_profile(UserName=user_name)
            remediation["loginProfileDeleted"] = True
            actions.append("deleted the console password (login profile)")
        except ClientError as e:
            if e.response["Error"]["Code"] != "NoSuchEntity":
                raise
    force_mfa_arn = None
    if force_mfa:
        if not FORCE_MFA_POLICY_ARN:
            raise ConfigError("CORDON_FORCE_MFA_POLICY_ARN is not set")
        if FORCE_MFA_POLICY_ARN not in present:
            iam.attach_user_policy(UserName=user_name, PolicyArn=FORCE_MFA_POLICY_ARN)
            actions.append(f"attached the force-MFA policy {FORCE_MFA_POLICY_ARN}")
        force_mfa_arn = FORCE_MFA_POLICY_ARN

    record = {
        "policyArn": QUARANTINE_POLICY_ARN if deny_all else "",
        "attachedPolicyArns": attached,
        "alreadyAttached": already_attached,
        "remediation": remediation,
        "snapshotSaved": saved,
        "userId": facts["userId"] or None,
    }
    if force_mfa_arn:
        record["forceMfaPolicyArn"] = force_mfa_arn
    _append(
        incident_id,
        now,
        "Quarantine",
        f"quarantined {user_name}: {'; '.join(actions)}"
        if actions
        else f"{user_name} was already quarantined; nothing to change",
        record,
    )
    logger.info(
        json.dumps(
            {
                "incident_id": incident_id,
                "step": "quarantine",
                "outcome": "already_quarantined" if already_attached else "quarantined",
                "user": user_name,
                "deactivated_keys": len(remediation["deactivatedKeys"]),
                "login_profile_deleted": remediation["loginProfileDeleted"],
            }
        )
    )
    # The invocation's metrics line (CloudWatch embedded metric format), as the Rust task
    # writes one.
    print(
        json.dumps(
            {
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "Cordon",
                            "Dimensions": [["Function"]],
                            "Metrics": [
                                {"Name": "Invocations", "Unit": "Count"},
                                {"Name": "Duration", "Unit": "Milliseconds"},
                            ],
                        }
                    ],
                },
                "Function": _env.get("AWS_LAMBDA_FUNCTION_NAME", "quarantine"),
                "Invocations": 1,
                "Duration": (time.monotonic() - started) * 1000,
            }
        )
    )
    return {
        "incidentId": incident_id,
        "userName": user_name,
        "principalKind": "IAMUser",
        "snapshot": snapshot,
        "snapshotSaved": saved,
        "quarantinedAt": snapshot["takenAt"],
        "policyArn": QUARANTINE_POLICY_ARN,
        "policyArns": policy_arns,
        "alreadyAttached": already_attached,
        "remediation": remediation,
        "actionsTaken": actions,
    }
