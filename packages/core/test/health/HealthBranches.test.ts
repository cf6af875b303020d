/**
 * health_check on the paths the main tests do not take (census-health.md §2): a companion tier without
 * a NodeShell, a failed ZFS probe, guests that are templates only in their config or have no name,
 * unparseable df lines and package-list mtimes, probe timeouts versus the time budget; and the rules'
 * wording and edge values (singular/plural, missing figures, empty inputs).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Pve from "@homelab-mcp/core/census/Pve"
import { healthDefaults, type HealthSettings } from "@homelab-mcp/core/census/Settings"
import * as Ssh from "@homelab-mcp/core/census/Ssh"
import * as Health from "@homelab-mcp/core/health/Health"
import * as Rules from "@homelab-mcp/core/health/Rules"
import type { HealthSection } from "@homelab-mcp/core/health/Rules"
import type { Tier } from "@homelab-mcp/core/Tier"
import * as F from "../census/fixtures.js"
import { type Answer, dfFixture, nodeShell } from "./fixtures.js"

const s = healthDefaults

const shell = (over: ReadonlyArray<readonly [ReadonlyArray<string>, Answer]> = []) =>
  nodeShell(over, { apt: "Inst libc6 [2.41-1] (2.41-2 Debian:13)\n" })

const run = (
  routes: F.Routes,
  sections: ReadonlyArray<HealthSection>,
  opts: { tier?: Tier; sh?: F.FakeShell; settings?: HealthSettings } = {}
) =>
  Health.check({ sections, includePseudoFs: false, tier: opts.tier ?? "observe" }, opts.settings ?? healthDefaults).pipe(
    Effect.provide(opts.sh === undefined ? F.layer(F.makeFake(routes)) : Layer.merge(F.layer(F.makeFake(routes)), F.shellLayer(opts.sh)))
  )

describe("Health.check: isolation and errors", () => {
  it.effect("companion without a NodeShell: df and failed-units are section errors, the API checks still run", () =>
    Effect.gen(function* () {
      const r = yield* run(F.defaultRoutes(), ["storage", "units"], { tier: "companion" })
      expect(r.unavailable).toEqual([])
      expect(r.complete).toBe(false)
      expect(r.errors).toEqual([
        { section: "storage", probe: "df", error: expect.stringContaining("SSH is not configured") },
        { section: "units", probe: "failed-units", error: expect.stringContaining("SSH is not configured") }
      ])
      expect(r.findings.map((f) => f.check)).toEqual(["store:backups", "store:local", "store:local-lvm", "store:tank", "pve-services"])
      expect(r.status).toBe("ok")
    })
  )

  it.effect("a failed ZFS probe is a node error naming Sys.Audit on /; load and memory are still judged", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/disks/zfs", () => F.forbidden("/", "Sys.Audit"))
      const r = yield* run(routes, ["node"])
      expect(r.findings.map((f) => f.check)).toEqual(["load", "memory"])
      expect(r.errors).toEqual([{ section: "node", probe: "zfs", error: expect.stringContaining("Sys.Audit on /") }])
      expect(r.complete).toBe(false)
    })
  )

  it.effect("a missing 1-minute load average is an error; memory and zfs still produce findings", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      const { loadavg: _drop, ...noLoad } = F.nodeStatus
      routes.set("GET /nodes/pve/status", noLoad)
      const r = yield* run(routes, ["node"])
      expect(r.findings.map((f) => f.check)).toEqual(["memory", "zfs"])
      expect(r.errors).toEqual([{ section: "node", probe: "load", error: expect.stringContaining("1-minute load average") }])
    })
  )

  it.effect("guests: a config-only template is skipped, a nameless VM is named by vmid, a failed config is a guests error", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/lxc", [
        ...F.lxcList,
        { vmid: 103, name: "denied", status: "stopped" },
        { vmid: 104, name: "tpl", status: "stopped" }
      ])
      routes.set("GET /nodes/pve/qemu", [...F.qemuList, { vmid: 300, status: "stopped" }, { vmid: 301, status: "stopped", template: 1 }])
      routes.set("GET /nodes/pve/lxc/103/config", () => F.forbidden("/vms/103", "VM.Audit"))
      routes.set("GET /nodes/pve/lxc/104/config", { template: 1, onboot: 1 })
      routes.set("GET /nodes/pve/qemu/300/config", { onboot: 1, scsi0: "local-lvm:vm-300-disk-0" })
      const fake = F.makeFake(routes)
      const r = yield* Health.check({ sections: ["guests"], includePseudoFs: false, tier: "observe" }, healthDefaults).pipe(Effect.provide(F.layer(fake)))
      expect(r.findings).toEqual([
        {
          section: "guests",
          check: "onboot-guests",
          status: "warn",
          finding: "2 guests set to start on boot are not running.",
          value: 2,
          warnAt: 1,
          detail: ["CT 102 (lab-alpine) is stopped", "VM 300 (300) is stopped"]
        }
      ])
      expect(r.errors).toEqual([{ section: "guests", probe: "config:103", error: expect.stringContaining("VM.Audit") }])
      // The list-flagged template (301) is never asked for its config.
      expect(fake.events.filter((e) => e.endsWith("/config")).sort()).toEqual([
        "GET /nodes/pve/lxc/102/config",
        "GET /nodes/pve/lxc/103/config",
        "GET /nodes/pve/lxc/104/config",
        "GET /nodes/pve/qemu/300/config"
      ])
    })
  )
})

describe("Health.check at companion: df and updates parsing", () => {
  it.effect("unparseable df lines are a storage error; the parseable mounts are still judged", () =>
    Effect.gen(function* () {
      const sh = shell([[Ssh.dfArgv, { exitCode: 0, stdout: `${dfFixture}\ndf: /mnt/stale: Stale file handle\n` }]])
      const r = yield* run(F.defaultRoutes(), ["storage"], { tier: "companion", sh })
      expect(r.errors).toEqual([{ section: "storage", probe: "df", error: "1 df line(s) could not be parsed" }])
      expect(r.findings.filter((f) => f.check.startsWith("fs:")).map((f) => f.check)).toEqual(["fs:/", "fs:/etc/pve", "fs:/tank/media my films"])
      expect(r.complete).toBe(false)
    })
  )

  it.effect("df exiting non-zero with output is still read (one unreadable mount)", () =>
    Effect.gen(function* () {
      const sh = shell([[Ssh.dfArgv, { exitCode: 1, stdout: "Filesystem Type Mounted on 1B-blocks Used Avail\n/dev/sda1 ext4 / 1000 950 50\n", stderr: "df: /mnt/nfs: Permission denied" }]])
      const r = yield* run(F.defaultRoutes(), ["storage"], { tier: "companion", sh })
      expect(r.errors).toEqual([])
      expect(r.findings.find((f) => f.check === "fs:/")).toMatchObject({ status: "crit", value: 95 })
    })
  )

  for (const [label, mtime] of [
    ["not a number", "stat: cannot statx '/var/lib/apt/lists'"],
    ["zero", "0"]
  ] as const) {
    it.effect(`a package-list mtime that is ${label} is an updates error, not a guessed date`, () =>
      Effect.gen(function* () {
        const sh = shell([[Ssh.aptListsMtimeArgv, { exitCode: 0, stdout: `${mtime}\n` }]])
        const r = yield* run(F.defaultRoutes(), ["updates"], { tier: "companion", sh })
        expect(r.findings).toEqual([])
        expect(r.errors).toEqual([{ section: "updates", probe: "apt-lists-mtime", error: `unexpected mtime ${JSON.stringify(mtime.slice(0, 40))}` }])
        expect(r.complete).toBe(false)
        expect(r.status).toBe("ok")
      })
    )
  }
})

describe("Health.check: probe timeout versus the time budget", () => {
  const slowServices = () => {
    const routes = F.defaultRoutes()
    routes.set("GET /nodes/pve/services", () => Effect.as(Effect.sleep("1 hour"), F.services))
    return routes
  }

  it.effect("a probe slower than its timeout is an error naming the timeout", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(run(slowServices(), ["node", "units"], { settings: { ...healthDefaults, probeTimeoutMs: 100 } }))
      yield* TestClock.adjust("1 second")
      const r = yield* Fiber.join(fiber)
      expect(r.errors).toEqual([{ section: "units", probe: "pve-services", error: "timed out after 100 ms (MCP_*_PROBE_TIMEOUT_MS)" }])
      expect(r.findings.map((f) => f.check)).toEqual(["load", "memory", "zfs"])
      expect(r.complete).toBe(false)
    })
  )

  it.effect("a probe cut by the budget is reported as skipped, and the rest is returned", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(run(slowServices(), ["node", "units"], { settings: { ...healthDefaults, budgetMs: 500 } }))
      yield* TestClock.adjust("1 second")
      const r = yield* Fiber.join(fiber)
      expect(r.errors).toEqual([{ section: "units", probe: "pve-services", error: "skipped: the time budget (MCP_CENSUS_BUDGET_MS) ran out" }])
      expect(r.findings.map((f) => f.check)).toEqual(["load", "memory", "zfs"])
      expect(r.complete).toBe(false)
    })
  )
})

describe("Rules: missing figures and empty inputs", () => {
  const status = (over: Record<string, unknown>) => Schema.decodeUnknownSync(Pve.NodeStatus)({ ...F.nodeStatus, ...over })

  it("load without a load average (absent or empty) is an error", () => {
    expect(Rules.load(status({ loadavg: [] }), s)).toEqual({ _tag: "RuleError", check: "load", message: "the node status has no 1-minute load average" })
    const { loadavg: _drop, ...rest } = status({})
    expect(Rules.load(rest, s)).toMatchObject({ _tag: "RuleError", check: "load" })
  })

  it("memory without a used figure is an error, not 0 %", () => {
    expect(Rules.memory(status({ memory: { total: 1000 } }), s)).toEqual({
      _tag: "RuleError",
      check: "memory",
      message: "the node status has no used-memory figure"
    })
  })

  it("an enabled, active store without usable figures gets no percentage finding", () => {
    const entries = Schema.decodeUnknownSync(Pve.StorageList)([
      { storage: "pbs", type: "pbs", active: 1, enabled: 1 },
      { storage: "empty", type: "dir", active: 1, enabled: 1, used: 0, avail: 0 },
      { storage: "half", type: "dir", active: 1, enabled: 1, used: 0 }
    ])
    expect(Rules.stores(entries, s)).toEqual([])
  })

  it("df rows without used/avail figures are skipped; rows on the same mount keep their order", () => {
    const rows = [
      { source: "a", fstype: "ext4", target: "/srv", sizeBytes: 100, usedBytes: 10, availBytes: 90 },
      { source: "nfs:/x", fstype: "nfs4", target: "/mnt/nfs", sizeBytes: null, usedBytes: null, availBytes: null },
      { source: "b", fstype: "ext4", target: "/srv", sizeBytes: 100, usedBytes: 95, availBytes: 5 },
      { source: "c", fstype: "ext4", target: "/data", sizeBytes: 0, usedBytes: 0, availBytes: 0 }
    ]
    const rated = Rules.filesystems(rows, s)
    expect(rated.map((r) => [r.finding.check, r.finding.status, r.pseudo])).toEqual([
      ["fs:/srv", "ok", false],
      ["fs:/srv", "crit", false]
    ])
    expect(rated[1]?.finding.finding).toBe("/srv (ext4 on b) is 95 % full.")
  })

  it("a rollup whose hidden findings are all ok reports them with count 0 and worst ok", () => {
    const rated = Rules.filesystems([{ source: "tmpfs", fstype: "tmpfs", target: "/run", sizeBytes: 100, usedBytes: 1, availBytes: 99 }], s)
    expect(Rules.rollup(rated, false)).toEqual({ status: "ok", findings: [], hiddenFindings: { count: 0, worst: "ok" } })
    expect(Rules.rollup([], false)).toEqual({ status: "ok", findings: [], hiddenFindings: null })
  })

  it("worse and worst order ok < warn < crit", () => {
    expect(Rules.worse("warn", "ok")).toBe("warn")
    expect(Rules.worse("ok", "crit")).toBe("crit")
    expect(Rules.worst([])).toBe("ok")
    expect(Rules.worst(["ok", "crit", "warn"])).toBe("crit")
  })
})

describe("Rules: finding wording and details", () => {
  it("zfs: one and several healthy pools, and several unhealthy ones", () => {
    expect(Rules.zfs([{ name: "rpool", health: "ONLINE" }])).toEqual({
      section: "node",
      check: "zfs",
      status: "ok",
      finding: "1 ZFS pool ONLINE.",
      detail: ["rpool: ONLINE"]
    })
    expect(Rules.zfs([{ name: "tank", health: "ONLINE" }, { name: "rpool", health: "ONLINE" }])).toMatchObject({
      status: "ok",
      finding: "2 ZFS pools ONLINE.",
      detail: ["rpool: ONLINE", "tank: ONLINE"]
    })
    expect(Rules.zfs([{ name: "b", health: "FAULTED" }, { name: "a", health: "UNAVAIL" }]).finding).toBe("Pool b is FAULTED; Pool a is UNAVAIL.")
    expect("detail" in Rules.zfs([])).toBe(false)
    expect(Rules.zfs([]).finding).toBe("No ZFS pools.")
  })

  it("onboot-guests: nothing down is ok without value or detail; several down are listed by vmid", () => {
    expect(Rules.onbootGuests([{ vmid: 1, kind: "CT", name: "a", status: "running", onboot: true }])).toEqual({
      section: "guests",
      check: "onboot-guests",
      status: "ok",
      finding: "Every guest set to start on boot is running."
    })
    expect(Rules.onbootGuests([])).toMatchObject({ status: "ok" })
    const f = Rules.onbootGuests([
      { vmid: 300, kind: "VM", name: "win", status: "paused", onboot: true },
      { vmid: 105, kind: "CT", name: "db", status: "stopped", onboot: true }
    ])
    expect(f).toMatchObject({
      status: "warn",
      finding: "2 guests set to start on boot are not running.",
      value: 2,
      detail: ["CT 105 (db) is stopped", "VM 300 (win) is paused"]
    })
    expect(Rules.onbootGuests([{ vmid: 105, kind: "CT", name: "db", status: "stopped", onboot: true }]).finding).toBe(
      "1 guest set to start on boot is not running."
    )
  })

  it("pve-services: several down are counted in the plural; missing states read 'unknown'", () => {
    const svc = Schema.decodeUnknownSync(Pve.ServiceList)([
      { service: "pveproxy", "unit-state": "enabled" },
      { service: "pvedaemon", state: "failed", "active-state": "failed", "unit-state": "enabled" },
      { service: "spiceproxy", state: "dead", "active-state": "inactive", "unit-state": "disabled" }
    ])
    expect(Rules.pveServices(svc, true, [])).toEqual({
      section: "units",
      check: "pve-services",
      status: "warn",
      finding: "2 enabled Proxmox services are not active.",
      value: 2,
      detail: ["pvedaemon: failed/failed", "pveproxy: unknown/unknown"]
    })
    expect(Rules.pveServices(svc.slice(1), true, []).finding).toBe("1 enabled Proxmox service is not active.")
  })

  it("pve-services: corosync counts on a cluster node and is crit when listed", () => {
    const svc = Schema.decodeUnknownSync(Pve.ServiceList)([{ service: "corosync", state: "dead", "active-state": "inactive", "unit-state": "enabled" }])
    expect(Rules.pveServices(svc, false, ["corosync.service"])).toMatchObject({ status: "crit", value: 1 })
    expect(Rules.pveServices(svc, true, ["corosync"])).toMatchObject({ status: "ok" })
  })

  it("failed-units: singular and plural, details sorted", () => {
    expect(Rules.failedUnits(["a.service"], [])).toEqual({
      section: "units",
      check: "failed-units",
      status: "warn",
      finding: "1 failed systemd unit.",
      value: 1,
      detail: ["a.service"]
    })
    expect(Rules.failedUnits(["z.service", "b.mount"], [])).toMatchObject({ finding: "2 failed systemd units.", detail: ["b.mount", "z.service"] })
    expect(Rules.failedUnits([], [])).toEqual({ section: "units", check: "failed-units", status: "ok", finding: "No failed systemd units." })
  })

  it("updates: one pending upgrade is singular; none is ok", () => {
    expect(Rules.updates(1, "2026-01-01T00:00:00.000Z", s).finding).toBe(
      "1 pending upgrade as of the node's last apt update (2026-01-01T00:00:00.000Z); this tool never runs apt update."
    )
    expect(Rules.updates(0, "t", s)).toMatchObject({ status: "ok", value: 0, finding: expect.stringMatching(/^0 pending upgrades /) })
  })

  it("classify rounds float noise before comparing, and ignores absent thresholds", () => {
    expect(Rules.classify(0.1 + 0.7, 0.8, 1.5)).toBe("warn")
    expect(Rules.classify(89.9999999, 80, 90)).toBe("crit")
    expect(Rules.classify(1e9, undefined, undefined)).toBe("ok")
  })
})
