import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ssh from "@homelab-mcp/core/census/Ssh"
import { healthDefaults } from "@homelab-mcp/core/census/Settings"
import * as Health from "@homelab-mcp/core/health/Health"
import { healthSections, type HealthSection } from "@homelab-mcp/core/health/Rules"
import * as F from "../census/fixtures.js"
import { type Answer, nodeShell } from "./fixtures.js"

const listsMtime = 1_763_640_000 // 2025-11-20T12:00:00Z

const shell = (over: ReadonlyArray<readonly [ReadonlyArray<string>, Answer]> = []) =>
  nodeShell(over, {
    apt: "NOTE: simulation\nInst libc6 [2.41-1] (2.41-2 Debian:13)\nInst tzdata [2025a] (2025b Debian:13)\nConf libc6 (2.41-2)\n",
    listsMtime
  })

const run = (sh: F.FakeShell | null, sections: ReadonlyArray<HealthSection> = healthSections, includePseudoFs = false) =>
  Health.check({ sections, includePseudoFs, tier: "companion" }, healthDefaults).pipe(
    Effect.provide(sh === null ? F.layer(F.makeFake()) : Layer.merge(F.layer(F.makeFake()), F.shellLayer(sh)))
  )

describe("Health.check at companion", () => {
  it.effect("adds fs:, failed-units and updates (asOf = package lists' mtime; never apt update) (E3)", () =>
    Effect.gen(function* () {
      const sh = shell()
      const r = yield* run(sh)
      expect(r.unavailable).toEqual([])
      expect(r.errors).toEqual([])
      expect(r.complete).toBe(true)
      expect(r.findings.map((f) => f.check)).toEqual([
        "load", "memory", "zfs",
        "store:backups", "store:local", "store:local-lvm", "store:tank", "fs:/", "fs:/etc/pve", "fs:/tank/media my films",
        "onboot-guests",
        "pve-services", "failed-units",
        "updates"
      ])
      expect(r.findings.find((f) => f.check === "updates")).toEqual({
        section: "updates", check: "updates", status: "ok", value: 2, warnAt: 50, asOf: new Date(listsMtime * 1000).toISOString(),
        finding: expect.stringContaining("never runs apt update")
      })
      expect(r.hiddenFindings).toEqual({ count: 2, worst: "crit" })
      expect(r.status).toBe("warn")
      expect(sh.events.some((e) => /apt(-get)? update/.test(e))).toBe(false)
    })
  )

  it.effect("includePseudoFs shows /run/lock and the status becomes crit (A2)", () =>
    Effect.gen(function* () {
      const r = yield* run(shell(), ["storage"], true)
      expect(r.findings.find((f) => f.check === "fs:/run/lock")).toMatchObject({ status: "crit" })
      expect(r.status).toBe("crit")
      expect(r.hiddenFindings).toBeUndefined()
    })
  )

  it.effect("a failed unit in MCP_HEALTH_FAILED_UNITS_CRIT is crit", () =>
    Effect.gen(function* () {
      const r = yield* Health.check({ sections: ["units"], includePseudoFs: false, tier: "root" }, { ...healthDefaults, failedUnitsCrit: ["zfs-import-cache"] }).pipe(
        Effect.provide(Layer.merge(F.layer(F.makeFake()), F.shellLayer(shell([[Ssh.failedUnitsArgv, { exitCode: 0, stdout: "zfs-import-cache.service loaded failed failed Import ZFS pools\n" }]]))))
      )
      expect(r.findings.find((f) => f.check === "failed-units")).toMatchObject({ status: "crit", detail: ["zfs-import-cache.service"] })
      expect(r.status).toBe("crit")
    })
  )

  it.effect("an SSH failure is a section error (complete:false); without a NodeShell too", () =>
    Effect.gen(function* () {
      const r = yield* run(shell([[Ssh.aptListsMtimeArgv, { exitCode: 1, stdout: "", stderr: "stat: cannot statx" }]]), ["updates"])
      expect(r.complete).toBe(false)
      expect(r.errors).toEqual([{ section: "updates", probe: "updates", error: expect.stringContaining("CommandFailed") }])
      const none = yield* run(null, ["updates", "node"])
      expect(none.errors).toEqual([{ section: "updates", probe: "updates", error: expect.stringContaining("SSH is not configured") }])
      expect(none.findings.map((f) => f.check)).toEqual(["load", "memory", "zfs"])
    })
  )
})
