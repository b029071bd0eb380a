"""The AWS CLI for the VM's node programs, without its start-up cost per call.

In User-Mode Linux every file the AWS CLI imports is read through hostfs, so
each `aws ec2 ...` process spends about 5 s importing awscli and botocore
before it sends a byte (measured in the VM: `aws --version` 4.8 s). A node
program runs one such process per EC2 call, which made most of the
conformance run's wall time start-up, not test.

`serve` imports the CLI once and forks per call; the child takes the caller's
stdin/stdout/stderr (passed over the unix socket with SCM_RIGHTS), argv,
environment and working directory, and runs the AWS CLI's own entry point
(`awscli.clidriver.main`, what the `aws` script runs) with a fresh session, so
argument parsing, credentials, retries, the request and the output are the
CLI's, call for call (each child is a fork of a server whose driver has never
run a command, so no call sees another's state). Its exit code goes back to the caller. `client_script`
writes the small `aws` the node programs are pointed at (EKS_MULTUS_AWS_CLI).
Only the interpreter start, the imports and the data files read are shared
(the server makes one call to a closed port at start, and each child's botocore
Loader, a pure cache of the same JSON files, starts from what that call read).
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import sys

DATA_PATH = ""
CLIENT = """#!{python} -IS
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect({sock!r})
head = json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}).encode()
socket.send_fds(s, [len(head).to_bytes(4, "big") + head], [0, 1, 2])
rc = s.recv(4)
sys.exit(int.from_bytes(rc, "big") if len(rc) == 4 else 255)
"""


def client_script(path: str, sock: str) -> str:
    with open(path, "w") as fh:
        fh.write(CLIENT.format(python=sys.executable, sock=sock))
    os.chmod(path, 0o755)
    return path


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _child(conn: socket.socket, driver) -> int:
    fds = array.array("i")
    msg, ancdata, _, _ = conn.recvmsg(4, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    request = json.loads(_recv_exact(conn, int.from_bytes(msg, "big")))
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.environ["AWS_DATA_PATH"] = DATA_PATH  # what importing awscli sets in a fresh process
    os.chdir(request["cwd"])
    sys.argv = ["aws", *request["argv"]]
    try:
        rc = driver.main(request["argv"])
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    sys.stdout.flush()
    sys.stderr.flush()
    return int(rc or 0)


def serve(sock: str) -> None:
    global DATA_PATH
    import awscli
    from awscli.clidriver import create_clidriver

    DATA_PATH = os.environ["AWS_DATA_PATH"]
    driver = create_clidriver()
    loader = driver.session.get_component("data_loader")
    # One EC2 call to a closed port, one attempt: the loader then holds every file a call reads.
    saved = dict(os.environ)
    os.environ.update(AWS_ACCESS_KEY_ID="warm", AWS_SECRET_ACCESS_KEY="warm", AWS_MAX_ATTEMPTS="1")
    os.environ["AWS_ENDPOINT_URL_EC2"] = "http://127.0.0.1:9"
    stdout, stderr = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            driver.main(["ec2", "describe-network-interfaces", "--region", "us-east-1", "--cli-connect-timeout", "1"])
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(stdout, 1)
            os.dup2(stderr, 2)
    os.environ.clear()
    os.environ.update(saved)
    assert awscli.__version__ and loader._cache
    # What each call's child runs: a driver that has never run a command (its session holds no region,
    # profile or credentials; botocore reads the environment when a call needs it), with its command
    # tables built and that loader's files.
    pristine = create_clidriver()
    pristine.session.get_component("data_loader")._cache.update(loader._cache)
    pristine._get_command_table()["ec2"]._get_command_table()
    pristine._get_argument_table()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    if os.path.exists(sock):
        os.unlink(sock)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock)
    server.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # as in a fresh `aws` process
            try:
                rc = _child(conn, pristine)
            except BaseException as exc:  # the caller must get an exit code, whatever happened
                print(f"aws (VM fork server): {exc!r}", file=sys.stderr, flush=True)
                rc = 255
            try:
                conn.sendall(int(rc).to_bytes(4, "big"))
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
