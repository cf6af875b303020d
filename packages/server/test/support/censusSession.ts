/**
 * A test MCP session hosting describe_homelab and health_check over a fake node (core census fixtures),
 * an in-memory census store and a fixed ServerInfo; the SDK client validates structuredContent against
 * each tool's outputSchema.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CensusStore } from "@homelab-mcp/core/capabilities/CensusStore"
import * as ServerInfo from "@homelab-mcp/core/capabilities/ServerInfo"
import type { Tier } from "@homelab-mcp/core/Tier"
import * as CensusStoreFs from "@homelab-mcp/transport/CensusStoreFs"
import * as Mcp from "../../src/Mcp.js"
import { describe_homelab } from "../../src/tools/describe_homelab.js"
import { health_check } from "../../src/tools/health_check.js"
import type * as F from "../../../core/test/census/fixtures.js"
import { layer as fakeLayer } from "../../../core/test/census/fixtures.js"

/** Both tools on an in-memory MCP transport over a fake node; the SDK client validates structuredContent against outputSchema. */
export const session = (fake: F.FakeApi, tier: Tier = "observe") =>
  Effect.gen(function* () {
    const memory = CensusStoreFs.makeMemory(30)
    const layer = Layer.mergeAll(
      fakeLayer(fake),
      Layer.succeed(CensusStore, memory.service),
      ServerInfo.layer({ tier, host: "192.168.1.10", version: "0.0.0-test" })
    )
    const server = yield* Effect.provide(
      Mcp.make([describe_homelab, health_check], { name: "homelab-mcp", version: "0.0.0-test", tier, elicit: false, elicitTimeoutMs: 1000 }),
      layer
    )
    const [clientT, serverT] = InMemoryTransport.createLinkedPair()
    yield* Mcp.connect(server, serverT)
    const client = new Client({ name: "test", version: "1" }, { capabilities: {} })
    yield* Effect.acquireRelease(
      Effect.promise(() => client.connect(clientT)),
      () => Effect.promise(() => client.close())
    )
    const call = (name: string, args: Record<string, unknown> = {}) =>
      Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)
    return { client, call, memory }
  })

