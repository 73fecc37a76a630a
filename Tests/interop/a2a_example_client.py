"""The a2a-sdk client against examples/agents/a2a_agent through the gateway.

    a2a_example_client.py URL TOKEN SESSION_ID

URL is the runtime's invocation URL (…/runtimes/{arn}/invocations). Resolves the agent card below it, creates the
client from the card (so the card must advertise a URL that reaches the agent through the gateway), sends one
message without streaming and one with, both in runtime session SESSION_ID, and prints one JSON object: the card's
name and advertised URL, each reply's text, state and session, and the HTTP statuses seen."""
import asyncio
import json
import sys

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import Role, SendMessageRequest, TaskState


async def send(url: str, headers: dict, statuses: list, text: str, streaming: bool) -> dict:
    async def record(response: httpx.Response) -> None:
        statuses.append(response.status_code)

    async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(60, read=300), event_hooks={"response": [record]}) as http:
        card = await A2ACardResolver(http, url).get_agent_card()
        client = ClientFactory(ClientConfig(streaming=streaming, httpx_client=http)).create(card)
        task = None
        events = 0
        async for response in client.send_message(SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER))):
            events += 1
            if response.HasField("task"):
                task = response.task
            elif response.HasField("status_update") and task is not None:
                task.status.CopyFrom(response.status_update.status)
            elif response.HasField("artifact_update") and task is not None:
                task.artifacts.append(response.artifact_update.artifact)
        await client.close()
        artifact = task.artifacts[-1]
        return {
            "card": card.name,
            "cardURL": card.supported_interfaces[0].url,
            "text": get_artifact_text(artifact),
            "session": dict(artifact.metadata).get("sessionId"),
            "state": TaskState.Name(task.status.state),
            "events": events,
        }


async def main(url: str, token: str, session: str) -> dict:
    headers = {"Authorization": f"Bearer {token}", "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": session}
    statuses: list[int] = []
    plain = await send(url, headers, statuses, "hello over a2a", streaming=False)
    streamed = await send(url, headers, statuses, "and streamed", streaming=True)
    return {"plain": plain, "streamed": streamed, "statuses": statuses}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))), flush=True)
