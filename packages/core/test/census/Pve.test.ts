import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as Pve from "@homelab-mcp/core/census/Pve"
import * as Sections from "@homelab-mcp/core/census/Sections"
import * as F from "./fixtures.js"

describe("Pve normalization", () => {
  it("takes any JSON object as a guest config, as parsed, and refuses anything else by name", () => {
    const config = JSON.parse('{"cores":2,"net0":"virtio=AA:BB,bridge=vmbr0","lxc":[["lxc.apparmor.profile","unconfined"]],"__proto__":{"x":1}}') as unknown
    expect(Schema.decodeUnknownSync(Pve.GuestConfig)(config)).toBe(config)
    for (const bad of [null, [], "cores: 2", 2]) {
      const result = Schema.decodeUnknownEither(Pve.GuestConfig)(bad)
      expect(result._tag).toBe("Left")
      if (result._tag === "Left") expect(String(result.left)).toContain("GuestConfig")
    }
  })
  it("derives the version from pveversion (F3)", () => {
    expect(Pve.parseVersion("pve-manager/8.1.4/ec5affc9e41f1d79")).toBe("8.1.4")
    expect(Pve.parseVersion("pve-manager/9.1.1/f4d3f125ffae50e9")).toBe("9.1.1")
    expect(Pve.parseVersion("9.2.3")).toBe("9.2.3")
    expect(Pve.parseVersion("garbage")).toBeNull()
    expect(Pve.parseVersion(undefined)).toBeNull()
  })
  it("derives the host from SSH_HOST, else the API base URL (F3)", () => {
    expect(Pve.deriveHost(undefined, "https://pve.lan:8006/api2/json")).toBe("pve.lan")
    expect(Pve.deriveHost("", "https://192.168.1.10:8006/api2/json")).toBe("192.168.1.10")
    expect(Pve.deriveHost("node-ssh.lan", "https://192.168.1.10:8006/api2/json")).toBe("node-ssh.lan")
    expect(Pve.deriveHost(undefined, "https://[fd00::10]:8006/api2/json")).toBe("fd00::10")
    expect(Pve.deriveHost(undefined, "not a url")).toBeNull()
  })
  it("decodes loadavg strings, 0/1 flags and numeric strings", () => {
    const status = Schema.decodeUnknownSync(Pve.NodeStatus)(F.nodeStatus)
    expect(status.loadavg).toEqual([0.31, 0.27, 0.22])
    const store = Schema.decodeUnknownSync(Pve.StorageList)(F.storage)[0]!
    expect(store.active).toBe(true)
    expect(store.shared).toBe(false)
    const ctFromOldRelease = Schema.decodeUnknownSync(Pve.GuestEntry)({ vmid: "101", status: "running", template: 1 })
    expect(ctFromOldRelease.vmid).toBe(101)
    expect(ctFromOldRelease.template).toBe(true)
  })
  it("reads the QEMU memory property string", () => {
    expect(Pve.parseQemuMemoryBytes("4096")).toBe(4096 * 2 ** 20)
    expect(Pve.parseQemuMemoryBytes("current=2048,shares=1000")).toBe(2048 * 2 ** 20)
    expect(Pve.parseQemuMemoryBytes(1024)).toBe(2 ** 30)
    expect(Pve.parseQemuMemoryBytes(undefined)).toBeNull()
    expect(Pve.parseQemuMemoryBytes("lots")).toBeNull()
  })
  it("formats uptime and splits tags", () => {
    expect(Pve.formatUptime(13 * 86_400 + 23 * 3600 + 42 * 60 + 5)).toBe("up 13d 23h 42m")
    expect(Pve.formatUptime(3 * 3600 + 60)).toBe("up 3h 1m")
    expect(Pve.formatUptime(59)).toBe("up 0m")
    expect(Pve.parseTags("infra;dns")).toEqual(["infra", "dns"])
    expect(Pve.parseTags(undefined)).toEqual([])
  })
  it("builds the node section with version, kernel, numbers and the ZFS summary", () => {
    const status = Schema.decodeUnknownSync(Pve.NodeStatus)(F.nodeStatus)
    const pools = Schema.decodeUnknownSync(Pve.ZfsPools)(F.zfs)
    expect(Sections.node(status, pools)).toEqual({
      version: "9.1.1",
      kernel: "6.17.2-1-pve",
      uptime: "up 13d 23h 42m",
      uptimeSecs: 1_208_520,
      cpu: 16,
      memBytes: 68_719_476_736,
      memUsedBytes: 21_474_836_480,
      load: [0.31, 0.27, 0.22],
      zpool: { healthy: true, pools: [{ name: "tank", health: "ONLINE", sizeBytes: 4e12, allocBytes: 1e12 }], detail: "1 pool ONLINE" }
    })
    const degraded = Sections.zpool([{ name: "tank", health: "DEGRADED" }, { name: "rpool", health: "ONLINE" }])
    expect(degraded.healthy).toBe(false)
    expect(degraded.detail).toBe("tank is DEGRADED")
    expect(degraded.pools.map((p) => p.name)).toEqual(["rpool", "tank"])
  })
  it("builds network interfaces and bridges sorted by name", () => {
    const n = Sections.network(Schema.decodeUnknownSync(Pve.NetworkList)(F.network))
    expect(n.ifaces).toEqual([
      { iface: "eno1", type: "eth", active: true, autostart: false },
      { iface: "vmbr0", type: "bridge", active: true, autostart: true, cidr: "192.168.1.10/24", gateway: "192.168.1.1" }
    ])
    expect(n.bridges).toEqual([{ name: "vmbr0", ports: ["eno1"], vlanAware: true, cidr: "192.168.1.10/24" }])
  })
  it("builds storage with content split and sorted", () => {
    const s = Sections.storage(Schema.decodeUnknownSync(Pve.StorageList)(F.storage))
    expect(s.map((x) => x.name)).toEqual(["backups", "local", "local-lvm", "tank"])
    expect(s[1]).toEqual({
      name: "local", type: "dir", active: true, enabled: true, shared: false, content: ["import", "iso", "vztmpl"],
      totalBytes: 100_000_000_000, usedBytes: 20_000_000_000, availBytes: 80_000_000_000
    })
  })
})
