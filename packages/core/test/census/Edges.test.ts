/**
 * Census edges found by mutation testing (docs/mutation-testing.md): drift against a cut baseline (which
 * vmids may be called new), storage and network lists cut on either side, capability known on one side
 * only, storage usage with figures missing; optional section fields absent rather than undefined; and
 * snapshot capability on cdrom drives, bare `spice` or empty USB entries, multi-digit and non-numeric
 * key suffixes, other raw lxc keys mentioning /dev/, and `enabled=1` after a space; PVE decoding of
 * nested objects, versions with multi-digit parts, kernel and memory strings with extra spaces, tags
 * with leading separators; the size cap on VM configs, empty rosters and interface lists, drift's
 * tailscale list, pools under a node without ZFS, and error texts of exactly 500 characters.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import type { CensusDocument, Guest, NodeSection, Sections as SectionsT, StorageItem, Truncation } from "@homelab-mcp/core/census/Document"
import * as Drift from "@homelab-mcp/core/census/Drift"
import * as Finalize from "@homelab-mcp/core/census/Finalize"
import * as Pve from "@homelab-mcp/core/census/Pve"
import * as Sections from "@homelab-mcp/core/census/Sections"
import * as SnapshotCapable from "@homelab-mcp/core/census/SnapshotCapable"

const doc = (sections: SectionsT, truncations: ReadonlyArray<Truncation> = []): CensusDocument => ({
  schemaVersion: 1,
  ts: "t",
  tier: "observe",
  host: null,
  node: "pve",
  depth: "status",
  requested: Object.keys(sections) as CensusDocument["requested"],
  sections,
  errors: [],
  redactions: 0,
  truncated: truncations.length > 0,
  truncations,
  incompleteSections: [],
  snapshotId: null
})

const cut = (section: string): Truncation => ({ section, reason: "more than 2 items; kept the first 2", omitted: 5 })

const compared = (d: ReturnType<typeof Drift.compute>) => {
  if (d.mode !== "compared") throw new Error("expected a comparison")
  return d
}

const drift = (now: CensusDocument, then: CensusDocument, pct = 10) => compared(Drift.compute(now, { snapshotId: "s", doc: then }, pct))

const ct = (vmid: number, extra: Partial<Guest> = {}): Guest => ({ vmid, name: `ct${vmid}`, status: "running", ...extra })

describe("Drift: guests against a cut baseline", () => {
  it("only vmids up to the baseline's last kept one can be new", () => {
    const then = doc({ containers: [ct(100), ct(101)] }, [cut("containers")])
    const now = doc({ containers: [ct(99), ct(100), ct(101), ct(102)] })
    expect(drift(now, then).containers).toEqual({ added: [{ vmid: 99, name: "ct99" }], removed: [], changed: [] })
  })

  it("a cut baseline that kept nothing makes nothing new", () => {
    const then = doc({ containers: [] }, [cut("containers")])
    const now = doc({ containers: [ct(99), ct(100)] })
    expect(drift(now, then).containers).toEqual({ added: [], removed: [], changed: [] })
  })

  it("snapshot capability known on one side only is not a change", () => {
    const then = doc({ containers: [ct(100), ct(101, { snapshotCapable: { capable: true } })] })
    const now = doc({ containers: [ct(100, { snapshotCapable: { capable: false, reason: "it is a template" } }), ct(101)] })
    expect(drift(now, then).containers).toEqual({ added: [], removed: [], changed: [] })
  })
})

const store = (name: string, over: Partial<StorageItem> = {}): StorageItem => ({
  name,
  type: "dir",
  active: true,
  enabled: true,
  shared: false,
  content: [],
  totalBytes: 1000,
  usedBytes: 100,
  availBytes: 900,
  ...over
})

describe("Drift: storage and network lists cut on either side", () => {
  it("a cut baseline reports neither added nor removed entries; changes are still reported", () => {
    const then = doc({ storage: [store("a"), store("b", { active: false })] }, [cut("storage")])
    const now = doc({ storage: [store("b"), store("c")] })
    expect(drift(now, then).storage).toEqual({ added: [], removed: [], changed: [{ name: "b", field: "active", from: false, to: true }] })
  })

  it("a list cut now reports additions but no removals", () => {
    const then = doc({ storage: [store("a"), store("b")] })
    const now = doc({ storage: [store("b"), store("c")] }, [{ section: "_response", reason: "response over 1 bytes", omitted: 1, target: "storage" }])
    expect(drift(now, then).storage).toEqual({ added: ["c"], removed: [], changed: [] })
    // uncut, the same lists report the removal
    expect(drift(doc({ storage: [store("b"), store("c")] }), then).storage).toEqual({ added: ["c"], removed: ["a"], changed: [] })
  })

  it("network interfaces: a cut baseline reports no additions", () => {
    const iface = (name: string) => ({ iface: name, type: "eth", active: true, autostart: true })
    const then = doc({ network: { ifaces: [iface("eno1")], bridges: [] } }, [cut("network")])
    const now = doc({ network: { ifaces: [iface("eno1"), iface("eno2")], bridges: [] } })
    expect(drift(now, then).network).toEqual({ added: [], removed: [], changed: [] })
  })

  it("services observed on both sides are compared without a drift entry of their own", () => {
    const services = [{ vmid: 101, failedUnits: [], docker: [] }]
    const d = drift(doc({ services }), doc({ services }))
    expect(d.notCompared).toEqual([])
    expect(Object.keys(d).sort()).toEqual(["comparedTo", "mode", "notCompared"])
  })
})

describe("Drift: storage usage", () => {
  const usage = (from: Partial<StorageItem>, to: Partial<StorageItem>, pct = 1) =>
    drift(doc({ storage: [store("a", to)] }), doc({ storage: [store("a", from)] }), pct).storage!.changed

  it("the change is measured against the current total, else the baseline's", () => {
    // 50 bytes are 5 % of the current total, 0.05 % of the old one
    expect(usage({ totalBytes: 100_000, usedBytes: 100 }, { totalBytes: 1000, usedBytes: 150 })).toEqual([
      { name: "a", field: "usedBytes", from: 100, to: 150 }
    ])
    expect(usage({ totalBytes: 1000, usedBytes: 100 }, { totalBytes: null, usedBytes: 150 })).toEqual([
      { name: "a", field: "usedBytes", from: 100, to: 150 }
    ])
  })

  it("no usage change without both used figures or without a positive total", () => {
    expect(usage({ usedBytes: null }, { usedBytes: 500 })).toEqual([])
    expect(usage({ usedBytes: 500 }, { usedBytes: null })).toEqual([])
    expect(usage({ totalBytes: null, usedBytes: 100 }, { totalBytes: null, usedBytes: 500 })).toEqual([])
    expect(usage({ totalBytes: 0, usedBytes: 100 }, { totalBytes: 0, usedBytes: 500 })).toEqual([])
  })
})

describe("Sections: optional fields are absent, not undefined", () => {
  it("an interface or bridge without addresses has no cidr, cidr6 or gateway key", () => {
    const n = Sections.network([{ iface: "vmbr0", type: "bridge" }])
    expect(Object.keys(n.ifaces[0]!).sort()).toEqual(["active", "autostart", "iface", "type"])
    expect(Object.keys(n.bridges[0]!).sort()).toEqual(["name", "ports", "vlanAware"])
  })

  it("a guest without a lock has no lock key; a VM without an agent state has no agent key", () => {
    const types = new Map<string, string>()
    expect("lock" in Sections.guest({ type: "lxc", entry: { vmid: 1, status: "running" }, depth: "status", storageTypes: types })).toBe(false)
    expect("agent" in Sections.guest({ type: "qemu", entry: { vmid: 2, status: "running" }, depth: "status", config: {}, storageTypes: types })).toBe(
      false
    )
  })
})

describe("SnapshotCapable edges", () => {
  const types: ReadonlyMap<string, string> = new Map([
    ["local", "dir"],
    ["local-lvm", "lvmthin"]
  ])

  it("cdrom drives are skipped for the root disk wherever media=cdrom stands", () => {
    expect(SnapshotCapable.rootDiskKey({ ide0: "local:iso/debian.iso,media=cdrom", ide1: "local-lvm:vm-1-disk-0" })).toBe("ide1")
    expect(SnapshotCapable.rootDiskKey({ ide0: "media=cdrom,file=local:iso/debian.iso", ide1: "local-lvm:vm-1-disk-0" })).toBe("ide1")
    expect(SnapshotCapable.rootDiskKey({ sata0: "local-lvm:vm-1-cloudinit", sata1: "local-lvm:vm-1-disk-0" })).toBe("sata1")
  })

  it("a bare spice or an empty usbN is not host USB passthrough", () => {
    expect(SnapshotCapable.snapshotCapable({ usb0: "spice", scsi0: "local-lvm:vm-1-disk-0" }, types)).toEqual({ capable: true })
    expect(SnapshotCapable.snapshotCapable({ usb0: "", scsi0: "local-lvm:vm-1-disk-0" }, types)).toEqual({ capable: true })
  })

  it("suffixes must be all digits: dev10 counts, dev0x and devx1 do not", () => {
    expect(SnapshotCapable.snapshotCapable({ dev10: "/dev/ttyUSB0" }, types)).toEqual({ capable: false, reason: "device passthrough (dev10: /dev/ttyUSB0)" })
    expect(SnapshotCapable.snapshotCapable({ dev0x: "/dev/a", devx1: "/dev/b", mpa0: "/host,mp=/x" }, types)).toEqual({ capable: true })
  })

  it("a raw lxc line of another key that mentions /dev/ is not a device mount", () => {
    expect(SnapshotCapable.snapshotCapable({ lxc: [["lxc.console.logfile", "/var/log/dev/console.log"]] }, types)).toEqual({ capable: true })
  })

  it("the agent is enabled by enabled=1 even after a space", () => {
    expect(SnapshotCapable.agentConfigured({ agent: "fstrim_cloned_disks=1, enabled=1" })).toBe(true)
    expect(SnapshotCapable.agentConfigured({ agent: "fstrim_cloned_disks=1, enabled=0" })).toBe(false)
  })
})

describe("Pve decoding and normalization edges", () => {
  it("nested node status objects, ZFS pools, services and cluster nodes are decoded field by field", () => {
    const status = Schema.decodeUnknownSync(Pve.NodeStatus)({
      "current-kernel": { release: "6.8.12-4-pve" },
      cpuinfo: { cpus: "16" },
      memory: { total: "1000", used: 10 }
    })
    expect(status).toEqual({ "current-kernel": { release: "6.8.12-4-pve" }, cpuinfo: { cpus: 16 }, memory: { total: 1000, used: 10 } })
    expect(Schema.decodeUnknownSync(Pve.ZfsPools)([{ name: "tank", health: "ONLINE", size: "100" }])).toEqual([{ name: "tank", health: "ONLINE", size: 100 }])
    expect(Schema.decodeUnknownSync(Pve.ServiceList)([{ service: "pveproxy", "active-state": "active" }])).toEqual([{ service: "pveproxy", "active-state": "active" }])
    expect(Schema.decodeUnknownSync(Pve.ClusterNodes)([{ node: "pve", status: "online" }])).toEqual([{ node: "pve", status: "online" }])
    expect(() => Schema.decodeUnknownSync(Pve.ZfsPools)([{ name: "tank" }])).toThrow()
    // string fields are checked too, not passed through
    expect(() => Schema.decodeUnknownSync(Pve.NodeStatus)({ "current-kernel": { release: 6 } })).toThrow()
    expect(() => Schema.decodeUnknownSync(Pve.ServiceList)([{ service: 1 }])).toThrow()
    expect(() => Schema.decodeUnknownSync(Pve.ClusterNodes)([{ node: 1 }])).toThrow()
  })

  it("versions: multi-digit parts are read; only pve-manager/ or a bare version at the start counts", () => {
    expect(Pve.parseVersion("pve-manager/10.0.1/abc")).toBe("10.0.1")
    expect(Pve.parseVersion("pve-manager/9.10.2/abc")).toBe("9.10.2")
    expect(Pve.parseVersion("proxmox-ve/8.1.4")).toBeNull()
  })

  it("the kernel comes from current-kernel first; kversion words may be separated by several spaces", () => {
    expect(Pve.parseKernel({ "current-kernel": { release: "6.8.12-4-pve" }, kversion: "Linux 6.8.8-1-pve #1" })).toBe("6.8.12-4-pve")
    expect(Pve.parseKernel({ kversion: "Linux  6.8.12-4-pve #1" })).toBe("6.8.12-4-pve")
  })

  it("QEMU memory: spaces around current= and its value are allowed; a value that is not all digits is null", () => {
    expect(Pve.parseQemuMemoryBytes("shares=500, current=2048")).toBe(2048 * 2 ** 20)
    expect(Pve.parseQemuMemoryBytes("current=2048 ,shares=500")).toBe(2048 * 2 ** 20)
    expect(Pve.parseQemuMemoryBytes("current=a1")).toBeNull()
  })

  it("tags with leading, trailing or doubled separators give no empty tags", () => {
    expect(Pve.parseTags(";infra;;dns;")).toEqual(["infra", "dns"])
    expect(Pve.parseTags(" ")).toEqual([])
  })
})

describe("Finalize edges", () => {
  const base = doc({})
  const vm = (vmid: number): Guest => ({ vmid, name: `vm${vmid}`, status: "running", config: { description: "x".repeat(200) } })

  it("error texts of exactly 500 characters are kept; one more is cut to 500 with an ellipsis", () => {
    expect(Finalize.capErrorText("e".repeat(500))).toBe("e".repeat(500))
    const cutText = Finalize.capErrorText("e".repeat(501))
    expect(cutText).toHaveLength(500)
    expect(cutText.endsWith("e…")).toBe(true)
  })

  it("isTruncated is per section", () => {
    expect(Finalize.isTruncated({ truncations: [cut("storage")] }, "containers")).toBe(false)
    expect(Finalize.isTruncated({ truncations: [cut("storage")] }, "storage")).toBe(true)
  })

  it("VM config maps are removed too when there are no containers", () => {
    const input = { ...base, sections: { vms: [vm(200), vm(201)] } }
    const out = Finalize.fitResponse(input, Finalize.byteSize(input) - 100)
    expect(out.sections.vms!.map((g) => "config" in g)).toEqual([false, false])
    expect(out.truncations).toEqual([{ section: "_response", reason: expect.stringContaining("removed guest config maps"), omitted: 2, target: "config" }])
  })

  it("empty Docker rosters and an empty interface list add no truncation; stripping rosters that is not enough goes on", () => {
    const input = {
      ...base,
      sections: {
        services: [{ vmid: 101, failedUnits: [], docker: [{ name: "caddy", image: "caddy:2", status: "Up" }] }, { vmid: 102, failedUnits: [], docker: [] }],
        network: { ifaces: [], bridges: [] },
        storage: Array.from({ length: 10 }, (_, i) => store(`s${i}`))
      }
    }
    const max = Finalize.byteSize(input) - 300
    const out = Finalize.fitResponse(input, max)
    expect(Finalize.byteSize(out)).toBeLessThanOrEqual(max)
    expect(out.truncations.map((t) => t.target)).toEqual(["services", "storage"])
    expect(out.truncations[0]).toMatchObject({ omitted: 1, reason: expect.stringContaining("removed Docker rosters") })
  })

  it("drift's tailscale list is cut like the others, under its own name", () => {
    const tailscale = Array.from({ length: 30 }, (_, i) => ({ field: `f${i}`, from: "a".repeat(20), to: "b".repeat(20) }))
    const input: CensusDocument = { ...base, drift: { mode: "compared", comparedTo: "s", notCompared: [], tailscale } }
    const max = Finalize.byteSize(input) - 500
    const out = Finalize.fitResponse(input, max)
    expect(Finalize.byteSize(out)).toBeLessThanOrEqual(max)
    const kept = out.drift?.mode === "compared" ? out.drift.tailscale : undefined
    expect(kept!.length).toBeLessThan(30)
    expect(out.truncations).toEqual([
      { section: "_response", reason: expect.stringContaining("entries of drift.tailscale"), omitted: 30 - kept!.length, target: "drift.tailscale" }
    ])
  })

  it("ZFS pools are cut with the node as target; a node without ZFS has no pools list", () => {
    const pools = Array.from({ length: 20 }, (_, i) => ({ name: `pool-${i}`, health: "ONLINE", sizeBytes: 1, allocBytes: 1 }))
    const node: NodeSection = { version: null, kernel: null, uptime: "up 0m", uptimeSecs: 0, cpu: null, memBytes: null, memUsedBytes: null, load: [], zpool: { healthy: true, pools, detail: "20 pools ONLINE" } }
    const input = { ...base, sections: { node } }
    const out = Finalize.fitResponse(input, Finalize.byteSize(input) - 100)
    expect(out.truncations.map((t) => t.target)).toEqual(["node"])
    const noZfs = { ...base, sections: { node: { ...node, zpool: null }, vms: [vm(1), vm(2)].map(({ config: _c, ...g }) => g) } }
    const out2 = Finalize.fitResponse(noZfs, Finalize.byteSize(noZfs) - 20)
    expect(out2.truncations.map((t) => t.target)).toEqual(["vms"])
    expect(out2.sections.vms!.length).toBeLessThan(2)
  })

  it("when nothing is left to cut the document is returned as it is, over the cap", () => {
    const out = Finalize.fitResponse(base, 10)
    expect(out).toEqual({ ...base, truncations: [], truncated: false })
  })
})
