/**
 * Decoding Schemas for the Proxmox VE API responses the census and health check read (sandbox.md §4.7),
 * with the quirks normalized: `0|1` booleans, `loadavg` strings, numbers sent as strings, the QEMU
 * `memory` property string, and `pve-manager/x.y.z/<repoid>` versions. Unknown fields are ignored.
 */
import * as Schema from "effect/Schema"

/** A PVE boolean: `0|1` (or `"0"|"1"`, or JSON booleans from older releases) decoded to `boolean`. */
export const Flag = Schema.transform(Schema.Union(Schema.Number, Schema.Boolean, Schema.String), Schema.Boolean, {
  strict: true,
  decode: (v) => v === true || v === 1 || v === "1",
  encode: (b) => (b ? 1 : 0)
})

/** A number that PVE may send as a JSON number or a numeric string (`loadavg`, `mhz`, 8.x vmids). */
export const Numeric = Schema.Union(Schema.Number, Schema.NumberFromString)

const optNum = Schema.optional(Numeric)
const optFlag = Schema.optional(Flag)
const optStr = Schema.optional(Schema.String)

/** `GET /nodes/{node}/status` (Sys.Audit on /nodes/{node}). */
export const NodeStatus = Schema.Struct({
  uptime: optNum,
  loadavg: Schema.optional(Schema.Array(Numeric)),
  kversion: optStr,
  "current-kernel": Schema.optional(Schema.Struct({ release: optStr, sysname: optStr, version: optStr })),
  cpuinfo: Schema.optional(Schema.Struct({ cpus: optNum, cores: optNum, sockets: optNum, model: optStr })),
  memory: Schema.optional(Schema.Struct({ total: optNum, used: optNum, free: optNum, available: optNum })),
  pveversion: optStr
})
export type NodeStatus = typeof NodeStatus.Type

/** One entry of `GET /nodes/{node}/disks/zfs` (Sys.Audit on /). */
export const ZfsPool = Schema.Struct({
  name: Schema.String,
  size: optNum,
  alloc: optNum,
  free: optNum,
  health: Schema.String
})
export type ZfsPool = typeof ZfsPool.Type
export const ZfsPools = Schema.Array(ZfsPool)

/** One entry of `GET /nodes/{node}/storage` (filtered per store by Datastore.Audit). */
export const StorageEntry = Schema.Struct({
  storage: Schema.String,
  type: Schema.String,
  content: optStr,
  active: optFlag,
  enabled: optFlag,
  shared: optFlag,
  total: optNum,
  used: optNum,
  avail: optNum
})
export type StorageEntry = typeof StorageEntry.Type
export const StorageList = Schema.Array(StorageEntry)

/** One entry of `GET /nodes/{node}/network` (flags only when set). */
export const NetworkEntry = Schema.Struct({
  iface: Schema.String,
  type: Schema.String,
  active: optFlag,
  autostart: optFlag,
  cidr: optStr,
  cidr6: optStr,
  gateway: optStr,
  bridge_ports: optStr,
  bridge_vlan_aware: optFlag
})
export type NetworkEntry = typeof NetworkEntry.Type
export const NetworkList = Schema.Array(NetworkEntry)

/** One entry of `GET /nodes/{node}/lxc` or `GET /nodes/{node}/qemu` (VM.Audit per item). */
export const GuestEntry = Schema.Struct({
  vmid: Numeric,
  name: optStr,
  status: Schema.String,
  cpus: optNum,
  maxmem: optNum,
  uptime: optNum,
  tags: optStr,
  template: optFlag,
  lock: optStr
})
export type GuestEntry = typeof GuestEntry.Type
export const GuestList = Schema.Array(GuestEntry)

/**
 * `GET …/{lxc|qemu}/{vmid}/config`: a flat map; LXC raw lines arrive as `lxc: [[key, value], …]`. Any JSON
 * object is one (its keys are strings), so it is checked and kept as parsed, not copied key by key: a
 * census reads hundreds of them.
 */
export const GuestConfig: Schema.Schema<{ readonly [key: string]: unknown }> = Schema.declare(
  (u: unknown): u is { readonly [key: string]: unknown } => typeof u === "object" && u !== null && !Array.isArray(u),
  { identifier: "GuestConfig", description: "a guest's configuration (a JSON object)" }
)
export type GuestConfig = typeof GuestConfig.Type

/** One entry of `GET /nodes/{node}/services` (Sys.Audit on /nodes/{node}). */
export const ServiceEntry = Schema.Struct({
  service: Schema.String,
  name: optStr,
  desc: optStr,
  state: optStr,
  "active-state": optStr,
  "unit-state": optStr
})
export type ServiceEntry = typeof ServiceEntry.Type
export const ServiceList = Schema.Array(ServiceEntry)

/** One entry of `GET /nodes` (any caller). */
export const ClusterNode = Schema.Struct({ node: Schema.String, status: optStr })
export const ClusterNodes = Schema.Array(ClusterNode)

/** `POST …/qemu/{vmid}/agent/ping` → `{result: …}`. */
export const AgentPing = Schema.Unknown

// ---------------------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------------------

/** `pve-manager/9.1.1/f4d3f125ffae50e9` → `9.1.1`; a bare version passes through; anything else is `null`. */
export const parseVersion = (pveversion: string | undefined): string | null => {
  if (pveversion === undefined) return null
  const m = /^(?:pve-manager\/)?(\d+(?:\.\d+)+(?:[-~][0-9A-Za-z.~-]+)?)(?:\/|$)/.exec(pveversion.trim())
  return m?.[1] ?? null
}

/** The kernel release: `current-kernel.release`, else the second word of `kversion` (`Linux 6.17.2-1-pve #1 …`). */
export const parseKernel = (status: NodeStatus): string | null => {
  const release = status["current-kernel"]?.release
  if (release !== undefined && release !== "") return release
  const words = status.kversion?.trim().split(/\s+/) ?? []
  return words[1] ?? null
}

/** Seconds → `up 13d 23h 42m` (leading zero units omitted). */
export const formatUptime = (secs: number): string => {
  const s = Math.max(0, Math.floor(secs))
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `up ${d}d ${h}h ${m}m`
  if (h > 0) return `up ${h}h ${m}m`
  return `up ${m}m`
}

/** The QEMU `memory` property (`"2048"`, `2048` or `current=2048,…`) in bytes; `null` when absent or malformed. */
export const parseQemuMemoryBytes = (memory: unknown): number | null => {
  if (typeof memory === "number") return Number.isFinite(memory) ? memory * 1024 * 1024 : null
  if (typeof memory !== "string") return null
  for (const part of memory.split(",")) {
    const [k, v] = part.includes("=") ? part.split("=", 2) : ["current", part]
    if (k?.trim() === "current" && v !== undefined && /^\d+$/.test(v.trim())) return Number(v.trim()) * 1024 * 1024
  }
  return null
}

/** `tags` as PVE sends them (`"a;b"`, some releases `,` or spaces) → list, empty entries dropped. */
export const parseTags = (tags: string | undefined): ReadonlyArray<string> =>
  tags === undefined ? [] : tags.split(/[;,\s]+/).filter((t) => t.length > 0)

/** A config value that PVE renders as `0|1` (`onboot`, `template`). */
export const configFlag = (v: unknown): boolean => v === 1 || v === "1" || v === true

/**
 * The census `host`: `SSH_HOST` if set, else the host of `PVE_API_BASE_URL` (IPv6 brackets removed);
 * `null` only when neither is usable.
 */
export const deriveHost = (sshHost: string | undefined, apiBaseUrl: string | undefined): string | null => {
  if (sshHost !== undefined && sshHost.trim() !== "") return sshHost.trim()
  if (apiBaseUrl === undefined) return null
  try {
    const host = new URL(apiBaseUrl).hostname
    return host === "" ? null : host.replace(/^\[(.*)\]$/, "$1")
  } catch {
    return null
  }
}
