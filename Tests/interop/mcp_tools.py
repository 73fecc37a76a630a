"""The MCP Python SDK on both sides of the gateway, for the tool-authorization tests.

    mcp_tools.py server PORT        a FastMCP server (streamable HTTP, stateless) with the tools search and deploy
    mcp_tools.py client URL TOKEN TOOL[:LABEL]...
                                    connects through the gateway with a bearer token, lists the tools, calls each
                                    TOOL (its outcome reported under LABEL, default the tool's name) in one session
                                    and prints one JSON object: the tools listed, each call's outcome, and the HTTP
                                    status of every request the client sent
"""

import asyncio
import json
import sys
from datetime import timedelta

import httpx


def serve(port: int) -> None:
    from mcp.server.fastmcp import FastMCP

    server = FastMCP("portcullis-test-tools", host="127.0.0.1", port=port, stateless_http=True, json_response=True)

    @server.tool()
    def search(query: str) -> str:
        """Searches the knowledge base."""
        return f"results for {query}"

    @server.tool()
    def deploy(query: str) -> str:
        """Deploys a service."""
        return f"deployed {query}"

    print("serving", flush=True)
    server.run(transport="streamable-http")


async def call(url: str, token: str, tools: list[str]) -> dict:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client
    from mcp.shared.exceptions import McpError

    statuses: list[int] = []

    async def record(response: httpx.Response) -> None:
        statuses.append(response.status_code)

    def client_factory(headers=None, timeout=None, auth=None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            headers=headers,
            timeout=timeout or httpx.Timeout(30, read=300),
            auth=auth,
            event_hooks={"response": [record]},
        )

    outcome: dict = {"results": {}}
    async with streamablehttp_client(
        url, headers={"Authorization": f"Bearer {token}"}, httpx_client_factory=client_factory
    ) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            outcome["tools"] = sorted(tool.name for tool in listed.tools)
            for spec in tools:
                tool, _, label = spec.partition(":")
                label = label or tool
                before = len(statuses)
                try:
                    result = await session.call_tool(tool, {"query": "q"}, read_timeout_seconds=timedelta(seconds=10))
                    outcome["results"][label] = {"ok": not result.isError, "text": result.content[0].text}
                except McpError as error:
                    outcome["results"][label] = {"ok": False, "error": "McpError", "message": error.error.message}
                outcome["results"][label]["statuses"] = statuses[before:]
    outcome["statuses"] = statuses
    return outcome


def main() -> None:
    if sys.argv[1] == "server":
        serve(int(sys.argv[2]))
    else:
        print(json.dumps(asyncio.run(call(sys.argv[2], sys.argv[3], sys.argv[4:]))), flush=True)


if __name__ == "__main__":
    main()
