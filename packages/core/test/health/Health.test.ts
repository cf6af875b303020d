import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { healthDefaults } from "@homelab-mcp/core/census/Settings"
import * as Health from "@homelab-mcp/core/health/Health"
import { healthSections, type HealthSection } from "@homelab-mcp/core/health/Rules"
import type { Tier } from "@homelab-mcp/core/Tier"
import * as F from "../census/fixtures.js"

const run = (fake: F.FakeApi, sections: ReadonlyArray<HealthSection> = healthSections, tier: Tier = "observe") =>
  Health.check({ sections, includePseudoFs: false, tier }, healthDefaults).pipe(Effect.provide(F.layer(fake)))

describe("Health.check below companion", () => {
  it.effect("the default lab: API checks only, updates and failed-units unavailable, never /apt/update (E2)", () =>
    Effect.gen(function* () {
      for (const tier of ["observe", "operate"] as const) {
        const fake = F.makeFake()
        const r = yield* run(fake, healthSections, tier)
        expect(r.tier).toBe(tier)
        expect(r.findings.map((f) => [f.check, f.status])).toEqual([
          ["load", "ok"],
          ["memory", "ok"],
          ["zfs", "ok"],
          ["store:backups", "ok"],
          ["store:local", "ok"],
          ["store:local-lvm", "ok"],
          ["store:tank", "ok"],
          ["onboot-guests", "warn"],
          ["pve-services", "ok"]
        ])
        expect(r.status).toBe("warn")
        expect(r.complete).toBe(true)
        expect(r.unavailable).toEqual([
          { section: "storage", check: "fs", unavailableAtTier: "companion", reason: expect.stringContaining("SSH") },
          { section: "units", check: "failed-units", unavailableAtTier: "companion", reason: expect.stringContaining("SSH") },
          { section: "updates", check: "updates", unavailableAtTier: "companion", reason: expect.stringContaining("Sys.Modify") }
        ])
        expect(fake.events.filter((e) => e.includes("/apt/"))).toEqual([])
        // Only the stopped, non-template guest's config is read for onboot.
        expect(fake.events.filter((e) => e.endsWith("/config"))).toEqual(["GET /nodes/pve/lxc/102/config"])
      }
    })
  )

  it.effect("a 403 is a section error naming the privilege; complete is false; other sections still judged", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/services", () => F.forbidden("/nodes/pve", "Sys.Audit"))
      const r = yield* run(F.makeFake(routes), ["node", "units"])
      expect(r.complete).toBe(false)
      expect(r.errors).toEqual([{ section: "units", probe: "pve-services", error: expect.stringContaining("lacks Sys.Audit on /nodes/pve") }])
      expect(r.findings.map((f) => f.check)).toEqual(["load", "memory", "zfs"])
      expect(r.status).toBe("ok")
    })
  )

  it.effect("a missing CPU count is a section error, not a guess", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/status", { ...F.nodeStatus, cpuinfo: { model: "x" } })
      const r = yield* run(F.makeFake(routes), ["node"])
      expect(r.findings.map((f) => f.check)).toEqual(["memory", "zfs"])
      expect(r.errors).toEqual([{ section: "node", probe: "load", error: expect.stringContaining("no CPU count") }])
      expect(r.complete).toBe(false)
    })
  )

  it.effect("a degraded pool is crit; only requested sections are probed", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/disks/zfs", [{ ...F.zfs[0]!, health: "DEGRADED" }])
      const fake = F.makeFake(routes)
      const r = yield* run(fake, ["node"])
      expect(r.status).toBe("crit")
      expect(r.unavailable).toEqual([])
      expect(fake.events.sort()).toEqual(["GET /nodes/pve/disks/zfs", "GET /nodes/pve/status"])
    })
  )
})
