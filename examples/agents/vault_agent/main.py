"""An agent written with the bedrock-agentcore SDK that takes its credentials from the Portcullis token vault,
exactly as it would from AgentCore Identity: the decorators find the vault through BEDROCK_AGENTCORE_DP_ENDPOINT
and present the workload access token the gateway sends with every call.

{"apiKey": true} asks the vault for the key of the API-key provider named by API_KEY_PROVIDER (default
search-api) with @requires_api_key, and answers with what the agent can show without leaking it: the key's length
and SHA-256.

{"oauth2": true} asks for the calling user's token of the OAuth2 provider named by OAUTH2_PROVIDER (default github)
with @requires_access_token(auth_flow="USER_FEDERATION"). It streams: when the user has not consented yet, first
the authorization URL to open (the SDK then polls until the user is done), then the token's fingerprint.
"""
import asyncio
import hashlib
import os

from bedrock_agentcore import BedrockAgentCoreApp, RequestContext
from bedrock_agentcore.identity.auth import requires_access_token, requires_api_key
from bedrock_agentcore.runtime.context import BedrockAgentCoreContext

app = BedrockAgentCoreApp()


def fingerprint(secret):
    return {"length": len(secret), "sha256": hashlib.sha256(secret.encode()).hexdigest()}


@requires_api_key(provider_name=os.environ.get("API_KEY_PROVIDER", "search-api"))
async def search_api_key(*, api_key):
    return api_key


def user_token_stream(provider, scopes):
    """Streams {"authorizationUrl"} when consent is needed, then {"oauth2": fingerprint}."""
    urls = asyncio.Queue()

    async def show_url(url):
        await urls.put(url)

    @requires_access_token(provider_name=provider, scopes=scopes, auth_flow="USER_FEDERATION", on_auth_url=show_url)
    async def user_token(*, access_token):
        return access_token

    async def events():
        fetching = asyncio.ensure_future(user_token())
        while not fetching.done():
            waiting = asyncio.ensure_future(urls.get())
            done, _ = await asyncio.wait({fetching, waiting}, return_when=asyncio.FIRST_COMPLETED)
            if waiting in done:
                yield {"authorizationUrl": waiting.result()}
            else:
                waiting.cancel()
        yield {"oauth2": fingerprint(fetching.result())}

    return events()


@app.entrypoint
async def invoke(payload, context: RequestContext):
    if payload.get("oauth2"):
        return user_token_stream(os.environ.get("OAUTH2_PROVIDER", "github"), payload.get("scopes", ["repo"]))
    answer = {
        "sessionId": context.session_id,
        "hasWorkloadAccessToken": BedrockAgentCoreContext.get_workload_access_token() is not None,
    }
    if payload.get("apiKey"):
        answer["apiKey"] = fingerprint(await search_api_key())
    return answer


if __name__ == "__main__":
    app.run()
