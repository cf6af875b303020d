import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Eviction from "@homelab-mcp/core/backup/Eviction"

const v = (versionId: string, descriptor: string, createdAt: string, seq: number, blob: string | null, recordBytes = 10) => ({
  versionId,
  descriptor,
  createdAt,
  seq,
  blob,
  recordBytes
})
const T = (n: number) => `2026-01-01T00:00:0${n}.000Z`

describe("Eviction.plan", () => {
  it("trims the written target to cap - 1 versions, oldest first", () => {
    const versions = [v("a3", "host:/a", T(3), 3, null), v("a1", "host:/a", T(1), 1, null), v("a2", "host:/a", T(2), 2, null), v("b1", "host:/b", T(0), 0, null)]
    const plan = Eviction.plan({
      versions,
      blobSizes: new Map(),
      incoming: { descriptor: "host:/a", recordBytes: 10, blob: null, blobBytes: 0 },
      perFileCap: 2,
      globalCapBytes: 1e9
    })
    expect(plan.evict).toEqual(["a1", "a2"])
    expect(plan.overCap).toBe(false)
  })

  it("orders by createdAt, then seq, never by id", () => {
    const versions = [v("z", "host:/a", T(1), 1, null), v("y", "host:/a", T(1), 2, null), v("x", "host:/a", T(2), 0, null)]
    const plan = Eviction.plan({
      versions,
      blobSizes: new Map(),
      incoming: { descriptor: "host:/a", recordBytes: 10, blob: null, blobBytes: 0 },
      perFileCap: 2,
      globalCapBytes: 1e9
    })
    expect(plan.evict).toEqual(["z", "y"])
  })

  it("evicts the oldest non-newest versions store-wide under the global cap and keeps every newest", () => {
    const versions = [
      v("a1", "host:/a", T(1), 1, "A1"),
      v("b1", "host:/b", T(2), 2, "B1"),
      v("a2", "host:/a", T(3), 3, "A2"),
      v("b2", "host:/b", T(4), 4, "B2"),
      v("c1", "host:/c", T(0), 0, "C1")
    ]
    const blobSizes = new Map([["A1", 100], ["B1", 100], ["A2", 100], ["B2", 100], ["C1", 100]])
    const plan = Eviction.plan({
      versions,
      blobSizes,
      incoming: { descriptor: "host:/d", recordBytes: 10, blob: "D1", blobBytes: 100 },
      perFileCap: 10,
      globalCapBytes: 450
    })
    // c1 is the oldest but it is the newest (only) version of host:/c
    expect(plan.evict).toEqual(["a1", "b1"])
    expect(plan.deleteBlobs.toSorted()).toEqual(["A1", "B1"])
    expect(plan.usedBytesAfter).toBe(4 * 110)
    expect(plan.overCap).toBe(false)
  })

  it("counts a shared blob once and never deletes a blob still referenced", () => {
    const versions = [v("a1", "host:/a", T(1), 1, "S"), v("b1", "host:/b", T(2), 2, "S"), v("a2", "host:/a", T(3), 3, "X")]
    const blobSizes = new Map([["S", 1000], ["X", 10], ["orphan", 5]])
    expect(Eviction.usage(versions, blobSizes)).toBe(30 + 1010)
    const plan = Eviction.plan({
      versions,
      blobSizes,
      incoming: { descriptor: "host:/c", recordBytes: 10, blob: "S", blobBytes: 1000 },
      perFileCap: 10,
      globalCapBytes: 1000
    })
    // evicting a1 frees nothing of S (b1 and the incoming still use it); still over the cap with only newest left
    expect(plan.evict).toEqual(["a1"])
    expect(plan.deleteBlobs).toEqual(["orphan"])
    expect(plan.overCap).toBe(true)
    expect(plan.usedBytesBefore).toBe(30 + 1015)
  })

  it("reports over-cap when only newest versions are left", () => {
    const plan = Eviction.plan({
      versions: [v("a1", "host:/a", T(1), 1, "A")],
      blobSizes: new Map([["A", 500]]),
      incoming: { descriptor: "host:/b", recordBytes: 10, blob: "B", blobBytes: 500 },
      perFileCap: 10,
      globalCapBytes: 600
    })
    expect(plan).toMatchObject({ evict: [], overCap: true, usedBytesAfter: 1020 })
  })

  it("with cap 1 keeps only the incoming version of the written target", () => {
    const plan = Eviction.plan({
      versions: [v("a1", "host:/a", T(1), 1, "A")],
      blobSizes: new Map([["A", 5]]),
      incoming: { descriptor: "host:/a", recordBytes: 10, blob: "A", blobBytes: 5 },
      perFileCap: 1,
      globalCapBytes: 1e9
    })
    expect(plan.evict).toEqual(["a1"])
    expect(plan.deleteBlobs).toEqual([])
  })

  it("property: after the plan every target keeps its newest version, the cap holds unless only newest are left", () => {
    const arb = fc.record({
      entries: fc.array(fc.record({ target: fc.integer({ min: 0, max: 4 }), blob: fc.integer({ min: 0, max: 8 }) }), { maxLength: 40 }),
      incomingTarget: fc.integer({ min: 0, max: 4 }),
      cap: fc.integer({ min: 0, max: 2000 }),
      perFile: fc.integer({ min: 1, max: 5 })
    })
    fc.assert(
      fc.property(arb, ({ entries, incomingTarget, cap, perFile }) => {
        const versions = entries.map((e, i) => v(`v${i}`, `host:/${e.target}`, T(0), i, `b${e.blob}`, 20))
        const blobSizes = new Map(entries.map((e) => [`b${e.blob}`, 50 + e.blob * 10]))
        const plan = Eviction.plan({
          versions,
          blobSizes,
          incoming: { descriptor: `host:/${incomingTarget}`, recordBytes: 20, blob: "new", blobBytes: 40 },
          perFileCap: perFile,
          globalCapBytes: cap
        })
        const kept = versions.filter((x) => !plan.evict.includes(x.versionId))
        for (const d of new Set(versions.map((x) => x.descriptor))) {
          if (d === `host:/${incomingTarget}`) continue
          const all = versions.filter((x) => x.descriptor === d)
          const newest = all[all.length - 1]!
          expect(kept).toContain(newest)
        }
        expect(kept.filter((x) => x.descriptor === `host:/${incomingTarget}`).length).toBeLessThanOrEqual(perFile - 1)
        const keptBlobs = new Set([...kept.map((x) => x.blob), "new"])
        for (const b of plan.deleteBlobs) expect(keptBlobs.has(b)).toBe(false)
        if (!plan.overCap) expect(plan.usedBytesAfter).toBeLessThanOrEqual(cap)
        else {
          const descriptors = new Set(kept.map((x) => x.descriptor))
          descriptors.delete(`host:/${incomingTarget}`)
          expect(kept.length).toBe(descriptors.size)
        }
      }),
      { numRuns: 300 }
    )
  })
})
