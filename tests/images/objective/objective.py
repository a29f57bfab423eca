#!/usr/bin/env python3
"""A training job whose objective is a known function of its hyperparameters.

Reads /opt/ml/input/config/hyperparameters.json as any SageMaker container does and
prints `epoch=N objective=V` once per epoch (V rises to the final value, so early
stopping has intermediate values to compare), then writes the model. Hyperparameters it
reads, besides the tuned ones (`objective` below):
  epochs         how many epochs (default 3)
  epoch_seconds  how long each epoch takes (default 0.2)
  fail_above     fail (exit 1) when x is above this
  silent         "true": never print the objective (the tuning job cannot read it)
SIGTERM ends it at once with exit 0, after saying so.

bench/tuning.py imports `objective` from this file: one definition of the function.
"""

import json
import math
import os
import signal
import sys
import time

TARGETS = {"x": 0.3, "y": 0.7, "x1": 0.2, "x2": 0.8, "x3": 0.35, "x4": 0.65, "x5": 0.5, "x6": 0.1}
KINDS = {"a": 0.0, "b": 0.1, "c": 0.05}


def objective(h: dict) -> float:
    """1 minus squared distances to the targets of whichever hyperparameters are given
    (x, y, x1..x6 in [0, 1]; lr best at 1e-3 on a log scale; n best at 5), plus a bonus
    for kind b: the best is 1.1."""
    value = 1.0
    for key, target in TARGETS.items():
        if key in h:
            value -= (float(h[key]) - target) ** 2
    if "lr" in h:
        value -= 0.1 * (math.log10(float(h["lr"])) + 3) ** 2
    if "n" in h:
        value -= 0.01 * (int(h["n"]) - 5) ** 2
    if "kind" in h:
        value += KINDS.get(str(h["kind"]), -0.5)
    return value


def curve(final: float, epoch: int, epochs: int) -> float:
    """The objective after `epoch` of `epochs` epochs: rising linearly to the final value."""
    return final - 0.5 * (1 - epoch / epochs)


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: (print("SIGTERM: stopping", flush=True), os._exit(0)))
    with open("/opt/ml/input/config/hyperparameters.json") as handle:
        h = json.load(handle)
    print("hyperparameters " + json.dumps(h, sort_keys=True), flush=True)
    epochs = int(h.get("epochs", 3))
    pause = float(h.get("epoch_seconds", 0.2))
    if "fail_above" in h and float(h.get("x", 0)) > float(h["fail_above"]):
        print(f"x={h['x']} is above {h['fail_above']}: failing", flush=True)
        with open("/opt/ml/output/failure", "w") as handle:
            handle.write(f"x {h['x']} is too big")
        return 1
    final = objective(h)
    for epoch in range(1, epochs + 1):
        time.sleep(pause)
        if str(h.get("silent", "")).lower() != "true":
            print(f"epoch={epoch} objective={curve(final, epoch, epochs):.6f}", flush=True)
    os.makedirs("/opt/ml/model", exist_ok=True)
    with open("/opt/ml/model/result.json", "w") as handle:
        json.dump({"objective": final}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
