"""A training script for checkpoint tests, delivered as the `code` channel.

It runs the steps in /opt/ml/input/data/code/steps.json, in order; each step is a dict
with "op" and, optionally, "hosts" (only those hosts run it):
  {"op": "list"}                       print `restored <rel> <size> <sha1>` for every file, then `listed`
  {"op": "write", "path": p, "size": n, "tag": t}   write p (content: the tag, host and a filler)
  {"op": "slow_write", "path": p, "chunks": n, "pause": s}   write n chunks with pauses, one open()
  {"op": "delete", "path": p}          remove p (a file or a folder)
  {"op": "symlink", "target": t, "path": p}
  {"op": "fifo", "path": p}
  {"op": "wait", "name": f}            wait until /opt/ml/code/<f> exists (the test creates it)
  {"op": "sleep", "seconds": s}
  {"op": "resume", "epochs": n, "pause": s}   resume from state-<host>.json if restored, then write it every epoch
  {"op": "exit", "code": n}
On SIGTERM it writes `final-<host>.pt` and exits 0.
Paths are relative to the checkpoint folder (CHECKPOINT_DIR, else /opt/ml/checkpoints).
"""

import hashlib
import json
import os
import shutil
import signal
import sys
import time

ML = "/opt/ml"
FOLDER = os.environ.get("CHECKPOINT_DIR", f"{ML}/checkpoints")
CONTROL = f"{ML}/code"


def host_name():
    with open(f"{ML}/input/config/resourceconfig.json") as handle:
        return json.load(handle)["current_host"]


HOST = host_name()


def content(tag, size):
    head = f"{tag}|{HOST}|".encode()
    body = head + b"x" * max(0, size - len(head) - 3)
    return body + b"END"


def at(path):
    full = os.path.join(FOLDER, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    return full


def on_sigterm(signum, frame):
    with open(at(f"final-{HOST}.pt"), "wb") as handle:
        handle.write(content("final", 64))
    print("SIGTERM: saved final checkpoint", flush=True)
    sys.exit(0)


def listing():
    for root, dirs, files in os.walk(FOLDER):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                data = handle.read()
            rel = os.path.relpath(path, FOLDER)
            print(f"restored {rel} {len(data)} {hashlib.sha1(data).hexdigest()}", flush=True)
    print("listed", flush=True)


def resume(epochs, pause):
    state = at(f"state-{HOST}.json")
    start = 0
    if os.path.exists(state):
        with open(state) as handle:
            start = json.load(handle)["epoch"]
        print(f"resuming from epoch {start}", flush=True)
    for epoch in range(start + 1, epochs + 1):
        tmp = state + ".tmp"
        with open(tmp, "w") as handle:
            json.dump({"epoch": epoch, "host": HOST}, handle)
        os.replace(tmp, state)
        print(f"epoch {epoch}", flush=True)
        time.sleep(pause)


def run(step):
    op = step["op"]
    if op == "list":
        listing()
    elif op == "write":
        with open(at(step["path"]), "wb") as handle:
            handle.write(content(step.get("tag", "v1"), int(step.get("size", 64))))
    elif op == "slow_write":
        with open(at(step["path"]), "wb") as handle:
            for index in range(int(step["chunks"])):
                handle.write(f"chunk{index}|".encode() * 64)
                handle.flush()
                os.fsync(handle.fileno())
                time.sleep(float(step["pause"]))
            handle.write(b"END")
    elif op == "delete":
        path = os.path.join(FOLDER, step["path"])
        shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
    elif op == "symlink":
        os.symlink(step["target"], at(step["path"]))
    elif op == "fifo":
        os.mkfifo(at(step["path"]))
    elif op == "wait":
        while not os.path.exists(os.path.join(CONTROL, step["name"])):
            time.sleep(0.05)
    elif op == "sleep":
        time.sleep(float(step["seconds"]))
    elif op == "resume":
        resume(int(step["epochs"]), float(step.get("pause", 0.2)))
    elif op == "exit":
        sys.exit(int(step["code"]))
    else:
        raise ValueError(f"unknown op {op}")
    print(f"done {op} {step.get('path', step.get('name', ''))}", flush=True)


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    with open(f"{ML}/input/data/code/steps.json") as handle:
        steps = json.load(handle)
    for step in steps:
        if "hosts" in step and HOST not in step["hosts"]:
            continue
        run(step)


if __name__ == "__main__":
    main()
