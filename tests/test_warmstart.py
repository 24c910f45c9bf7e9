"""Warm job start (neft.workflow.warmstart): a job handed to the warm server behaves like the same script run cold."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from neft.workflow.warmstart import ENV_CHILD, ENV_SOCKET, WarmServer

# A stand-in for a Snakemake script: the preamble Snakemake writes sets __real_file__ to the temporary copy.
SCRIPT = """
__real_file__ = __file__
import os, sys
from neft.workflow.warmstart import delegate
delegate(globals())
import torch
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
print("pid", os.getpid(), "child", os.environ.get("{child}"), "cwd", os.getcwd(), "var", os.environ.get("JOB_VAR"))
print("on stderr", file=sys.stderr)
sys.stdout.flush()
if mode == "exit3":
    sys.exit(3)
if mode == "raise":
    raise ValueError("broken job")
if mode == "sleep":
    import time
    open("started", "w").close()
    time.sleep(60)
print("sum", int(torch.arange(4).sum()))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("warm") / "warm.log"
    srv = WarmServer(log=log)
    assert srv.ready, log.read_text()
    yield srv
    srv.stop()
    assert srv.proc.poll() is not None and not os.path.exists(srv.socket)


def launch(tmp_path, server, mode="ok", **kw):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(SCRIPT).replace("{child}", ENV_CHILD))
    env = dict(os.environ, JOB_VAR="from-the-job")
    if server is not None:
        env[ENV_SOCKET] = server.socket
    else:
        env.pop(ENV_SOCKET, None)
    return subprocess.Popen(
        [sys.executable, str(script), mode],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_a_job_runs_in_a_forked_child_with_its_own_cwd_env_and_streams(tmp_path, server):
    proc = launch(tmp_path, server)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    fields = out.split()
    assert fields[fields.index("child") + 1] == "1"  # ran in the warm child
    assert int(fields[fields.index("pid") + 1]) != proc.pid
    assert fields[fields.index("cwd") + 1] == str(tmp_path)
    assert fields[fields.index("var") + 1] == "from-the-job"
    assert "sum 6" in out and "on stderr" in err


def test_without_a_server_the_job_runs_cold_in_the_launcher(tmp_path):
    proc = launch(tmp_path, None)
    out, _ = proc.communicate(timeout=60)
    fields = out.split()
    assert proc.returncode == 0 and fields[fields.index("child") + 1] == "None"
    assert int(fields[fields.index("pid") + 1]) == proc.pid


def test_an_unreachable_socket_falls_back_to_cold(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(SCRIPT).replace("{child}", ENV_CHILD))
    env = dict(os.environ, **{ENV_SOCKET: str(tmp_path / "gone.sock")})
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "running this job cold" in proc.stderr and "sum 6" in proc.stdout


@pytest.mark.parametrize("mode,code,message", [("exit3", 3, ""), ("raise", 1, "ValueError: broken job")])
def test_exit_status_and_traceback_reach_the_launcher(tmp_path, server, mode, code, message):
    proc = launch(tmp_path, server, mode)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert message in err


def _child_pid(tmp_path, proc) -> int:
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    line = proc.stdout.readline().split()
    return int(line[line.index("pid") + 1])


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_sigterm_to_the_launcher_reaches_the_job(tmp_path, server):
    proc = launch(tmp_path, server, "sleep")
    child = _child_pid(tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGTERM  # the launcher dies of the signal its job died of
    assert _gone(child)


def test_a_killed_launcher_takes_its_job_with_it(tmp_path, server):
    proc = launch(tmp_path, server, "sleep")
    child = _child_pid(tmp_path, proc)
    proc.kill()
    proc.wait(timeout=30)
    assert _gone(child)  # no orphaned job keeps writing after a hard kill
