/**
 * The cold-start baseline: a minimal one-tool MCP SDK server over stdio, bundled by scripts/bench.ts
 * with the same esbuild options as the homelab-mcp bin.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { z } from "zod"

const server = new McpServer({ name: "minimal", version: "1.0.0" })
server.registerTool(
  "echo",
  { title: "Echo", description: "Returns its input.", inputSchema: { text: z.string() }, outputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: "text", text }], structuredContent: { text } })
)
await server.connect(new StdioServerTransport())
process.stdin.once("end", () => void server.close())
