import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { CensusDocument, Guest } from "@homelab-mcp/core/census/Document"
import * as Drift from "@homelab-mcp/core/census/Drift"
import * as Finalize from "@homelab-mcp/core/census/Finalize"

const guestArb = fc.record({
  vmid: fc.integer({ min: 100, max: 400 }),
  name: fc.constantFrom("a", "b", "c"),
  status: fc.constantFrom("running", "stopped")
})
const listArb = fc.uniqueArray(guestArb, { selector: (g) => g.vmid, maxLength: 40 }).map((l) => [...l].sort((a, b) => a.vmid - b.vmid))

const docOf = (containers: ReadonlyArray<Guest>, max = 1000): CensusDocument => {
  const { kept, truncation } = Finalize.capList("containers", containers, max)
  return {
    schemaVersion: 1, ts: "t", tier: "observe", host: null, node: "pve", depth: "summary", requested: ["containers"],
    sections: { containers: kept }, errors: [], redactions: 0, truncated: truncation !== null,
    truncations: truncation ? [truncation] : [], incompleteSections: [], snapshotId: null
  }
}

const compared = (d: ReturnType<typeof Drift.compute>) => {
  if (d.mode !== "compared") throw new Error("expected compared")
  return d
}

describe("Drift properties", () => {
  it("a document compared with itself has no drift", () => {
    fc.assert(
      fc.property(listArb, (l) => {
        const d = compared(Drift.compute(docOf(l), { snapshotId: "s", doc: docOf(l) }, 10))
        expect(d.containers).toEqual({ added: [], removed: [], changed: [] })
      })
    )
  })
  it("without truncation, added and removed are exactly the set differences; changes only for shared vmids", () => {
    fc.assert(
      fc.property(listArb, listArb, (before, after) => {
        const d = compared(Drift.compute(docOf(after), { snapshotId: "s", doc: docOf(before) }, 10)).containers!
        const b = new Set(before.map((g) => g.vmid))
        const a = new Set(after.map((g) => g.vmid))
        expect(d.added.map((g) => g.vmid)).toEqual(after.filter((g) => !b.has(g.vmid)).map((g) => g.vmid))
        expect(d.removed.map((g) => g.vmid)).toEqual(before.filter((g) => !a.has(g.vmid)).map((g) => g.vmid))
        for (const c of d.changed) expect(a.has(c.vmid) && b.has(c.vmid)).toBe(true)
      })
    )
  })
  it("a section truncated on either side never reports removals, and nothing past the baseline's cut is new (A4)", () => {
    fc.assert(
      fc.property(listArb, listArb, fc.integer({ min: 1, max: 20 }), (before, after, max) => {
        const prev = docOf(before, max)
        const now = docOf(after, max)
        const d = compared(Drift.compute(now, { snapshotId: "s", doc: prev }, 10)).containers!
        if (prev.truncated || now.truncated) expect(d.removed).toEqual([])
        if (prev.truncated) {
          const lastKept = (prev.sections.containers as ReadonlyArray<Guest>).at(-1)!.vmid
          for (const g of d.added) expect(g.vmid).toBeLessThanOrEqual(lastKept)
        }
      })
    )
  })
})
