"""An agent written with the bedrock-agentcore SDK that takes its credentials from the Portcullis token vault,
exactly as it would from AgentCore Identity: the decorators find the vault through BEDROCK_AGENTCORE_DP_ENDPOINT
and present the workload access token the gateway sends with every call.

{"apiKey": true} asks the vault for the key of the API-key provider named by API_KEY_PROVIDER (default
search-api) with @requires_api_key, and answers with what the agent can show without leaking it: the key's length
and SHA-256.
"""
import hashlib
import os

from bedrock_agentcore import BedrockAgentCoreApp, RequestContext
from bedrock_agentcore.identity.auth import requires_api_key
from bedrock_agentcore.runtime.context import BedrockAgentCoreContext

app = BedrockAgentCoreApp()


def fingerprint(secret):
    return {"length": len(secret), "sha256": hashlib.sha256(secret.encode()).hexdigest()}


@requires_api_key(provider_name=os.environ.get("API_KEY_PROVIDER", "search-api"))
async def search_api_key(*, api_key):
    return api_key


@app.entrypoint
async def invoke(payload, context: RequestContext):
    answer = {
        "sessionId": context.session_id,
        "hasWorkloadAccessToken": BedrockAgentCoreContext.get_workload_access_token() is not None,
    }
    if payload.get("apiKey"):
        answer["apiKey"] = fingerprint(await search_api_key())
    return answer


if __name__ == "__main__":
    app.run()
