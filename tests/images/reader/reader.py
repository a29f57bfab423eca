#!/usr/bin/env python3
"""Reads data channels as a training script would and reports exactly what it got.

Writes /opt/ml/output/data/read-<host>.json. Behaviour comes from the environment:
  READER_PIPES=train,val     Pipe channels to read (FIFOs /opt/ml/input/data/<channel>_<epoch>)
  READER_EPOCHS=2            epochs to read from each
  READER_CLOSE_AFTER=N       close epoch 0 of each pipe after N bytes (early close)
  READER_DUMP=1              also keep each epoch's bytes in <channel>_<epoch>.bin beside the report
  READER_CHECK_NEXT=1        at EOF, before closing, note whether the next epoch's FIFO exists already
  READER_FILES=ch1,ch2       folders /opt/ml/input/data/<channel> to list (sha256, inode) and try to write
  READER_SLEEP=seconds       sleep before exiting
"""

import hashlib
import json
import os
import socket
import sys
import time

DATA = "/opt/ml/input/data"
HASH_LIMIT = 64 * 1024 * 1024
OUT = "/opt/ml/output/data"


def wait_for(path, timeout=60.0):
    """As SageMaker's PipeModeDataset does: the next epoch's FIFO appears after the last was closed."""
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if time.time() > deadline:
            raise SystemExit(f"reader: {path} never appeared")
        time.sleep(0.01)


def read_pipe(channel, epoch, close_after, dump, check_next=False):
    path = f"{DATA}/{channel}_{epoch}"
    wait_for(path)
    digest = hashlib.sha256()
    size = 0
    started = time.time()
    kept = bytearray() if dump else None
    with open(path, "rb", buffering=0) as fifo:
        buffer = bytearray(1024 * 1024)
        view = memoryview(buffer)
        while True:
            want = len(buffer) if close_after is None else min(len(buffer), close_after - size)
            if want <= 0:
                break
            got = fifo.readinto(view[:want])
            if not got:
                break
            digest.update(view[:got])
            if kept is not None:
                kept += view[:got]
            size += got
        next_early = None
        if check_next:  # at EOF, still holding the FIFO: the next one must not be there yet
            time.sleep(0.3)
            next_early = os.path.exists(f"{DATA}/{channel}_{epoch + 1}")
    seconds = time.time() - started
    if kept is not None:
        with open(f"{OUT}/{channel}_{epoch}.bin", "wb") as handle:
            handle.write(kept)
    return {"epoch": epoch, "bytes": size, "sha256": digest.hexdigest(), "seconds": seconds,
            "closed_early": close_after is not None, "next_before_close": next_early}


def view_of(channel):
    root = f"{DATA}/{channel}"
    files = {}
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            info = os.stat(path)
            digest = None
            if info.st_size <= HASH_LIMIT:  # a huge (sparse) file is only listed
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            files[os.path.relpath(path, root)] = {"sha256": digest, "size": info.st_size, "inode": info.st_ino}
    writes = {}
    for label, target, mode in (("new", f"{root}/written-by-container", "wb"),
                                ("existing", next((os.path.join(root, r) for r in sorted(files)), None), "ab")):
        if target is None:
            continue
        try:
            with open(target, mode) as handle:
                handle.write(b"changed")
            writes[label] = "ok"
        except OSError as err:
            writes[label] = f"{type(err).__name__}: errno {err.errno}"
    return {"files": files, "writes": writes}


def main():
    host = socket.gethostname()
    report = {"host": host, "pipes": {}, "views": {}, "listing": sorted(os.listdir(DATA))}
    close_after = os.environ.get("READER_CLOSE_AFTER")
    dump = os.environ.get("READER_DUMP") == "1"
    epochs = int(os.environ.get("READER_EPOCHS", "2"))
    for channel in filter(None, os.environ.get("READER_PIPES", "").split(",")):
        report["pipes"][channel] = [
            read_pipe(channel, epoch, int(close_after) if close_after and epoch == 0 else None, dump,
                      os.environ.get("READER_CHECK_NEXT") == "1")
            for epoch in range(epochs)
        ]
    for channel in filter(None, os.environ.get("READER_FILES", "").split(",")):
        report["views"][channel] = view_of(channel)
    os.makedirs(OUT, exist_ok=True)
    with open(f"{OUT}/read-{host}.json", "w") as handle:
        json.dump(report, handle, indent=1)
    for channel, epochs_read in report["pipes"].items():
        for item in epochs_read:
            print(f"reader {host}: {channel}_{item['epoch']} {item['bytes']} bytes in {item['seconds']:.3f} s", flush=True)
    if os.environ.get("READER_SLEEP"):
        time.sleep(float(os.environ["READER_SLEEP"]))


if __name__ == "__main__":
    sys.exit(main())
