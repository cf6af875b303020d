import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import * as Census from "@homelab-mcp/core/census/Census"
import type { CensusDocument, Guest } from "@homelab-mcp/core/census/Document"
import { sectionNames } from "@homelab-mcp/core/census/Document"
import * as Finalize from "@homelab-mcp/core/census/Finalize"
import { censusDefaults } from "@homelab-mcp/core/census/Settings"
import * as Redact from "@homelab-mcp/core/redaction/Redact"
import * as F from "./fixtures.js"

const collect = (routes: F.Routes) =>
  Census.collect({ sections: sectionNames, depth: "full", tier: "observe", host: "pve" }, censusDefaults).pipe(
    Effect.map((c) => c.doc),
    Effect.provide(F.layer(F.makeFake(routes)))
  )

const redact = (v: unknown) => Redact.redactValue(v)

describe("Finalize", () => {
  it("capList keeps the first max items and records the omitted count", () => {
    expect(Finalize.capList("vms", [1, 2, 3], 3)).toEqual({ kept: [1, 2, 3], truncation: null })
    expect(Finalize.capList("vms", [1, 2, 3, 4, 5], 2)).toEqual({
      kept: [1, 2],
      truncation: { section: "vms", reason: "more than 2 items; kept the first 2", omitted: 3 }
    })
  })

  it.effect("redaction runs over the whole document and is counted (config secrets, error texts)", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/lxc/100/config", { ...F.configs["lxc/100"], "lxc.environment": "DB_PASSWORD=s3cret" })
      routes.set("GET /nodes/pve/qemu/200/config", { ...F.configs["qemu/200"], cipassword: "$5$abc$def" })
      const raw = yield* collect(routes)
      const withError: CensusDocument = { ...raw, errors: [{ section: "x", probe: "y", error: "failed: Authorization: PVEAPIToken=mcp@pve!t=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" }] }
      const doc = Finalize.redactDocument(withError, redact)
      const text = JSON.stringify(doc)
      expect(text).not.toContain("s3cret")
      expect(text).not.toContain("$5$abc$def")
      expect(text).not.toContain("aaaaaaaa-bbbb")
      expect(doc.redactions).toBeGreaterThanOrEqual(3)
      const vm = (doc.sections.vms as ReadonlyArray<Guest>)[0]!
      expect(vm.config?.["cipassword"]).toBe("[REDACTED]")
    })
  )

  it.effect("the size cap removes configs first, then interfaces, then list tails; one _response entry per step", () =>
    Effect.gen(function* () {
      const doc = Finalize.redactDocument(yield* collect(F.generatedLab(150)), redact)
      const full = Finalize.byteSize(doc)
      const noConfigs = Finalize.fitResponse(doc, full - 1)
      expect(noConfigs.truncations).toEqual([{ section: "_response", reason: expect.stringContaining("removed guest config maps"), omitted: 150, target: "config" }])
      expect((noConfigs.sections.containers as ReadonlyArray<Guest>).every((g) => g.config === undefined)).toBe(true)
      expect(noConfigs.truncated).toBe(true)
      const tiny = Finalize.fitResponse(doc, 8192)
      expect(Finalize.byteSize(tiny)).toBeLessThanOrEqual(8192)
      expect(tiny.truncations.map((t) => t.target)).toEqual(expect.arrayContaining(["config", "network", "containers"]))
      expect(Finalize.isTruncated(tiny, "containers")).toBe(true)
      expect(Finalize.isTruncated(noConfigs, "containers")).toBe(false)
    })
  )

  it.effect("the size cap is a guarantee for any cap (property)", () =>
    Effect.gen(function* () {
      const doc = Finalize.redactDocument(yield* collect(F.generatedLab(60)), redact)
      fc.assert(
        fc.property(fc.integer({ min: 4096, max: 80_000 }), fc.integer({ min: 0, max: 700 }), (max, reserve) => {
          const out = Finalize.fitResponse(doc, max, reserve)
          expect(Finalize.byteSize(out)).toBeLessThanOrEqual(max - reserve)
          expect(out.truncated).toBe(out.truncations.length > 0)
        }),
        { numRuns: 40 }
      )
    })
  )

  it("a document under the cap is unchanged", () => {
    const doc: CensusDocument = {
      schemaVersion: 1, ts: "t", tier: "observe", host: null, node: "pve", depth: "summary", requested: [], sections: {},
      errors: [], redactions: 0, truncated: false, truncations: [], incompleteSections: [], snapshotId: null
    }
    expect(Finalize.fitResponse(doc, 4096)).toEqual(doc)
    expect(Finalize.capErrorText("x".repeat(600))).toHaveLength(500)
  })
})
