"""The agent's in-process EC2 client against upstream, not against itself.

- Signature: equal to botocore's `SigV4Auth` (the signer every AWS SDK for Python call goes through) for
  the same time, body, headers and credentials (IAM user guide, "Create a signed AWS API request").
- Request: the form body equals what botocore's EC2 query serializer makes from the service model for the
  same operation and parameters (EC2 API reference, "Query requests for Amazon EC2"; the model is
  botocore/data/ec2/2016-11-15/service-2.json).
- Answers: the HTTP stand-in (tests/conformance/ec2_standin.py; moto 5.2.5 serializes from the same botocore
  model) accepts the agent's signed requests, and a real botocore EC2 client reads the same state the agent
  reads; EC2's error document (EC2 API reference, "Error codes for the Amazon EC2 API":
  Response/Errors/Error/Code, Message, and RequestID) is read alike by the agent and botocore's EC2 parser.
- Endpoint: https://ec2.<region>.<services/domain> is what botocore resolves for aws, aws-cn and aws-us-gov.
"""

from __future__ import annotations

import datetime
import importlib.machinery
import importlib.util
import shutil
import socket
import ssl
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from unittest import mock

import boto3
import botocore.auth
import botocore.credentials
import botocore.parsers
import botocore.serialize
import botocore.session
import botocore.utils
import pytest
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from tests.plugin.agent_rig import AGENT, REGION, Ec2Standin


def _load_agent():
    loader = importlib.machinery.SourceFileLoader("eks_multus_eni_agent", str(AGENT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


agent = _load_agent()
EC2_MODEL = botocore.session.get_session().get_service_model("ec2")


class Keys:
    """Stands in for the agent's Credentials: fixed keys, and a metadata view with the DNS suffix."""

    def __init__(self, access: str = "ASIAEXAMPLE", secret: str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token: str = "tok") -> None:
        self.access, self.secret, self.token = access, secret, token
        self.metadata = mock.Mock()
        self.metadata.get.return_value = "amazonaws.com"

    def keys(self):
        return self.access, self.secret, self.token

    def environment(self):
        return {}


def botocore_signed(url: str, body: bytes, region: str, keys: tuple[str, str, str], when: datetime.datetime) -> dict:
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": agent.FORM_TYPE})
    credentials = botocore.credentials.Credentials(*keys)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        botocore.auth.SigV4Auth(credentials, "ec2", region).add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


REQUESTS = [
    (
        "AssignPrivateIpAddresses",
        [("NetworkInterfaceId", "eni-0123456789abcdef0"), ("AllowReassignment", "true"), ("PrivateIpAddress.1", "100.64.30.10")],
    ),
    ("AssignPrivateIpAddresses", [("NetworkInterfaceId", "eni-0123456789abcdef0"), ("Ipv4PrefixCount", "3")]),
    (
        "UnassignPrivateIpAddresses",
        [("NetworkInterfaceId", "eni-1"), ("Ipv4Prefix.1", "100.64.16.0/28"), ("Ipv4Prefix.2", "100.64.16.16/28")],
    ),
    ("DescribeNetworkInterfaces", [("NetworkInterfaceId.1", "eni-1")]),
    # Escaping-heavy, ASCII only: reserved characters, spaces, percent, plus, tilde, slash, equals, ampersand.
    ("DescribeNetworkInterfaces", [("Filter.1.Name", "tag:a b/c=d&e"), ("Filter.1.Value.1", "x+y%z~*'()!$,;:@[]")]),
]


@pytest.mark.parametrize("token", ["IQoJb3JpZ2luX2VjEXAMPLE+/=token", ""])
@pytest.mark.parametrize(("action", "params"), REQUESTS)
@pytest.mark.parametrize(
    ("url", "region"),
    [("https://ec2.ap-northeast-2.amazonaws.com/", "ap-northeast-2"), ("http://127.0.0.1:5000/", "cn-north-1")],
)
def test_signature_equals_botocores(action, params, token, url, region):
    when = datetime.datetime(2026, 12, 1, 17, 58, 9)
    keys = ("ASIAEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = agent.query_body(action, params)
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc if parts.port not in (None, 443, 80) else parts.hostname
    ours = agent.sigv4_headers("POST", host, parts.path, body, region, "ec2", keys, when.strftime("%Y%m%dT%H%M%SZ"))
    theirs = botocore_signed(url, body, region, keys, when)
    assert ours["authorization"] == theirs["authorization"]
    assert ours["x-amz-date"] == theirs["x-amz-date"]
    assert ours.get("x-amz-security-token") == theirs.get("x-amz-security-token")


@pytest.mark.parametrize(
    ("action", "call", "kwargs"),
    [
        (
            "AssignPrivateIpAddresses",
            "assign",
            {"NetworkInterfaceId": "eni-1", "AllowReassignment": True, "PrivateIpAddresses": ["100.64.30.10", "100.64.30.11"]},
        ),
        ("AssignPrivateIpAddresses", "assign_prefixes", {"NetworkInterfaceId": "eni-1", "Ipv4PrefixCount": 2}),
        ("UnassignPrivateIpAddresses", "unassign", {"NetworkInterfaceId": "eni-1", "PrivateIpAddresses": ["100.64.30.10"]}),
        (
            "UnassignPrivateIpAddresses",
            "unassign_prefixes",
            {"NetworkInterfaceId": "eni-1", "Ipv4Prefixes": ["100.64.16.0/28", "100.64.16.16/28"]},
        ),
        ("DescribeNetworkInterfaces", "describe", {"NetworkInterfaceIds": ["eni-1"]}),
    ],
)
def test_request_body_equals_botocores_ec2_serializer(action, call, kwargs):
    sent = {}

    class Capture(agent.Ec2):
        def run(self, action_, params, attempts=None):
            sent["body"] = agent.query_body(action_, params)
            return agent.ElementTree.fromstring("<r/>")

    ec2 = Capture(REGION, Keys(), 1)
    args = {
        "assign": ("eni-1", kwargs.get("PrivateIpAddresses")),
        "assign_prefixes": ("eni-1", kwargs.get("Ipv4PrefixCount")),
        "unassign": ("eni-1", kwargs.get("PrivateIpAddresses")),
        "unassign_prefixes": ("eni-1", kwargs.get("Ipv4Prefixes")),
        "describe": ("eni-1",),
    }[call]
    getattr(ec2, call)(*args)
    serialized = botocore.serialize.create_serializer("ec2").serialize_to_request(kwargs, EC2_MODEL.operation_model(action))
    theirs = botocore.utils.percent_encode_sequence(serialized["body"])  # what botocore puts on the wire
    assert sorted(urllib.parse.parse_qsl(sent["body"].decode())) == sorted(urllib.parse.parse_qsl(theirs))


# EC2's documented error document ("Error codes for the Amazon EC2 API", error response structure).
ERROR_DOC = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>PrivateIpAddressLimitExceeded</Code>'
    b"<Message>Number of private addresses will exceed limit.</Message></Error></Errors>"
    b"<RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"
)


@pytest.mark.parametrize(
    ("status", "body", "code", "agent_code"),
    [
        (400, ERROR_DOC, "PrivateIpAddressLimitExceeded", agent.ERR_EC2),
        (
            503,
            ERROR_DOC.replace(b"PrivateIpAddressLimitExceeded", b"RequestLimitExceeded"),
            "RequestLimitExceeded",
            agent.ERR_TRY_AGAIN_LATER,
        ),
        (500, ERROR_DOC.replace(b"PrivateIpAddressLimitExceeded", b"InternalError"), "InternalError", agent.ERR_TRY_AGAIN_LATER),
    ],
)
def test_error_document_is_read_as_botocore_reads_it(status, body, code, agent_code):
    parsed = botocore.parsers.create_parser("ec2").parse(
        {"status_code": status, "headers": {}, "body": body}, EC2_MODEL.operation_model("AssignPrivateIpAddresses").output_shape
    )
    error = agent._ec2_error("AssignPrivateIpAddresses", status, body)
    assert parsed["Error"]["Code"] == error.ec2_code == code
    assert parsed["Error"]["Message"] in error.details
    assert parsed["ResponseMetadata"]["RequestId"] in error.details
    assert error.code == agent_code


def test_a_5xx_without_an_error_document_is_retryable():
    error = agent._ec2_error("DescribeNetworkInterfaces", 502, b"<html>Bad Gateway</html>")
    assert error.code == agent.ERR_TRY_AGAIN_LATER and "502" in error.msg


@pytest.mark.parametrize(
    ("region", "domain"), [("ap-northeast-2", "amazonaws.com"), ("cn-north-1", "amazonaws.com.cn"), ("us-gov-west-1", "amazonaws.com")]
)
def test_endpoint_from_imds_domain_is_botocores(region, domain, monkeypatch):
    monkeypatch.delenv("EKS_MULTUS_EC2_ENDPOINT", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_EC2", raising=False)
    keys = Keys()
    keys.metadata.get.return_value = domain
    ec2 = agent.Ec2(region, keys, 1)
    ours = ec2._url().geturl()
    theirs = boto3.client("ec2", region_name=region, aws_access_key_id="a", aws_secret_access_key="b").meta.endpoint_url
    assert ours == theirs
    keys.metadata.get.assert_called_with("services/domain")


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    s = Ec2Standin(tmp_path_factory.mktemp("ec2"))
    yield s
    s.close()


def test_the_standin_accepts_the_agents_requests_and_botocore_reads_its_answers(standin, monkeypatch):
    enis = standin.world({"a": {"primary": "100.64.0.10", "limit": 6}}, prefix=["100.64.16.0/24"], explicit=["100.64.30.0/24"])
    eni = enis["a"]
    monkeypatch.setenv("EKS_MULTUS_EC2_ENDPOINT", standin.endpoint)
    ec2 = agent.Ec2(REGION, Keys(), 2)
    ec2.assign(eni, ["100.64.30.10", "100.64.30.11"])
    assigned = ec2.assign_prefixes(eni, 2)
    assert assigned == ["100.64.16.0/28", "100.64.16.16/28"]  # from the prefix reservation, in order
    addresses, prefixes = ec2.describe(eni)
    seen = standin.client.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
    assert addresses == {a["PrivateIpAddress"] for a in seen["PrivateIpAddresses"]} == {"100.64.0.10", "100.64.30.10", "100.64.30.11"}
    assert prefixes == [p["Ipv4Prefix"] for p in seen["Ipv4Prefixes"]] == assigned
    # 1 primary + 2 addresses + 2 prefixes = 5 of 6 slots: a 2-prefix call is refused, as botocore reads it too.
    with pytest.raises(agent.AgentError) as ours:
        ec2.assign_prefixes(eni, 2)
    with pytest.raises(ClientError) as theirs:
        standin.client.assign_private_ip_addresses(NetworkInterfaceId=eni, Ipv4PrefixCount=2)
    assert ours.value.ec2_code == theirs.value.response["Error"]["Code"] == "PrivateIpAddressLimitExceeded"
    assert ours.value.code == agent.ERR_EC2
    ec2.unassign_prefixes(eni, [assigned[0]])
    ec2.unassign(eni, ["100.64.30.10"])
    assert ec2.describe(eni) == ({"100.64.0.10", "100.64.30.11"}, [assigned[1]])
    with pytest.raises(agent.AgentError) as gone:
        ec2.unassign(eni, ["100.64.30.10"])
    assert gone.value.ec2_code == "InvalidParameterValue"
    refused = "PrivateIpAddressLimitExceeded"
    assert [w["outcome"] for w in standin.writes(eni)] == ["ok", "ok", refused, refused, "ok", "ok", "InvalidParameterValue"]


def test_prefixes_never_come_from_an_explicit_reservation_and_run_out_as_ec2_says(standin, monkeypatch):
    # A /26 subnet: 4 /28 blocks. The first holds AWS's 4 reserved addresses and the primary, the second is an
    # explicit reservation, the last holds the subnet's last address (AWS's too): one block is left.
    enis = standin.world({"a": {"primary": "10.9.0.5", "limit": 50}}, subnet="10.9.0.0/26", explicit=["10.9.0.16/28"])
    monkeypatch.setenv("EKS_MULTUS_EC2_ENDPOINT", standin.endpoint)
    ec2 = agent.Ec2(REGION, Keys(), 1)
    assert ec2.assign_prefixes(enis["a"], 1) == ["10.9.0.32/28"]
    with pytest.raises(agent.AgentError) as none_left:
        ec2.assign_prefixes(enis["a"], 1)
    assert none_left.value.ec2_code == "InsufficientCidrBlocks"


def test_throttling_and_5xx_are_retried_until_the_call_succeeds(standin, monkeypatch):
    enis = standin.world({"a": {"primary": "100.64.0.10"}})
    monkeypatch.setenv("EKS_MULTUS_EC2_ENDPOINT", standin.endpoint)
    monkeypatch.setattr(agent, "BACKOFF_BASE", 0.01)
    standin.switch("throttle", "2")
    try:
        agent.Ec2(REGION, Keys(), 3).assign(enis["a"], ["100.64.30.5"])
    finally:
        standin.switch("throttle", None)
    assert [w["outcome"] for w in standin.writes(enis["a"])] == ["RequestLimitExceeded", "RequestLimitExceeded", "ok"]


class KeepAlive(BaseHTTPRequestHandler):
    """An HTTP/1.1 server that keeps connections open, as EC2's endpoints do; counts connections."""

    protocol_version = "HTTP/1.1"
    connections: ClassVar[list[int]] = []
    bodies: ClassVar[list[bytes]] = []

    def setup(self):
        super().setup()
        KeepAlive.connections.append(id(self))

    def log_message(self, *args):
        pass

    def do_POST(self):
        KeepAlive.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        data = b"<DescribeNetworkInterfacesResponse><networkInterfaceSet/></DescribeNetworkInterfacesResponse>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_one_connection_serves_many_calls(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    KeepAlive.connections.clear()
    try:
        monkeypatch.setenv("EKS_MULTUS_EC2_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        ec2 = agent.Ec2(REGION, Keys(), 1)
        for _ in range(5):
            assert ec2.describe("eni-1") == (set(), [])
        assert len(KeepAlive.connections) == 1
        for conn in ec2.idle:  # the server closes an idle connection: the next call reconnects, no error
            conn.sock.shutdown(2)
        assert ec2.describe("eni-1") == (set(), [])
        assert len(KeepAlive.connections) == 2
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tls_endpoint(tmp_path, monkeypatch):
    """An HTTPS endpoint for `localhost` with a certificate of our own CA, trusted through SSL_CERT_FILE
    (which ssl.create_default_context() honours through OpenSSL's default verify paths)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    KeepAlive.connections.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("EKS_MULTUS_EC2_ENDPOINT", f"https://localhost:{server.server_address[1]}")
    yield cert
    server.shutdown()
    server.server_close()


def test_https_verifies_the_endpoints_certificate(tls_endpoint, monkeypatch):
    with pytest.raises(agent.AgentError) as untrusted:  # the system's CAs do not know ours
        agent.Ec2(REGION, Keys(), 1).describe("eni-1")
    assert untrusted.value.code == agent.ERR_TRY_AGAIN_LATER and "CERTIFICATE_VERIFY_FAILED" in untrusted.value.details
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_endpoint))
    assert agent.Ec2(REGION, Keys(), 1).describe("eni-1") == (set(), [])


def test_https_proxy_is_used_with_connect_unless_no_proxy_names_the_host(tls_endpoint, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_endpoint))
    tunnels = []

    class Connect(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_CONNECT(self):
            tunnels.append(self.path)
            port = self.path.rsplit(":", 1)[1]
            upstream = socket.create_connection(("127.0.0.1", int(port)))
            self.send_response(200, "Connection established")
            self.end_headers()
            self.close_connection = True
            pipes = [
                threading.Thread(target=_pipe, args=(a, b), daemon=True)
                for a, b in ((self.connection, upstream), (upstream, self.connection))
            ]
            for pipe in pipes:
                pipe.start()
            for pipe in pipes:
                pipe.join(timeout=10)

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Connect)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert agent.Ec2(REGION, Keys(), 1).describe("eni-1") == (set(), [])
        assert len(tunnels) == 1 and tunnels[0].startswith("localhost:")  # TLS end to end with the endpoint's name
        monkeypatch.setenv("NO_PROXY", "localhost")
        assert agent.Ec2(REGION, Keys(), 1).describe("eni-1") == (set(), [])
        assert len(tunnels) == 1
    finally:
        proxy.shutdown()
        proxy.server_close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def test_what_is_retried_is_the_sdks_standard_retry_mode():
    """botocore's standard retry mode (retries/standard.py, the AWS CLI v2 default) retries these throttling
    codes and 429, and these transient codes and 500/502/503/504; the agent retries the same, nothing more."""
    from botocore.retries import standard

    assert set(standard.ThrottledRetryableChecker._THROTTLED_ERROR_CODES) == agent.THROTTLING_CODES
    assert set(standard.TransientRetryableChecker._TRANSIENT_ERROR_CODES) == agent.TRANSIENT_CODES
    statuses = set(standard.TransientRetryableChecker._TRANSIENT_STATUS_CODES) | set(
        standard.ThrottlingStatusCodeChecker._THROTTLING_STATUS_CODES
    )
    assert statuses == agent.RETRY_STATUS
    assert agent._ec2_error("AssignPrivateIpAddresses", 429, b"").code == agent.ERR_TRY_AGAIN_LATER
    assert agent._ec2_error("AssignPrivateIpAddresses", 501, b"").code != agent.ERR_TRY_AGAIN_LATER


def test_a_prefix_assign_whose_answer_was_lost_is_not_repeated():
    """AssignPrivateIpAddresses takes no client token (EC2 API reference), so a retry after a lost answer
    looks first: what EC2 applied counts, and only the shortfall is asked for again."""
    applied = []

    class Lossy(agent.Ec2):
        def __init__(self):
            self.max_attempts, self.calls = 4, {}

        def run(self, action, params, attempts=None):
            applied.append(dict(params)["Ipv4PrefixCount"])
            raise agent.AgentError(agent.ERR_TRY_AGAIN_LATER, "EC2 endpoint closed the connection", ec2_code="ConnectionError")

        def describe(self, eni):
            return set(), ["100.64.4.0/28", "100.64.4.16/28"]  # the lost call did add one prefix

    with mock.patch.object(agent.time, "sleep"):
        got = Lossy().assign_prefixes("eni-1", 1, held=["100.64.4.0/28"])
    assert got == ["100.64.4.16/28"] and applied == ["1"]
