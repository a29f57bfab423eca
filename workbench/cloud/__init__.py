"""Amazon SageMaker: submit a spec, describe, stop, read a job's CloudWatch logs, import a job.

A library: the CLI and the TUI reach it only through `workbench.engine.api`, which keeps
cloud jobs in the same job history as local ones. Modules: `client` (boto3 clients with
the user's AWS configuration), `errors` (AWS failures as one line), `jobs` (create,
describe, stop), `logs` (CloudWatch streams per host), `importer` (a job back into a
spec), `upload` (local data to S3), `metrics` (a job's metric series from CloudWatch).
"""
