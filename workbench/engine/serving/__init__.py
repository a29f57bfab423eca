"""Serving: the model a training job wrote, in its inference container, as SageMaker
hosting (a local endpoint) and batch transform run it. See docs/serving.md.

- `records`: the DescribeEndpoint- and DescribeTransformJob-shaped records, and how
  events fold into them (the tables are in `engine/record.py`).
- `model_data`: a model (a job's ModelArtifacts, a model.tar.gz, a folder, S3) unpacked
  safely into a fresh /opt/ml/model.
- `container`: the `serve` container: its environment, port 8080 published on
  127.0.0.1, labels, logs, stopping.
- `health`: GET /ping with the health check's rules, and why a container is not healthy.
- `invoke`: POST /invocations as InvokeEndpoint does (headers, limits, latency).
- `endpoint`: the runner of one endpoint (Creating, InService, Deleting, OutOfService).
- `splitting`: records of an object (Line, RecordIO, TFRecord) and their mini-batches.
- `data_processing`: DataProcessing's JSONPath filters and join.
- `transform`: the runner of one batch transform job.
- `kinds`: endpoints and transform jobs as kinds of jobs of the history (`api.KINDS`):
  launching, taking over a dead owner's job, stopping, removing.
- `worker`: the detached process that runs one (`python -m workbench.engine.worker`).
"""
