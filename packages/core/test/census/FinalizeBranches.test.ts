/**
 * The response-size cap step by step (census-health.md §1.5) on hand-built documents: Docker rosters are
 * stripped with counts kept, interface lists go before list tails, an `Unavailable` services section is
 * never treated as a list, and step 4 trims whichever list is largest (storage, bridges, pools, services,
 * errors) with the right drift target. Every result is checked against the cap.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { CensusDocument, Guest, NodeSection, ServiceItem, StorageItem } from "@homelab-mcp/core/census/Document"
import * as Finalize from "@homelab-mcp/core/census/Finalize"

const base: CensusDocument = {
  schemaVersion: 1,
  ts: "2026-01-01T00:00:00.000Z",
  tier: "companion",
  host: "pve.lan",
  node: "pve",
  depth: "summary",
  requested: [],
  sections: {},
  errors: [],
  redactions: 0,
  truncated: false,
  truncations: [],
  incompleteSections: [],
  snapshotId: null
}

const doc = (over: Partial<CensusDocument>): CensusDocument => ({ ...base, ...over })

const store = (i: number): StorageItem => ({
  name: `store-${String(i).padStart(3, "0")}`,
  type: "dir",
  active: true,
  enabled: true,
  shared: false,
  content: ["backup", "iso"],
  totalBytes: 1e12,
  usedBytes: 1e11,
  availBytes: 9e11
})

const node = (pools: number): NodeSection => ({
  version: "9.1.1",
  kernel: "6.17.2-1-pve",
  uptime: "up 1m",
  uptimeSecs: 60,
  cpu: 16,
  memBytes: 1,
  memUsedBytes: 1,
  load: [0, 0, 0],
  zpool: {
    healthy: true,
    pools: Array.from({ length: pools }, (_, i) => ({ name: `pool-${i}-${"z".repeat(150)}`, health: "ONLINE", sizeBytes: 1e12, allocBytes: 1e11 })),
    detail: `${pools} pools ONLINE`
  }
})

const roster = (vmid: number, n: number): ServiceItem => ({
  vmid,
  failedUnits: [],
  docker: Array.from({ length: n }, (_, i) => ({ name: `app-${vmid}-${i}`, image: `ghcr.io/example/app-${i}:latest`, status: "Up 3 days (healthy)" }))
})

/** The step-4 cut for one list, with the common assertions. */
const fitAndCheck = (d: CensusDocument, max: number) => {
  const out = Finalize.fitResponse(d, max)
  expect(Finalize.byteSize(out)).toBeLessThanOrEqual(max)
  expect(out.truncated).toBe(true)
  return out
}

describe("fitResponse: Docker rosters (step 2)", () => {
  it("removes every roster entry, keeps the per-container count, leaves roster-less items alone", () => {
    const services = [roster(101, 12), { vmid: 102, failedUnits: ["nginx.service"], docker: [], note: "no docker" }, roster(103, 8)]
    const d = doc({ sections: { services } })
    const max = Finalize.byteSize(d) - 1
    const out = fitAndCheck(d, max)
    expect(out.truncations).toEqual([
      { section: "_response", reason: `response over ${max} bytes; removed Docker rosters (counts kept)`, omitted: 20, target: "services" }
    ])
    expect(out.sections.services).toEqual([
      { vmid: 101, failedUnits: [], docker: [], dockerCount: 12 },
      { vmid: 102, failedUnits: ["nginx.service"], docker: [], note: "no docker" },
      { vmid: 103, failedUnits: [], docker: [], dockerCount: 8 }
    ])
    // The services section was not dropped from, so drift still reports its removals.
    expect(Finalize.isTruncated(out, "services")).toBe(true)
    expect(Finalize.isTruncated(out, "containers")).toBe(false)
  })

  it("rosters are stripped only after guest configs, each step recorded once", () => {
    const containers: Array<Guest> = [
      { vmid: 101, name: "docker", status: "running", config: { hostname: "docker", description: "d".repeat(300) } },
      { vmid: 102, name: "dns", status: "running" }
    ]
    const d = doc({ sections: { containers, services: [roster(101, 30)] } })
    const withoutConfig = Finalize.byteSize(d) - 300
    const out = fitAndCheck(d, withoutConfig - 200)
    expect(out.truncations.map((t) => [t.target, t.omitted])).toEqual([
      ["config", 1],
      ["services", 30]
    ])
    // The guest without a config is kept as it was; the one with a config lost only the config.
    expect(out.sections.containers).toEqual([
      { vmid: 101, name: "docker", status: "running" },
      { vmid: 102, name: "dns", status: "running" }
    ])
  })

  it("an Unavailable services section is not a list: it is kept and the interface list goes instead", () => {
    const ifaces = Array.from({ length: 40 }, (_, i) => ({ iface: `veth${i}i0`, type: "eth", active: true, autostart: false }))
    const services = { unavailableAtTier: "companion" as const, reason: "needs SSH" }
    const d = doc({ sections: { services, network: { ifaces, bridges: [{ name: "vmbr0", ports: ["eno1"], vlanAware: true }] } } })
    const max = Finalize.byteSize(d) - 1
    const out = fitAndCheck(d, max)
    expect(out.sections.services).toEqual(services)
    expect(out.sections.network).toEqual({ ifaces: [], bridges: [{ name: "vmbr0", ports: ["eno1"], vlanAware: true }] })
    expect(out.truncations).toEqual([
      { section: "_response", reason: `response over ${max} bytes; removed the interface list`, omitted: 40, target: "network" }
    ])
    expect(Finalize.isTruncated(out, "network")).toBe(true)
  })
})

describe("fitResponse: list tails (step 4)", () => {
  const dropped = (out: CensusDocument) => out.truncations.filter((t) => t.reason.includes("dropped the last"))

  it("storage: the tail is dropped, the kept entries are the original prefix", () => {
    const storage = Array.from({ length: 60 }, (_, i) => store(i))
    const d = doc({ sections: { storage } })
    const out = fitAndCheck(d, Math.floor(Finalize.byteSize(d) / 2))
    const kept = out.sections.storage!
    expect(kept.length).toBeLessThan(60)
    expect(kept).toEqual(storage.slice(0, kept.length))
    const cuts = dropped(out)
    expect(cuts.every((t) => t.target === "storage")).toBe(true)
    expect(cuts.reduce((n, t) => n + t.omitted, 0)).toBe(60 - kept.length)
    expect(cuts[0]?.reason).toContain("entries of storage")
  })

  it("bridges belong to the network section", () => {
    const bridges = Array.from({ length: 50 }, (_, i) => ({
      name: `vmbr${i}`,
      ports: Array.from({ length: 16 }, (_, p) => `veth${i}0${p}i0`),
      vlanAware: false,
      cidr: `10.0.${i}.1/24`
    }))
    const d = doc({ sections: { network: { ifaces: [], bridges } } })
    const out = fitAndCheck(d, Math.floor(Finalize.byteSize(d) / 2))
    expect(out.sections.network!.bridges).toEqual(bridges.slice(0, out.sections.network!.bridges.length))
    expect(dropped(out).map((t) => t.target)).toEqual(expect.arrayContaining(["network"]))
    expect(dropped(out)[0]?.reason).toContain("entries of bridges")
    expect(Finalize.isTruncated(out, "network")).toBe(true)
  })

  it("ZFS pools belong to the node section; the rest of the node section is kept", () => {
    const d = doc({ sections: { node: node(80) } })
    const out = fitAndCheck(d, Math.floor(Finalize.byteSize(d) / 2))
    const n = out.sections.node!
    expect(n.zpool!.pools.length).toBeLessThan(80)
    expect(n.zpool!.pools).toEqual(node(80).zpool!.pools.slice(0, n.zpool!.pools.length))
    expect({ ...n, zpool: null }).toEqual({ ...node(80), zpool: null })
    expect(dropped(out)[0]).toMatchObject({ target: "node", reason: expect.stringContaining("entries of pools") })
    expect(Finalize.isTruncated(out, "node")).toBe(true)
  })

  it("services without rosters are trimmed like any list once they are the largest", () => {
    const services = Array.from({ length: 80 }, (_, i) => ({
      vmid: 100 + i,
      failedUnits: ["apt-daily.service", "systemd-networkd-wait-online.service", "certbot-renew.service", "e2scrub_reap.service", "ssh.service"],
      docker: []
    }))
    const d = doc({ sections: { services } })
    const out = fitAndCheck(d, Math.floor(Finalize.byteSize(d) / 2))
    const kept = out.sections.services as ReadonlyArray<ServiceItem>
    expect(kept).toEqual(services.slice(0, kept.length))
    expect(out.truncations.every((t) => t.target === "services")).toBe(true)
  })

  it("the errors list is trimmed too when it is the largest", () => {
    const errors = Array.from({ length: 60 }, (_, i) => ({ section: "containers", probe: `config:${1000 + i}`, error: `403 permission denied: the API token lacks VM.Audit on /vms/${1000 + i} (Permission check failed (/vms/${1000 + i}, VM.Audit))` }))
    const d = doc({ errors, sections: { storage: [store(0)] } })
    const out = fitAndCheck(d, Math.floor(Finalize.byteSize(d) / 2))
    expect(out.errors).toEqual(errors.slice(0, out.errors.length))
    expect(out.sections.storage).toEqual([store(0)])
    expect(dropped(out).every((t) => t.target === "errors")).toBe(true)
  })

  it("the largest list is chosen each round: two lists are both trimmed towards a tight cap", () => {
    const d = doc({ sections: { storage: Array.from({ length: 40 }, (_, i) => store(i)), node: node(40) } })
    const out = fitAndCheck(d, Math.floor(Finalize.byteSize(d) / 4))
    const targets = new Set(dropped(out).map((t) => t.target))
    expect(targets).toEqual(new Set(["storage", "node"]))
  })

  it("reserveBytes is taken off the budget", () => {
    const d = doc({ sections: { storage: Array.from({ length: 40 }, (_, i) => store(i)) } })
    const size = Finalize.byteSize(d)
    expect(Finalize.fitResponse(d, size)).toEqual(d)
    const out = Finalize.fitResponse(d, size, 1000)
    expect(Finalize.byteSize(out)).toBeLessThanOrEqual(size - 1000)
    expect(out.truncations[0]?.reason).toContain(`response over ${size} bytes`)
  })

  it("earlier truncations are kept ahead of the size-cap steps", () => {
    const earlier = { section: "containers", reason: "more than 200 items; kept the first 200", omitted: 5 }
    const d = doc({ truncations: [earlier], truncated: true, sections: { storage: Array.from({ length: 40 }, (_, i) => store(i)) } })
    const out = fitAndCheck(d, Math.floor(Finalize.byteSize(d) / 2))
    expect(out.truncations[0]).toEqual(earlier)
    expect(out.truncations.length).toBeGreaterThan(1)
  })
})

describe("redactDocument", () => {
  it("adds the redactor's count to the existing total and re-caps error texts the redactor lengthened", () => {
    const d = doc({ redactions: 2, errors: [{ section: "node", probe: "p", error: "short" }] })
    const out = Finalize.redactDocument(d, (v) => {
      const c = v as CensusDocument
      return { value: { ...c, errors: c.errors.map((e) => ({ ...e, error: "y".repeat(900) })) }, count: 3 }
    })
    expect(out.redactions).toBe(5)
    expect(out.errors[0]?.error).toHaveLength(500)
    expect(out.errors[0]?.error.endsWith("…")).toBe(true)
  })
})

describe("fitResponse: small entries and drift (step 4 converges, the cap holds)", () => {
  const small = (n: number): ReadonlyArray<Guest> => Array.from({ length: n }, (_, i) => ({ vmid: 1000 + i, name: `gen-${i}`, status: "running" }))

  it("entries smaller than a truncation entry: most of the list stays, one entry counts what was dropped", () => {
    for (const max of [4096, 8192]) {
      const d = doc({ sections: { containers: small(200) } })
      expect(Finalize.byteSize(d)).toBeGreaterThan(max)
      const out = fitAndCheck(d, max)
      const kept = out.sections.containers!.length
      expect(kept).toBeGreaterThan(max === 8192 ? 120 : 40)
      expect(out.truncations).toEqual([
        { section: "_response", reason: `response over ${max} bytes; dropped the last ${200 - kept} entries of containers`, omitted: 200 - kept, target: "containers" }
      ])
      expect(out.sections.containers).toEqual(small(200).slice(0, kept))
    }
  })

  it("drift's lists are cut like the sections' (drift is never saved), so the cap holds and the section survives", () => {
    const removed = Array.from({ length: 200 }, (_, i) => ({ vmid: 2000 + i, name: `gone-${i}` }))
    const d = doc({
      sections: { containers: small(1) },
      drift: { mode: "compared", comparedTo: "census-x.json", containers: { added: [], removed, changed: [] }, notCompared: [] }
    })
    const out = fitAndCheck(d, 4096)
    expect(out.sections.containers).toEqual(small(1))
    const drift = out.drift
    expect(drift?.mode).toBe("compared")
    const kept = drift?.mode === "compared" ? drift.containers!.removed.length : -1
    expect(kept).toBeGreaterThan(0)
    expect(out.truncations).toEqual([
      { section: "_response", reason: `response over 4096 bytes; dropped the last ${200 - kept} entries of drift.containers.removed`, omitted: 200 - kept, target: "drift.containers" }
    ])
  })
})

describe("fitResponse (property)", () => {
  it("the cap holds, every list keeps a prefix, and the truncation entries count exactly what each list lost", () => {
    const guests = fc.array(fc.record({ vmid: fc.integer({ min: 100, max: 999999 }), name: fc.string({ maxLength: 40 }), status: fc.constantFrom("running", "stopped") }), { maxLength: 300 })
    const names = fc.array(fc.string({ maxLength: 60 }), { maxLength: 200 })
    fc.assert(
      fc.property(guests, guests, names, fc.integer({ min: 4096, max: 40_000 }), (containers, vms, gone, max) => {
        const removed = gone.map((name, i) => ({ vmid: i + 100, name }))
        const d = doc({
          sections: { containers, vms },
          drift: { mode: "compared", comparedTo: "census-x.json", vms: { added: [], removed, changed: [] }, notCompared: [] }
        })
        const out = Finalize.fitResponse(d, max)
        expect(Finalize.byteSize(out)).toBeLessThanOrEqual(max)
        const lost = (target: string, list: string) =>
          out.truncations.filter((t) => t.target === target && t.reason.endsWith(` of ${list}`)).reduce((n, t) => n + t.omitted, 0)
        const keptC = out.sections.containers ?? []
        const keptV = out.sections.vms ?? []
        const keptR = out.drift?.mode === "compared" ? out.drift.vms!.removed : []
        expect(keptC).toEqual(containers.slice(0, keptC.length))
        expect(keptV).toEqual(vms.slice(0, keptV.length))
        expect(keptR).toEqual(removed.slice(0, keptR.length))
        expect(lost("containers", "containers")).toBe(containers.length - keptC.length)
        expect(lost("vms", "vms")).toBe(vms.length - keptV.length)
        expect(lost("drift.vms", "drift.vms.removed")).toBe(removed.length - keptR.length)
        expect(out.truncated).toBe(out.truncations.length > 0)
      }),
      { numRuns: 60 }
    )
  })
})

describe("Finalize.byteSize", () => {
  it("counts the UTF-8 bytes of the JSON text (multi-byte characters and escapes included)", () => {
    expect(Finalize.byteSize({ a: "é" })).toBe(Buffer.byteLength('{"a":"é"}'))
    expect(Finalize.byteSize({ a: "é" })).toBe(10)
    expect(Finalize.byteSize({ emoji: "🦊", quote: '"' })).toBe(new TextEncoder().encode(JSON.stringify({ emoji: "🦊", quote: '"' })).length)
    expect(Finalize.byteSize([1, 2])).toBe(5)
    expect(Finalize.byteSize(undefined)).toBe(0)
  })
})
