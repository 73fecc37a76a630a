"""The official MCP client against examples/agents/mcp_server through the gateway.

    mcp_example_client.py URL TOKEN

Initializes, lists the tools, calls add(2, 3) and echo("through the sandbox") in one MCP session, and prints one
JSON object: the tools, the results, the Mcp-Session-Id the session ran under and the HTTP statuses seen."""
import asyncio
import json
import sys

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client


async def main(url: str, token: str) -> dict:
    statuses: list[int] = []

    async def record(response: httpx.Response) -> None:
        statuses.append(response.status_code)

    def client_factory(headers=None, timeout=None, auth=None) -> httpx.AsyncClient:
        return httpx.AsyncClient(headers=headers, timeout=timeout or httpx.Timeout(60, read=300), auth=auth, event_hooks={"response": [record]})

    async with streamablehttp_client(url, headers={"Authorization": f"Bearer {token}"}, httpx_client_factory=client_factory) as (read, write, session_id):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(tool.name for tool in (await session.list_tools()).tools)
            added = await session.call_tool("add", {"a": 2, "b": 3})
            echoed = await session.call_tool("echo", {"text": "through the sandbox"})
            return {
                "tools": tools,
                "add": added.content[0].text,
                "echo": echoed.content[0].text,
                "sessionId": session_id(),
                "statuses": statuses,
            }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))), flush=True)
