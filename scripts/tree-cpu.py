#!/usr/bin/env python3
"""
The CPU a command and EVERY process it started cost, daemons included: `scripts/tree-cpu.py npx vitest run <file>`.

`/usr/bin/time` counts only the descendants their parents waited for. podman's conmon daemonizes (and starts
`podman container cleanup` when a container ends), and so do other double forks: their CPU went uncounted, and a
container file looked three times cheaper than it is (docs/benchmarks.md, session 35). Here the command runs below
a child subreaper (prctl PR_SET_CHILD_SUBREAPER): every orphan of its tree is reparented to this process and reaped
here, so the children's rusage holds them all. After the command exits, what it left running is waited for (at
most 60 s, then named and left alone: this script ends nothing).
"""
import ctypes
import os
import resource
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print('tree-cpu: prctl(PR_SET_CHILD_SUBREAPER) failed (Linux only)', file=sys.stderr)
        return 2
    began = time.time()
    # a process's children's rusage survives exec: what the shell that started this one waited for is in it
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = os.fork()
    if command == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    status = None
    deadline = None
    while True:
        try:
            if deadline is None:
                pid, st = os.waitpid(-1, 0)
            else:
                pid, st = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    if time.time() > deadline:
                        print('tree-cpu: processes still run 60 s after the command ended', file=sys.stderr)
                        break
                    time.sleep(0.2)
                    continue
            if pid == command:
                status = st
                deadline = time.time() + 60
        except ChildProcessError:
            break
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    print(
        f'tree-cpu: {user + system:.1f} s CPU ({user:.1f} user, {system:.1f} sys), {time.time() - began:.1f} s wall',
        file=sys.stderr,
    )
    return os.waitstatus_to_exitcode(status) if status is not None else 1


if __name__ == '__main__':
    sys.exit(main())
