#!/usr/bin/env python3
"""Contract probe: records what a training container sees, and misbehaves on request.

Writes /opt/ml/output/data/probe-<host>.json (argv, environment, hostname, the /opt/ml
tree and its config files, host name resolution, privileges) and prints one line.
Behaviour comes from the environment (the spec's Environment):
  PROBE_EXIT=N [PROBE_EXIT_HOSTS=algo-2,...]  exit with N (on those hosts only)
  PROBE_FAILURE=text [PROBE_FAILURE_REPEAT=n]  write /opt/ml/output/failure (text n times) before exiting
  PROBE_SLEEP=seconds [PROBE_SLEEP_HOSTS=..]  sleep before finishing
  PROBE_SIGTERM=handle|ignore                 on SIGTERM: save and exit 0 / keep going
  PROBE_MODEL=name                            write /opt/ml/model/<name> with the host name
  PROBE_RESOLVE_AFTER=seconds                 resolve every host again after that long
  PROBE_LINES=N                               print N numbered lines
"""

import json
import os
import signal
import socket
import stat
import sys
import time

ML = "/opt/ml"


def hosts_of():
    with open(f"{ML}/input/config/resourceconfig.json") as handle:
        return json.load(handle)


def resolve(hosts):
    out = {}
    for host in hosts:
        try:
            out[host] = socket.gethostbyname(host)
        except OSError as err:
            out[host] = f"error: {err}"
    return out


def tree():
    found = []
    for root, dirs, files in os.walk(ML):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            kind = "fifo" if stat.S_ISFIFO(mode) else "dir" if stat.S_ISDIR(mode) else "file"
            found.append(f"{kind} {path}")
    return found


def read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def capabilities():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("CapEff:"):
                return line.split()[1]
    return ""


def selected(variable, host):
    hosts = os.environ.get(variable)
    return not hosts or host in hosts.split(",")


def main():
    config = hosts_of()
    host = config["current_host"]
    stop = {"requested": False}

    def on_term(signum, frame):
        stop["requested"] = True
        print(f"probe {host}: SIGTERM", flush=True)
        if os.environ.get("PROBE_SIGTERM") == "handle":
            os.makedirs(f"{ML}/model", exist_ok=True)
            with open(f"{ML}/model/saved-on-sigterm-{host}.txt", "w") as handle:
                handle.write(host)
            sys.exit(0)

    if os.environ.get("PROBE_SIGTERM") in ("handle", "ignore"):
        signal.signal(signal.SIGTERM, on_term)

    report = {
        "argv": sys.argv,
        "env": dict(os.environ),
        "hostname": socket.gethostname(),
        "tree": tree(),
        "hyperparameters": read_json(f"{ML}/input/config/hyperparameters.json"),
        "inputdataconfig": read_json(f"{ML}/input/config/inputdataconfig.json"),
        "resourceconfig": config,
        "resolve": resolve(config["hosts"]),
        "docker_socket": os.path.exists("/var/run/docker.sock"),
        "cap_eff": capabilities(),
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "uid": os.getuid(),
    }
    for index in range(int(os.environ.get("PROBE_LINES", "0"))):
        print(f"probe {host} line {index}", flush=False)
    if os.environ.get("PROBE_MODEL"):
        os.makedirs(f"{ML}/model", exist_ok=True)
        with open(f"{ML}/model/{os.environ['PROBE_MODEL']}", "w") as handle:
            handle.write(host)
        with open(f"{ML}/model/{host}.txt", "w") as handle:
            handle.write(host)
    if os.environ.get("PROBE_RESOLVE_AFTER"):
        time.sleep(float(os.environ["PROBE_RESOLVE_AFTER"]))
        report["resolve_later"] = resolve(config["hosts"])
    os.makedirs(f"{ML}/output/data", exist_ok=True)
    with open(f"{ML}/output/data/probe-{host}.json", "w") as handle:
        json.dump(report, handle, indent=1)
    print(f"probe {host}: argv={json.dumps(sys.argv)}", flush=True)
    if os.environ.get("PROBE_SLEEP") and selected("PROBE_SLEEP_HOSTS", host):
        deadline = time.time() + float(os.environ["PROBE_SLEEP"])
        while time.time() < deadline:
            time.sleep(0.05)
    code = int(os.environ.get("PROBE_EXIT", "0"))
    if code and selected("PROBE_EXIT_HOSTS", host):
        if os.environ.get("PROBE_FAILURE"):
            with open(f"{ML}/output/failure", "w") as handle:
                handle.write(os.environ["PROBE_FAILURE"] * int(os.environ.get("PROBE_FAILURE_REPEAT", "1")))
        print(f"probe {host}: exiting with {code}", flush=True)
        sys.exit(code)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
