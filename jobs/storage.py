"""Reading and writing small text files at a local path or an s3:// URL."""

import os
import shutil
import uuid
from typing import Dict, Iterator, Tuple

from jobs.errors import MigrationError


def is_s3(path: str) -> bool:
    return path.startswith("s3://")


def split_s3(url: str) -> Tuple[str, str]:
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise MigrationError(f"path {url!r} has no bucket")
    return bucket, key


def join(base: str, *parts: str) -> str:
    if is_s3(base):
        return "/".join([base.rstrip("/")] + [p.strip("/") for p in parts])
    return os.path.join(base, *parts)


def _s3_client(s3_client):
    if s3_client is not None:
        return s3_client
    import boto3  # only jobs that touch s3:// need it here

    return boto3.client("s3")  # endpoint from AWS_ENDPOINT_URL_S3 when set


def read_text(path: str, s3_client=None) -> str:
    try:
        if is_s3(path):
            bucket, key = split_s3(path)
            body = _s3_client(s3_client).get_object(Bucket=bucket, Key=key)["Body"].read()
            return body.decode("utf-8")
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except MigrationError:
        raise
    except Exception as e:
        raise MigrationError(f"cannot read {path}: {type(e).__name__}: {e}") from e


def write_text(path: str, text: str, s3_client=None) -> None:
    write_file(path, text.encode("utf-8"), s3_client)


def write_file(path: str, data: bytes, s3_client=None) -> None:
    try:
        if is_s3(path):
            bucket, key = split_s3(path)
            _s3_client(s3_client).put_object(Bucket=bucket, Key=key, Body=data)
            return
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        temporary = f"{path}.tmp{uuid.uuid4().hex}"  # unique per write: threads may write at once
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except Exception as e:
        raise MigrationError(f"cannot write {path}: {type(e).__name__}: {e}") from e


def upload_file(local_file: str, path: str, s3_client=None) -> None:
    """Move a finished local file to path (local or s3://); replaces what was there."""
    try:
        if is_s3(path):
            bucket, key = split_s3(path)
            _s3_client(s3_client).upload_file(local_file, bucket, key)
            os.remove(local_file)
            return
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        shutil.move(local_file, path)
    except Exception as e:
        raise MigrationError(f"cannot write {path}: {type(e).__name__}: {e}") from e


def exists(path: str, s3_client=None) -> bool:
    """Whether path exists; an answer that is not "not found" (access denied, say) is an error,
    never "absent": a resume must not start over because it could not look."""
    if is_s3(path):
        from botocore.exceptions import ClientError

        bucket, key = split_s3(path)
        try:
            _s3_client(s3_client).head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise MigrationError(f"cannot read {path}: {type(e).__name__}: {e}") from e
        except Exception as e:
            raise MigrationError(f"cannot read {path}: {type(e).__name__}: {e}") from e
    return os.path.exists(path)


def list_names(folder: str, s3_client=None) -> list:
    """File names directly inside a local folder or s3:// prefix (empty if absent)."""
    if is_s3(folder):
        return [name for name in _s3_keys(folder, s3_client) if "/" not in name]
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def list_tree(folder: str, s3_client=None) -> list:
    """Every file below a local folder or s3:// prefix, nested ones included, relative to it."""
    if is_s3(folder):
        return _s3_keys(folder, s3_client)
    found = []
    for root, _, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, f), folder) for f in files]
    return sorted(found)


def list_versions(folder: str, s3_client=None) -> Dict[str, str]:
    """Every file below a folder or s3:// prefix with what identifies its content: the S3 ETag,
    or a local file's size and modification time."""
    if is_s3(folder):
        return {key: str(entry.get("ETag", "")) for key, entry in _s3_objects(folder, s3_client)}
    versions = {}
    for name in list_tree(folder):
        stat = os.stat(os.path.join(folder, name))
        versions[name] = f"{stat.st_size}-{stat.st_mtime_ns}"
    return versions


def _s3_keys(folder: str, s3_client=None) -> list:
    """Every key below an s3:// prefix, relative to it."""
    return [key for key, _ in _s3_objects(folder, s3_client)]


def _s3_objects(folder: str, s3_client=None) -> Iterator[Tuple[str, Dict]]:
    """(key relative to the prefix, its listing entry) for every object below an s3:// prefix."""
    bucket, prefix = split_s3(folder.rstrip("/") + "/")
    client = _s3_client(s3_client)
    token = None
    while True:
        kwargs = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        page = client.list_objects_v2(**kwargs)
        for entry in page.get("Contents", []):
            yield entry["Key"][len(prefix) :], entry
        token = page.get("NextContinuationToken")
        if not token:
            return


def remove_all(folder: str, s3_client=None) -> None:
    """Delete the files directly inside folder (local or s3://)."""
    for name in list_names(folder, s3_client):
        remove_file(folder, name, s3_client)


def remove_file(folder: str, name: str, s3_client=None) -> None:
    path = join(folder, name)
    if is_s3(path):
        bucket, key = split_s3(path)
        _s3_client(s3_client).delete_object(Bucket=bucket, Key=key)
    else:
        os.remove(path)
