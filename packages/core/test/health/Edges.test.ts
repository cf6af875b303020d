/**
 * health_check edges found by mutation testing (docs/mutation-testing.md): which section, probe and
 * privilege a failed row names, a two-node cluster counting corosync, requests that go out together,
 * long mtimes capped in the error, the report's schemas; and in the rules: a missing cpuinfo or memory
 * object, zero CPUs, a NaN load, the exact wording of every finding, sort orders of several entries,
 * half-known usage figures, a crit unit among others; in df: mount points ending in a number, the
 * header words inside a mount point, every pseudo type and root.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import * as Pve from "@homelab-mcp/core/census/Pve"
import { healthDefaults, type HealthSettings } from "@homelab-mcp/core/census/Settings"
import * as Ssh from "@homelab-mcp/core/census/Ssh"
import { ApiForbidden, ApiServerError } from "@homelab-mcp/core/Errors"
import * as Df from "@homelab-mcp/core/health/Df"
import * as Health from "@homelab-mcp/core/health/Health"
import * as Rules from "@homelab-mcp/core/health/Rules"
import type { HealthSection } from "@homelab-mcp/core/health/Rules"
import type { Tier } from "@homelab-mcp/core/Tier"
import * as F from "../census/fixtures.js"
import { type Answer, nodeShell } from "./fixtures.js"

const s = healthDefaults

/** A 403 whose body names no privilege: the error text falls back to the row's own privilege. */
const unnamed403 = (path: string) => () => Effect.fail(new ApiForbidden({ path, privileges: [], reason: "Permission check failed" }))

const shell = (over: ReadonlyArray<readonly [ReadonlyArray<string>, Answer]> = []) => nodeShell(over)

const run = (
  fake: F.FakeApi,
  sections: ReadonlyArray<HealthSection>,
  opts: { tier?: Tier; shell?: Layer.Layer<NodeShell>; settings?: HealthSettings } = {}
) =>
  Health.check({ sections, includePseudoFs: false, tier: opts.tier ?? "observe" }, opts.settings ?? healthDefaults).pipe(
    Effect.provide(opts.shell === undefined ? F.layer(fake) : Layer.merge(F.layer(fake), opts.shell))
  )

describe("Health.check: what a failed row names", () => {
  it.effect("each API row's 403 without named privileges names the row's section, probe and privilege", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/status", unnamed403("/nodes/pve/status"))
      routes.set("GET /nodes/pve/storage", unnamed403("/nodes/pve/storage"))
      routes.set("GET /nodes/pve/lxc", unnamed403("/nodes/pve/lxc"))
      routes.set("GET /nodes/pve/services", unnamed403("/nodes/pve/services"))
      const r = yield* run(F.makeFake(routes), ["node", "storage", "guests", "units"])
      const lacks = (privilege: string) => `403 permission denied: the API token lacks ${privilege} (Permission check failed)`
      expect(r.errors).toEqual([
        { section: "node", probe: "node-status", error: lacks("Sys.Audit on /nodes/pve") },
        { section: "storage", probe: "storage", error: lacks("Datastore.Audit") },
        { section: "guests", probe: "guest-lists", error: lacks("VM.Audit") },
        { section: "units", probe: "pve-services", error: lacks("Sys.Audit on /nodes/pve") }
      ])
      expect(r.findings).toEqual([])
      expect(r.complete).toBe(false)
    })
  )

  it.effect("a ZFS or guest-config 403 without named privileges falls back to Sys.Audit on / and VM.Audit on the guest", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/disks/zfs", unnamed403("/nodes/pve/disks/zfs"))
      routes.set("GET /nodes/pve/lxc/102/config", unnamed403("/nodes/pve/lxc/102/config"))
      const r = yield* run(F.makeFake(routes), ["node", "guests"])
      expect(r.errors).toEqual([
        { section: "node", probe: "zfs", error: "403 permission denied: the API token lacks Sys.Audit on / (Permission check failed)" },
        { section: "guests", probe: "config:102", error: "403 permission denied: the API token lacks VM.Audit on /vms/102 (Permission check failed)" }
      ])
      // 102 was the only onboot guest down; its config could not be read, so nothing is reported down.
      expect(r.findings.find((f) => f.check === "onboot-guests")).toMatchObject({ status: "ok" })
    })
  )

  it.effect("a node status without a memory total is a node error for the memory probe", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/status", { ...F.nodeStatus, memory: { used: 5 } })
      const r = yield* run(F.makeFake(routes), ["node"])
      expect(r.errors).toEqual([{ section: "node", probe: "memory", error: "the node status has no memory total; memory use was not computed" }])
      expect(r.findings.map((f) => f.check)).toEqual(["load", "zfs"])
    })
  )

  it.effect("the SSH rows name their section and probe when they fail", () =>
    Effect.gen(function* () {
      const failing = { exitCode: 1, stdout: "" }
      const sh = shell([
        [Ssh.dfArgv, failing],
        [Ssh.failedUnitsArgv, failing]
      ])
      const r = yield* run(F.makeFake(), ["storage", "units"], { tier: "companion", shell: F.shellLayer(sh) })
      expect(r.errors).toEqual([
        { section: "storage", probe: "df", error: expect.stringContaining("CommandFailed") },
        { section: "units", probe: "failed-units", error: expect.stringContaining("CommandFailed") }
      ])
    })
  )

  it.effect("an overlong package-list mtime is quoted in the error cut to 40 characters", () =>
    Effect.gen(function* () {
      const junk = "x".repeat(60)
      const sh = shell([[Ssh.aptListsMtimeArgv, { exitCode: 0, stdout: `  ${junk}\n` }]])
      const r = yield* run(F.makeFake(), ["updates"], { tier: "companion", shell: F.shellLayer(sh) })
      expect(r.errors).toEqual([{ section: "updates", probe: "apt-lists-mtime", error: `unexpected mtime "${"x".repeat(40)}"` }])
    })
  )

  it.effect("health_check runs in a span named Health.check", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      const spans: Array<string> = []
      routes.set("GET /nodes/pve/storage", () =>
        Effect.map(Effect.currentSpan, (span) => {
          spans.push(span.name)
          return F.storage
        })
      )
      yield* run(F.makeFake(routes), ["storage"])
      expect(spans).toEqual(["Health.check"])
    })
  )
})

describe("Health.check: corosync on a cluster", () => {
  it.effect("on a two-node cluster an inactive corosync warns (it is skipped only on a single node)", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes", [...F.nodes, { ...F.nodes[0], node: "pve2", id: "node/pve2" }])
      const r = yield* run(F.makeFake(routes), ["units"])
      expect(r.findings).toEqual([
        {
          section: "units",
          check: "pve-services",
          status: "warn",
          finding: "1 enabled Proxmox service is not active.",
          value: 1,
          detail: ["corosync: inactive/dead"]
        }
      ])
      expect(r.status).toBe("warn")
    })
  )
})

describe("Health.check: requests that go out together", () => {
  const inFlight = (routes: F.Routes, sections: ReadonlyArray<HealthSection>) =>
    Effect.gen(function* () {
      const fake = F.makeFake(routes)
      fake.latencyMs = 1000
      const fiber = yield* Effect.fork(run(fake, sections))
      yield* TestClock.adjust("10 seconds")
      const r = yield* Fiber.join(fiber)
      expect(r.errors).toEqual([])
      return fake.maxInFlight
    })

  it.effect("node: status and ZFS pools together", () => Effect.map(inFlight(F.defaultRoutes(), ["node"]), (n) => expect(n).toBe(2)))
  it.effect("units: services and the cluster node list together", () => Effect.map(inFlight(F.defaultRoutes(), ["units"]), (n) => expect(n).toBe(2)))
  it.effect("guests: both guest lists together, then every candidate's config together", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      const stopped = [103, 104, 105].map((vmid) => ({ vmid, name: `ct${vmid}`, status: "stopped" }))
      routes.set("GET /nodes/pve/lxc", [...F.lxcList, ...stopped])
      for (const { vmid } of stopped) routes.set(`GET /nodes/pve/lxc/${vmid}/config`, { onboot: 0 })
      expect(yield* inFlight(routes, ["guests"])).toBe(4)
      // the lists alone
      const lists = F.defaultRoutes()
      lists.set("GET /nodes/pve/lxc", F.lxcList.filter((g) => g.status === "running"))
      expect(yield* inFlight(lists, ["guests"])).toBe(2)
    })
  )

  it.effect("updates: apt-get -s and the package lists' mtime together, within one probe timeout", () =>
    Effect.gen(function* () {
      const slow = Layer.effect(
        NodeShell,
        Effect.map(NodeShell, (sh): NodeShell.Service => ({ ...sh, output: (argv, o) => Effect.delay(sh.output(argv, o), "1 second") }))
      ).pipe(Layer.provide(F.shellLayer(shell())))
      const fiber = yield* Effect.fork(run(F.makeFake(), ["updates"], { tier: "companion", shell: slow, settings: { ...healthDefaults, probeTimeoutMs: 1500 } }))
      yield* TestClock.adjust("5 seconds")
      const r = yield* Fiber.join(fiber)
      expect(r.errors).toEqual([])
      expect(r.findings.map((f) => f.check)).toEqual(["updates"])
    })
  )
})

describe("Health report schemas", () => {
  it.effect("a report decodes to itself and its parts are checked", () =>
    Effect.gen(function* () {
      const routes = F.defaultRoutes()
      routes.set("GET /nodes/pve/disks/zfs", () => Effect.fail(new ApiServerError({ status: 500, path: "/nodes/pve/disks/zfs", reason: "boom" })))
      const r = yield* Health.check({ sections: ["node", "storage", "units", "updates"], includePseudoFs: false, tier: "companion" }, healthDefaults).pipe(
        Effect.provide(Layer.merge(F.layer(F.makeFake(routes)), F.shellLayer(shell())))
      )
      expect(r.hiddenFindings).toBeDefined()
      expect(r.errors).toHaveLength(1)
      expect(Schema.decodeUnknownSync(Health.HealthReport)(r)).toEqual(r)
      const below = yield* run(F.makeFake(), ["storage"])
      expect(below.unavailable).toHaveLength(1)
      expect(Schema.decodeUnknownSync(Health.HealthReport)(below)).toEqual(below)
      expect(Schema.is(Health.UnavailableCheck)({ section: "storage" })).toBe(false)
      expect(Schema.is(Health.HealthReport)({ ...below, status: "bad" })).toBe(false)
      expect(Schema.is(Rules.Finding)({ section: "node", check: "load", status: "ok" })).toBe(false)
      expect(Schema.is(Rules.HiddenFindings)({ count: 1 })).toBe(false)
      expect(Schema.decodeUnknownSync(Rules.HiddenFindings)({ count: 1, worst: "crit" })).toEqual({ count: 1, worst: "crit" })
    })
  )
})

describe("Rules: missing objects and impossible figures", () => {
  const status = (over: Record<string, unknown>) => Schema.decodeUnknownSync(Pve.NodeStatus)({ ...F.nodeStatus, ...over })
  const without = (k: "cpuinfo" | "memory") => {
    const { [k]: _drop, ...rest } = status({})
    return rest
  }

  it("a status without cpuinfo or without memory is a rule error, not a crash", () => {
    expect(Rules.load(without("cpuinfo"), s)).toEqual({
      _tag: "RuleError",
      check: "load",
      message: "the node status has no CPU count (cpuinfo.cpus); the load ratio was not computed"
    })
    expect(Rules.memory(without("memory"), s)).toEqual({
      _tag: "RuleError",
      check: "memory",
      message: "the node status has no memory total; memory use was not computed"
    })
  })

  it("zero CPUs or a load average that is not a number is an error, not an infinite or NaN ratio", () => {
    expect(Rules.load(status({ cpuinfo: { cpus: 0 } }), s)).toMatchObject({ _tag: "RuleError", check: "load", message: expect.stringContaining("CPU count") })
    expect(Rules.load(status({ loadavg: ["NaN", "1", "1"] }), s)).toEqual({
      _tag: "RuleError",
      check: "load",
      message: "the node status has no 1-minute load average"
    })
  })

  it("load and memory findings in full", () => {
    expect(Rules.load(status({ loadavg: ["2", "1", "1"], cpuinfo: { cpus: 3 } }), s)).toEqual({
      section: "node",
      check: "load",
      status: "ok",
      finding: "1-minute load 2 on 3 CPUs is 0.67 per CPU.",
      value: 0.67,
      warnAt: 0.8,
      critAt: 1.5
    })
    expect(Rules.memory(status({ memory: { total: 3000, used: 1000 } }), s)).toEqual({
      section: "node",
      check: "memory",
      status: "ok",
      finding: "Memory 33.33 % used (1000 of 3000 bytes).",
      value: 33.33,
      warnAt: 85,
      critAt: 95
    })
  })
})

describe("Rules: stores and filesystems", () => {
  it("store findings in full: inactive, and a percentage", () => {
    const entries = Schema.decodeUnknownSync(Pve.StorageList)([
      { storage: "nfs", type: "nfs", active: 0, enabled: 1 },
      { storage: "local", type: "dir", active: 1, enabled: 1, used: 1, avail: 2 }
    ])
    expect(Rules.stores(entries, s)).toEqual([
      { section: "storage", check: "store:local", status: "ok", finding: "Storage local is 33.33 % full.", value: 33.33, warnAt: 80, critAt: 90 },
      { section: "storage", check: "store:nfs", status: "warn", finding: "Storage nfs is enabled but not active." }
    ])
  })

  it("a store with only an avail figure gets no percentage finding", () => {
    const entries = Schema.decodeUnknownSync(Pve.StorageList)([{ storage: "pbs", type: "pbs", active: 1, enabled: 1, avail: 100 }])
    expect(Rules.stores(entries, s)).toEqual([])
  })

  const row = (target: string, source: string, usedBytes: number | null = 10, availBytes: number | null = 90) => ({
    source,
    fstype: "ext4",
    target,
    sizeBytes: 100,
    usedBytes,
    availBytes
  })

  it("filesystems are sorted by mount point, equal mount points kept in order, and the input is left alone", () => {
    const rows = [row("/z", "1"), row("/b", "2"), row("/m", "3"), row("/a", "4"), row("/b", "5"), row("/c", "6")]
    const copy = [...rows]
    const rated = Rules.filesystems(rows, s)
    expect(rated.map((r) => r.finding.finding.split(" is ")[0])).toEqual([
      "/a (ext4 on 4)",
      "/b (ext4 on 2)",
      "/b (ext4 on 5)",
      "/c (ext4 on 6)",
      "/m (ext4 on 3)",
      "/z (ext4 on 1)"
    ])
    expect(rows).toEqual(copy)
  })

  it("a df row with only one of used and avail known is skipped", () => {
    expect(Rules.filesystems([row("/a", "x", null, 90), row("/b", "y", 10, null)], s)).toEqual([])
  })
})

describe("Rules: orders and crit lists", () => {
  it("zfs details are sorted by pool name whatever the input order", () => {
    const pools = ["d", "b", "e", "a", "c"].map((name) => ({ name, health: "ONLINE" }))
    expect(Rules.zfs(pools).detail).toEqual(["a: ONLINE", "b: ONLINE", "c: ONLINE", "d: ONLINE", "e: ONLINE"])
  })

  const svc = (names: ReadonlyArray<string>) =>
    Schema.decodeUnknownSync(Pve.ServiceList)(names.map((service) => ({ service, state: "dead", "active-state": "inactive", "unit-state": "enabled" })))

  it("pve-services details are sorted by service name", () => {
    expect(Rules.pveServices(svc(["pvestatd", "pvedaemon", "spiceproxy", "pveproxy", "pve-firewall"]), true, []).detail).toEqual([
      "pve-firewall: inactive/dead",
      "pvedaemon: inactive/dead",
      "pveproxy: inactive/dead",
      "pvestatd: inactive/dead",
      "spiceproxy: inactive/dead"
    ])
  })

  it("one crit unit among other failed ones makes the finding crit", () => {
    expect(Rules.pveServices(svc(["pvedaemon", "pveproxy"]), true, ["pveproxy"]).status).toBe("crit")
    expect(Rules.failedUnits(["a.service", "pveproxy.service"], ["pveproxy"]).status).toBe("crit")
  })

  it("pve-services with nothing down: the ok finding in full, without value or detail", () => {
    expect(Rules.pveServices(Schema.decodeUnknownSync(Pve.ServiceList)(F.services), true, [])).toEqual({
      section: "units",
      check: "pve-services",
      status: "ok",
      finding: "Every enabled Proxmox service is active."
    })
  })

  it("only a trailing .service is dropped when units are compared", () => {
    const mount = "run-credentials-systemd\\x2djournald.service.mount"
    expect(Rules.failedUnits([mount], ["run-credentials-systemd\\x2djournald.mount"]).status).toBe("warn")
    expect(Rules.failedUnits([mount], [mount]).status).toBe("crit")
  })
})

describe("Df: column reading and pseudo filesystems", () => {
  it("a mount point ending in a number keeps it; the numbers are the last three columns", () => {
    expect(Df.parse("/dev/sdb1 ext4 /mnt/disk 2 1000 400 600\n").rows).toEqual([
      { source: "/dev/sdb1", fstype: "ext4", target: "/mnt/disk 2", sizeBytes: 1000, usedBytes: 400, availBytes: 600 }
    ])
  })

  it("a line whose last column is not a number is malformed", () => {
    expect(Df.parse("/dev/sdb1 ext4 /mnt 1000 400 600 extra\n")).toEqual({ rows: [], skipped: 1 })
  })

  it("indented lines are read; the header words inside a mount point do not make a header", () => {
    expect(Df.parse("   /dev/sda1 ext4 / 100 50 50\n").rows).toHaveLength(1)
    expect(Df.parse("/dev/sdc1 ext4 /srv/Filesystem Type Mounted on 100 50 50\n").rows).toEqual([
      { source: "/dev/sdc1", fstype: "ext4", target: "/srv/Filesystem Type Mounted on", sizeBytes: 100, usedBytes: 50, availBytes: 50 }
    ])
  })

  it("every pseudo type is pseudo wherever it is mounted; every pseudo root is pseudo whatever the type", () => {
    for (const fstype of ["tmpfs", "devtmpfs", "proc", "sysfs", "overlay", "squashfs", "cgroup"]) expect(Df.isPseudo({ fstype, target: "/mnt/x" })).toBe(true)
    for (const target of ["/dev", "/run", "/sys", "/proc", "/sys/fs/x"]) expect(Df.isPseudo({ fstype: "ext4", target })).toBe(true)
    expect(Df.isPseudo({ fstype: "ext4", target: "/devices" })).toBe(false)
  })
})
