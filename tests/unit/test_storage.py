import pytest
from botocore.exceptions import ClientError

from jobs import storage
from jobs.errors import MigrationError


class HeadAnswers:
    def __init__(self, code):
        self.code = code

    def head_object(self, Bucket, Key):
        if self.code is None:
            return {}
        raise ClientError({"Error": {"Code": self.code, "Message": "x"}}, "HeadObject")


@pytest.mark.parametrize("code, found", [(None, True), ("404", False), ("NoSuchKey", False)])
def test_an_s3_object_exists_or_is_not_found(code, found):
    assert storage.exists("s3://b/state/manifest.json", HeadAnswers(code)) is found


@pytest.mark.parametrize("code", ["403", "AccessDenied", "SlowDown"])
def test_an_object_that_could_not_be_looked_at_is_an_error_not_absent(code):
    """A state the role may not read must stop a resume, not make it start over."""
    with pytest.raises(MigrationError, match=r"^cannot read s3://b/state/manifest.json: ClientError"):
        storage.exists("s3://b/state/manifest.json", HeadAnswers(code))
