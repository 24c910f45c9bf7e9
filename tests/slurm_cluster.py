"""A throw-away single-node SLURM cluster on 127.0.0.1, for the SLURM integration test (tests/test_slurm.py).

``SlurmCluster(workdir)`` is a context manager. On entry it

1. installs Debian's ``slurmctld slurmd slurm-client munge`` with apt-get if a binary is missing;
2. writes ``/etc/slurm/slurm.conf`` for one node with this machine's CPUs and memory (the path is fixed: the
   executor plugin's job step strips every ``SLURM_*`` variable, ``SLURM_CONF`` included, so a config anywhere
   else is not seen inside jobs), with no accounting (so ``sacct`` does not work: status checks must use
   ``squeue``) and ``MinJobAge`` well above three times the plugin's first status-check delay (below that the
   plugin silently goes back to ``sacct``);
3. creates a munge key and starts ``munged``, ``slurmctld`` and ``slurmd`` in the foreground as its own children,
   each on a private socket or a free port with its state and logs under ``workdir``, and records their PIDs;
4. waits until ``sinfo`` shows the node idle.

On exit it stops every daemon it started, by PID (SIGTERM, then SIGKILL), and nothing else, and removes the
``slurm.conf`` it wrote. It refuses to start when a ``slurm.conf`` it did not write is present, or one written for
another test cluster whose process is still alive (the file records the owner's PID).

It raises ``SlurmUnavailable`` (the test turns it into a skip) when not root or when apt-get cannot install the
packages; any other failure (a daemon that does not come up) is an error, with the daemon's log in the message.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
BINARIES = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "srun"]
SLURM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by tests/slurm_cluster.py"
NODE = "localnode"
PARTITION = "debug"
# MinJobAge: seconds a finished job stays visible to squeue. The plugin uses squeue only when this is at least
# three times its first status-check delay (40 s by default, so 120 s); 600 s leaves room for both.
MIN_JOB_AGE = 600


class SlurmUnavailable(Exception):
    """SLURM cannot be set up on this machine (not root, or the packages cannot be installed)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner_pid(conf_text: str) -> int | None:
    m = re.search(r"^# owner pid: (\d+)$", conf_text, re.M)
    return int(m[1]) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent() -> None:
    """In the forked child: ask Linux to send SIGTERM when the process that started it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("MemTotal not found in /proc/meminfo")


def ensure_packages(timeout: float = 900) -> None:
    """Install the SLURM and munge packages with apt-get unless every binary is already on PATH."""
    if all(shutil.which(b) for b in BINARIES):
        return
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable("SLURM is not installed and apt-get is not available")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SlurmUnavailable(f"{' '.join(cmd)} failed: {err}") from None
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-2000:]
            raise SlurmUnavailable(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        raise SlurmUnavailable(f"apt-get installed {' '.join(PACKAGES)} but {missing} are still not on PATH")


class SlurmCluster:
    """One controller and one compute node on 127.0.0.1; see the module docstring."""

    def __init__(self, workdir: Path, *, min_job_age: int = MIN_JOB_AGE, start_timeout: float = 90):
        self.workdir = Path(workdir).resolve()
        self.min_job_age = min_job_age
        self.start_timeout = start_timeout
        self.procs: dict[str, subprocess.Popen] = {}
        self.conf_written = False
        self.cpus = _cpus()
        self.memory_mb = _memory_mb()
        self.munge_socket = self.workdir / "munge/munge.socket"
        self.ctld_log = self.workdir / "log/slurmctld.log"
        self.slurmd_log = self.workdir / "log/slurmd.log"
        self.munge_log = self.workdir / "log/munged.log"

    # --- context manager -------------------------------------------------------------------------------------

    def __enter__(self) -> SlurmCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items()}

    def start(self) -> None:
        if os.geteuid() != 0:
            raise SlurmUnavailable("needs root (apt-get install, /etc/slurm/slurm.conf, daemons)")
        ensure_packages()
        if SLURM_CONF.exists():
            text = SLURM_CONF.read_text()
            if MARKER not in text:
                raise SlurmUnavailable(f"{SLURM_CONF} exists and was not written by this helper; not touching it")
            owner = _owner_pid(text)
            if owner is not None and owner != os.getpid() and _alive(owner):
                raise RuntimeError(f"{SLURM_CONF} belongs to a test cluster of process {owner}, still running")
        try:
            self._write_files()
            self._start_munged()
            self._start("slurmctld", ["slurmctld", "-D"], self.ctld_log)
            self._start("slurmd", ["slurmd", "-D", "-N", NODE], self.slurmd_log)
            self._wait_for_idle_node()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the daemons this object started (by PID: SIGTERM, then SIGKILL) and remove its slurm.conf."""
        for name in ("slurmd", "slurmctld", "munged"):  # reverse start order
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self.conf_written and SLURM_CONF.exists() and _owner_pid(SLURM_CONF.read_text()) == os.getpid():
            SLURM_CONF.unlink()
            self.conf_written = False

    # --- setup ------------------------------------------------------------------------------------------------

    def _write_files(self) -> None:
        for sub in ("munge", "log", "state/ctld", "state/slurmd"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        (self.workdir / "munge").chmod(0o700)
        key = self.workdir / "munge/munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        ctld_port, slurmd_port = _free_port(), _free_port()
        host = socket.gethostname().split(".")[0]  # slurmctld only runs on the host named by SlurmctldHost
        w = self.workdir
        conf = f"""{MARKER} for a single-node test cluster; removed when the test ends.
# owner pid: {os.getpid()}
ClusterName=nefttest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={w}/state/ctld
SlurmdSpoolDir={w}/state/slurmd
SlurmctldPidFile={w}/state/slurmctld.pid
SlurmdPidFile={w}/state/slurmd.pid
SlurmctldLogFile={self.ctld_log}
SlurmdLogFile={self.slurmd_log}
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups, no accounting: nothing that needs systemd or slurmdbd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
# CPUs and memory are consumable, so jobs run side by side as their --cpus-per-task and --mem allow
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge={self.min_job_age}
InactiveLimit=0
KillWait=5
NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={host} CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SLURM_CONF.write_text(conf)
        self.conf_written = True

    def _start(self, name: str, cmd: list[str], log: Path) -> None:
        out = open(log.with_suffix(".out"), "ab")  # the daemon's own stdout/stderr (start-up errors)
        try:
            self.procs[name] = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # not killed by a Ctrl-C meant for pytest; stop() ends it
                preexec_fn=_die_with_parent,  # and if pytest itself is killed, the daemon gets SIGTERM
            )
        finally:
            out.close()

    def _start_munged(self) -> None:
        w = self.workdir
        self._start(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",  # the work directory lives under /tmp, whose permissions munged would refuse
                f"--socket={self.munge_socket}",
                f"--key-file={w}/munge/munge.key",
                f"--pid-file={w}/munge/munged.pid",
                f"--seed-file={w}/munge/munged.seed",
                f"--log-file={self.munge_log}",
            ],
            self.munge_log,
        )
        self._wait(lambda: self.munge_socket.exists(), "munged to create its socket", "munged")

    def _wait_for_idle_node(self) -> None:
        def idle() -> bool:
            proc = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %t"], capture_output=True, text=True)
            return proc.returncode == 0 and f"{NODE} idle" in proc.stdout

        self._wait(idle, f"sinfo to show node {NODE} idle", "slurmctld", "slurmd")

    def _wait(self, ready, what: str, *daemons: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            for name in daemons:
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with {self.procs[name].returncode}\n{self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {self.start_timeout} s waiting for {what}\n{self.logs()}")

    # --- inspection -------------------------------------------------------------------------------------------

    def logs(self, tail: int = 3000) -> str:
        parts = []
        for f in sorted((self.workdir / "log").glob("*")):
            parts.append(f"--- {f.name}\n{f.read_text(errors='replace')[-tail:]}")
        sinfo = subprocess.run(["sinfo", "-N", "-l"], capture_output=True, text=True)
        parts.append(f"--- sinfo -N -l\n{sinfo.stdout}{sinfo.stderr}")
        return "\n".join(parts)

    def jobs(self) -> dict[str, tuple[str, str]]:
        """Every job slurmctld still remembers (finished ones for MinJobAge seconds): id -> (state, name)."""
        proc = subprocess.run(
            ["squeue", "--states=all", "--noheader", "--format=%i|%T|%j"], capture_output=True, text=True, check=True
        )
        out = {}
        for line in proc.stdout.splitlines():
            job_id, state, name = line.strip().split("|", 2)
            out[job_id] = (state, name)
        return out
