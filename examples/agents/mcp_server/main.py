"""An MCP server built with the official `mcp` SDK (FastMCP), serving stateless Streamable HTTP on the contract's
port 8000 at /mcp, as AgentCore Runtime expects of MCP agents."""
from mcp.server.fastmcp import FastMCP

server = FastMCP("portcullis-example", host="0.0.0.0", port=8000, stateless_http=True)


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Returns the text it was given."""
    return text


if __name__ == "__main__":
    server.run(transport="streamable-http")
