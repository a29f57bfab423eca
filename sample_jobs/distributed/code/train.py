"""A heterogeneous-cluster job: every host reads its own config, waits for its peers'
names to resolve, and works on what it was given (a shard, or the eval set)."""

import json
import os
import socket
import time

ML = "/opt/ml"


def wait_for_hosts(hosts, timeout=60):
    deadline = time.time() + timeout
    pending = set(hosts)
    while pending and time.time() < deadline:
        for host in sorted(pending):
            try:
                socket.gethostbyname(host)
                pending.discard(host)
            except OSError:
                pass
        time.sleep(0.2)
    if pending:
        raise SystemExit(f"hosts never resolved: {sorted(pending)}")


def main():
    with open(f"{ML}/input/config/resourceconfig.json") as handle:
        config = json.load(handle)
    with open(f"{ML}/input/config/inputdataconfig.json") as handle:
        channels = json.load(handle)
    me, group = config["current_host"], config["current_group_name"]
    wait_for_hosts(config["hosts"])
    print(f"{me} ({group}, {config['current_instance_type']}): all of {config['hosts']} resolve", flush=True)
    print(f"{me}: channels {sorted(channels)}", flush=True)
    numbers = []
    for channel in ("train", "eval"):
        folder = f"{ML}/input/data/{channel}"
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                with open(os.path.join(folder, name)) as handle:
                    words = handle.read().split()
                numbers += [int(w) for w in words if w.isdigit()]
                print(f"{me}: {channel}/{name}", flush=True)
    rounds = int(json.load(open(f"{ML}/input/config/hyperparameters.json")).get("rounds", "1"))
    for r in range(1, rounds + 1):
        print(f"{me}: round {r}/{rounds}: sum={sum(numbers)} count={len(numbers)}", flush=True)
        time.sleep(0.3)
    os.makedirs(f"{ML}/model", exist_ok=True)
    with open(f"{ML}/model/{me}.json", "w") as handle:
        json.dump({"host": me, "group": group, "sum": sum(numbers), "count": len(numbers)}, handle)


if __name__ == "__main__":
    main()
