"""moto's server for import mode and the IAM tests, with two fixes.

1. A real JSON parser for ImportTable.

moto 5 reads staged DynamoDB JSON with py_partiql_parser's JsonParser, which ends a string at
any quote character and keeps escapes as written ("a\\"b" arrives as 'a\\'). DynamoDB's own
import reads standard JSON lines, so the test double parses them as DynamoDB does; nothing
else of moto is changed.

2. DynamoDB calls authorised against the table they name. With IAM enforced
(INITIAL_NO_AUTH_ACTION_COUNT), moto checks every DynamoDB action against the resource "*", so a
policy scoped to `table/PREFIX*` would be refused everything. AWS checks the table's ARN (an
import's ARN for DescribeImport; "*" for calls that name no table), and so does this server.

    python local/moto_server.py -H 127.0.0.1 -p PORT
"""

import json
import sys


class JsonLines:
    @staticmethod
    def parse(original: str):
        for line in original.splitlines():
            if line.strip():
                yield json.loads(line)


def dynamodb_resource(handler) -> str:
    """The ARN AWS authorises a DynamoDB call against (the first table of a batch call)."""
    params = getattr(handler, "params", None) or {}
    if params.get("ImportArn"):
        return params["ImportArn"]
    table = params.get("TableName") or (params.get("TableCreationParameters") or {}).get("TableName")
    if not table and params.get("RequestItems"):
        table = next(iter(params["RequestItems"]))
    if not table:
        return "*"
    if table.startswith("arn:"):
        return table
    return f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{table}"


S3_IAM_ACTIONS = {
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "DeleteObjects": "DeleteObject",
}


def s3_iam_action(init):
    def authorised_as_iam_names_it(self, *args, **kwargs):
        init(self, *args, **kwargs)
        service, _, operation = self._action.partition(":")
        if service == "s3":
            self._action = f"s3:{S3_IAM_ACTIONS.get(operation, operation)}"

    return authorised_as_iam_names_it


def missing_objects_need_list(check):
    def checked(self, resource: str) -> None:
        check(self, resource)
        if self._action != "s3:GetObject":
            return
        from moto.s3.models import s3_backends

        bucket_arn, _, key = resource.partition("/")
        bucket = s3_backends[self.account_id]["aws"].buckets.get(bucket_arn.split(":::", 1)[1])
        if bucket is not None and key not in bucket.keys:
            action, self._action = self._action, "s3:ListBucket"
            try:
                check(self, bucket_arn)
            finally:
                self._action = action

    return checked


def main() -> None:
    import py_partiql_parser
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import S3IAMRequest
    from moto.server import main as moto_main

    py_partiql_parser.JsonParser = JsonLines  # moto imports it from the package at import time
    DynamoHandler._determine_resource = dynamodb_resource
    S3IAMRequest.__init__ = s3_iam_action(S3IAMRequest.__init__)
    S3IAMRequest.check_action_permitted = missing_objects_need_list(S3IAMRequest.check_action_permitted)
    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
