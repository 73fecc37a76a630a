"""Prepares moto's S3 for the code-deployment test: an IAM user whose key may read the bucket, the bucket, and
the probe agent's zip in it. moto checks signatures once INITIAL_NO_AUTH_ACTION_COUNT requests have passed, so
the gateway's SigV4-signed GET is verified for real.

Environment: MOTO_URL, PROBE_ZIP. Prints {"accessKeyId", "secretAccessKey"} as JSON."""
import json
import os

import boto3

url = os.environ["MOTO_URL"]
anonymous = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **anonymous)
iam.create_user(UserName="deployer")
iam.put_user_policy(
    UserName="deployer",
    PolicyName="agents",
    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
)
key = iam.create_access_key(UserName="deployer")["AccessKey"]
s3 = boto3.client(
    "s3", endpoint_url=url, region_name="us-east-1",
    aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
)
s3.create_bucket(Bucket="agent-code")
with open(os.environ["PROBE_ZIP"], "rb") as archive:
    s3.put_object(Bucket="agent-code", Key="probe/v1 release.zip", Body=archive.read())
print(json.dumps({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}))
