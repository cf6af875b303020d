import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Census from "@homelab-mcp/core/census/Census"
import type { CensusDocument, Depth, Guest } from "@homelab-mcp/core/census/Document"
import { sectionNames } from "@homelab-mcp/core/census/Document"
import { censusDefaults } from "@homelab-mcp/core/census/Settings"
import * as F from "./fixtures.js"

const run = (fake: F.FakeApi, depth: Depth = "summary", sections = sectionNames as ReadonlyArray<(typeof sectionNames)[number]>, settings = censusDefaults) =>
  Census.collect({ sections, depth, tier: "observe", host: "192.168.1.10" }, settings).pipe(Effect.provide(F.layer(fake)))

/** Every key path of a value; guest arrays are keyed by vmid, other arrays by index. */
export const keyPaths = (value: unknown, prefix = ""): Set<string> => {
  const out = new Set<string>()
  const walk = (v: unknown, p: string) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        const id = typeof x === "object" && x !== null && "vmid" in x ? `vmid=${(x as { vmid: number }).vmid}` : String(i)
        walk(x, `${p}[${id}]`)
      })
    } else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        out.add(`${p}.${k}`)
        walk(x, `${p}.${k}`)
      }
    }
  }
  walk(value, prefix)
  return out
}

const guests = (doc: CensusDocument, s: "containers" | "vms") => doc.sections[s] as ReadonlyArray<Guest>

describe("Census.collect at observe", () => {
  it.effect("summary: API sections, SSH sections unavailable at tier, no per-guest requests, never /apt/update", () =>
    Effect.gen(function* () {
      const fake = F.makeFake()
      const { doc, producedAny } = yield* run(fake)
      expect(producedAny).toBe(true)
      expect(doc.errors).toEqual([])
      expect(doc.requested).toEqual(sectionNames)
      expect(doc.sections.services).toMatchObject({ unavailableAtTier: "companion" })
      expect(doc.sections.tailscale).toMatchObject({ unavailableAtTier: "companion" })
      expect(guests(doc, "containers")).toEqual([
        { vmid: 100, name: "dns", status: "running" },
        { vmid: 101, name: "docker", status: "running" },
        { vmid: 102, name: "lab-alpine", status: "stopped" }
      ])
      expect(doc.sections.node?.version).toBe("9.1.1")
      expect(fake.events.some((e) => e.includes("/config"))).toBe(false)
      expect(fake.events.some((e) => e.includes("/apt/"))).toBe(false)
    })
  )

  it.effect("status: per-guest state, snapshot capability and agent state", () =>
    Effect.gen(function* () {
      const fake = F.makeFake()
      const { doc } = yield* run(fake, "status")
      const [dns, docker, alpine] = guests(doc, "containers")
      expect(dns).toEqual({
        vmid: 100, name: "dns", status: "running", template: false, tags: ["infra", "dns"], uptimeSecs: 86_400, cpus: 1,
        maxmemBytes: 536_870_912, onboot: true, snapshotCapable: { capable: true }
      })
      expect(docker?.snapshotCapable?.capable).toBe(false)
      expect(alpine?.snapshotCapable).toEqual({ capable: false, reason: "root disk rootfs on dir storage local" })
      expect(guests(doc, "vms")[0]?.agent).toEqual({ configured: true, running: true })
      expect(fake.events.filter((e) => e === "GET /nodes/pve/storage")).toHaveLength(1)
    })
  )

  it.effect("full: configs with digest removed and keys sorted (redaction happens on the final document)", () =>
    Effect.gen(function* () {
      const { doc } = yield* run(F.makeFake(), "full")
      const cfg = guests(doc, "containers")[0]!.config!
      expect(cfg["digest"]).toBeUndefined()
      expect(Object.keys(cfg)).toEqual([...Object.keys(cfg)].sort())
    })
  )

  it.effect("depth is monotonic: summary ⊆ status ⊆ full for every section (A3)", () =>
    Effect.gen(function* () {
      const docs = []
      for (const depth of ["summary", "status", "full"] as const) docs.push((yield* run(F.makeFake(), depth)).doc)
      for (const section of sectionNames) {
        const [a, b, c] = docs.map((d) => keyPaths(d.sections[section], section))
        for (const p of a!) expect(b!.has(p), `${p} missing at status`).toBe(true)
        for (const p of b!) expect(c!.has(p), `${p} missing at full`).toBe(true)
      }
      expect(keyPaths(docs[0]!.sections.containers).size).toBeLessThan(keyPaths(docs[1]!.sections.containers).size)
    })
  )

  it.effect("a 300-guest lab keeps 200 with a truncation of omitted 100 and fetches only the kept configs (A4)", () =>
    Effect.gen(function* () {
      const fake = F.makeFake(F.generatedLab(300))
      const { doc } = yield* run(fake, "status", ["containers"])
      expect(guests(doc, "containers")).toHaveLength(200)
      expect(doc.truncated).toBe(true)
      expect(doc.truncations).toEqual([{ section: "containers", reason: "more than 200 items; kept the first 200", omitted: 100 }])
      expect(fake.events.filter((e) => e.endsWith("/config"))).toHaveLength(200)
    })
  )

  it.effect("a 403 is a section error naming the privilege; other sections continue", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/status", () => F.forbidden("/nodes/pve", "Sys.Audit"))
      const { doc, producedAny } = yield* run(F.makeFake(routes))
      expect(producedAny).toBe(true)
      expect(doc.sections.node).toBeUndefined()
      expect(doc.errors).toEqual([
        { section: "node", probe: "node-status", error: expect.stringContaining("lacks Sys.Audit on /nodes/pve") }
      ])
      expect(doc.sections.storage).toHaveLength(4)
    })
  )

  it.effect("a failed ZFS probe keeps the node section with zpool null and an error", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/disks/zfs", () => F.forbidden("/", "Sys.Audit"))
      const { doc } = yield* run(F.makeFake(routes), "summary", ["node"])
      expect(doc.sections.node?.zpool).toBeNull()
      expect(doc.sections.node?.cpu).toBe(16)
      expect(doc.errors[0]).toMatchObject({ section: "node", probe: "zfs" })
    })
  )

  it.effect("a failed guest config keeps the guest's summary fields and reports the guest", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/lxc/101/config", () => F.forbidden("/vms/101", "VM.Audit"))
      const { doc } = yield* run(F.makeFake(routes), "status", ["containers"])
      expect(guests(doc, "containers")[1]?.snapshotCapable).toBeUndefined()
      expect(doc.errors).toEqual([{ section: "containers", probe: "config:101", error: expect.stringContaining("VM.Audit") }])
    })
  )

  it.effect("agent ping refused (403) reads running:null with the privilege; a silent agent reads false", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("POST /nodes/pve/qemu/200/agent/ping", () => F.forbidden("/vms/200", "VM.GuestAgent.Audit"))
      const a = yield* run(F.makeFake(routes), "status", ["vms"])
      expect(guests(a.doc, "vms")[0]?.agent).toEqual({ configured: true, running: null, reason: expect.stringContaining("VM.GuestAgent.Audit") })
    })
  )

  it.effect("nothing produced: the first error is returned for the tool to fail with", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/lxc", () => F.forbidden("/vms", "VM.Audit"))
      const r = yield* run(F.makeFake(routes), "summary", ["containers"])
      expect(r.producedAny).toBe(false)
      expect(r.firstError?._tag).toBe("ApiForbidden")
    })
  )

  it.effect("the budget is a deadline: a slow section is incomplete, the rest is returned", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/network", () => Effect.as(Effect.sleep("1 hour"), F.network))
      const fiber = yield* Effect.fork(run(F.makeFake(routes), "summary", ["network", "storage"], { ...censusDefaults, budgetMs: 500, probeTimeoutMs: 10_000 }))
      yield* TestClock.adjust("1 second")
      const { doc } = yield* Fiber.join(fiber)
      expect(doc.incompleteSections).toEqual(["network"])
      expect(doc.sections.storage).toHaveLength(4)
      expect(doc.errors).toEqual([])
    })
  )

  it.effect("a probe timeout is an error naming the time, not an incomplete section", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/network", () => Effect.as(Effect.sleep("1 hour"), F.network))
      const fiber = yield* Effect.fork(run(F.makeFake(routes), "summary", ["network"], { ...censusDefaults, probeTimeoutMs: 100 }))
      yield* TestClock.adjust("1 second")
      const { doc } = yield* Fiber.join(fiber)
      expect(doc.incompleteSections).toEqual([])
      expect(doc.errors).toEqual([{ section: "network", probe: "network", error: "timed out after 100 ms (MCP_*_PROBE_TIMEOUT_MS)" }])
    })
  )
})

/** Runs `eff` under the TestClock in 1 ms steps; returns the virtual wall time. */
const virtualMs = <A, E, R>(eff: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(eff)
    for (let ms = 0; ms < 100_000; ms++) {
      yield* Effect.yieldNow()
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return { ms, exit: done.value }
      yield* TestClock.adjust(1)
    }
    throw new Error("did not finish")
  })

describe("Census.collect request scheduling (ADR 0080)", () => {
  it.effect("summary: every section's requests start together, so the wall time is one round trip", () =>
    Effect.gen(function* () {
      const fake = F.makeFake()
      fake.latencyMs = 20
      const { ms } = yield* virtualMs(run(fake))
      expect(ms).toBeGreaterThanOrEqual(20)
      expect(ms).toBeLessThanOrEqual(40) // within 2x of the critical path (1 request)
    })
  )
  it.effect("status on 100 guests: per-guest configs fan out under the bound, near the list → config floor", () =>
    Effect.gen(function* () {
      const fake = F.makeFake(F.generatedLab(100))
      fake.latencyMs = 20
      const { ms } = yield* virtualMs(run(fake, "status", sectionNames, { ...censusDefaults, apiConcurrency: 32 }))
      expect(fake.maxInFlight).toBeLessThanOrEqual(32)
      expect(fake.maxInFlight).toBeGreaterThanOrEqual(16)
      // list (1 round) + ceil(100 / 32) config rounds, with the bound; never serial (100 rounds).
      expect(ms).toBeGreaterThanOrEqual(20 * (1 + Math.ceil(100 / 32)))
      expect(ms).toBeLessThanOrEqual(20 * (1 + Math.ceil(100 / 32)) + 20)
    })
  )
  it.effect("critical path first: running VMs' configs go out before stopped VMs', and VMs' before containers'", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      const vms = [203, 200, 201, 202].map((vmid) => ({ vmid, name: `vm-${vmid}`, status: vmid % 2 === 0 ? "stopped" : "running", cpus: 1, maxmem: 1024, uptime: 0 }))
      const cts = [100, 101, 102, 103].map((vmid) => ({ vmid, name: `ct-${vmid}`, status: "running", type: "lxc", cpus: 1, maxmem: 1024, uptime: 1 }))
      routes.set("GET /nodes/pve/qemu", vms)
      routes.set("GET /nodes/pve/lxc", cts)
      for (const g of vms) {
        routes.set(`GET /nodes/pve/qemu/${g.vmid}/config`, { name: g.name, scsi0: `local-lvm:vm-${g.vmid}-disk-0,size=8G`, agent: "1", digest: "x" })
        routes.set(`POST /nodes/pve/qemu/${g.vmid}/agent/ping`, { result: {} })
      }
      for (const g of cts) routes.set(`GET /nodes/pve/lxc/${g.vmid}/config`, { hostname: g.name, rootfs: `local-lvm:vm-${g.vmid}-disk-0,size=8G`, digest: "x" })
      const fake = F.makeFake(routes)
      fake.latencyMs = 20
      // a bound of 1 makes the order of dispatch the order of the request log
      const fiber = yield* Effect.fork(run(fake, "status", sectionNames, { ...censusDefaults, apiConcurrency: 1 }))
      yield* TestClock.adjust("10 seconds")
      const { doc } = yield* Fiber.join(fiber)
      const configs = fake.events.filter((e) => e.endsWith("/config")).map((e) => Number(/\/(\d+)\/config$/.exec(e)![1]))
      expect(configs).toEqual([201, 203, 200, 202, 100, 101, 102, 103])
      expect(guests(doc, "vms").map((g) => g.vmid)).toEqual([200, 201, 202, 203])
      expect(guests(doc, "containers").map((g) => g.vmid)).toEqual([100, 101, 102, 103])
    })
  )
  it.effect("containers never wait on a VM list that failed", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/qemu", () => F.forbidden("/vms", "VM.Audit"))
      const fake = F.makeFake(routes)
      const { doc } = yield* run(fake, "status")
      expect(guests(doc, "containers").map((g) => g.vmid)).toEqual([100, 101, 102])
      expect(doc.errors.map((e) => e.section)).toContain("vms")
    })
  )
  it.effect("with a bound at least the guest count, status stays within 2x of the critical path (list → config → ping)", () =>
    Effect.gen(function* () {
      const fake = F.makeFake()
      fake.latencyMs = 20
      const { ms } = yield* virtualMs(run(fake, "status"))
      expect(ms).toBeLessThanOrEqual(2 * 3 * 20)
    })
  )
})
