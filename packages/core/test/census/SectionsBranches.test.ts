/**
 * Section builders on sparse and unusual PVE responses (census-health.md §1.2, §1.4): absent optional
 * fields become `false` / `null` / `[]` (never invented values), names are stable under ties, and the
 * depth fields appear only when their source exists.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as Pve from "@homelab-mcp/core/census/Pve"
import * as Sections from "@homelab-mcp/core/census/Sections"

const types: ReadonlyMap<string, string> = new Map([
  ["local", "dir"],
  ["local-lvm", "lvmthin"]
])

describe("Sections.zpool", () => {
  it("no pools is healthy with the detail 'no ZFS pools'", () => {
    expect(Sections.zpool([])).toEqual({ healthy: true, pools: [], detail: "no ZFS pools" })
  })

  it("several ONLINE pools are counted in the plural, sorted by name, missing sizes as null", () => {
    const z = Sections.zpool([
      { name: "tank", health: "ONLINE", size: 100, alloc: 10 },
      { name: "rpool", health: "ONLINE" }
    ])
    expect(z.healthy).toBe(true)
    expect(z.detail).toBe("2 pools ONLINE")
    expect(z.pools).toEqual([
      { name: "rpool", health: "ONLINE", sizeBytes: null, allocBytes: null },
      { name: "tank", health: "ONLINE", sizeBytes: 100, allocBytes: 10 }
    ])
  })

  it("every unhealthy pool is named in the detail, in name order", () => {
    const z = Sections.zpool([
      { name: "b", health: "FAULTED" },
      { name: "a", health: "DEGRADED" },
      { name: "c", health: "ONLINE" }
    ])
    expect(z.healthy).toBe(false)
    expect(z.detail).toBe("a is DEGRADED; b is FAULTED")
  })
})

describe("Sections.node on a sparse status", () => {
  it("absent fields are null or empty, never guessed; uptime 0 reads 'up 0m'", () => {
    expect(Sections.node({}, null)).toEqual({
      version: null,
      kernel: null,
      uptime: "up 0m",
      uptimeSecs: 0,
      cpu: null,
      memBytes: null,
      memUsedBytes: null,
      load: [],
      zpool: null
    })
  })

  it("a negative or fractional uptime is clamped and floored; only the first three load averages are kept", () => {
    const n = Sections.node({ uptime: -5, loadavg: [1, 2, 3, 4], memory: { total: 1000 } }, [])
    expect(n.uptimeSecs).toBe(0)
    expect(n.uptime).toBe("up 0m")
    expect(n.load).toEqual([1, 2, 3])
    expect(n.memBytes).toBe(1000)
    expect(n.memUsedBytes).toBeNull()
    expect(n.zpool).toEqual({ healthy: true, pools: [], detail: "no ZFS pools" })
    expect(Sections.node({ uptime: 3661.9 }, null)).toMatchObject({ uptimeSecs: 3661, uptime: "up 1h 1m" })
  })
})

describe("Sections.storage", () => {
  it("an entry with only name and type reads inactive, disabled, not shared, no content, null sizes", () => {
    expect(Sections.storage([{ storage: "nfs-1", type: "nfs" }])).toEqual([
      { name: "nfs-1", type: "nfs", active: false, enabled: false, shared: false, content: [], totalBytes: null, usedBytes: null, availBytes: null }
    ])
  })

  it("content is trimmed, empty entries dropped, and sorted", () => {
    const [s] = Sections.storage([{ storage: "x", type: "dir", content: " vztmpl , ,backup,iso," }])
    expect(s?.content).toEqual(["backup", "iso", "vztmpl"])
  })

  it("entries with the same name keep their input order (stable sort, ties compare equal)", () => {
    const out = Sections.storage([
      { storage: "b", type: "dir" },
      { storage: "a", type: "nfs" },
      { storage: "a", type: "cifs" }
    ])
    expect(out.map((s) => `${s.name}/${s.type}`)).toEqual(["a/nfs", "a/cifs", "b/dir"])
  })
})

describe("Sections.network", () => {
  it("keeps cidr6 when present, defaults active/autostart to false, and reads OVS bridges without ports", () => {
    const n = Sections.network([
      { iface: "vmbr1", type: "OVSBridge", cidr6: "fd00::1/64" },
      { iface: "bond0", type: "bond", active: true, autostart: true }
    ])
    expect(n.ifaces).toEqual([
      { iface: "bond0", type: "bond", active: true, autostart: true },
      { iface: "vmbr1", type: "OVSBridge", active: false, autostart: false, cidr6: "fd00::1/64" }
    ])
    expect(n.bridges).toEqual([{ name: "vmbr1", ports: [], vlanAware: false }])
  })

  it("bridge ports are split on any whitespace; non-bridge types are not bridges", () => {
    const n = Sections.network([
      { iface: "vmbr0", type: "bridge", bridge_ports: "  eno1   eno2\tbond0 " },
      { iface: "eno1", type: "eth" }
    ])
    expect(n.bridges).toEqual([{ name: "vmbr0", ports: ["eno1", "eno2", "bond0"], vlanAware: false }])
  })
})

describe("Sections.guest", () => {
  const ct = { vmid: 101, status: "running" } as const
  const vm = { vmid: 200, status: "stopped" } as const

  it("a guest without a name gets PVE's default (CT<vmid> / VM <vmid>)", () => {
    expect(Sections.guest({ type: "lxc", entry: ct, depth: "summary", storageTypes: types })).toEqual({ vmid: 101, name: "CT101", status: "running" })
    expect(Sections.guest({ type: "qemu", entry: vm, depth: "summary", storageTypes: types })).toEqual({ vmid: 200, name: "VM 200", status: "stopped" })
  })

  it("status without a config: no onboot/snapshotCapable, uptime 0, cpus and memory null, template false", () => {
    const g = Sections.guest({ type: "lxc", entry: ct, depth: "status", storageTypes: types })
    expect(g).toEqual({ vmid: 101, name: "CT101", status: "running", template: false, tags: [], uptimeSecs: 0, cpus: null, maxmemBytes: null })
  })

  it("a VM without maxmem takes its memory from the config's memory property; without a config it is null", () => {
    const withCfg = Sections.guest({ type: "qemu", entry: vm, depth: "status", config: { memory: "current=2048,shares=500", scsi0: "local-lvm:vm-200-disk-0" }, storageTypes: types })
    expect(withCfg.maxmemBytes).toBe(2048 * 1024 * 1024)
    expect(Sections.guest({ type: "qemu", entry: vm, depth: "status", storageTypes: types }).maxmemBytes).toBeNull()
    // A container's `memory` is not read as QEMU memory: without maxmem it stays null.
    expect(Sections.guest({ type: "lxc", entry: ct, depth: "status", config: { memory: 512 }, storageTypes: types }).maxmemBytes).toBeNull()
  })

  it("a lock is reported only when non-empty", () => {
    expect(Sections.guest({ type: "lxc", entry: { ...ct, lock: "backup" }, depth: "status", storageTypes: types }).lock).toBe("backup")
    const unlocked = Sections.guest({ type: "lxc", entry: { ...ct, lock: "" }, depth: "status", storageTypes: types })
    expect("lock" in unlocked).toBe(false)
  })

  it("the template flag falls back to the config and makes the guest snapshot-incapable", () => {
    const g = Sections.guest({ type: "qemu", entry: vm, depth: "status", config: { template: 1, scsi0: "local-lvm:base-200-disk-0" }, storageTypes: types })
    expect(g.template).toBe(true)
    expect(g.snapshotCapable).toEqual({ capable: false, reason: "it is a template" })
    expect(g.onboot).toBe(false)
  })

  it("the agent state is attached to VMs only", () => {
    const agent = { configured: true, running: true }
    expect(Sections.guest({ type: "qemu", entry: vm, depth: "status", config: {}, storageTypes: types, agent }).agent).toEqual(agent)
    expect("agent" in Sections.guest({ type: "lxc", entry: ct, depth: "status", config: {}, storageTypes: types, agent })).toBe(false)
  })

  it("full without a config is the status entry (no config key); full with one publishes it without digest, keys sorted", () => {
    const noCfg = Sections.guest({ type: "lxc", entry: ct, depth: "full", storageTypes: types })
    expect("config" in noCfg).toBe(false)
    expect(noCfg).toEqual(Sections.guest({ type: "lxc", entry: ct, depth: "status", storageTypes: types }))
    const full = Sections.guest({ type: "lxc", entry: ct, depth: "full", config: { rootfs: "local:101/x.raw", digest: "abc", arch: "amd64" }, storageTypes: types })
    expect(full.config).toEqual({ arch: "amd64", rootfs: "local:101/x.raw" })
    expect(Object.keys(full.config!)).toEqual(["arch", "rootfs"])
    expect(full.snapshotCapable).toEqual({ capable: false, reason: "root disk rootfs on dir storage local" })
  })

  it("sortGuests orders by numeric vmid even when PVE sent vmids as strings", () => {
    const list = Schema.decodeUnknownSync(Pve.GuestList)([
      { vmid: "1000", status: "running" },
      { vmid: "99", status: "running" },
      { vmid: 200, status: "stopped" }
    ])
    expect(Sections.sortGuests(list).map((g) => g.vmid)).toEqual([99, 200, 1000])
  })
})
