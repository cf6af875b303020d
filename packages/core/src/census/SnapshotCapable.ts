/**
 * Whether a guest can be snapshotted, decided from its config (census-health.md §1.2): passthrough
 * (`devN`, `hostpciN`, host `usbN`, a VM disk that is a host block device, raw `lxc.cgroup*.devices.*`,
 * `lxc.mount.entry` with `/dev/`), an
 * `mpN` binding an absolute host path, a root disk on `dir` storage, or a template. Pure.
 */
import type { GuestConfig } from "./Pve.js"
import { configFlag } from "./Pve.js"
import type { SnapshotCapable } from "./Document.js"

const diskBuses = ["scsi", "virtio", "sata", "ide"] as const

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined)

/**
 * One property of a PVE property string (`a,b=c,…`): `key`'s value, or with `isDefault` the key-less
 * part PVE assigns to the format's default key (wherever it stands); `undefined` when absent.
 */
const propertyOf = (value: string, key: string, isDefault: boolean): string | undefined => {
  for (const part of value.split(",")) {
    const eq = part.indexOf("=")
    if (eq === -1) {
      if (isDefault && part !== "") return part
    } else if (part.slice(0, eq) === key) return part.slice(eq + 1)
  }
  return undefined
}

/**
 * The volume of a disk/mount property: the default key (`local-lvm:vm-101-disk-0,size=8G`), or
 * `volume=` (LXC) or `file=` (QEMU) written out anywhere in the string; `""` when there is none.
 */
const volumeOf = (value: string): string => propertyOf(value, "volume", true) ?? propertyOf(value, "file", false) ?? ""

/** Host USB passthrough: a device or port in `host` (the default key), unless it is `spice`, or a `mapping`. */
const hostUsb = (value: string): boolean => {
  const host = propertyOf(value, "host", true)
  return (host !== undefined && host !== "spice") || propertyOf(value, "mapping", false) !== undefined
}

/** The storage id of a volume (`local-lvm:vm-101-disk-0` → `local-lvm`); `null` for a host path. */
const storageOf = (volume: string): string | null => {
  if (volume.startsWith("/")) return null
  const i = volume.indexOf(":")
  return i > 0 ? volume.slice(0, i) : null
}

const numericSuffix = (key: string, prefix: string): number | null => {
  if (!key.startsWith(prefix)) return null
  const rest = key.slice(prefix.length)
  return /^\d+$/.test(rest) ? Number(rest) : null
}

/** The root disk key: `rootfs`, else the first non-cdrom, non-cloudinit `scsiN|virtioN|sataN|ideN` (bus order, then index). */
export const rootDiskKey = (config: GuestConfig): string | null => {
  if (str(config["rootfs"]) !== undefined) return "rootfs"
  for (const bus of diskBuses) {
    const keys = Object.keys(config)
      .map((k) => ({ k, n: numericSuffix(k, bus) }))
      .filter((x): x is { k: string; n: number } => x.n !== null)
      .sort((a, b) => a.n - b.n)
    for (const { k } of keys) {
      const v = str(config[k]) ?? ""
      if (/(^|,)media=cdrom(,|$)/.test(v) || v.includes("cloudinit") || v === "none") continue
      return k
    }
  }
  return null
}

/** Decides snapshot capability; `storageTypes` maps storage ids to their type (`dir`, `lvmthin`, …). */
export const snapshotCapable = (
  config: GuestConfig,
  storageTypes: ReadonlyMap<string, string>,
  template = false
): SnapshotCapable => {
  const reasons: Array<string> = []
  if (template || configFlag(config["template"])) reasons.push("it is a template")
  for (const key of Object.keys(config).sort()) {
    const value = str(config[key]) ?? ""
    if (numericSuffix(key, "dev") !== null) reasons.push(`device passthrough (${key}: ${volumeOf(value) || value})`)
    else if (numericSuffix(key, "hostpci") !== null) reasons.push(`PCI passthrough (${key})`)
    else if (numericSuffix(key, "usb") !== null && hostUsb(value)) reasons.push(`host USB passthrough (${key})`)
    else if (numericSuffix(key, "mp") !== null && volumeOf(value).startsWith("/"))
      reasons.push(`host bind mount (${key}: ${volumeOf(value)})`)
    else if (diskBuses.some((bus) => numericSuffix(key, bus) !== null) && volumeOf(value).startsWith("/dev/"))
      reasons.push(`disk passthrough (${key}: ${volumeOf(value)})`)
  }
  const raw = config["lxc"]
  if (Array.isArray(raw)) {
    for (const line of raw) {
      if (!Array.isArray(line)) continue
      const k = String(line[0] ?? "")
      const v = String(line[1] ?? "")
      if (/^lxc\.cgroup2?\.devices\./.test(k)) reasons.push(`raw device rule (${k})`)
      else if (k === "lxc.mount.entry" && v.includes("/dev/")) reasons.push(`raw device mount (${k})`)
    }
  }
  const root = rootDiskKey(config)
  if (root !== null) {
    const storage = storageOf(volumeOf(str(config[root]) ?? ""))
    if (storage !== null && storageTypes.get(storage) === "dir") reasons.push(`root disk ${root} on dir storage ${storage}`)
  }
  const unique = [...new Set(reasons)]
  return unique.length === 0 ? { capable: true } : { capable: false, reason: unique.join("; ") }
}

/** The drift label of a capability: `capable` or `incapable (reason)`. */
export const label = (s: SnapshotCapable): string => (s.capable ? "capable" : `incapable (${s.reason ?? "unknown"})`)

/**
 * Whether a VM config enables the guest agent (`agent: 1`, `agent: enabled=1,…`, `agent: 1,fstrim…`).
 */
export const agentConfigured = (config: GuestConfig): boolean => {
  const v = str(config["agent"])
  if (v === undefined) return false
  return v.split(",").some((part, i) => (i === 0 && part.trim() === "1") || part.trim() === "enabled=1")
}
