"""The MCP door: the market as a Model Context Protocol server, every tool generated from the
registry (tools.py), every call dispatched through the HTTP gateway's own path (dispatch.py), served
on stdio or streamable HTTP (server.py, `manage.py mcp`)."""
