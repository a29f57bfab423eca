"""Fit y = a*x + b by gradient descent, the SageMaker way.

Reads hyperparameters and data from /opt/ml, writes checkpoints to
/opt/ml/checkpoints (resuming from them when present), handles SIGTERM by saving
and exiting, writes the model to /opt/ml/model and a failure file on error.
"""

import csv
import glob
import json
import os
import signal
import sys
import time
import traceback

ML = "/opt/ml"
stopping = False


def on_sigterm(signum, frame):
    global stopping
    print("SIGTERM received: finishing this epoch, then saving", flush=True)
    stopping = True


def load_points(folder):
    points = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*.csv"), recursive=True)):
        with open(path) as handle:
            for row in csv.DictReader(handle):
                points.append((float(row["x"]), float(row["y"])))
    return points


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    with open(f"{ML}/input/config/hyperparameters.json") as handle:
        hp = json.load(handle)
    with open(f"{ML}/input/config/resourceconfig.json") as handle:
        host = json.load(handle)["current_host"]
    epochs = int(hp.get("epochs", 10))
    rate = float(hp.get("learning_rate", 0.05))
    pause = float(hp.get("epoch_seconds", 0))
    checkpoints = os.environ.get("CHECKPOINT_DIR", f"{ML}/checkpoints")

    points = load_points(f"{ML}/input/data/train")
    if not points:
        raise ValueError("the train channel holds no CSV rows")
    a, b, start = 0.0, 0.0, 0
    state_file = os.path.join(checkpoints, f"state-{host}.json")
    if os.path.exists(state_file):
        with open(state_file) as handle:
            state = json.load(handle)
        a, b, start = state["a"], state["b"], state["epoch"]
        print(f"resuming from checkpoint at epoch {start}", flush=True)

    epoch = start
    for epoch in range(start + 1, epochs + 1):
        grad_a = sum((a * x + b - y) * x for x, y in points) / len(points)
        grad_b = sum((a * x + b - y) for x, y in points) / len(points)
        a, b = a - rate * grad_a, b - rate * grad_b
        loss = sum((a * x + b - y) ** 2 for x, y in points) / len(points)
        print(f"epoch {epoch}/{epochs} loss={loss:.4f} a={a:.3f} b={b:.3f}", flush=True)
        if os.path.isdir(checkpoints):
            tmp = state_file + ".tmp"
            with open(tmp, "w") as handle:
                json.dump({"a": a, "b": b, "epoch": epoch}, handle)
            os.replace(tmp, state_file)
        if stopping:
            break
        time.sleep(pause)

    os.makedirs(f"{ML}/model", exist_ok=True)
    with open(f"{ML}/model/model.json", "w") as handle:
        json.dump({"a": a, "b": b, "epochs": epoch}, handle)
    print(f"model saved: y = {a:.3f} x + {b:.3f}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as err:
        os.makedirs(f"{ML}/output", exist_ok=True)
        with open(f"{ML}/output/failure", "w") as handle:
            handle.write(f"{type(err).__name__}: {err}\n{traceback.format_exc()}")
        print(f"training failed: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
