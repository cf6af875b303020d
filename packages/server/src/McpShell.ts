/**
 * The Effect-free part of the MCP adapter: the SDK `Server` with homelab-mcp's identity and the
 * `tools/list` / `tools/call` handler slots. The stdio fast path answers `initialize` and `tools/list`
 * with it (from descriptors generated at build time) while the tier's Effect runtime loads.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js"
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolRequest,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool as McpToolDescriptor
} from "@modelcontextprotocol/sdk/types.js"
import type { Tier } from "@homelab-mcp/core/Tier"

/** Per-request context the SDK hands to a handler. */
export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** Handles one `tools/call`. */
export type CallHandler = (request: CallToolRequest, extra: Extra) => Promise<CallToolResult>

/** Identity of the server. */
export interface Identity {
  readonly name: string
  readonly version: string
  readonly tier: Tier
}

/** A new SDK server announcing the tools capability (the list never changes in a process's life); protocol errors go to stderr. */
export const createServer = (identity: Identity): Server => {
  const server = new Server(
    { name: identity.name, version: identity.version, title: `homelab-mcp (${identity.tier})` },
    {
      capabilities: { tools: { listChanged: false } },
      instructions: `homelab-mcp at tier ${identity.tier}: tools to inspect${identity.tier === "observe" ? "" : " and operate"} one Proxmox VE node. Gated operations need the user's agreement (confirm must reflect the user's agreement, not the model's).`
    }
  )
  // protocol and transport trouble (discarded or malformed messages) is the operator's to see, on stderr
  server.onerror = (error) => {
    process.stderr.write(`homelab-mcp: mcp: ${error.message.split("\n")[0]}\n`)
  }
  return server
}

/** Installs the two tool handlers. */
export const install = (
  server: Server,
  list: () => ReadonlyArray<McpToolDescriptor> | Promise<ReadonlyArray<McpToolDescriptor>>,
  call: CallHandler
): void => {
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [...(await list())] }))
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => call(request, extra))
}
