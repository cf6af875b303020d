/**
 * Drift between a census and the newest saved snapshot (census-health.md §1.6, lessons B6, C4, A4, G4).
 * A first run is `seeded`, never a clean comparison; a section is compared only when requested now and
 * observed on both sides, otherwise it is listed in `notCompared` with its reason; a section truncated on
 * either side reports no removals. Pure.
 */
import type { CensusDocument, Drift, GuestDrift, Guest, ListDrift, NotCompared, SectionName, StorageItem, Iface, Tailscale } from "./Document.js"
import { isUnavailable, sectionNames } from "./Document.js"
import { isTruncated } from "./Finalize.js"
import * as SnapshotCapable from "./SnapshotCapable.js"

/** A saved snapshot: its id and document. */
export interface Baseline {
  readonly snapshotId: string
  readonly doc: CensusDocument
}

/** Sections that drift diffs (node is not diffed; services only reports when it cannot be compared). */
const diffed: ReadonlySet<SectionName> = new Set(["containers", "vms", "storage", "network", "tailscale", "services"])

type Observation = { readonly _tag: "observed"; readonly value: unknown } | { readonly _tag: "not"; readonly reason: NotCompared["reason"] }

const observe = (doc: CensusDocument, section: SectionName, side: "current" | "baseline"): Observation => {
  const value = doc.sections[section]
  if (side === "baseline" && !doc.requested.includes(section)) return { _tag: "not", reason: "not-in-baseline" }
  if (isUnavailable(value)) return { _tag: "not", reason: "unavailable-at-tier" }
  if (value === undefined || doc.incompleteSections.includes(section)) return { _tag: "not", reason: "incomplete" }
  return { _tag: "observed", value }
}

const guestDrift = (now: ReadonlyArray<Guest>, then: ReadonlyArray<Guest>, nowCut: boolean, thenCut: boolean): GuestDrift => {
  const before = new Map(then.map((g) => [g.vmid, g]))
  const after = new Map(now.map((g) => [g.vmid, g]))
  // When the baseline was cut, only vmids up to its last kept one can be called new (lists are sorted by vmid).
  const addCutoff = thenCut ? (then.length > 0 ? then[then.length - 1]!.vmid : -Infinity) : Infinity
  const added = now.filter((g) => !before.has(g.vmid) && g.vmid <= addCutoff).map((g) => ({ vmid: g.vmid, name: g.name }))
  const removed =
    nowCut || thenCut
      ? []
      : then.filter((g) => !after.has(g.vmid)).map((g) => ({ vmid: g.vmid, name: g.name }))
  const changed: Array<GuestDrift["changed"][number]> = []
  for (const g of now) {
    const b = before.get(g.vmid)
    if (b === undefined) continue
    if (b.status !== g.status) changed.push({ vmid: g.vmid, field: "status", from: b.status, to: g.status })
    if (b.name !== g.name) changed.push({ vmid: g.vmid, field: "name", from: b.name, to: g.name })
    if (b.snapshotCapable !== undefined && g.snapshotCapable !== undefined) {
      const from = SnapshotCapable.label(b.snapshotCapable)
      const to = SnapshotCapable.label(g.snapshotCapable)
      if (from !== to) changed.push({ vmid: g.vmid, field: "snapshotCapable", from, to })
    }
  }
  return { added, removed, changed }
}

const namedDrift = <A>(
  now: ReadonlyArray<A>,
  then: ReadonlyArray<A>,
  key: (a: A) => string,
  compare: (from: A, to: A) => ReadonlyArray<{ field: string; from: unknown; to: unknown }>,
  nowCut: boolean,
  thenCut: boolean
): ListDrift => {
  const before = new Map(then.map((a) => [key(a), a]))
  const after = new Map(now.map((a) => [key(a), a]))
  return {
    added: thenCut ? [] : now.filter((a) => !before.has(key(a))).map(key),
    removed: nowCut || thenCut ? [] : then.filter((a) => !after.has(key(a))).map(key),
    changed: now.flatMap((a) => {
      const b = before.get(key(a))
      return b === undefined ? [] : compare(b, a).map((c) => ({ name: key(a), ...c }))
    })
  }
}

const storageChanges = (pct: number) => (from: StorageItem, to: StorageItem) => {
  const out: Array<{ field: string; from: unknown; to: unknown }> = []
  if (from.active !== to.active) out.push({ field: "active", from: from.active, to: to.active })
  const total = to.totalBytes ?? from.totalBytes
  if (from.usedBytes !== null && to.usedBytes !== null && total !== null && total > 0) {
    if ((Math.abs(to.usedBytes - from.usedBytes) * 100) / total >= pct)
      out.push({ field: "usedBytes", from: from.usedBytes, to: to.usedBytes })
  }
  return out
}

const ifaceChanges = (from: Iface, to: Iface) => {
  const out: Array<{ field: string; from: unknown; to: unknown }> = []
  for (const f of ["active", "cidr", "cidr6", "gateway"] as const) {
    const a = from[f] ?? null
    const b = to[f] ?? null
    if (a !== b) out.push({ field: f, from: a, to: b })
  }
  return out
}

const tailscaleChanges = (from: Tailscale, to: Tailscale) => {
  const out: Array<{ field: string; from: unknown; to: unknown }> = []
  for (const f of ["scope", "online", "peerCount"] as const) {
    const a = from[f] ?? null
    const b = to[f] ?? null
    if (a !== b) out.push({ field: f, from: a, to: b })
  }
  return out
}

/** Drift of `current` against `baseline` (`null`: none saved → seeded). */
export const compute = (current: CensusDocument, baseline: Baseline | null, storageDriftPct: number): Drift => {
  if (baseline === null) return { mode: "seeded", seededReason: "no-baseline", comparedTo: null }
  const then = baseline.doc
  const notCompared: Array<NotCompared> = []
  const result: {
    containers?: GuestDrift
    vms?: GuestDrift
    storage?: ListDrift
    network?: ListDrift
    tailscale?: ReadonlyArray<{ field: string; from: unknown; to: unknown }>
  } = {}
  for (const section of sectionNames) {
    if (!diffed.has(section) || !current.requested.includes(section)) continue
    const a = observe(current, section, "current")
    const b = observe(then, section, "baseline")
    if (a._tag === "not") {
      notCompared.push({ section, reason: a.reason })
      continue
    }
    if (b._tag === "not") {
      notCompared.push({ section, reason: b.reason })
      continue
    }
    const nowCut = isTruncated(current, section)
    const thenCut = isTruncated(then, section)
    switch (section) {
      case "containers":
      case "vms":
        result[section] = guestDrift(a.value as ReadonlyArray<Guest>, b.value as ReadonlyArray<Guest>, nowCut, thenCut)
        break
      case "storage":
        result.storage = namedDrift(
          a.value as ReadonlyArray<StorageItem>,
          b.value as ReadonlyArray<StorageItem>,
          (s) => s.name,
          storageChanges(storageDriftPct),
          nowCut,
          thenCut
        )
        break
      case "network":
        result.network = namedDrift(
          (a.value as CensusDocument["sections"]["network"])!.ifaces,
          (b.value as CensusDocument["sections"]["network"])!.ifaces,
          (i) => i.iface,
          ifaceChanges,
          nowCut,
          thenCut
        )
        break
      case "tailscale":
        result.tailscale = tailscaleChanges(b.value as Tailscale, a.value as Tailscale)
        break
      default:
        break
    }
  }
  return { mode: "compared", comparedTo: baseline.snapshotId, ...result, notCompared }
}
