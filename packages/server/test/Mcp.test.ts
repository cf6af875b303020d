import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import { ElicitRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import * as ServerInfo from "@homelab-mcp/core/capabilities/ServerInfo"
import * as AuditLogJsonl from "@homelab-mcp/transport/AuditLogJsonl"
import * as CensusStoreFs from "@homelab-mcp/transport/CensusStoreFs"
import type * as Tool from "@homelab-mcp/core/Tool"
import type { OperateCaps } from "../src/Capabilities.js"
import * as Mcp from "../src/Mcp.js"
import * as JsonSchemas from "../src/internal/JsonSchemas.js"
import { loadTools, observeTools, operateTools } from "../src/toolkits.js"
import * as Fake from "./support/FakeNode.js"

const options = (tier: "observe" | "operate", elicit = true): Mcp.Options => ({
  name: "homelab-mcp",
  version: "0.0.0-test",
  tier,
  elicit,
  elicitTimeoutMs: 2000
})

interface Session {
  readonly client: Client
  readonly node: Fake.FakeNode
  readonly audit: AuditLogJsonl.MemoryLog
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<CallToolResult>
}

/** An operate (or observe) server on an in-memory transport, a client on the other end. */
const session = (tier: "observe" | "operate", clientOptions: { elicit?: "accept" | "decline"; serverElicit?: boolean } = {}) =>
  Effect.gen(function* () {
    const node = Fake.makeNode()
    const audit = yield* AuditLogJsonl.makeMemory()
    const layer = Layer.mergeAll(
      Fake.pveLayer(node),
      Fake.tasksLayer,
      Layer.succeed(AuditLog, audit.service),
      CensusStoreFs.layerTest(),
      ServerInfo.layer({ tier, host: "127.0.0.1", version: "0.0.0-test" })
    )
    const tools: ReadonlyArray<Tool.AnyTool<OperateCaps>> = tier === "observe" ? observeTools : operateTools
    const server = yield* Effect.provide(Mcp.make(tools, options(tier, clientOptions.serverElicit ?? true)), layer)
    const [clientT, serverT] = InMemoryTransport.createLinkedPair()
    yield* Mcp.connect(server, serverT)
    const client = new Client(
      { name: "test", version: "1" },
      { capabilities: clientOptions.elicit ? { elicitation: { form: {} } } : {} }
    )
    if (clientOptions.elicit) {
      const action = clientOptions.elicit
      client.setRequestHandler(ElicitRequestSchema, async () =>
        action === "accept" ? { action: "accept", content: { confirm: true } } : { action: "decline" }
      )
    }
    yield* Effect.acquireRelease(
      Effect.promise(() => client.connect(clientT)),
      () => Effect.promise(() => client.close())
    )
    const call = (name: string, args: Record<string, unknown> = {}) =>
      client.callTool({ name, arguments: args }) as Promise<CallToolResult>
    return { client, node, audit, call } satisfies Session
  })

const errorOf = (r: CallToolResult) => (r.structuredContent as { error: { code: string; message: string; hint: string; details?: Record<string, unknown> } }).error

describe("Mcp adapter", () => {
  it.scoped("lists exactly the tier's tools with strict schemas and annotations", () =>
    Effect.gen(function* () {
      const observe = yield* session("observe")
      const operate = yield* session("operate")
      const o = yield* Effect.promise(() => observe.client.listTools())
      const p = yield* Effect.promise(() => operate.client.listTools())
      const observeNames = ["describe_homelab", "health_check", "pct_list", "qm_list", "query_audit"]
      expect(o.tools.map((t) => t.name)).toEqual(observeNames)
      expect(p.tools.map((t) => t.name)).toEqual([...observeNames, "guest_start", "guest_stop", "guest_restart"])
      const stop = p.tools.find((t) => t.name === "guest_stop")!
      expect(stop.inputSchema).toMatchObject({
        type: "object",
        additionalProperties: false,
        required: ["vmid"],
        properties: { vmid: { type: "integer", minimum: 100, maximum: 999999999 } }
      })
      expect(stop.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false })
      expect(JSON.stringify(p.tools)).not.toContain("$ref")
      for (const t of p.tools) {
        expect(t.outputSchema).toMatchObject({ type: "object" })
        expect(t.inputSchema.additionalProperties).toBe(false)
      }
    }))

  it.scoped("pct_list and qm_list shape the API lists (vmid as integer, tags split, bootDiskGB fractional)", () =>
    Effect.gen(function* () {
      const s = yield* session("observe")
      const pct = yield* Effect.promise(() => s.call("pct_list"))
      expect(pct.isError).toBeUndefined()
      expect(pct.structuredContent).toEqual({
        count: 2,
        containers: [
          { vmid: 100, name: "dns", status: "running", tags: ["infra", "dns"], template: false },
          { vmid: 102, name: "lab-alpine", status: "stopped", tags: [], template: false }
        ]
      })
      expect(JSON.parse((pct.content as Array<{ text: string }>)[0]!.text)).toEqual(pct.structuredContent)
      const qm = yield* Effect.promise(() => s.call("qm_list"))
      expect(qm.structuredContent).toEqual({
        count: 1,
        vms: [{ vmid: 200, name: "debian-vm", status: "running", memMB: 4096, bootDiskGB: 8.5, pid: 4242, tags: ["web"], template: false }]
      })
    }))

  it.scoped("unknown and ill-typed arguments are InvalidInput naming the key and the accepted ones", () =>
    Effect.gen(function* () {
      const s = yield* session("operate")
      const extra = yield* Effect.promise(() => s.call("guest_start", { vmid: 100, force: true }))
      expect(extra.isError).toBe(true)
      expect(errorOf(extra)).toMatchObject({ code: "InvalidInput", details: { key: "force", accepted: ["vmid"] } })
      expect(errorOf(extra).message).toContain('"force"')
      const typed = yield* Effect.promise(() => s.call("guest_start", { vmid: "abc" }))
      expect(errorOf(typed).code).toBe("InvalidInput")
      expect(errorOf(typed).message).toBe('Parameter "vmid" must be an integer between 100 and 999999999, got "abc".')
      // a refined, defaulted parameter (an `allOf` in its JSON schema) is described by its constraints
      const range = yield* Effect.promise(() => s.call("query_audit", { limit: 500 }))
      expect(errorOf(range).message).toBe('Parameter "limit" must be an integer between 1 and 200, got 500.')
      const when = yield* Effect.promise(() => s.call("query_audit", { since: "yesterday" }))
      expect(errorOf(when).message).toBe('Parameter "since" must be an ISO 8601 date-time with offset (e.g. 2026-01-31T12:00:00Z), got "yesterday".')
      const missing = yield* Effect.promise(() => s.call("guest_start", {}))
      expect(errorOf(missing).message).toContain('Missing required parameter "vmid"')
      const combo = yield* Effect.promise(() => s.call("guest_stop", { vmid: 100, confirm: true, shutdownTimeoutSecs: 30 }))
      expect(errorOf(combo)).toMatchObject({ code: "InvalidInput", details: { key: "shutdownTimeoutSecs" } })
      expect(s.node.events).toEqual([])
    }))

  it.effect("every parameter of every tool is described by its type and bounds in InvalidInput messages", () =>
    Effect.gen(function* () {
      const tools = yield* Effect.promise(() => loadTools("root"))
      const described = Mcp.descriptors(tools).flatMap((t) =>
        Object.entries((t.inputSchema.properties ?? {}) as Record<string, JsonSchemas.Json>).map(([key, node]) => [`${t.name}.${key}`, JsonSchemas.describe(node)] as const)
      )
      expect(described.length).toBeGreaterThan(50)
      expect(described.filter(([, text]) => text === "a value")).toEqual([])
      expect(Object.fromEntries(described)["list_backups.limit"]).toBe("an integer between 1 and 100")
    }))

  it.scoped("every registered tool rejects one extra key (lessons A5)", () =>
    Effect.gen(function* () {
      const s = yield* session("operate")
      const { tools } = yield* Effect.promise(() => s.client.listTools())
      for (const t of tools) {
        const r = yield* Effect.promise(() => s.call(t.name, { vmid: 100, confirm: false, bogusKey: 1 }))
        expect(r.isError, t.name).toBe(true)
        const e = errorOf(r)
        expect(e.code, t.name).toBe("InvalidInput")
        expect(e.message, t.name).toContain("bogusKey")
      }
      expect(s.node.events).toEqual([])
    }))

  it.scoped("guest_start: starts a stopped guest, audits intent and outcome; a running guest is a no-op without POST", () =>
    Effect.gen(function* () {
      const s = yield* session("operate")
      const r = yield* Effect.promise(() => s.call("guest_start", { vmid: 102 }))
      expect(r.structuredContent).toMatchObject({ vmid: 102, guestType: "lxc", taskStatus: "OK", status: "running", alreadyRunning: false })
      expect(s.node.events).toContain("POST /nodes/pve/lxc/102/status/start")
      const phases = s.audit.records().map((x) => `${x.phase}:${x.tool}:${x.outcome ?? ""}`)
      expect(phases).toEqual(["intent:guest_start:", "outcome:guest_start:ok"])
      s.node.events.length = 0
      const again = yield* Effect.promise(() => s.call("guest_start", { vmid: 200 }))
      expect(again.structuredContent).toMatchObject({ vmid: 200, guestType: "qemu", upid: null, alreadyRunning: true })
      expect(s.node.events.filter((e) => e.startsWith("POST"))).toEqual([])
      expect(s.audit.records().at(-1)).toMatchObject({ phase: "outcome", outcome: "noop", vmid: 200 })
    }))

  it.scoped("guest tools share one not-found wording and name the right tool on a wrong type", () =>
    Effect.gen(function* () {
      const s = yield* session("operate")
      for (const name of ["guest_start", "guest_restart"]) {
        const r = yield* Effect.promise(() => s.call(name, { vmid: 999 }))
        expect(errorOf(r)).toMatchObject({ code: "GuestNotFound", message: "Guest 999 not found on node pve." })
      }
      const stop = yield* Effect.promise(() => s.call("guest_stop", { vmid: 999, confirm: true }))
      expect(errorOf(stop).message).toBe("Guest 999 not found on node pve.")
    }))

  it.scoped("guest_stop without elicitation: refused without confirm (blast radius, no node contact, audited), then runs with confirm:true", () =>
    Effect.gen(function* () {
      const s = yield* session("operate")
      const refused = yield* Effect.promise(() => s.call("guest_stop", { vmid: 100 }))
      const e = errorOf(refused)
      expect(e.code).toBe("ConfirmationRequired")
      expect(e.message).toContain("immediate power-off")
      expect(e.message).toContain("Re-issue with confirm:true if the user agrees")
      expect(s.node.events).toEqual([])
      expect(s.audit.records().at(-1)).toMatchObject({ phase: "refused", tool: "guest_stop", refusal: { code: "ConfirmationRequired" } })
      const ok = yield* Effect.promise(() => s.call("guest_stop", { vmid: 100, confirm: true }))
      expect(ok.structuredContent).toMatchObject({ vmid: 100, status: "stopped", mode: "hard", alreadyStopped: false })
      expect(s.audit.records().at(-1)).toMatchObject({ phase: "outcome", outcome: "ok", confirmGated: true, confirmVia: "flag" })
      const graceful = yield* Effect.promise(() => s.call("guest_stop", { vmid: 200, confirm: true, graceful: true, shutdownTimeoutSecs: 30 }))
      expect(graceful.structuredContent).toMatchObject({ mode: "graceful", status: "stopped" })
      expect(s.node.events).toContain("POST /nodes/pve/qemu/200/status/shutdown")
      const noop = yield* Effect.promise(() => s.call("guest_stop", { vmid: 200, confirm: true }))
      expect(noop.structuredContent).toMatchObject({ alreadyStopped: true, upid: null })
    }))

  it.scoped("guest_stop with elicitation: the human's answer decides, confirm flag or not", () =>
    Effect.gen(function* () {
      const yes = yield* session("operate", { elicit: "accept" })
      const r = yield* Effect.promise(() => yes.call("guest_stop", { vmid: 100 }))
      expect(r.structuredContent).toMatchObject({ status: "stopped" })
      expect(yes.audit.records().at(-1)).toMatchObject({ confirmVia: "elicitation" })
      const no = yield* session("operate", { elicit: "decline" })
      const d = yield* Effect.promise(() => no.call("guest_stop", { vmid: 100, confirm: true }))
      expect(errorOf(d)).toMatchObject({ code: "ConfirmationRequired", details: { declined: true } })
      expect(errorOf(d).hint).toContain("do not retry")
      expect(no.node.events).toEqual([])
      const off = yield* session("operate", { elicit: "decline", serverElicit: false })
      const f = yield* Effect.promise(() => off.call("guest_stop", { vmid: 100, confirm: true }))
      expect(f.structuredContent).toMatchObject({ status: "stopped", mode: "hard" })
    }))

  it.scoped("a 403 on a power call names VM.PowerMgmt; a failed task is TaskFailed; both audited as failed", () =>
    Effect.gen(function* () {
      const s = yield* session("operate")
      s.node.forbidPower = true
      const f = yield* Effect.promise(() => s.call("guest_start", { vmid: 102 }))
      expect(errorOf(f).code).toBe("ApiForbidden")
      expect(errorOf(f).message).toContain("VM.PowerMgmt")
      expect(s.audit.records().at(-1)).toMatchObject({ phase: "outcome", outcome: "failed", error: { code: "ApiForbidden" } })
      s.node.forbidPower = false
      s.node.failNextTask = "startup for container '102' failed"
      const t = yield* Effect.promise(() => s.call("guest_start", { vmid: 102 }))
      expect(errorOf(t)).toMatchObject({ code: "TaskFailed", message: "Proxmox task failed: startup for container '102' failed" })
      expect(s.audit.records().at(-1)).toMatchObject({ outcome: "failed", error: { code: "TaskFailed" } })
    }))

  it.scoped("guest_restart refuses a stopped guest with GuestNotRunning and reboots a running one", () =>
    Effect.gen(function* () {
      const s = yield* session("operate")
      const r = yield* Effect.promise(() => s.call("guest_restart", { vmid: 102 }))
      expect(errorOf(r)).toMatchObject({ code: "GuestNotRunning" })
      expect(errorOf(r).hint).toContain("guest_start")
      expect(s.node.events.filter((e) => e.startsWith("POST"))).toEqual([])
      const ok = yield* Effect.promise(() => s.call("guest_restart", { vmid: 200 }))
      expect(ok.structuredContent).toMatchObject({ vmid: 200, guestType: "qemu", taskStatus: "OK", status: "running" })
    }))

  it.scoped("query_audit returns the trail of operations", () =>
    Effect.gen(function* () {
      const s = yield* session("operate")
      yield* Effect.promise(() => s.call("guest_start", { vmid: 102 }))
      yield* Effect.promise(() => s.call("guest_stop", { vmid: 100 }))
      const q = yield* Effect.promise(() => s.call("query_audit", {}))
      const out = q.structuredContent as { summary: { total: number; refusals: number }; items: Array<{ tool: string; outcome: string }> }
      expect(out.summary.total).toBe(2)
      expect(out.items.map((i) => `${i.tool}:${i.outcome}`)).toEqual(["guest_stop:refused", "guest_start:ok"])
    }))

  it.scoped("calls to a tool above the tier are refused as unknown", () =>
    Effect.gen(function* () {
      const s = yield* session("observe")
      const r = yield* Effect.promise(() => s.call("guest_start", { vmid: 100 }))
      expect(errorOf(r)).toMatchObject({ code: "InvalidInput", details: { accepted: ["describe_homelab", "health_check", "pct_list", "qm_list", "query_audit"] } })
      expect(s.node.events).toEqual([])
    }))
})
