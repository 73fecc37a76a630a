"""Sets up a user pool in moto's Cognito (server mode) the way an admin would in AWS, and prints, as one JSON
object, the pool's issuer and key-set URL plus real tokens for the interoperability test.

Environment: MOTO_URL (the moto server). Output members: issuer, jwksUri, clientId, accessToken, idToken,
otherClientAccessToken, ungroupedAccessToken.
"""
import json
import os

import boto3

moto = os.environ["MOTO_URL"]
cognito = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=moto, aws_access_key_id="test", aws_secret_access_key="test")

pool = cognito.create_user_pool(PoolName="agents")["UserPool"]["Id"]
flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="agent-console", ExplicitAuthFlows=flows)["UserPoolClient"]["ClientId"]
other = cognito.create_user_pool_client(UserPoolId=pool, ClientName="other-app", ExplicitAuthFlows=flows)["UserPoolClient"]["ClientId"]
cognito.create_group(UserPoolId=pool, GroupName="agents-users")

for user in ["alice", "dave"]:
    cognito.admin_create_user(UserPoolId=pool, Username=user, TemporaryPassword="Temporary-Passw0rd!")
    cognito.admin_set_user_password(UserPoolId=pool, Username=user, Password="Correct-Horse-9-Battery", Permanent=True)
cognito.admin_add_user_to_group(UserPoolId=pool, Username="alice", GroupName="agents-users")


def tokens(app, user):
    result = cognito.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": user, "PASSWORD": "Correct-Horse-9-Battery"})
    return result["AuthenticationResult"]


alice = tokens(client, "alice")
print(json.dumps({
    "issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool}",
    "jwksUri": f"{moto}/{pool}/.well-known/jwks.json",
    "clientId": client,
    "accessToken": alice["AccessToken"],
    "idToken": alice["IdToken"],
    "otherClientAccessToken": tokens(other, "alice")["AccessToken"],
    "ungroupedAccessToken": tokens(client, "dave")["AccessToken"],
}))
