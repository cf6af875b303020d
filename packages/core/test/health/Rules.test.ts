import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as Pve from "@homelab-mcp/core/census/Pve"
import { healthDefaults } from "@homelab-mcp/core/census/Settings"
import * as Df from "@homelab-mcp/core/health/Df"
import * as Rules from "@homelab-mcp/core/health/Rules"
import * as F from "../census/fixtures.js"
import { dfFixture } from "./fixtures.js"

const s = healthDefaults
const status = (over: Record<string, unknown>) => Schema.decodeUnknownSync(Pve.NodeStatus)({ ...F.nodeStatus, ...over })

describe("thresholds are inclusive", () => {
  it("value >= crit → crit; else >= warn → warn; else ok", () => {
    expect(Rules.classify(79.99, 80, 90)).toBe("ok")
    expect(Rules.classify(80, 80, 90)).toBe("warn")
    expect(Rules.classify(90, 80, 90)).toBe("crit")
    expect(Rules.classify(50, 50, undefined)).toBe("warn")
  })
  it("load: load1 / CPUs, exactly at warn and crit", () => {
    expect(Rules.load(status({ loadavg: ["12.8", "1", "1"] }), s)).toMatchObject({ check: "load", status: "warn", value: 0.8, warnAt: 0.8, critAt: 1.5 })
    expect(Rules.load(status({ loadavg: ["24", "1", "1"] }), s)).toMatchObject({ status: "crit", value: 1.5 })
    expect(Rules.load(status({}), s)).toMatchObject({ status: "ok", value: 0.02 })
  })
  it("memory: used * 100 / total, exactly at 85 and 95", () => {
    expect(Rules.memory(status({ memory: { total: 100, used: 85 } }), s)).toMatchObject({ status: "warn", value: 85 })
    expect(Rules.memory(status({ memory: { total: 100, used: 95 } }), s)).toMatchObject({ status: "crit", value: 95 })
    expect(Rules.memory(status({ memory: { total: 100, used: 84.99 } }), s)).toMatchObject({ status: "ok" })
  })
  it("a missing CPU count or memory total is an error, never a guess", () => {
    expect(Rules.load(status({ cpuinfo: {} }), s)).toMatchObject({ _tag: "RuleError", check: "load" })
    expect(Rules.memory(status({ memory: { used: 5 } }), s)).toMatchObject({ _tag: "RuleError", check: "memory" })
    expect(Rules.memory(status({ memory: { total: 0, used: 0 } }), s)).toMatchObject({ _tag: "RuleError" })
  })
  it("zfs: crit when a pool is not ONLINE", () => {
    expect(Rules.zfs([{ name: "tank", health: "DEGRADED" }, { name: "rpool", health: "ONLINE" }])).toMatchObject({
      status: "crit",
      finding: "Pool tank is DEGRADED.",
      detail: ["rpool: ONLINE", "tank: DEGRADED"]
    })
    expect(Rules.zfs([]).status).toBe("ok")
  })
  it("stores: enabled only; inactive warns; used / (used + avail)", () => {
    const entries = Schema.decodeUnknownSync(Pve.StorageList)([
      { storage: "a", type: "dir", active: 1, enabled: 1, used: 80, avail: 20 },
      { storage: "b", type: "dir", active: 1, enabled: 1, used: 90, avail: 10 },
      { storage: "c", type: "nfs", active: 0, enabled: 1 },
      { storage: "d", type: "dir", active: 1, enabled: 0, used: 99, avail: 1 }
    ])
    expect(Rules.stores(entries, s).map((f) => [f.check, f.status])).toEqual([
      ["store:a", "warn"],
      ["store:b", "crit"],
      ["store:c", "warn"]
    ])
  })
  it("updates: warn at 50 pending, with asOf; Inst lines counted", () => {
    expect(Rules.updates(50, "2026-11-20T10:00:00.000Z", s)).toMatchObject({ status: "warn", asOf: "2026-11-20T10:00:00.000Z", value: 50 })
    expect(Rules.updates(49, "x", s).status).toBe("ok")
    expect(Rules.countPendingUpgrades("Inst a [1] (2 Debian)\nConf a (2 Debian)\nInst b (3 Debian)\n")).toBe(2)
  })
})

describe("services, units, guests", () => {
  const svc = Schema.decodeUnknownSync(Pve.ServiceList)
  it("pve-services: corosync is skipped on a single node; not-found units are ignored", () => {
    expect(Rules.pveServices(svc(F.services), true, []).status).toBe("ok")
    expect(Rules.pveServices(svc(F.services), false, [])).toMatchObject({ status: "warn", detail: ["corosync: inactive/dead"] })
  })
  it("pve-services and failed-units: crit for a unit in MCP_HEALTH_FAILED_UNITS_CRIT", () => {
    const failed = svc([...F.services, { service: "pveproxy", state: "failed", "active-state": "failed", "unit-state": "enabled" }])
    expect(Rules.pveServices(failed, true, ["pveproxy.service"]).status).toBe("crit")
    expect(Rules.failedUnits(["foo.service"], ["pveproxy"]).status).toBe("warn")
    expect(Rules.failedUnits(["pveproxy.service"], ["pveproxy"]).status).toBe("crit")
    expect(Rules.failedUnits([], []).status).toBe("ok")
  })
  it("onboot-guests: warns for onboot guests that are not running", () => {
    const f = Rules.onbootGuests([
      { vmid: 102, kind: "CT", name: "lab-alpine", status: "stopped", onboot: true },
      { vmid: 9001, kind: "CT", name: "scratch", status: "stopped", onboot: false }
    ])
    expect(f).toMatchObject({ status: "warn", detail: ["CT 102 (lab-alpine) is stopped"] })
  })
})

describe("df and pseudo filesystems (A2)", () => {
  it("parses df output, including mount points with spaces", () => {
    const { rows, skipped } = Df.parse(dfFixture)
    expect(skipped).toBe(0)
    expect(rows).toHaveLength(9)
    expect(rows.find((r) => r.source === "tank/media")).toEqual({
      source: "tank/media", fstype: "zfs", target: "/tank/media my films", sizeBytes: 1e12, usedBytes: 8.5e11, availBytes: 1.5e11
    })
    expect(Df.parse("garbage line\n").skipped).toBe(1)
  })
  it("pseudo: by type or under /dev, /run, /sys, /proc", () => {
    expect(Df.isPseudo({ fstype: "tmpfs", target: "/mnt/x" })).toBe(true)
    expect(Df.isPseudo({ fstype: "cgroup2", target: "/x" })).toBe(true)
    expect(Df.isPseudo({ fstype: "ext4", target: "/run/lock" })).toBe(true)
    expect(Df.isPseudo({ fstype: "ext4", target: "/running" })).toBe(false)
    expect(Df.isPseudo({ fstype: "ext4", target: "/" })).toBe(false)
  })
  it("/run/lock at 100 % is hidden: status unchanged, hiddenFindings {count 1, worst crit}; includePseudoFs shows it", () => {
    const rated = Rules.filesystems(Df.parse(dfFixture).rows, s)
    const hidden = Rules.rollup(rated, false)
    expect(hidden.findings.map((f) => f.check)).toEqual(["fs:/", "fs:/etc/pve", "fs:/tank/media my films"])
    expect(hidden.status).toBe("warn") // /tank/media at 85 %
    expect(hidden.hiddenFindings).toEqual({ count: 2, worst: "crit" })
    const shown = Rules.rollup(rated, true)
    expect(shown.status).toBe("crit")
    expect(shown.findings.find((f) => f.check === "fs:/run/lock")).toMatchObject({ status: "crit", value: 100 })
    expect(shown.hiddenFindings).toBeNull()
  })
  it("the lesson's exact case: only /run/lock full gives no visible finding and an ok status", () => {
    const only = Df.parse(
      "Filesystem Type Mounted on 1B-blocks Used Avail\n/dev/sda1 ext4 / 1000 100 900\ntmpfs tmpfs /run/lock 5242880 5242880 0\n"
    ).rows
    const r = Rules.rollup(Rules.filesystems(only, s), false)
    expect(r.status).toBe("ok")
    expect(r.findings.some((f) => f.check === "fs:/run/lock")).toBe(false)
    expect(r.hiddenFindings).toEqual({ count: 1, worst: "crit" })
    expect(Rules.rollup(Rules.filesystems(only, s), true).status).toBe("crit")
  })
})
