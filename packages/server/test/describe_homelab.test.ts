import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CensusDocument } from "@homelab-mcp/core/census/Document"
import * as JsonSchemas from "../src/internal/JsonSchemas.js"
import { Input } from "../src/tools/describe_homelab.js"
import * as F from "../../core/test/census/fixtures.js"
import { session } from "./support/censusSession.js"

const docOf = (r: CallToolResult) => {
  expect(r.isError ?? false).toBe(false)
  return r.structuredContent as unknown as CensusDocument
}

describe("describe_homelab input", () => {
  const decode = Schema.decodeUnknownEither(Input, { onExcessProperty: "error" })
  it("sections: [] is rejected with a clear message (G3); duplicates and unknown keys too", () => {
    const empty = decode({ sections: [] })
    expect(Either.isLeft(empty)).toBe(true)
    expect(String(Either.isLeft(empty) && empty.left.message)).toContain("sections must name at least one of node, storage")
    expect(Either.isLeft(decode({ sections: ["vms", "vms"] }))).toBe(true)
    expect(Either.isLeft(decode({ sections: ["disks"] }))).toBe(true)
    expect(Either.isLeft(decode({ depth: "deep" }))).toBe(true)
    expect(Either.isLeft(decode({ section: ["vms"] }))).toBe(true)
    expect(decode({})).toEqual(Either.right({ depth: "summary", saveSnapshot: true, compareToPrevious: false }))
  })
  it("publishes a strict JSON Schema with minItems and uniqueItems", () => {
    const json = JsonSchemas.strict(Input) as any
    expect(json.additionalProperties).toBe(false)
    expect(json.required ?? []).toEqual([])
    expect(json.properties.sections).toMatchObject({ type: "array", minItems: 1, uniqueItems: true })
    expect(json.properties.depth.enum).toEqual(["summary", "status", "full"])
  })
})

describe("describe_homelab over MCP", () => {
  it.scoped("sections: [] is InvalidInput naming sections, and nothing is requested (G3)", () =>
    Effect.gen(function* () {
      const fake = F.makeFake()
      const s = yield* session(fake)
      const r = yield* s.call("describe_homelab", { sections: [] })
      expect(r.isError).toBe(true)
      const err = (r.structuredContent as { error: { code: string; message: string; details: { key: string } } }).error
      expect(err.code).toBe("InvalidInput")
      expect(err.details.key).toBe("sections")
      expect(err.message).toContain("non-empty array")
      expect(fake.events).toEqual([])
    })
  )

  it.scoped("first run is seeded and saved; second compares; a filtered third still reports the change (B6, G4)", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      const fake = F.makeFake(routes)
      const s = yield* session(fake)
      const first = docOf(yield* s.call("describe_homelab", { compareToPrevious: true, depth: "status" }))
      expect(first.drift).toEqual({ mode: "seeded", seededReason: "no-baseline", comparedTo: null })
      expect(first.snapshotId).toMatch(/^census-\d{8}T\d{9}Z\.json$/)
      expect(first.tier).toBe("observe")
      expect(first.host).toBe("192.168.1.10")
      expect(first.node).toBe("pve")
      expect([...s.memory.files.keys()]).toEqual([first.snapshotId])
      expect(JSON.parse(s.memory.files.get(first.snapshotId!)!).drift).toBeUndefined()

      const second = docOf(yield* s.call("describe_homelab", { compareToPrevious: true, depth: "status" }))
      expect(second.drift).toMatchObject({ mode: "compared", comparedTo: first.snapshotId, containers: { added: [], removed: [], changed: [] } })

      routes.set("GET /nodes/pve/lxc", F.lxcList.map((g) => (g.vmid === 100 ? { ...g, status: "stopped", uptime: 0 } : g)))
      const third = docOf(yield* s.call("describe_homelab", { compareToPrevious: true, sections: ["containers"], depth: "status" }))
      expect(third.drift).toEqual({
        mode: "compared",
        comparedTo: second.snapshotId,
        containers: { added: [], removed: [], changed: [{ vmid: 100, field: "status", from: "running", to: "stopped" }] },
        notCompared: []
      })
      expect(Object.keys(third.sections)).toEqual(["containers"])
      expect(fake.events.filter((e) => e.includes("/apt/"))).toEqual([])
    })
  )

  it.scoped("depth full is redacted on the final document and counted", () =>
    Effect.gen(function* () {
      const s = yield* session(F.makeFake())
      const doc = docOf(yield* s.call("describe_homelab", { depth: "full", saveSnapshot: false }))
      expect(doc.snapshotId).toBeNull()
      expect(s.memory.files.size).toBe(0)
      expect(JSON.stringify(doc)).not.toContain("hunter2")
      expect(doc.redactions).toBeGreaterThanOrEqual(1)
      expect(doc.sections.services).toEqual({ unavailableAtTier: "companion", reason: expect.any(String) })
    })
  )

  it.scoped("fails only when no section could be produced, with the underlying error", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/network", () => F.forbidden("/nodes/pve", "Sys.Audit"))
      const s = yield* session(F.makeFake(routes))
      const r = yield* s.call("describe_homelab", { sections: ["network"] })
      expect(r.isError).toBe(true)
      expect((r.structuredContent as { error: { code: string } }).error.code).toBe("ApiForbidden")
      const partial = docOf(yield* s.call("describe_homelab", { sections: ["network", "storage"] }))
      expect(partial.errors).toEqual([{ section: "network", probe: "network", error: expect.stringContaining("Sys.Audit") }])
      expect(partial.sections.storage).toHaveLength(4)
    })
  )

  it.scoped("a large lab stays under MCP_CENSUS_MAX_RESPONSE_BYTES with explicit truncations", () =>
    Effect.gen(function* () {
      const s = yield* session(F.makeFake(F.generatedLab(300)))
      const doc = docOf(yield* s.call("describe_homelab", { depth: "full" }))
      expect((doc.sections.containers as ReadonlyArray<unknown>).length).toBe(200)
      expect(doc.truncations).toContainEqual({ section: "containers", reason: "more than 200 items; kept the first 200", omitted: 100 })
      expect(new TextEncoder().encode(JSON.stringify(doc)).length).toBeLessThanOrEqual(524_288)
    })
  )
})
