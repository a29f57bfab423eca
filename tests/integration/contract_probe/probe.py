"""Contract probe for the files SageMaker writes: delivered as the `code` channel, run with
`ContainerEntrypoint: [python3, /opt/ml/input/data/code/probe.py]` on sm-workbench/python.

It lists /opt/ml, prints every file in /opt/ml/input/config and every `<channel>-manifest`
(one `config <name> <content>` / `manifest <name> <content>` line each), and writes all of
it, with the environment, to /opt/ml/output/data/contract-<host>.json. Then, from the
environment (the spec's Environment):
  PROBE_WRITE="dir=n,dir2=m"  write n files f0..f(n-1) into each dir (e.g. the TensorBoard folder)
  PROBE_CACHE=1               print the warm pool cache's note, then add this job's name to it
  PROBE_FIRST_RUN_SLEEP=s     sleep s seconds when init-config.json says jobRunNumber 1
  PROBE_EXIT=n                exit with n
"""

import json
import os
import stat
import sys
import time

ML = "/opt/ml"


def tree():
    found = []
    for root, dirs, files in os.walk(ML):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            kind = "dir" if stat.S_ISDIR(os.lstat(path).st_mode) else "file"
            found.append(f"{kind} {path}")
    return found


def read(path):
    with open(path) as handle:
        text = handle.read()
    try:
        return json.loads(text)
    except ValueError:
        return text


def main():
    config_dir = f"{ML}/input/config"
    configs = {name: read(os.path.join(config_dir, name)) for name in sorted(os.listdir(config_dir))}
    data_dir = f"{ML}/input/data"
    manifests = {name: read(os.path.join(data_dir, name)) for name in sorted(os.listdir(data_dir))
                 if name.endswith("-manifest")}
    host = configs["resourceconfig.json"]["current_host"]
    for name, content in configs.items():
        print(f"config {name} {json.dumps(content)}", flush=True)
    for name, content in manifests.items():
        print(f"manifest {name} {json.dumps(content)}", flush=True)
    report = {"tree": tree(), "configs": configs, "manifests": manifests, "env": dict(os.environ)}
    os.makedirs(f"{ML}/output/data", exist_ok=True)
    with open(f"{ML}/output/data/contract-{host}.json", "w") as handle:
        json.dump(report, handle, indent=1)
    for item in filter(None, os.environ.get("PROBE_WRITE", "").split(",")):
        folder, count = item.split("=")
        os.makedirs(folder, exist_ok=True)
        for index in range(int(count)):
            with open(os.path.join(folder, f"{host}-f{index}"), "w") as handle:
                handle.write(f"{host} {index}\n")
    if os.environ.get("PROBE_CACHE"):
        cache = os.environ["SAGEMAKER_MANAGED_WARMPOOL_CACHE_DIRECTORY"]
        note = os.path.join(cache, "note.txt")
        previous = open(note).read().split() if os.path.exists(note) else []
        print(f"cache {host} {json.dumps(previous)}", flush=True)
        with open(note, "a") as handle:
            handle.write(os.environ["TRAINING_JOB_NAME"] + "\n")
    if os.environ.get("PROBE_FIRST_RUN_SLEEP") and configs["init-config.json"]["jobRunInfo"]["jobRunNumber"] == 1:
        print(f"probe {host}: first run, sleeping", flush=True)
        time.sleep(float(os.environ["PROBE_FIRST_RUN_SLEEP"]))
    sys.exit(int(os.environ.get("PROBE_EXIT", "0")))


if __name__ == "__main__":
    main()
