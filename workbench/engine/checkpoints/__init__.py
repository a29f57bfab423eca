"""Checkpoints: restore at start, live sync to S3 while the containers run, per-file status.

    remote     CheckpointConfig.S3Uri: key <-> path mapping (raw prefix), uploads, deletes
    restore    before the containers start: S3 into every host's folder
    watch      watchfiles on the real folders only (never through a link)
    writers    is a file still open for writing in a container? (/proc)
    snapshot   one version of a file, read consistently
    ledger     what each host's folder already has in S3 (for takeovers), file signatures
    sync       the loop that decides what to upload or delete, and the upload workers
    status     the table viewers fold from events; the record's Workbench.Checkpoints
    extension  the hooks the runner calls
"""
