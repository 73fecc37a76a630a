"""An HTTP agent written with the bedrock-agentcore SDK, as it would run in AgentCore Runtime.

It echoes its input with what the runtime told it (session id, request id, the custom headers the runtime's
allowlist let through), streams Server-Sent Events when asked ({"stream": N}), and starts background work tracked
with @app.async_task ({"background": seconds}), during which its /ping says HealthyBusy so the session is kept.
"""
import asyncio

from bedrock_agentcore import BedrockAgentCoreApp, RequestContext
from bedrock_agentcore.runtime.context import BedrockAgentCoreContext

app = BedrockAgentCoreApp()
background = set()


@app.async_task
async def background_work(seconds):
    await asyncio.sleep(seconds)


@app.entrypoint
async def invoke(payload, context: RequestContext):
    if payload.get("background"):
        task = asyncio.create_task(background_work(float(payload["background"])))
        background.add(task)
        task.add_done_callback(background.discard)
    if payload.get("stream"):
        async def chunks():
            for index in range(int(payload["stream"])):
                yield {"chunk": index, "sessionId": context.session_id}
                await asyncio.sleep(0.01)
        return chunks()
    return {
        "echo": payload,
        "sessionId": context.session_id,
        "requestId": BedrockAgentCoreContext.get_request_id(),
        "headers": context.request_headers or {},
    }


if __name__ == "__main__":
    app.run()
