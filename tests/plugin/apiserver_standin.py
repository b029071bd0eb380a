"""A small HTTPS stand-in for the parts of kube-apiserver the taint remover uses.

It keeps Node objects and records every request. What it implements follows the
real server, not our program:

- Bearer-token authentication: a wrong or missing token is 401 (Status reason
  Unauthorized), as for any request the authenticators reject.
- `GET /api/v1/nodes/<name>`: the object, or 404 NotFound.
- `PATCH /api/v1/nodes/<name>` with `application/json-patch+json` (RFC 6902,
  JSON pointers per RFC 6901) or `application/merge-patch+json` (RFC 7386). A
  patch that cannot be decoded is 400; one that cannot be applied, including a failed `test` op, is 422
  (k8s.io/apiserver `pkg/endpoints/handlers/patch.go`: jsonpatch apply errors
  become StatusUnprocessableEntity). A patched object whose resourceVersion is
  not the stored one is 409 Conflict (optimistic concurrency, API concepts
  "Resource versions"). Changes to `status` through the main resource are
  dropped (`pkg/registry/core/node/strategy.go`, PrepareForUpdate keeps the old
  status). Every accepted change bumps resourceVersion.
  Strategic merge patch is not implemented (415): the remover does not use it.
- `PATCH /api/v1/nodes/<name>/status` (the status subresource, as in the Kubernetes
  task "Advertise Extended Resources for a Node"): the same patch handling, but the
  node status strategy keeps the old `spec` (pkg/registry/core/node/strategy.go,
  nodeStatusStrategy.PrepareForUpdate: `newNode.Spec = oldNode.Spec`) and, unlike most
  kinds, does not reset metadata, so label and annotation changes stick.
- `POST /api/v1/namespaces/<ns>/events`: 201 with the event.

Two kubelet behaviours on a node's extended resources, for tests that need the
node's side:
- `kubelet_status_update`: the MachineInfo status setter
  (pkg/kubelet/nodestatus/setters.go) drops allocatable extended resources that
  are no longer in capacity and sets allocatable = capacity for the rest (no
  reservation applies to extended resources), keeping capacity keys it does not own.
- `kubelet_reregister`: when the kubelet registers a node that exists already and
  its device-manager checkpoint is gone, it sets every extended resource's capacity
  and allocatable to 0 (pkg/kubelet/kubelet_node_status.go reconcileExtendedResource,
  cm/devicemanager ShouldResetExtendedResourceCapacity: no checkpoint files).

Every admitted node update is kept as (old, new, user) so a test can run the
ValidatingAdmissionPolicy against exactly what the program sent.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.core.address_resources import extended_resource_name_problem


class PatchError(Exception):
    pass


def _parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _index(container: list, token: str, allow_end: bool) -> int:
    if allow_end and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise PatchError(f"array index {index} out of range")
    return index


def _resolve(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        if isinstance(doc, dict):
            if token not in doc:
                raise PatchError(f"missing key {token!r}")
            doc = doc[token]
        elif isinstance(doc, list):
            doc = doc[_index(doc, token, allow_end=False)]
        else:
            raise PatchError(f"cannot descend into {type(doc).__name__}")
    return doc


def apply_json_patch(doc: Any, ops: list[dict]) -> Any:
    """RFC 6902 add/remove/replace/move/copy/test on a deep copy of `doc`."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise PatchError("a JSON patch is a list of operations")
    for op in ops:
        kind, tokens = op.get("op"), _parse_pointer(op.get("path", ""))
        if kind == "test":
            if _resolve(doc, tokens) != op.get("value"):
                raise PatchError(f"testing value {op.get('path')} failed")
            continue
        if kind in ("move", "copy"):
            value = copy.deepcopy(_resolve(doc, _parse_pointer(op["from"])))
            if kind == "move":
                doc = _remove(doc, _parse_pointer(op["from"]))
            doc = _add(doc, tokens, value)
        elif kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc = _remove(doc, tokens)
        elif kind == "replace":
            _resolve(doc, tokens)
            doc = _add(_remove(doc, tokens), tokens, copy.deepcopy(op["value"]))
        else:
            raise PatchError(f"unknown op {kind!r}")
    return doc


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value  # an existing member is replaced (RFC 6902 4.1)
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise PatchError("add target's parent is not a container")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"missing key {last!r}")
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, allow_end=False)]
    else:
        raise PatchError("remove target's parent is not a container")
    return doc


def apply_merge_patch(doc: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = apply_merge_patch(out.get(key), value)
    return out


@dataclass
class Recorded:
    method: str
    path: str
    content_type: str
    authorization: str
    body: Any
    status: int


@dataclass
class Admitted:
    old: dict
    new: dict
    user: str
    subresource: str = ""


@dataclass
class ApiServer:
    token: str
    nodes: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    admitted: list[Admitted] = field(default_factory=list)
    before_patch: Callable[[ApiServer, str], None] | None = None
    """Called before a PATCH is applied: lets a test change the node concurrently."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _rv: int = 100

    def add_node(self, node: dict) -> None:
        node = copy.deepcopy(node)
        node["metadata"]["resourceVersion"] = self._next_rv()
        self.nodes[node["metadata"]["name"]] = node

    def change_node(self, name: str, mutate: Callable[[dict], None]) -> None:
        """A write by someone else (another controller, a person with kubectl)."""
        node = self.nodes[name]
        mutate(node)
        node["metadata"]["resourceVersion"] = self._next_rv()

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict]:
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, _status(400, "BadRequest", "body is not JSON")
        with self.lock:
            code, out = self._handle(method, path, headers, body)
            self.requests.append(Recorded(method, path, headers.get("content-type", ""), headers.get("authorization", ""), body, code))
        return code, out

    def _handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, _status(401, "Unauthorized", "Unauthorized")
        parts = path.split("?")[0].strip("/").split("/")
        # /api/v1/nodes/<name> and its status subresource /api/v1/nodes/<name>/status
        if parts[:3] == ["api", "v1", "nodes"] and (len(parts) == 4 or (len(parts) == 5 and parts[4] == "status")):
            name = parts[3]
            node = self.nodes.get(name)
            if node is None:
                return 404, _status(404, "NotFound", f'nodes "{name}" not found')
            if method == "GET":
                return 200, copy.deepcopy(node)
            if method == "PATCH":
                return self._patch(name, node, headers.get("content-type", ""), body, subresource=parts[4] if len(parts) == 5 else "")
            return 405, _status(405, "MethodNotAllowed", f"{method} is not supported here")
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "events" and method == "POST":
            event = copy.deepcopy(body)
            event.setdefault("metadata", {})["namespace"] = parts[3]
            self.events.append(event)
            return 201, event
        return 404, _status(404, "NotFound", f"the server could not find the requested resource ({path})")

    def _patch(self, name: str, node: dict, content_type: str, body: Any, subresource: str = "") -> tuple[int, dict]:
        if self.before_patch is not None:
            hook, self.before_patch = self.before_patch, None
            hook(self, name)
            node = self.nodes[name]
        if content_type == "application/json-patch+json" and not isinstance(body, list):
            return 400, _status(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            if content_type == "application/json-patch+json":
                patched = apply_json_patch(node, body)
            elif content_type == "application/merge-patch+json":
                patched = apply_merge_patch(node, body)
            else:
                return 415, _status(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}")
        except (PatchError, KeyError, TypeError) as exc:
            return 422, _status(422, "Invalid", str(exc))
        if patched.get("metadata", {}).get("name") != name:
            return 422, _status(422, "Invalid", "metadata.name: the name of the object does not match the name on the URL")
        if patched["metadata"].get("resourceVersion") != node["metadata"]["resourceVersion"]:
            return 409, _status(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on nodes "{name}": the object has been modified; please apply your changes to the latest version and try again',
            )
        if subresource == "status":
            patched["spec"] = copy.deepcopy(node.get("spec", {}))
        else:
            patched["status"] = copy.deepcopy(node.get("status", {}))
        patched["metadata"]["resourceVersion"] = self._next_rv()
        self.admitted.append(Admitted(copy.deepcopy(node), copy.deepcopy(patched), "token", subresource))
        self.nodes[name] = patched
        return 200, copy.deepcopy(patched)

    def kubelet_status_update(self, name: str) -> None:
        """The kubelet's next status update of the node (see the module docstring)."""

        def mutate(node: dict) -> None:
            status = node.setdefault("status", {})
            capacity = status.setdefault("capacity", {})
            allocatable = status.setdefault("allocatable", {})
            for key in [k for k in allocatable if is_extended_resource(k) and k not in capacity]:
                del allocatable[key]
            for key, value in capacity.items():
                if is_extended_resource(key):
                    allocatable[key] = value

        self.change_node(name, mutate)

    def kubelet_reregister(self, name: str, checkpoint_present: bool) -> None:
        """The kubelet starting again on an existing node (see the module docstring)."""

        def mutate(node: dict) -> None:
            status = node.setdefault("status", {})
            if checkpoint_present:
                return
            for field_name in ("capacity", "allocatable"):
                values = status.setdefault(field_name, {})
                for key in list(values):
                    if is_extended_resource(key):
                        values[key] = "0"

        self.change_node(name, mutate)


def is_extended_resource(name: str) -> bool:
    """v1helper.IsExtendedResourceName (pkg/apis/core/v1/helper/helpers.go), as the project implements it."""
    return extended_resource_name_problem(name) is None


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code}


def write_tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, server.crt, server.key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in kubernetes CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = folder / "ca.crt", folder / "server.crt", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return ca_file, cert_file, key_file


def serve(api: ApiServer, cert_file: Path, key_file: Path) -> ThreadingHTTPServer:
    """Start serving HTTPS on 127.0.0.1 (a free port) in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            code, out = api.handle(self.command, self.path, headers, raw)
            data = json.dumps(out).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _respond  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
