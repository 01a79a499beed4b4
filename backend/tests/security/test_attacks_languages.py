"""The attack suite's core in Python, Node.js, C and Bash: the sandbox contains each attack
whatever the language, and a compiler is no way out of it.

Each attack runs beside a Python hello world (contained() in test_attacks.py), which must not
notice. Python has the fuller suite in test_attacks.py; these are the attacks every language gets.
"""

import dataclasses
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandpod.adapters.sandbox import LocalSandboxRunner
from sandpod.domain.limits import DEFAULT_POLICY
from sandpod.domain.result import EndReason, Result
from sandpod.domain.runtimes import Runtime, runtime
from tests.environment import unavailable
from tests.fixtures.sandbox import SandboxJobs
from tests.security.test_attacks import SMALL, contained

LANGUAGES = {"python": "python:3.12", "node": "node:20", "c": "c:gcc-12", "bash": "bash:5"}
WRITE_TARGETS = ("/usr/pwned", "/sandbox/pwned", "/pwned", "/dev/pwned", "/proc/pwned")

FORK_BOMB = {
    "python": """
import os, time
n = 0
for _ in range(10_000):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
    except OSError:
        break
print(n)
""",
    "node": """
const cp = require("child_process");
let n = 0;
for (let i = 0; i < 200; i++) {
  try { cp.spawnSync("sleep", ["0"]); } catch (e) {}
  const child = cp.spawn("sleep", ["60"]);
  child.on("error", () => {});
  if (child.pid) n++;
}
console.log(n);
process.exit(0);
""",
    "c": """
#include <stdio.h>
#include <unistd.h>
int main(void) {
    int n = 0;
    for (int i = 0; i < 10000; i++) {
        pid_t pid = fork();
        if (pid == 0) { sleep(60); _exit(0); }
        if (pid < 0) break;
        n++;
    }
    printf("%d\\n", n);
    return 0;
}
""",
    "bash": """
n=0
for i in $(seq 1 200); do
  if sleep 60 2>/dev/null & then n=$((n + 1)); fi
done 2>/dev/null
echo "$n"
""",
}
MEMORY_BOMB = {
    "python": "hog = []\nwhile True:\n    hog.append(b'x' * (1 << 20))\n",
    "node": "const hog = [];\nfor (;;) hog.push(Buffer.alloc(1 << 20, 1));\n",
    "c": """
#include <stdlib.h>
#include <string.h>
int main(void) {
    for (;;) { char *p = malloc(1 << 20); if (!p) return 7; memset(p, 1, 1 << 20); }
}
""",
    "bash": "x=$(head -c 1000000000 /dev/zero | tr '\\0' x)\necho ${#x}\n",
}
NETWORK = {
    "python": """
import dataclasses
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    print("connected")
except OSError as error:
    print("blocked", error.errno)
""",
    "node": """
require("net").connect({port}, "127.0.0.1")
  .on("connect", () => { console.log("connected"); process.exit(0); })
  .on("error", (e) => { console.log("blocked " + e.code); process.exit(0); });
""",
    "c": """
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
int main(void) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons({port});
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) puts("connected");
    else printf("blocked %d\\n", errno);
    return 0;
}
""",
    "bash": """
if exec 3<>/dev/tcp/127.0.0.1/{port}; then echo connected; else echo blocked; fi 2>/dev/null
""",
}
READ_HOST = {
    "python": """
for path in ("{secret}", "/etc/shadow", "/root/.bash_history"):
    try:
        print("read", path, open(path).read())
    except OSError:
        print("unreadable", path)
""",
    "node": """
for (const path of ["{secret}", "/etc/shadow", "/root/.bash_history"]) {
  try { console.log("read " + path + " " + require("fs").readFileSync(path, "utf8")); }
  catch (e) { console.log("unreadable " + path); }
}
""",
    "c": """
#include <stdio.h>
int main(void) {
    const char *paths[] = {"{secret}", "/etc/shadow", "/root/.bash_history"};
    for (int i = 0; i < 3; i++) {
        char line[256] = "";
        FILE *f = fopen(paths[i], "r");
        if (!f) { printf("unreadable %s\\n", paths[i]); continue; }
        fgets(line, sizeof line, f);
        printf("read %s %s\\n", paths[i], line);
    }
    return 0;
}
""",
    "bash": """
for path in "{secret}" /etc/shadow /root/.bash_history; do
  if content=$(cat "$path" 2>/dev/null); then echo "read $path $content"
  else echo "unreadable $path"; fi
done
""",
}
WRITE_OUTSIDE = {
    "python": """
for path in {targets}:
    try:
        open(path, "w").write("x")
        print("wrote", path)
    except OSError:
        print("refused", path)
open("/tmp/ok", "w").write("x")
print("tmp ok")
""",
    "node": """
const fs = require("fs");
for (const path of {targets}) {
  try { fs.writeFileSync(path, "x"); console.log("wrote " + path); }
  catch (e) { console.log("refused " + path); }
}
fs.writeFileSync("/tmp/ok", "x");
console.log("tmp ok");
""",
    "c": """
#include <stdio.h>
int main(void) {
    const char *paths[] = { {targets_c} };
    for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) {
        FILE *f = fopen(paths[i], "w");
        if (f && fputs("x", f) >= 0 && fclose(f) == 0) printf("wrote %s\\n", paths[i]);
        else printf("refused %s\\n", paths[i]);
    }
    FILE *ok = fopen("/tmp/ok", "w");
    if (ok && fclose(ok) == 0) puts("tmp ok");
    return 0;
}
""",
    "bash": """
for path in {targets_sh}; do
  if (echo x > "$path") 2>/dev/null; then echo "wrote $path"; else echo "refused $path"; fi
done
echo x > /tmp/ok && echo "tmp ok"
""",
}
FLOOD = {
    "python": "import sys\nwhile True:\n    sys.stdout.write('y' * 65536)\n",
    # Blocking writes: process.stdout would buffer without end (a memory kill, not a flood).
    "node": """
const fs = require("fs");
const chunk = Buffer.alloc(65536, "y");
for (;;) {
  try { fs.writeSync(1, chunk); } catch (e) { if (e.code !== "EAGAIN") throw e; }
}
""",
    "c": """
#include <stdio.h>
#include <string.h>
int main(void) { char b[65536]; memset(b, 'y', sizeof b); for (;;) fwrite(b, 1, sizeof b, stdout); }
""",
    "bash": "yes yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n",
}


def runtime_here(runner: LocalSandboxRunner, language: str) -> Runtime:
    wanted = LANGUAGES[language]
    for found in runner.runtimes():
        if found.id == wanted:
            return found
    unavailable(f"{wanted} is not installed here")


async def attack(
    runner: LocalSandboxRunner, jobs: SandboxJobs, language: str, program: str, **limits: float
) -> Result:
    target = runtime_here(runner, language)
    # The runtime's defaults (Node needs more memory to start), then the attack's small limits.
    base = target.limits.policy(DEFAULT_POLICY).defaults.model_dump()
    job = jobs(program, runtime=target, limits={**base, **SMALL, **limits})
    result = await contained(runner, jobs, job)
    assert result.end_reason is not EndReason.PLATFORM_ERROR, result
    if target.compile is not None:
        assert result.compile is not None, result
        assert result.compile.exit_code == 0, result
    return result


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_fork_bomb(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, language: str
) -> None:
    result = await attack(sandbox_runner, sandbox_jobs, language, FORK_BOMB[language])
    assert result.end_reason in (EndReason.COMPLETED, EndReason.TIMED_OUT), result
    if result.end_reason is EndReason.COMPLETED:
        # 16 processes in all: the program (and its threads) plus what it started.
        assert 0 <= int(result.stdout.split()[-1]) < SMALL["processes"]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_memory_bomb(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, language: str
) -> None:
    limit = 96 if language == "node" else 64  # Node.js alone needs ~40 MiB
    result = await attack(
        sandbox_runner, sandbox_jobs, language, MEMORY_BOMB[language], memory_mb=limit
    )
    assert result.end_reason is EndReason.MEMORY_LIMIT, result
    assert result.peak_memory_bytes <= limit << 20


@pytest.mark.parametrize("language", LANGUAGES)
async def test_no_network(
    sandbox_runner: LocalSandboxRunner,
    sandbox_jobs: SandboxJobs,
    language: str,
    listener: socket.socket,
) -> None:
    port = listener.getsockname()[1]
    program = NETWORK[language].replace("{port}", str(port))
    result = await attack(sandbox_runner, sandbox_jobs, language, program)
    assert result.end_reason is EndReason.COMPLETED, result
    assert "blocked" in result.stdout
    assert "connected" not in result.stdout
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing reached the host's listener


@pytest.mark.parametrize("language", LANGUAGES)
async def test_host_files_cannot_be_read(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, language: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top-secret-value\n")
    secret.chmod(0o644)  # readable by anyone on the host: only the sandbox keeps it out
    program = READ_HOST[language].replace("{secret}", str(secret))
    result = await attack(sandbox_runner, sandbox_jobs, language, program)
    assert result.end_reason is EndReason.COMPLETED, result
    assert "top-secret-value" not in result.stdout
    assert result.stdout.count("unreadable") == 3, result.stdout


@pytest.mark.parametrize("language", LANGUAGES)
async def test_nothing_outside_tmp_is_writable(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, language: str
) -> None:
    program = (
        WRITE_OUTSIDE[language]
        .replace("{targets}", repr(list(WRITE_TARGETS)).replace("'", '"'))
        .replace("{targets_c}", ", ".join(f'"{p}"' for p in WRITE_TARGETS))
        .replace("{targets_sh}", " ".join(WRITE_TARGETS))
    )
    result = await attack(sandbox_runner, sandbox_jobs, language, program)
    assert result.end_reason is EndReason.COMPLETED, result
    assert "wrote" not in result.stdout
    assert result.stdout.count("refused") == len(WRITE_TARGETS)
    assert "tmp ok" in result.stdout
    assert not Path("/pwned").exists()
    assert not Path("/usr/pwned").exists()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_output_flood(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, language: str
) -> None:
    cap = 1 << 20
    result = await attack(
        sandbox_runner, sandbox_jobs, language, FLOOD[language], output_bytes=cap, wall_seconds=20
    )
    assert result.end_reason is EndReason.OUTPUT_LIMIT, result
    assert result.stdout_truncated
    assert len(result.stdout) == cap


# ---------------------------------------------------------------- compilers


async def test_a_c_include_of_a_host_file_is_contained(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.h"
    secret.write_text("int top_secret_value = 42;\n")
    secret.chmod(0o644)
    program = f'#include "/etc/shadow"\n#include "{secret}"\nint main(void) {{ return 0; }}\n'
    c = runtime_here(sandbox_runner, "c")
    result = await sandbox_runner.run(sandbox_jobs(program, runtime=c))
    assert result.end_reason is EndReason.COMPILE_ERROR, result
    assert result.compile is not None
    assert "/etc/shadow: No such file or directory" in result.compile.output
    assert "top_secret_value" not in result.compile.output


async def test_a_rust_include_str_of_a_host_file_is_contained(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs
) -> None:
    rust = runtime("rust:1")
    if rust not in sandbox_runner.runtimes():
        unavailable("rustc is not installed here")
    program = 'fn main() { print!("{}", include_str!("/etc/shadow")); }\n'
    result = await sandbox_runner.run(sandbox_jobs(program, runtime=rust))
    assert result.end_reason is EndReason.COMPILE_ERROR, result
    assert "couldn't read" in str(result.compile and result.compile.output)


@pytest.mark.parametrize(
    "option", ["-fplugin=/tmp/evil.so", "-B/tmp", "-specs=/tmp/evil", "@/etc/shadow", "-wrapper"]
)
async def test_compiler_options_off_the_allow_list_never_reach_the_compiler(
    sandbox_runner: LocalSandboxRunner, sandbox_jobs: SandboxJobs, option: str
) -> None:
    # The API refuses them (422); a job that skipped the API is refused by the runner too.
    c = runtime_here(sandbox_runner, "c")
    job = sandbox_jobs("int main(void) { return 0; }\n", runtime=c)
    result = await sandbox_runner.run(dataclasses.replace(job, compiler_options=("-O2", option)))
    assert result.end_reason is EndReason.COMPILE_ERROR, result
    assert result.message == f"compiler option(s) not allowed: {option}"
    assert result.compile is None  # no compiler ran
