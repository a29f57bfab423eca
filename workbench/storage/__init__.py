"""One interface over object storage: local paths, file:// and s3:// (boto3, AWS_ENDPOINT_URL)."""
