"""What a node sees of EC2, driven by the EC2 stand-in's state: IMDSv2 and ENI hotplug.

IMDSv2 (EC2 user guide, "Use the Instance Metadata Service to access instance
metadata" and "Instance metadata categories"): PUT /latest/api/token with
X-aws-ec2-metadata-token-ttl-seconds returns a token; GETs without it get 401.
Served: `instance-id`, `placement/region`, `mac` (the primary ENI's),
`network/interfaces/macs/` (one `<mac>/` line per attached ENI) and, per MAC,
`device-number`, `interface-id`, `network-card`, `subnet-id`, `local-ipv4s`.
The MACs are the ENIs attached to the instance in the stand-in at the time of
the request, as on EC2, where a hot-attached ENI shows up after its attach.

Hotplug: on EC2 an attached ENI appears as a kernel link with the ENI's MAC.
`Hotplug` polls the stand-in and calls `appear(device_index, mac)` once per
newly attached ENI of the instance; the caller makes the link (a dummy link in
a namespace in the VM, a sysfs-like folder on the host).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "standin-token"


def attached(client, instance_id: str) -> list[dict]:
    """The instance's ENIs as EC2 describes them, by device index."""
    found = client.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])
    return sorted(found["NetworkInterfaces"], key=lambda e: e["Attachment"]["DeviceIndex"])


def metadata(client, instance_id: str, region: str) -> dict[str, str]:
    items = {"instance-id": instance_id, "placement/region": region}
    macs = []
    for eni in attached(client, instance_id):
        mac, attachment = eni["MacAddress"].lower(), eni["Attachment"]
        macs.append(f"{mac}/")
        base = f"network/interfaces/macs/{mac}/"
        items[base + "device-number"] = str(attachment["DeviceIndex"])
        items[base + "interface-id"] = eni["NetworkInterfaceId"]
        items[base + "network-card"] = str(attachment.get("NetworkCardIndex", 0))
        items[base + "subnet-id"] = eni["SubnetId"]
        items[base + "local-ipv4s"] = "\n".join(a["PrivateIpAddress"] for a in eni["PrivateIpAddresses"])
        if attachment["DeviceIndex"] == 0:
            items["mac"] = mac
    items["network/interfaces/macs/"] = "\n".join(macs)
    items.update(credentials())
    return items


def credentials(role: str = "eks-multus-node", access_key: str = "ASIATESTNODE", hours: float = 6) -> dict[str, str]:
    """The instance profile's credentials, as IMDS serves them (EC2 user guide, "Retrieve security credentials
    from instance metadata": the role name under iam/security-credentials/, then a JSON document with Code,
    AccessKeyId, SecretAccessKey, Token, Expiration). The node agent reads them once per expiry; moto takes any key."""
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + hours * 3600))
    doc = {"Code": "Success", "AccessKeyId": access_key, "SecretAccessKey": "test", "Token": "test", "Expiration": expiry}
    return {"iam/security-credentials/": role, f"iam/security-credentials/{role}": json.dumps(doc)}


def imds_server(port: int, items: Callable[[], dict[str, str]], host: str = "127.0.0.1") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, code: int, body: str) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self):
            ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            self._send(200 if ok else 400, TOKEN if ok else "")

        def do_GET(self):
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                self._send(401, "")
                return
            path = self.path.removeprefix("/latest/meta-data/")
            found = items().get(path) if path != self.path else None
            self._send(200, found) if found is not None else self._send(404, "")

    return ThreadingHTTPServer((host, port), Handler)


class Hotplug(threading.Thread):
    """Makes each ENI attached to the instance appear, once, in attach order."""

    def __init__(self, client, instance_id: str, appear: Callable[[int, str], None], interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.client, self.instance_id, self.appear, self.interval = client, instance_id, appear, interval
        self.seen: set[str] = set()
        self.stopped = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                for eni in attached(self.client, self.instance_id):
                    if eni["Attachment"]["DeviceIndex"] > 0 and eni["NetworkInterfaceId"] not in self.seen:
                        self.seen.add(eni["NetworkInterfaceId"])
                        self.appear(eni["Attachment"]["DeviceIndex"], eni["MacAddress"].lower())
            except Exception as exc:  # a stopped stand-in at teardown; recorded, not fatal
                self.errors.append(str(exc))

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
