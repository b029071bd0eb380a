"""Runs inside the User-Mode Linux VM: every planned CNI config through the real plugins.

Standard library only. Reads a job file (networks to run, the node's multus
interfaces), builds a "node" namespace with those interfaces named by the
real boot script against a local IMDS stand-in, two "pod" namespaces, and
runs ADD / CHECK / DEL per the CNI spec. Writes a JSON report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CNI_PATH = "/usr/lib/cni"
CHECK_VERSIONS = ("0.4.0", "1.0.0", "1.1.0")


def sh(*args: str, check: bool = True, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(list(args), capture_output=True, text=True, input=input, env=env, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return done


def imds_server(port: int, macs: dict[str, int]) -> ThreadingHTTPServer:
    """Enough of IMDSv2 for the boot step: token, MAC list, device-number per MAC."""

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
            if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                self._send(200, "test-token")
            else:
                self._send(400, "")

        def do_GET(self):
            if self.headers.get("X-aws-ec2-metadata-token") != "test-token":
                self._send(401, "")
                return
            base = "/latest/meta-data/network/interfaces/macs/"
            if self.path == base:
                self._send(200, "\n".join(f"{m}/" for m in macs))
                return
            if self.path.startswith(base) and self.path.endswith("/device-number"):
                mac = self.path[len(base) :].split("/")[0]
                if mac in macs:
                    self._send(200, str(macs[mac]))
                    return
            self._send(404, "")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def plugin(node: str, command: str, conf: dict, container: str, netns: str, ifname: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container,
        "CNI_NETNS": f"/run/netns/{netns}",
        "CNI_IFNAME": ifname,
        "CNI_PATH": CNI_PATH,
    }
    return sh("ip", "netns", "exec", node, f"{CNI_PATH}/{conf['type']}", input=json.dumps(conf), env=env, check=False)


def setup_node(node: str, interfaces: list[dict], script: str, port: int) -> dict:
    """Create the node's ENIs under kernel names, then let the real boot step name them."""
    sh("ip", "netns", "add", node)
    sh("ip", "-n", node, "link", "set", "lo", "up")
    macs = {}
    for i, iface in enumerate(interfaces):
        mac = f"02:00:00:00:{port % 256:02x}:{i + 1:02x}"
        sh("ip", "-n", node, "link", "add", iface["kernel"], "type", "dummy")
        sh("ip", "-n", node, "link", "set", iface["kernel"], "address", mac)
        macs[mac] = iface["deviceIndex"]
    conf = f"/run/eks-multus-{node}.conf"
    with open(conf, "w") as fh:
        fh.write("".join(f"{i['deviceIndex']} {i['altname']}\n" for i in interfaces))
    # The boot step runs in the node namespace; IMDS answers on that namespace's loopback.
    done = sh("ip", "netns", "exec", node, sys.executable, os.path.abspath(__file__), "boot", str(port), json.dumps(macs), conf, script)
    boot = json.loads(done.stdout.strip().splitlines()[-1])
    resolved = {}
    for iface in interfaces:
        link = sh("ip", "-n", node, "-o", "link", "show", "dev", iface["altname"], check=False)
        resolved[iface["altname"]] = link.stdout.split(": ")[1].split("@")[0] if link.returncode == 0 else None
    boot["resolved"] = resolved
    boot["up"] = all(
        "UP" in sh("ip", "-n", node, "-o", "link", "show", "dev", i["kernel"]).stdout.split("<")[1].split(">")[0] for i in interfaces
    )
    return boot


def run_network(job: dict, index: int, script: str) -> dict:
    node, pods = f"node{index}", (f"pod{index}a", f"pod{index}b")
    conf = job["conf"]
    entry = {"stack": job["stack"], "network": job["network"], "plugin": conf["type"], "substituted": job.get("substituted", "")}
    started = time.monotonic()
    try:
        entry["boot"] = setup_node(node, job["interfaces"], script, 18000 + index)
        for pod in pods:
            sh("ip", "netns", "add", pod)
        results = []
        # A static address exists once per node, so static networks take one pod.
        single = conf["type"] != "ipvlan" or (conf.get("ipam") or {}).get("type") == "static"
        for pod in pods[:1] if single else pods:
            done = plugin(node, "ADD", conf, f"ctr-{pod}", pod, "net1")
            if done.returncode != 0:
                raise RuntimeError(f"ADD {pod}: {done.stdout.strip()} {done.stderr.strip()}")
            result = json.loads(done.stdout)
            ips = result.get("ips", [])
            shown = sh("ip", "-n", pod, "-d", "address", "show", "dev", "net1").stdout
            results.append(
                {
                    "pod": pod,
                    "address": ips[0]["address"] if ips else None,
                    "gateway": ips[0].get("gateway") if ips else None,
                    "ip": shown,
                    "raw": result,
                }
            )
        entry["pods"] = [{k: v for k, v in r.items() if k != "raw"} for r in results]
        if conf["type"] == "ipvlan":
            mode = conf.get("mode", "l2")
            entry["modeShown"] = all(f"ipvlan  mode {mode}" in r["ip"] for r in results)
            if len(results) > 1:
                target = results[1]["address"].split("/")[0]
                ping = sh("ip", "netns", "exec", pods[0], "ping", "-c", "2", "-W", "2", target, check=False)
                entry["ping"] = ping.returncode == 0
        else:
            entry["movedIn"] = "net1" in sh("ip", "-n", pods[0], "-o", "link").stdout
            entry["goneFromNode"] = job["device"] not in sh("ip", "-n", node, "-o", "link").stdout
        if conf["cniVersion"] in CHECK_VERSIONS:
            check_conf = dict(conf, prevResult=results[0]["raw"])
            entry["check"] = plugin(node, "CHECK", check_conf, f"ctr-{pods[0]}", pods[0], "net1").returncode == 0
        for r in results:
            done = plugin(node, "DEL", conf, f"ctr-{r['pod']}", r["pod"], "net1")
            if done.returncode != 0:
                raise RuntimeError(f"DEL {r['pod']}: {done.stdout.strip()} {done.stderr.strip()}")
        entry["released"] = _released(conf, results)
        if conf["type"] == "host-device":
            entry["movedBack"] = job["device"] in sh("ip", "-n", node, "-o", "link").stdout
        entry["secondDel"] = plugin(node, "DEL", conf, f"ctr-{pods[0]}", pods[0], "net1").returncode == 0
        entry["ok"] = _ok(entry)
    except Exception as exc:
        entry["ok"] = False
        entry["error"] = str(exc)
    finally:
        for ns in (*pods, node):
            sh("ip", "netns", "del", ns, check=False)
        entry["seconds"] = round(time.monotonic() - started, 2)
    return entry


def _released(conf: dict, results: list[dict]) -> bool:
    ipam = conf.get("ipam") or {}
    if ipam.get("type") != "host-local":
        return True
    folder = os.path.join(ipam.get("dataDir", "/var/lib/cni/networks"), conf["name"])
    left = [
        r["address"].split("/")[0] for r in results if r["address"] and os.path.exists(os.path.join(folder, r["address"].split("/")[0]))
    ]
    return not left


def _ok(entry: dict) -> bool:
    boot = entry.get("boot", {})
    # Debian's host-device 1.1.1 fails a repeated DEL once the device is back on the node: recorded, not required.
    keys = ["released"] + (["modeShown", "secondDel"] if entry["plugin"] == "ipvlan" else ["movedIn", "goneFromNode", "movedBack"])
    if len(entry.get("pods", [])) > 1:
        keys.append("ping")
    if "check" in entry:
        keys.append("check")
    return boot.get("rc") == 0 and boot.get("up") and all(boot.get("resolved", {}).values()) and all(entry.get(k) for k in keys)


def boot_step(port: int, macs: dict[str, int], conf: str, script: str) -> dict:
    """Run the node boot script against an IMDS stand-in on this namespace's loopback."""
    server = imds_server(port, macs)
    env = dict(
        os.environ, EKS_MULTUS_INTERFACES_CONF=conf, EKS_MULTUS_IMDS_ENDPOINT=f"http://127.0.0.1:{port}", EKS_MULTUS_WAIT_SECONDS="20"
    )
    try:
        done = subprocess.run(["bash", script], env=env, capture_output=True, text=True, timeout=60)
    finally:
        server.shutdown()
    return {"rc": done.returncode, "log": done.stderr}


def main() -> int:
    if sys.argv[1] == "boot":
        port, macs, conf, script = sys.argv[2:6]
        print(json.dumps(boot_step(int(port), json.loads(macs), conf, script)))
        return 0
    job_path, report_path, script = sys.argv[1:4]
    with open(job_path) as fh:
        jobs = json.load(fh)
    started = time.monotonic()
    entries = [run_network(job, i, script) for i, job in enumerate(jobs)]
    with open(report_path, "w") as fh:
        json.dump({"entries": entries, "seconds": round(time.monotonic() - started, 2)}, fh, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
