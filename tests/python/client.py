#!/usr/bin/env python3
"""Drive a crossforest resource forest from Python: a client no one here wrote.

Generates gRPC stubs from the repository's .proto files at run time (with the
protoc bundled in grpcio-tools, into a temporary directory), connects over
mutual TLS with a principal's certificate, and uses Management, Authorization,
server reflection and health checking the way any gRPC client would. Prints a
JSON summary on stdout; exits 1 if anything differs from what is expected.

    python3 tests/python/client.py lab.json

lab.json describes the lab (file paths are relative to lab.json):

    {
      "resource": {"forest": "contoso.com", "address": "127.0.0.1:7100",
                   "ca": "contoso.com/ca.pem"},
      "administrator": {"sid": "S-1-5-21-…-500",
                        "certificate": "contoso.com/Administrator.crt",
                        "key": "contoso.com/Administrator.key"},
      "limited": {"sid": "S-1-5-21-…", "certificate": "…", "key": "…"},
      "foreign": {"forest": "fabrikam.com", "address": "127.0.0.1:7101",
                  "ca": "fabrikam.com/ca.pem", "user": "alice",
                  "password_file": "fabrikam.com/alice.password",
                  "certificate": "…", "key": "…",
                  "role_group": "fabrikam Recipient Admins"}
    }

The administrator must be allowed `Get-RoleGroup` (Organization Management) and
the limited caller (e.g. a mailbox's own account) must not. "foreign" is
optional: an account-forest user who authenticates at home and presents the
forest token to the resource forest, linked to "role_group".
"""

import argparse
import importlib
import json
import sys
import tempfile
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_tools import protoc

PROTO_DIR = Path(__file__).resolve().parents[2] / "proto"
PROTOS = {
    "management": "crossforest/management/v1/management.proto",
    "authorization": "crossforest/management/v1/authorization.proto",
    "directory": "crossforest/directory/v1/directory.proto",
    # No service: the stable error codes and denial rules the others use.
    "error": "crossforest/error/v1/error.proto",
}
MANAGEMENT = "crossforest.management.v1.Management"
AUTHORIZATION = "crossforest.management.v1.Authorization"
HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"
# A deadline on every call, so that a broken node fails the run instead of hanging it.
TIMEOUT = 30

failures = []


def expect(condition, what):
    """Records a mismatch; the run goes on so that the summary shows them all."""
    if not condition:
        failures.append(what)


def generate_stubs(proto_dir, out_dir):
    """Compiles the protos into out_dir and imports the generated modules."""
    well_known = resources.files("grpc_tools") / "_proto"
    status = protoc.main([
        "grpc_tools.protoc",
        f"-I{proto_dir}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTOS.values(),
    ])
    if status != 0:
        sys.exit(f"grpc_tools.protoc could not compile the protos in {proto_dir}")
    sys.path.insert(0, str(out_dir))
    stubs = {}
    for name, proto in PROTOS.items():
        module = proto.removesuffix(".proto").replace("/", ".")
        stubs[name] = (
            importlib.import_module(f"{module}_pb2"),
            importlib.import_module(f"{module}_pb2_grpc") if name != "error" else None,
        )
    return stubs


def secure_channel(base, node, principal):
    """A mutual-TLS channel to a forest's node, presenting the principal's certificate."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(base / node["ca"]).read_bytes(),
        private_key=(base / principal["key"]).read_bytes(),
        certificate_chain=(base / principal["certificate"]).read_bytes(),
    )
    # Like crossforest's own client, check the server certificate names the
    # forest, whatever address the node listens on.
    options = [("grpc.ssl_target_name_override", node["forest"])]
    return grpc.secure_channel(node["address"], credentials, options=options)


def as_dict(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def records(response):
    return [{p.name: p.value for p in record.properties} for record in response.records]


def refusal(call):
    """Makes a call that must fail; returns the status it failed with, or None."""
    try:
        call()
    except grpc.RpcError as error:
        trailers = dict(error.trailing_metadata() or ())
        return {
            "code": error.code().name,
            "message": error.details(),
            # Stable names of crossforest.error.v1's enums.
            "error_code": trailers.get("x-crossforest-error"),
            "denial_rule": trailers.get("x-crossforest-denial"),
        }
    return None


class Caller:
    """Management and Authorization stubs on one channel, with optional metadata."""

    def __init__(self, stubs, channel, metadata=()):
        self.pb, management_grpc = stubs["management"]
        self.error_pb, _ = stubs["error"]
        self.authz_pb, authorization_grpc = stubs["authorization"]
        self.management = management_grpc.ManagementStub(channel)
        self.authorization = authorization_grpc.AuthorizationStub(channel)
        self.metadata = tuple(metadata)

    def who_am_i(self):
        return self.management.WhoAmI(
            self.pb.WhoAmIRequest(), metadata=self.metadata, timeout=TIMEOUT
        )

    def invoke(self, cmdlet):
        return self.management.Invoke(
            self.pb.InvokeRequest(cmdlet=cmdlet), metadata=self.metadata, timeout=TIMEOUT
        )

    def check(self, cmdlet):
        request = self.authz_pb.CheckRequest(cmdlet=cmdlet)
        response = self.authorization.Check(request, metadata=self.metadata, timeout=TIMEOUT)
        decision = response.decision
        return {
            "allowed": decision.allowed,
            "chains": [chain.text for chain in decision.chains],
            "denial": self.error_pb.DenialRule.Name(decision.denial),
            "reason": decision.reason,
        }


@contextmanager
def local_caller(stubs, base, lab, role):
    """A resource-forest principal (certificate only), its WhoAmI checked against its SID."""
    principal = lab[role]
    with secure_channel(base, lab["resource"], principal) as channel:
        caller = Caller(stubs, channel)
        who = caller.who_am_i()
        expect(who.user_sid == principal["sid"],
               f"WhoAmI of the {role}: {who.user_sid}, not {principal['sid']}")
        yield caller, as_dict(who)


def administrator(stubs, base, lab):
    with local_caller(stubs, base, lab, "administrator") as (caller, who):
        names = [r.get("Name") for r in records(caller.invoke("Get-RoleGroup"))]
        expect("Organization Management" in names,
               f"Get-RoleGroup as the administrator listed {names}")
        check = caller.check("Get-RoleGroup")
        expect(check["allowed"] and check["chains"],
               f"Check Get-RoleGroup for the administrator: {check}")
        return {"who_am_i": who, "role_groups": names, "check": check}


def limited(stubs, base, lab):
    with local_caller(stubs, base, lab, "limited") as (caller, who):
        denied = refusal(lambda: caller.invoke("Get-RoleGroup"))
        expect(denied is not None and denied["code"] == "PERMISSION_DENIED"
               and "Get-RoleGroup" in denied["message"],
               f"Get-RoleGroup as the limited caller: {denied}")
        check = caller.check("Get-RoleGroup")
        expect(not check["allowed"] and check["reason"],
               f"Check Get-RoleGroup for the limited caller: {check}")
        return {"who_am_i": who, "denied": denied, "check": check}


def foreign(stubs, base, lab):
    """An account-forest user: Authenticate at home, then the token at the resource forest."""
    user = lab["foreign"]
    directory_pb, directory_grpc = stubs["directory"]
    password = (base / user["password_file"]).read_text()
    # The entry names both the home forest's node and the user's credential.
    with secure_channel(base, node=user, principal=user) as home:
        logon = directory_grpc.DirectoryStub(home).Authenticate(
            directory_pb.AuthenticateRequest(
                user=user["user"], password=password, audience=lab["resource"]["forest"]
            ),
            timeout=TIMEOUT,
        )
    with secure_channel(base, lab["resource"], user) as channel:
        # The certificate alone is not enough for a foreign caller.
        without_token = refusal(Caller(stubs, channel).who_am_i)
        expect(without_token is not None and without_token["code"] == "UNAUTHENTICATED",
               f"WhoAmI without a token: {without_token}")
        caller = Caller(stubs, channel, [("x-crossforest-token", logon.token)])
        who = caller.who_am_i()
        expect(who.user_sid == logon.user.sid and who.forest == user["forest"],
               f"WhoAmI with the token: {who.user_sid} of {who.forest}")
        # Role groups read "name (via <SID of the foreign group>)" when linked.
        role_groups = [group.split(" (via ")[0] for group in who.role_groups]
        expect(user["role_group"] in role_groups,
               f"{user['role_group']} not among {list(who.role_groups)}")
        mailboxes = [r.get("Name") for r in records(caller.invoke("Get-Mailbox"))]
        # The token is a credential: it is never printed.
        return {
            "authenticated": as_dict(logon.user),
            "without_token": without_token,
            "who_am_i": as_dict(who),
            "mailboxes": mailboxes,
        }


def health_check(channel, pool, service):
    """grpc.health.v1.Health/Check through message classes built from reflection."""
    method = pool.FindMethodByName(f"{HEALTH}.Check")
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    check = channel.unary_unary(
        f"/{HEALTH}/Check",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )
    response = check(request_class(service=service), timeout=TIMEOUT)
    return json_format.MessageToDict(response).get("status", "UNKNOWN")


def standard_services(base, lab):
    """Lists services through reflection (v1alpha, as Python's client speaks) and checks health."""
    with secure_channel(base, lab["resource"], lab["administrator"]) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = sorted(database.get_services())
        for service in (MANAGEMENT, AUTHORIZATION, HEALTH, REFLECTION):
            expect(service in services, f"reflection does not list {service}: {services}")
        pool = descriptor_pool.DescriptorPool(database)
        health = {s: health_check(channel, pool, s) for s in ("", MANAGEMENT, AUTHORIZATION)}
        for service, status in health.items():
            expect(status == "SERVING", f"health of '{service}': {status}")
        return services, health


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lab", type=Path, help="the lab description (JSON)")
    parser.add_argument("--proto-dir", type=Path, default=PROTO_DIR,
                        help="where the crossforest protos are (default: %(default)s)")
    args = parser.parse_args()
    lab = json.loads(args.lab.read_text())
    base = args.lab.resolve().parent
    summary = {}
    with tempfile.TemporaryDirectory(prefix="crossforest-stubs-") as out_dir:
        stubs = generate_stubs(args.proto_dir, out_dir)
        try:
            summary["services"], summary["health"] = standard_services(base, lab)
            summary["administrator"] = administrator(stubs, base, lab)
            summary["limited"] = limited(stubs, base, lab)
            if "foreign" in lab:
                summary["foreign"] = foreign(stubs, base, lab)
        except grpc.RpcError as error:
            failures.append(f"unexpected {error.code().name}: {error.details()}")
    summary["failures"] = failures
    json.dump(summary, sys.stdout, indent=2)
    print()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
