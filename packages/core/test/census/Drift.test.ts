import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Census from "@homelab-mcp/core/census/Census"
import type { CensusDocument, Depth, SectionName } from "@homelab-mcp/core/census/Document"
import { sectionNames } from "@homelab-mcp/core/census/Document"
import * as Drift from "@homelab-mcp/core/census/Drift"
import { censusDefaults } from "@homelab-mcp/core/census/Settings"
import type { Tier } from "@homelab-mcp/core/Tier"
import * as F from "./fixtures.js"

const collect = (routes: F.Routes, opts: { depth?: Depth; sections?: ReadonlyArray<SectionName>; tier?: Tier } = {}) =>
  Census.collect(
    { sections: opts.sections ?? sectionNames, depth: opts.depth ?? "status", tier: opts.tier ?? "observe", host: "pve" },
    censusDefaults
  ).pipe(
    Effect.map((c) => c.doc),
    Effect.provide(F.layer(F.makeFake(routes)))
  )

const base = (doc: CensusDocument, id = "census-20261126T150000000Z.json"): Drift.Baseline => ({ snapshotId: id, doc })

const compared = (d: ReturnType<typeof Drift.compute>) => {
  if (d.mode !== "compared") throw new Error("expected a comparison")
  return d
}

describe("Drift.compute", () => {
  it.effect("a first run is seeded, never a clean comparison (B6)", () =>
    Effect.gen(function* () {
      const doc = yield* collect(F.defaultRoutes())
      expect(Drift.compute(doc, null, 10)).toEqual({ mode: "seeded", seededReason: "no-baseline", comparedTo: null })
    })
  )

  it.effect("an unchanged node compares clean; SSH sections at observe are notCompared (unavailable-at-tier)", () =>
    Effect.gen(function* () {
      const a = yield* collect(F.defaultRoutes())
      const b = yield* collect(F.defaultRoutes())
      const d = compared(Drift.compute(b, base(a), 10))
      expect(d.comparedTo).toBe("census-20261126T150000000Z.json")
      expect(d.containers).toEqual({ added: [], removed: [], changed: [] })
      expect(d.vms).toEqual({ added: [], removed: [], changed: [] })
      expect(d.storage).toEqual({ added: [], removed: [], changed: [] })
      expect(d.network).toEqual({ added: [], removed: [], changed: [] })
      expect(d.notCompared).toEqual([
        { section: "services", reason: "unavailable-at-tier" },
        { section: "tailscale", reason: "unavailable-at-tier" }
      ])
    })
  )

  it.effect("observe vs a companion baseline: services and tailscale notCompared, network compared (C4)", () =>
    Effect.gen(function* () {
      const now = yield* collect(F.defaultRoutes())
      const prev = yield* collect(F.defaultRoutes(), { tier: "companion" })
      const companion: CensusDocument = {
        ...prev,
        tier: "companion",
        errors: [],
        sections: { ...prev.sections, services: [{ vmid: 101, failedUnits: [], docker: [{ name: "caddy", image: "caddy:2", status: "Up" }] }], tailscale: { scope: "container", vmid: 101, container: "tailscale" } }
      }
      const d = compared(Drift.compute(now, base(companion), 10))
      expect(d.notCompared).toEqual([
        { section: "services", reason: "unavailable-at-tier" },
        { section: "tailscale", reason: "unavailable-at-tier" }
      ])
      expect(d.tailscale).toBeUndefined()
      expect(d.network).toEqual({ added: [], removed: [], changed: [] })
    })
  )

  it.effect("a newly requested section is notCompared (not-in-baseline), with no adds (B6)", () =>
    Effect.gen(function* () {
      const prev = yield* collect(F.defaultRoutes(), { sections: ["containers"] })
      const now = yield* collect(F.defaultRoutes(), { sections: ["containers", "storage", "vms"] })
      const d = compared(Drift.compute(now, base(prev), 10))
      expect(d.notCompared).toEqual([
        { section: "storage", reason: "not-in-baseline" },
        { section: "vms", reason: "not-in-baseline" }
      ])
      expect(d.storage).toBeUndefined()
      expect(d.vms).toBeUndefined()
      expect(d.containers).toEqual({ added: [], removed: [], changed: [] })
    })
  )

  it.effect("an incomplete or failed section on either side is notCompared (incomplete)", () =>
    Effect.gen(function* () {
      const prev = yield* collect(F.defaultRoutes())
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/storage", () => F.forbidden("/storage", "Datastore.Audit"))
      const now = yield* collect(routes)
      const cut: CensusDocument = { ...now, incompleteSections: ["network"], sections: { ...now.sections, network: undefined } as CensusDocument["sections"] }
      const d = compared(Drift.compute(cut, base(prev), 10))
      expect(d.notCompared).toContainEqual({ section: "storage", reason: "incomplete" })
      expect(d.notCompared).toContainEqual({ section: "network", reason: "incomplete" })
      const back = compared(Drift.compute(prev, base(cut), 10))
      expect(back.notCompared).toContainEqual({ section: "network", reason: "incomplete" })
      expect(back.network).toBeUndefined()
    })
  )

  it.effect("a sections filter narrows drift instead of erasing it (G4)", () =>
    Effect.gen(function* () {
      const prev = yield* collect(F.defaultRoutes())
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/lxc", F.lxcList.map((g) => (g.vmid === 102 ? { ...g, status: "running", uptime: 5 } : g)))
      const now = yield* collect(routes, { sections: ["containers"] })
      const d = compared(Drift.compute(now, base(prev), 10))
      expect(d.containers?.changed).toEqual([{ vmid: 102, field: "status", from: "stopped", to: "running" }])
      expect(d.notCompared).toEqual([])
      expect(d.vms).toBeUndefined()
    })
  )

  it.effect("added, removed, renamed and snapshot capability changes", () =>
    Effect.gen(function* () {
      const prev = yield* collect(F.defaultRoutes())
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/lxc", [
        ...F.lxcList.filter((g) => g.vmid !== 102).map((g) => (g.vmid === 100 ? { ...g, name: "adguard" } : g)),
        { vmid: 103, name: "new", status: "stopped", uptime: 0 }
      ])
      routes.set("GET /nodes/pve/lxc/103/config", { rootfs: "local-lvm:vm-103-disk-0,size=1G" })
      routes.set("GET /nodes/pve/lxc/100/config", { ...F.configs["lxc/100"], mp0: "/srv/data,mp=/data" })
      const now = yield* collect(routes)
      const d = compared(Drift.compute(now, base(prev), 10))
      expect(d.containers).toEqual({
        added: [{ vmid: 103, name: "new" }],
        removed: [{ vmid: 102, name: "lab-alpine" }],
        changed: [
          { vmid: 100, field: "name", from: "dns", to: "adguard" },
          { vmid: 100, field: "snapshotCapable", from: "capable", to: "incapable (host bind mount (mp0: /srv/data))" }
        ]
      })
    })
  )

  it.effect("a truncated section reports no removed guests (A4)", () =>
    Effect.gen(function* () {
      const full = yield* collect(F.generatedLab(200), { sections: ["containers"] })
      expect(full.truncated).toBe(false)
      const big = yield* collect(F.generatedLab(300), { sections: ["containers"] })
      expect(big.truncations[0]?.omitted).toBe(100)
      const d = compared(Drift.compute(big, base(full), 10))
      expect(d.containers).toEqual({ added: [], removed: [], changed: [] })
      // Baseline cut, current smaller: nothing is called removed, and nothing beyond the baseline's cut is called new.
      const small = yield* collect(F.generatedLab(150), { sections: ["containers"] })
      const back = compared(Drift.compute(small, base(big), 10))
      expect(back.containers?.removed).toEqual([])
      const shifted = yield* collect(F.generatedLab(250), { sections: ["containers"] })
      expect(compared(Drift.compute(shifted, base(big), 10)).containers?.added).toEqual([])
    })
  )

  it.effect("storage: active flips and used deltas at or above MCP_CENSUS_STORAGE_DRIFT_PCT; network address changes", () =>
    Effect.gen(function* () {
      const prev = yield* collect(F.defaultRoutes())
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/storage", [
        { ...F.storage[0]!, used: 30_000_000_000 }, // +10 % of 100 GB: reported (inclusive)
        { ...F.storage[1]!, used: 130_000_000_000 }, // +7.5 % of 400 GB: not reported
        { ...F.storage[2]!, active: 0 },
        { storage: "nas", type: "nfs", content: "backup", active: 1, enabled: 1, shared: 1, total: 1, used: 0, avail: 1 }
      ])
      routes.set("GET /nodes/pve/network", [{ ...F.network[0]!, cidr: "192.168.1.11/24" }, F.network[1]!, { iface: "vmbr1", type: "bridge", active: 1 }])
      const now = yield* collect(routes)
      const d = compared(Drift.compute(now, base(prev), 10))
      expect(d.storage).toEqual({
        added: ["nas"],
        removed: ["backups"],
        changed: [
          { name: "local", field: "usedBytes", from: 20_000_000_000, to: 30_000_000_000 },
          { name: "tank", field: "active", from: true, to: false }
        ]
      })
      expect(d.network).toEqual({ added: ["vmbr1"], removed: [], changed: [{ name: "vmbr0", field: "cidr", from: "192.168.1.10/24", to: "192.168.1.11/24" }] })
    })
  )

  it("tailscale changes are reported as from/to when observed on both sides", () => {
    const mk = (ts: unknown, tier: Tier = "companion"): CensusDocument => ({
      schemaVersion: 1, ts: "t", tier, host: "pve", node: "pve", depth: "summary", requested: ["tailscale"],
      sections: { tailscale: ts as never }, errors: [], redactions: 0, truncated: false, truncations: [], incompleteSections: [], snapshotId: null
    })
    const d = compared(Drift.compute(mk({ scope: "host", online: false, peerCount: 3 }), base(mk({ scope: "host", online: true, peerCount: 3 })), 10))
    expect(d.tailscale).toEqual([{ field: "online", from: true, to: false }])
    expect(d.notCompared).toEqual([])
  })
})
