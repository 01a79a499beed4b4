"""The isolation canary: a script that checks, from inside a sandbox, that the sandbox holds.

Every runner runs it at startup and periodically (services/isolation.py). It reports one JSON line
on stdout: the properties it checked and, for each broken one, what it saw. Nothing it does sends a
packet: the network check asks the kernel for a route (a UDP connect() sends nothing), and a name
look-up only runs once there is no route, so it fails before leaving the sandbox.
"""

import json
from dataclasses import dataclass, field

from sandpod.domain.result import Result

# Variables a sandbox may hand to a script; anything else (a platform's secrets, the kubelet's
# KUBERNETES_* service variables) is a leak.
ALLOWED_ENV = frozenset(
    {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PWD", "SHLVL", "_", "TERM"}
    | {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONHASHSEED", "PYTHONIOENCODING"}
    | {"VECLIB_MAXIMUM_THREADS"}  # numeric libraries' thread caps (most end in _NUM_THREADS)
)
ALLOWED_ENV_SUFFIXES = ("_NUM_THREADS",)

PROPERTIES = (
    "non_root",
    "read_only_root",
    "no_network",
    "no_service_account_token",
    "clean_environment",
    "pids_limit",
    "memory_limit",
)

CANARY_SCRIPT = r"""
import json, os, socket, sys, threading

params = json.loads(sys.stdin.read() or "{}")
allowed = set(params.get("allowed_env", []))
suffixes = tuple(params.get("allowed_env_suffixes", []))
broken = {}

if os.getuid() == 0 or os.geteuid() == 0 or os.getgid() == 0:
    broken["non_root"] = f"uid {os.getuid()} euid {os.geteuid()} gid {os.getgid()}"

for path in ("/", "/etc", "/usr", "/bin"):
    probe = os.path.join(path, ".sandpod-canary")
    try:
        with open(probe, "w") as handle:
            handle.write("x")
        os.unlink(probe)
        broken["read_only_root"] = f"wrote {probe}"
        break
    except OSError:
        pass

routes = []
try:
    with open("/proc/net/route") as handle:
        routes = [line.split()[1] for line in handle.read().splitlines()[1:] if line.split()]
except OSError:
    pass
reachable = []
for family, address in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((address, 9))  # route look-up only: UDP connect sends nothing
        reachable.append(address)
    except OSError:
        pass
if "00000000" in routes or reachable:
    broken["no_network"] = f"default route {'00000000' in routes}, routable {reachable}"
else:
    try:
        socket.getaddrinfo("example.com", 80)
        broken["no_network"] = "example.com resolves"
    except OSError:
        pass

token = "/var/run/secrets/kubernetes.io/serviceaccount"
if os.path.exists(token):
    broken["no_service_account_token"] = f"{token} exists"

leaked = sorted(k for k in os.environ if k not in allowed and not k.endswith(suffixes))
if leaked:
    broken["clean_environment"] = "unexpected variables: " + ", ".join(leaked[:20])

ceiling = int(params.get("max_tasks", 0))
if ceiling:
    threading.stack_size(64 * 1024)
    release = threading.Event()
    started = []
    try:
        while len(started) <= ceiling:
            thread = threading.Thread(target=release.wait, daemon=True)
            thread.start()
            started.append(thread)
    except (RuntimeError, OSError):
        pass
    release.set()
    for thread in started:
        thread.join()
    if len(started) > ceiling:
        broken["pids_limit"] = f"started {len(started)} threads; the limit should stop at {ceiling}"

memory_mb = int(params.get("memory_mb", 0))
if memory_mb:
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        try:
            blocks = [b"x" * (16 << 20) for _ in range((2 * memory_mb + 64) // 16)]
            os.write(write_end, b"allocated")
        finally:
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(child, 0)
    if os.read(read_end, 16) == b"allocated":
        broken["memory_limit"] = f"allocated {2 * memory_mb + 64} MiB under a {memory_mb} MiB limit"

print(json.dumps({"sandpod_canary": 1, "broken": broken}))
"""


@dataclass(frozen=True)
class IsolationReport:
    """What the canary found; `broken` maps a property to what was seen."""

    broken: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.broken

    def describe(self) -> str:
        return "; ".join(f"{name}: {seen}" for name, seen in sorted(self.broken.items()))

    def accepting(self, accepted: frozenset[str]) -> "IsolationReport":
        """The report without the properties an operator chose to run without."""
        return IsolationReport({k: v for k, v in self.broken.items() if k not in accepted})

    @classmethod
    def from_result(cls, result: Result) -> "IsolationReport":
        """Read the canary's last JSON line; a canary that did not report is itself a failure."""
        for line in reversed(result.stdout.splitlines()):
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict) and found.get("sandpod_canary") == 1:
                broken = found.get("broken")
                if isinstance(broken, dict):
                    return cls({str(k): str(v) for k, v in broken.items()})
        detail = result.message or result.stderr.strip()[-300:] or "no output"
        return cls({"canary": f"did not report ({result.end_reason.value}): {detail}"})


def canary_stdin(*, max_tasks: int, memory_mb: int) -> str:
    return json.dumps(
        {
            "max_tasks": max_tasks,
            "memory_mb": memory_mb,
            "allowed_env": sorted(ALLOWED_ENV),
            "allowed_env_suffixes": list(ALLOWED_ENV_SUFFIXES),
        }
    )
