"""Warm job start: local workflow jobs fork from one interpreter that has already imported torch.

Why: on the 2-core machines this project runs on, ``import torch`` (with numpy, pandas and our modules) costs about
2 s of CPU per job, more than the whole work of a job at the test and paper-smoke scales; the paper-smoke preset
has about 700 jobs. Snakemake starts every ``script:`` job as a fresh ``python`` process, so the workflow's
``onstart`` hook starts one *warm server* per run (local execution only), and the job script's first statement,
``delegate(globals())``, hands the job to it: the server forks, the child takes the job's stdin/stdout/stderr, working
directory, environment and arguments, and runs the very same script file (preamble included) as ``__main__``. The
results are the same bytes as a cold start (tested); only the start-up differs.

What stays true: a job killed by Snakemake or by a signal to the process group dies (the launcher forwards
SIGTERM/SIGINT/SIGHUP, the child kills itself when its launcher disappears, and every process stays in Snakemake's
process group); the exit status is the child's. What differs: Snakemake's ``benchmark:`` files time the launcher,
so their wall time is the job's but ``cpu_time`` and memory columns are the launcher's only
(``compute.warm_start: false`` measures those); code edited *during* a run is not seen by jobs forked from the
server started before the edit. Any failure to reach the server runs the job cold, in the launcher itself.
"""

from __future__ import annotations

import array
import json
import os
import runpy
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from neft.workflow.rules import STAGES

ENV_SOCKET = "NEFT_WARM_SOCKET"
ENV_CHILD = "NEFT_WARM_CHILD"
#: what the jobs import: every stage module of neft.workflow.rules (what workflow/scripts/job.py runs), and what the
#: first optimiser step imports lazily (torch._dynamo, with sympy: about 2-3 s)
PRELOAD = ("torch._dynamo", *STAGES)
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_HEADER = struct.Struct("!I")


# -- framing: a length-prefixed JSON message, optionally carrying file descriptors ------------------------------------
def _send(conn: socket.socket, obj: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(obj).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        conn.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        conn.sendall(payload)


def _recv(conn: socket.socket, max_fds: int = 0) -> tuple[dict, list[int]]:
    fds: list[int] = []
    buf = b""
    while len(buf) < _HEADER.size:
        if max_fds and not fds:
            chunk, anc, _, _ = conn.recvmsg(_HEADER.size - len(buf), socket.CMSG_LEN(max_fds * 4))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.extend(array.array("i", data[: len(data) - len(data) % 4]))
        else:
            chunk = conn.recv(_HEADER.size - len(buf))
        if not chunk:
            raise ConnectionError("warm server: connection closed")
        buf += chunk
    (size,) = _HEADER.unpack(buf)
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("warm server: connection closed")
        data += chunk
    return json.loads(data), fds


# -- the job side ---------------------------------------------------------------------------------------------------
def delegate(namespace: dict) -> None:
    """Run this Snakemake script in the warm server if the workflow started one; return to run it here otherwise.

    Call it first in a script, before any heavy import, with ``globals()``. In the warm child it returns at once (the
    child is meant to run the script); in a launcher whose job ran warm it exits with the child's status.
    """
    if os.environ.get(ENV_CHILD) == "1":
        return
    path, script = os.environ.get(ENV_SOCKET), namespace.get("__real_file__")
    if not path or not script:
        return
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(path)
        env = {k: v for k, v in os.environ.items() if k != ENV_SOCKET}
        _send(conn, {"script": os.path.abspath(script), "cwd": os.getcwd(), "env": env, "argv": sys.argv}, [0, 1, 2])
        started, _ = _recv(conn)
    except (OSError, ConnectionError, ValueError) as err:
        print(f"warm start unavailable ({err}); running this job cold", file=sys.stderr)
        return
    pid = started["pid"]

    def forward(signum, _frame):
        try:
            conn.sendall(bytes([signum]))
        except OSError:
            pass

    for s in _FORWARDED:
        signal.signal(s, forward)
    try:
        done, _ = _recv(conn)
    except (OSError, ConnectionError) as err:
        print(f"warm start: lost the server while job process {pid} ran ({err})", file=sys.stderr)
        os._exit(1)
    status = int(done["status"])
    if status < 0:  # killed by a signal: die the same way, so Snakemake sees what a cold job would show
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        time.sleep(1)
    os._exit(status if status >= 0 else 128 - status)


# -- the server side ------------------------------------------------------------------------------------------------
def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _run_child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: become the job process, run its script as __main__, exit with its status."""
    code = 1
    try:
        for s in (*_FORWARDED, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(s, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[ENV_CHILD] = "1"
        script = request["script"]
        sys.argv = list(request["argv"]) or [script]
        sys.path[0] = os.path.dirname(script)

        def watch() -> None:  # the launcher forwards signals as single bytes; its disappearance means "die now"
            while True:
                try:
                    data = conn.recv(16)
                except OSError:
                    data = b""
                if not data:
                    os.kill(os.getpid(), signal.SIGKILL)
                for signum in data:
                    os.kill(os.getpid(), signum)

        threading.Thread(target=watch, name="warm-launcher-watch", daemon=True).start()
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as exit_:
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
        except BaseException:  # noqa: BLE001 - report like the interpreter would, then exit non-zero
            traceback.print_exc()
            code = 1
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - a closed log file is not worth a different exit status
                pass
    finally:
        os._exit(code)


def serve(path: str, parent: int, preload: tuple[str, ...] = PRELOAD) -> None:
    """Import ``preload``, listen on ``path`` and fork one child per job until the parent process is gone."""
    import importlib

    for name in preload:
        importlib.import_module(name)
    if _threads() != 1:  # forking a process with running threads (an OpenMP pool, say) is not safe
        print(f"warm server: {_threads()} threads after the imports; not serving (jobs run cold)", flush=True)
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    print("ready", flush=True)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    pidfds: dict[int, int] = {}  # a child's pidfd turns readable when it exits: its status goes out at once
    uid = os.getuid()
    while True:
        for key, _ in selector.select(timeout=0.5):
            if key.fileobj is not listener:
                selector.unregister(key.fileobj)
                os.close(pidfds.pop(key.data))
                continue
            conn, _ = listener.accept()
            try:
                creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
                if struct.unpack("3i", creds)[1] != uid:
                    raise PermissionError("peer is another user")
                conn.settimeout(10)  # a launcher sends its request at once; never let one stall the others
                request, fds = _recv(conn, max_fds=3)
                conn.settimeout(None)
                sys.stdout.flush()
                pid = os.fork()
            except (OSError, ConnectionError, ValueError) as err:
                print(f"warm server: refused a connection ({err})", flush=True)
                conn.close()
                continue
            if pid == 0:
                selector.close()
                listener.close()
                for fd in pidfds.values():
                    os.close(fd)
                _run_child(conn, request, fds)
            for fd in fds:
                os.close(fd)
            children[pid] = conn
            if hasattr(os, "pidfd_open"):  # Linux 5.3+; elsewhere the select timeout reaps it
                try:
                    pidfds[pid] = os.pidfd_open(pid)
                    selector.register(pidfds[pid], selectors.EVENT_READ, data=pid)
                except OSError:
                    if pid in pidfds:
                        os.close(pidfds.pop(pid))
            try:
                _send(conn, {"pid": pid})
            except OSError:
                pass
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                try:
                    _send(conn, {"status": code})
                except OSError:
                    pass
                conn.close()
        if os.getppid() != parent and not children:
            return


# -- the workflow side ----------------------------------------------------------------------------------------------
class WarmServer:
    """A running warm server, started by the workflow's ``onstart`` hook; jobs find it through the environment."""

    def __init__(self, log: str | Path = "logs/warm_start.log", timeout: float = 120) -> None:
        self.dir = tempfile.mkdtemp(prefix="neft-warm-")  # private (0700): only this user reaches the socket
        self.socket = os.path.join(self.dir, "jobs.sock")
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # thread pools created at import (OpenBLAS's, with numpy) cannot be forked; every job sets its torch
        # threads itself (compute.threads), and numpy's BLAS only serves small fits, single-threaded as in 1-thread jobs
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS"):
            env[var] = "1"
        env.pop(ENV_SOCKET, None)
        self.log = open(log, "w")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "neft.workflow.warmstart", self.socket, str(os.getpid())],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        self.ready = self._wait_ready(timeout)
        if self.ready:
            os.environ[ENV_SOCKET] = self.socket

    def _wait_ready(self, timeout: float) -> bool:
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log.write(line)
            self.log.flush()
            if line.strip() == "ready":
                threading.Thread(target=self._copy_output, daemon=True).start()
                return True
        self.stop()
        return False

    def _copy_output(self) -> None:
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()

    def stop(self) -> None:
        if os.environ.get(ENV_SOCKET) == self.socket:
            del os.environ[ENV_SOCKET]
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for leftover in (self.socket, self.dir):
            try:
                os.rmdir(leftover) if leftover == self.dir else os.unlink(leftover)
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m neft.workflow.warmstart SOCKET PARENT_PID (started by the workflow)", file=sys.stderr)
        return 2
    serve(args[0], int(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
