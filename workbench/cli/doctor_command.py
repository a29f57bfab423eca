"""`doctor`: is this machine ready to run training jobs?"""

from __future__ import annotations


def register(commands) -> None:
    parser = commands.add_parser("doctor", help="check the Docker engine, images, S3, GPUs and the state directory")
    parser.set_defaults(func=doctor_command)


def doctor_command(args) -> int:
    from workbench.doctor import run_checks  # deferred: doctor

    marks = {"ok": " ok ", "warn": "warn", "fail": "FAIL"}
    failed = False
    for check in run_checks():
        print(f"[{marks[check.state]}] {check.name}: {check.detail}", flush=True)
        if check.fix and check.state != "ok":
            print(f"       fix: {check.fix}")
        failed |= check.state == "fail"
    return 1 if failed else 0
