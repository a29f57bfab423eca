"""Amazon SageMaker: submit, describe, logs, stop, and import a job."""
