/**
 * In-process embedding: another Effect program provides the operate tier's layer (built from the same
 * `layerConfig`s the bin uses, pointed at a sandbox) and runs the toolkit's handlers directly: no MCP,
 * no stdio.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Confirm, flagOnly } from "@homelab-mcp/core/capabilities/Confirm"
import { Progress, silent } from "@homelab-mcp/core/capabilities/Progress"
import type * as Tool from "@homelab-mcp/core/Tool"
import { type Capabilities, Tiers, Toolkits } from "@homelab-mcp/server"
import * as SandboxScope from "./support/SandboxScope.js"

let sandbox: SandboxScope.Started
let dataDir: string

beforeAll(async () => {
  sandbox = await SandboxScope.start({ tier: "operate" })
  dataDir = mkdtempSync(join(tmpdir(), "homelab-mcp-embed-"))
})

afterAll(async () => {
  await sandbox?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const byName = (name: string): Tool.AnyTool<Capabilities.OperateCaps> => Toolkits.operateTools.find((t) => t.contract.name === name)!

describe("embedding the operate toolkit in another Effect program", () => {
  it("runs pct_list, guest_start and query_audit handlers in-process against the sandbox", async () => {
    const provider = ConfigProvider.fromMap(new Map(Object.entries({ ...sandbox.handle.env("operate"), MCP_DATA_DIR: dataDir })))
    const requestCaps = Layer.mergeAll(Layer.succeed(Confirm, flagOnly), Layer.succeed(Progress, silent))
    const tier = Layer.merge(Tiers.OperateLive({ tier: "operate" }), requestCaps)
    const run = (name: string, args: unknown) =>
      Effect.gen(function* () {
        const tool = byName(name)
        const input: unknown = yield* Effect.orDie(Schema.decodeUnknown(tool.contract.input)(args))
        return (yield* tool.handler(input)) as Record<string, any>
      })
    const program = Effect.gen(function* () {
      const list = yield* run("pct_list", {})
      const start = yield* run("guest_start", { vmid: 9001 })
      const stop = yield* Effect.either(run("guest_stop", { vmid: 9001 }))
      const audit = yield* run("query_audit", { vmid: 9001 })
      return { list, start, stop, audit }
    })
    const result = await Effect.runPromise(program.pipe(Effect.provide(tier), Effect.withConfigProvider(provider)))
    expect(result.list.containers.map((c: { vmid: number }) => c.vmid)).toContain(9001)
    expect(result.start).toMatchObject({ vmid: 9001, status: "running", taskStatus: "OK" })
    expect(Either.isLeft(result.stop) && result.stop.left._tag).toBe("ConfirmationRequired")
    expect(result.audit.items.map((i: { tool: string; outcome: string }) => `${i.tool}:${i.outcome}`)).toEqual([
      "guest_stop:refused",
      "guest_start:ok"
    ])
  })
})
