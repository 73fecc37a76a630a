"""Drives the identity APIs with boto3, SigV4-signed and unmodified: workload identities, API-key credential
providers (their key goes in and never comes back out of the control plane), workload access tokens for a user
id, and the vault's read of an API key with such a token — which sees the invocation's agent as a workload.

Environment: GATEWAY_URL, ADMIN_KEY_ID/ADMIN_SECRET (an admin access key that may act for users),
INVOKER_KEY_ID/INVOKER_SECRET (invoke-only), SENTINEL (the API key to store). Prints one line per check and
"OK <n> checks" at the end; exits non-zero on the first failure.
"""
import os

from checks import check, error_of, finish, sigv4_clients

sentinel = os.environ["SENTINEL"]


def code_of(call):
    return error_of(call)[0]


control, data = sigv4_clients(os.environ["ADMIN_KEY_ID"], os.environ["ADMIN_SECRET"])
invoker_control, invoker = sigv4_clients(os.environ["INVOKER_KEY_ID"], os.environ["INVOKER_SECRET"])

# Workload identities: the shapes botocore parses, 201 on create, 204 on delete.
created = control.create_workload_identity(name="boto-workload", allowedResourceOauth2ReturnUrls=["https://app.example.com/oauth/done"])
check(created["ResponseMetadata"]["HTTPStatusCode"] == 201, "CreateWorkloadIdentity answers 201")
check(created["workloadIdentityArn"].endswith(":workload-identity-directory/default/workload-identity/boto-workload"), "workload identity ARN")
fetched = control.get_workload_identity(name="boto-workload")
check(fetched["allowedResourceOauth2ReturnUrls"] == ["https://app.example.com/oauth/done"], "return URLs stored")
check(hasattr(fetched["createdTime"], "year"), "createdTime parses as a timestamp (epoch seconds)")
updated = control.update_workload_identity(name="boto-workload", allowedResourceOauth2ReturnUrls=[])
check(updated["allowedResourceOauth2ReturnUrls"] == [], "UpdateWorkloadIdentity replaces the return URLs")
listed = control.list_workload_identities(maxResults=20)
check("boto-workload" in [item["name"] for item in listed["workloadIdentities"]], "ListWorkloadIdentities lists it")
check(code_of(lambda: control.create_workload_identity(name="boto-workload")) == "ConflictException", "a taken name: ConflictException")
check(code_of(lambda: invoker_control.create_workload_identity(name="not-mine")) == "AccessDeniedException", "needs an admin key")

# An API-key provider that the new workload may use (its portcullis:workloads tag).
provider = control.create_api_key_credential_provider(name="boto-search", apiKey=sentinel, tags={"portcullis:workloads": "boto-workload"})
check(provider["ResponseMetadata"]["HTTPStatusCode"] == 201, "CreateApiKeyCredentialProvider answers 201")
check(provider["credentialProviderArn"].endswith(":token-vault/default/apikeycredentialprovider/boto-search"), "provider ARN")
check(provider["apiKeySecretArn"]["secretArn"].startswith("arn:aws:secretsmanager:"), "a secret ARN names where the key is")
shown = control.get_api_key_credential_provider(name="boto-search")
check(sentinel not in repr(shown) and sentinel not in repr(provider), "the key never comes back from the control plane")
control.create_api_key_credential_provider(name="boto-other", apiKey="other-key")
names = [item["name"] for item in control.list_api_key_credential_providers(maxResults=100)["credentialProviders"]]
check(names == ["boto-other", "boto-search"], f"ListApiKeyCredentialProviders: {names}")

# A workload access token for a user id (the key may act for users), then the vault read with it.
token = data.get_workload_access_token_for_user_id(workloadName="boto-workload", userId="user-42")["workloadAccessToken"]
check(token.startswith("pwat1."), "GetWorkloadAccessTokenForUserId returns a workload access token")
key = data.get_resource_api_key(workloadIdentityToken=token, resourceCredentialProviderName="boto-search")["apiKey"]
check(key == sentinel, "GetResourceApiKey returns the key to the workload it is granted to")
check(
    code_of(lambda: data.get_resource_api_key(workloadIdentityToken=token, resourceCredentialProviderName="boto-other")) == "AccessDeniedException",
    "a provider not granted to the workload: AccessDeniedException",
)
check(
    code_of(lambda: data.get_resource_api_key(workloadIdentityToken="pwat1.forged", resourceCredentialProviderName="boto-search"))
    == "UnauthorizedException",
    "a forged token: UnauthorizedException",
)
check(
    code_of(lambda: invoker.get_workload_access_token_for_user_id(workloadName="boto-workload", userId="user-42")) == "AccessDeniedException",
    "naming a user needs a key that may act for users",
)
plain = data.get_workload_access_token(workloadName="boto-workload")["workloadAccessToken"]
check(data.get_resource_api_key(workloadIdentityToken=plain, resourceCredentialProviderName="boto-search")["apiKey"] == sentinel, "a user-less token works too")

# Rotation of the key: Update replaces it; the read sees the new one.
control.update_api_key_credential_provider(name="boto-search", apiKey=sentinel + "-rotated")
check(data.get_resource_api_key(workloadIdentityToken=token, resourceCredentialProviderName="boto-search")["apiKey"] == sentinel + "-rotated", "the updated key is served")

# OAuth2 providers: the shapes botocore parses, the callback URL to register, the secret never shown.
oauth = control.create_oauth2_credential_provider(
    name="boto-oauth",
    credentialProviderVendor="CustomOauth2",
    oauth2ProviderConfigInput={"customOauth2ProviderConfig": {
        "clientId": "boto-client", "clientSecret": sentinel,
        "oauthDiscovery": {"authorizationServerMetadata": {
            "issuer": "http://127.0.0.1:9", "authorizationEndpoint": "http://127.0.0.1:9/authorize", "tokenEndpoint": "http://127.0.0.1:9/token",
        }},
    }},
)
check(oauth["ResponseMetadata"]["HTTPStatusCode"] == 201, "CreateOauth2CredentialProvider answers 201")
check("/identities/oauth2/callback/" in oauth["callbackUrl"], "the callback URL to register at the vendor")
described = control.get_oauth2_credential_provider(name="boto-oauth")
metadata = described["oauth2ProviderConfigOutput"]["customOauth2ProviderConfig"]["oauthDiscovery"]["authorizationServerMetadata"]
check(metadata["tokenEndpoint"] == "http://127.0.0.1:9/token" and described["credentialProviderVendor"] == "CustomOauth2", "GetOauth2CredentialProvider")
check(hasattr(described["lastUpdatedTime"], "year") and described["callbackUrl"] == oauth["callbackUrl"], "times parse; the callback URL is stable")
check(sentinel not in repr(oauth) + repr(described), "the client secret never comes back")
oauth_names = [item["name"] for item in control.list_oauth2_credential_providers(maxResults=20)["credentialProviders"]]
check(oauth_names == ["boto-oauth"], f"ListOauth2CredentialProviders: {oauth_names}")
check(control.delete_oauth2_credential_provider(name="boto-oauth")["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteOauth2CredentialProvider answers 204")

deleted = control.delete_api_key_credential_provider(name="boto-search")
check(deleted["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteApiKeyCredentialProvider answers 204")
check(code_of(lambda: control.get_api_key_credential_provider(name="boto-search")) == "ResourceNotFoundException", "a deleted provider is gone")
check(control.delete_workload_identity(name="boto-workload")["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteWorkloadIdentity answers 204")
check(
    code_of(lambda: data.get_resource_api_key(workloadIdentityToken=token, resourceCredentialProviderName="boto-other")) == "UnauthorizedException",
    "a deleted workload's tokens stop working",
)
finish()
