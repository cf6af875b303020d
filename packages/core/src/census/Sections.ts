/**
 * Pure section builders: decoded PVE responses → census sections (census-health.md §1.4), sorted
 * (guests by vmid, the rest by name, config keys alphabetically) so an unchanged node serializes the
 * same way every time.
 */
import type * as Document from "./Document.js"
import type { Depth } from "./Document.js"
import * as Pve from "./Pve.js"
import * as SnapshotCapable from "./SnapshotCapable.js"

const byName = <A>(f: (a: A) => string) => (a: A, b: A) => (f(a) < f(b) ? -1 : f(a) > f(b) ? 1 : 0)

/** The ZFS summary: `healthy` only when every pool is `ONLINE`. */
export const zpool = (pools: ReadonlyArray<Pve.ZfsPool>): typeof Document.ZpoolSummary.Type => {
  const sorted = [...pools].sort(byName((p) => p.name))
  const bad = sorted.filter((p) => p.health !== "ONLINE")
  const detail =
    sorted.length === 0
      ? "no ZFS pools"
      : bad.length === 0
        ? `${sorted.length} pool${sorted.length === 1 ? "" : "s"} ONLINE`
        : bad.map((p) => `${p.name} is ${p.health}`).join("; ")
  return {
    healthy: bad.length === 0,
    pools: sorted.map((p) => ({ name: p.name, health: p.health, sizeBytes: p.size ?? null, allocBytes: p.alloc ?? null })),
    detail
  }
}

/** The node section from `GET /nodes/{n}/status` and (when it succeeded) `GET /nodes/{n}/disks/zfs`. */
export const node = (status: Pve.NodeStatus, pools: ReadonlyArray<Pve.ZfsPool> | null): Document.NodeSection => {
  const uptimeSecs = Math.max(0, Math.floor(status.uptime ?? 0))
  return {
    version: Pve.parseVersion(status.pveversion),
    kernel: Pve.parseKernel(status),
    uptime: Pve.formatUptime(uptimeSecs),
    uptimeSecs,
    cpu: status.cpuinfo?.cpus ?? null,
    memBytes: status.memory?.total ?? null,
    memUsedBytes: status.memory?.used ?? null,
    load: (status.loadavg ?? []).slice(0, 3),
    zpool: pools === null ? null : zpool(pools)
  }
}

/** The storage section from `GET /nodes/{n}/storage`, by name; `content` split and sorted. */
export const storage = (entries: ReadonlyArray<Pve.StorageEntry>): Array<Document.StorageItem> =>
  [...entries].sort(byName((s) => s.storage)).map((s) => ({
    name: s.storage,
    type: s.type,
    active: s.active ?? false,
    enabled: s.enabled ?? false,
    shared: s.shared ?? false,
    content: (s.content ?? "").split(",").map((c) => c.trim()).filter((c) => c.length > 0).sort(),
    totalBytes: s.total ?? null,
    usedBytes: s.used ?? null,
    availBytes: s.avail ?? null
  }))

const bridgeTypes = new Set(["bridge", "OVSBridge"])

/** The network section from `GET /nodes/{n}/network`: every interface, plus the bridges' ports and VLAN awareness. */
export const network = (entries: ReadonlyArray<Pve.NetworkEntry>): Document.NetworkSection => {
  const sorted = [...entries].sort(byName((e) => e.iface))
  return {
    ifaces: sorted.map((e) => ({
      iface: e.iface,
      type: e.type,
      active: e.active ?? false,
      autostart: e.autostart ?? false,
      ...(e.cidr !== undefined ? { cidr: e.cidr } : {}),
      ...(e.cidr6 !== undefined ? { cidr6: e.cidr6 } : {}),
      ...(e.gateway !== undefined ? { gateway: e.gateway } : {})
    })),
    bridges: sorted
      .filter((e) => bridgeTypes.has(e.type))
      .map((e) => ({
        name: e.iface,
        ports: (e.bridge_ports ?? "").split(/\s+/).filter((p) => p.length > 0),
        vlanAware: e.bridge_vlan_aware ?? false,
        ...(e.cidr !== undefined ? { cidr: e.cidr } : {})
      }))
  }
}

/** A guest list sorted by vmid (integers even if sent as strings). */
export const sortGuests = (entries: ReadonlyArray<Pve.GuestEntry>): Array<Pve.GuestEntry> =>
  [...entries].sort((a, b) => a.vmid - b.vmid)

/** The config map as published at depth `full`: `digest` removed, keys sorted. */
export const publishedConfig = (config: Pve.GuestConfig): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(config).sort()) if (k !== "digest") out[k] = config[k]
  return out
}

/** What a guest entry is built from. */
export interface GuestInputs {
  readonly type: "lxc" | "qemu"
  readonly entry: Pve.GuestEntry
  readonly depth: Depth
  /** The guest config (depth status/full); `undefined` when it could not be read. */
  readonly config?: Pve.GuestConfig | undefined
  readonly storageTypes: ReadonlyMap<string, string>
  /** VMs: the agent state (depth status/full). */
  readonly agent?: Document.AgentState | undefined
}

/** One guest at the given depth; fields needing the config are left out when it is missing. */
export const guest = (i: GuestInputs): Document.Guest => {
  const e = i.entry
  const name = e.name ?? (i.type === "lxc" ? `CT${e.vmid}` : `VM ${e.vmid}`)
  const base = { vmid: e.vmid, name, status: e.status }
  if (i.depth === "summary") return base
  const template = e.template ?? (i.config !== undefined && Pve.configFlag(i.config["template"]))
  const maxmem = e.maxmem ?? (i.type === "qemu" && i.config !== undefined ? Pve.parseQemuMemoryBytes(i.config["memory"]) : null)
  const status: Document.Guest = {
    ...base,
    template,
    ...(e.lock !== undefined && e.lock !== "" ? { lock: e.lock } : {}),
    tags: Pve.parseTags(e.tags),
    uptimeSecs: Math.max(0, Math.floor(e.uptime ?? 0)),
    cpus: e.cpus ?? null,
    maxmemBytes: maxmem,
    ...(i.config !== undefined
      ? {
          onboot: Pve.configFlag(i.config["onboot"]),
          snapshotCapable: SnapshotCapable.snapshotCapable(i.config, i.storageTypes, template)
        }
      : {}),
    ...(i.type === "qemu" && i.agent !== undefined ? { agent: i.agent } : {})
  }
  if (i.depth === "status" || i.config === undefined) return status
  return { ...status, config: publishedConfig(i.config) }
}
