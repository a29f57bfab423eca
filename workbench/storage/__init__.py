"""One interface over object storage: local paths, file:// and s3:// (boto3, AWS_ENDPOINT_URL).

Names load on first use: importing `workbench.storage.uri` (which every spec does)
must not pay for the transfer machinery.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "StoredObject": "objects", "list_objects": "objects", "safe_relpath": "objects", "stat_object": "objects",
    "reset_clients": "s3", "s3_client": "s3", "storage_error": "s3",
    "TransferCancelled": "transfer", "TransferProgress": "transfer", "copy_tree": "transfer",
    "delete_object": "transfer", "download_objects": "transfer", "open_object_stream": "transfer",
    "read_object_bytes": "transfer", "upload_file": "transfer", "upload_tree": "transfer",
    "Location": "uri", "is_local": "uri", "is_s3_uri": "uri", "local_path": "uri", "parse_location": "uri",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'workbench.storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"workbench.storage.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
