/**
 * Health rules (census-health.md §2.2–2.3): inclusive thresholds (value >= crit → crit; else >= warn →
 * warn; else ok), one finding per check, pseudo filesystems hidden unless asked for (summarized in
 * `hiddenFindings`), and the rollup (`status` = worst visible finding). Pure.
 */
import * as Schema from "effect/Schema"
import type { DfRow } from "./Df.js"
import { isPseudo } from "./Df.js"
import type * as Pve from "../census/Pve.js"
import type { HealthSettings } from "../census/Settings.js"

/** A verdict. */
export const statuses = ["ok", "warn", "crit"] as const
export type Status = (typeof statuses)[number]
export const Status = Schema.Literal(...statuses)

/** Health sections. */
export const healthSections = ["node", "storage", "guests", "units", "updates"] as const
export type HealthSection = (typeof healthSections)[number]
export const HealthSection = Schema.Literal(...healthSections)

/** One check's result. */
export const Finding = Schema.Struct({
  section: HealthSection,
  check: Schema.String,
  status: Status,
  finding: Schema.String,
  value: Schema.optional(Schema.Number),
  warnAt: Schema.optional(Schema.Number),
  critAt: Schema.optional(Schema.Number),
  detail: Schema.optional(Schema.Array(Schema.String)),
  asOf: Schema.optional(Schema.String)
})
export type Finding = typeof Finding.Type

/** A finding plus whether it concerns a pseudo filesystem (hidden by default). */
export interface Rated {
  readonly finding: Finding
  readonly pseudo: boolean
}

const rank = (s: Status): number => statuses.indexOf(s)

/** The worse of two verdicts. */
export const worse = (a: Status, b: Status): Status => (rank(a) >= rank(b) ? a : b)

/** The worst verdict of a list (`ok` when empty). */
export const worst = (list: ReadonlyArray<Status>): Status => list.reduce<Status>(worse, "ok")

/** Inclusive thresholds; values are compared after rounding to 6 decimals so float noise never flips a boundary. */
export const classify = (value: number, warnAt: number | undefined, critAt: number | undefined): Status => {
  const v = Math.round(value * 1e6) / 1e6
  if (critAt !== undefined && v >= critAt) return "crit"
  if (warnAt !== undefined && v >= warnAt) return "warn"
  return "ok"
}

const round2 = (n: number) => Math.round(n * 100) / 100

/** A rule that cannot be evaluated (missing CPU count or memory total): a section error, never a guess. */
export interface RuleError {
  readonly _tag: "RuleError"
  readonly check: string
  readonly message: string
}

const ruleError = (check: string, message: string): RuleError => ({ _tag: "RuleError", check, message })

/** `load`: load1 / CPU count. */
export const load = (status: Pve.NodeStatus, s: HealthSettings): Finding | RuleError => {
  const cpus = status.cpuinfo?.cpus
  const load1 = status.loadavg?.[0]
  if (cpus === undefined || !(cpus > 0)) return ruleError("load", "the node status has no CPU count (cpuinfo.cpus); the load ratio was not computed")
  if (load1 === undefined || !Number.isFinite(load1)) return ruleError("load", "the node status has no 1-minute load average")
  const ratio = load1 / cpus
  const st = classify(ratio, s.loadWarnRatio, s.loadCritRatio)
  return {
    section: "node",
    check: "load",
    status: st,
    finding: `1-minute load ${load1} on ${cpus} CPUs is ${round2(ratio)} per CPU.`,
    value: round2(ratio),
    warnAt: s.loadWarnRatio,
    critAt: s.loadCritRatio
  }
}

/** `memory`: used / total × 100. */
export const memory = (status: Pve.NodeStatus, s: HealthSettings): Finding | RuleError => {
  const total = status.memory?.total
  const used = status.memory?.used
  if (total === undefined || !(total > 0)) return ruleError("memory", "the node status has no memory total; memory use was not computed")
  if (used === undefined) return ruleError("memory", "the node status has no used-memory figure")
  const pct = (used * 100) / total
  return {
    section: "node",
    check: "memory",
    status: classify(pct, s.memWarnPct, s.memCritPct),
    finding: `Memory ${round2(pct)} % used (${used} of ${total} bytes).`,
    value: round2(pct),
    warnAt: s.memWarnPct,
    critAt: s.memCritPct
  }
}

/** `zfs`: crit when any pool is not `ONLINE`. */
export const zfs = (pools: ReadonlyArray<Pve.ZfsPool>): Finding => {
  const bad = pools.filter((p) => p.health !== "ONLINE")
  return {
    section: "node",
    check: "zfs",
    status: bad.length > 0 ? "crit" : "ok",
    finding:
      pools.length === 0
        ? "No ZFS pools."
        : bad.length > 0
          ? `${bad.map((p) => `Pool ${p.name} is ${p.health}`).join("; ")}.`
          : `${pools.length} ZFS pool${pools.length === 1 ? "" : "s"} ONLINE.`,
    ...(pools.length > 0 ? { detail: [...pools].sort((a, b) => (a.name < b.name ? -1 : 1)).map((p) => `${p.name}: ${p.health}`) } : {})
  }
}

/** `store:<name>` for each enabled store: inactive → warn; else used / (used + avail) × 100. Disabled stores are not reported. */
export const stores = (entries: ReadonlyArray<Pve.StorageEntry>, s: HealthSettings): Array<Finding> =>
  [...entries]
    .filter((e) => e.enabled === true)
    .sort((a, b) => (a.storage < b.storage ? -1 : 1))
    .flatMap((e): Array<Finding> => {
      const check = `store:${e.storage}`
      if (e.active !== true) return [{ section: "storage", check, status: "warn", finding: `Storage ${e.storage} is enabled but not active.` }]
      if (e.used === undefined || e.avail === undefined || e.used + e.avail <= 0) return []
      const pct = (e.used * 100) / (e.used + e.avail)
      return [
        {
          section: "storage",
          check,
          status: classify(pct, s.fsWarnPct, s.fsCritPct),
          finding: `Storage ${e.storage} is ${round2(pct)} % full.`,
          value: round2(pct),
          warnAt: s.fsWarnPct,
          critAt: s.fsCritPct
        }
      ]
    })

/** `fs:<mount>` per df row with a size (reserved blocks count as used); pseudo filesystems are marked. */
export const filesystems = (rows: ReadonlyArray<DfRow>, s: HealthSettings): Array<Rated> =>
  [...rows]
    .sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0))
    .flatMap((r): Array<Rated> => {
      if (r.usedBytes === null || r.availBytes === null || r.usedBytes + r.availBytes <= 0) return []
      const pct = (r.usedBytes * 100) / (r.usedBytes + r.availBytes)
      return [
        {
          pseudo: isPseudo(r),
          finding: {
            section: "storage",
            check: `fs:${r.target}`,
            status: classify(pct, s.fsWarnPct, s.fsCritPct),
            finding: `${r.target} (${r.fstype} on ${r.source}) is ${round2(pct)} % full.`,
            value: round2(pct),
            warnAt: s.fsWarnPct,
            critAt: s.fsCritPct
          }
        }
      ]
    })

/** A guest as the onboot rule sees it. */
export interface OnbootGuest {
  readonly vmid: number
  readonly kind: "CT" | "VM"
  readonly name: string
  readonly status: string
  readonly onboot: boolean
}

/** `onboot-guests`: warn when any `onboot: 1` guest is not running. */
export const onbootGuests = (guests: ReadonlyArray<OnbootGuest>): Finding => {
  const down = guests.filter((g) => g.onboot && g.status !== "running").sort((a, b) => a.vmid - b.vmid)
  return {
    section: "guests",
    check: "onboot-guests",
    status: down.length > 0 ? "warn" : "ok",
    finding:
      down.length > 0
        ? `${down.length} guest${down.length === 1 ? "" : "s"} set to start on boot ${down.length === 1 ? "is" : "are"} not running.`
        : "Every guest set to start on boot is running.",
    ...(down.length > 0 ? { value: down.length, warnAt: 1, detail: down.map((g) => `${g.kind} ${g.vmid} (${g.name}) is ${g.status}`) } : {})
  }
}

/** `pve-services`: enabled PVE services not `active` (corosync skipped on a single node); crit for names in the crit list. */
export const pveServices = (services: ReadonlyArray<Pve.ServiceEntry>, singleNode: boolean, critList: ReadonlyArray<string>): Finding => {
  const bad = services
    .filter((sv) => sv["unit-state"] === "enabled" && sv["active-state"] !== "active")
    .filter((sv) => !(singleNode && sv.service === "corosync"))
    .sort((a, b) => (a.service < b.service ? -1 : 1))
  const crit = bad.some((sv) => isCritUnit(sv.service, critList))
  return {
    section: "units",
    check: "pve-services",
    status: bad.length === 0 ? "ok" : crit ? "crit" : "warn",
    finding:
      bad.length === 0
        ? "Every enabled Proxmox service is active."
        : `${bad.length} enabled Proxmox service${bad.length === 1 ? " is" : "s are"} not active.`,
    ...(bad.length > 0 ? { value: bad.length, detail: bad.map((sv) => `${sv.service}: ${sv["active-state"] ?? "unknown"}/${sv.state ?? "unknown"}`) } : {})
  }
}

const unitBase = (u: string) => u.replace(/\.service$/, "")
const isCritUnit = (unit: string, critList: ReadonlyArray<string>) => critList.some((c) => unitBase(c) === unitBase(unit))

/** `failed-units`: any failed unit warns; one in the crit list is crit. */
export const failedUnits = (units: ReadonlyArray<string>, critList: ReadonlyArray<string>): Finding => {
  const sorted = [...units].sort()
  return {
    section: "units",
    check: "failed-units",
    status: sorted.length === 0 ? "ok" : sorted.some((u) => isCritUnit(u, critList)) ? "crit" : "warn",
    finding: sorted.length === 0 ? "No failed systemd units." : `${sorted.length} failed systemd unit${sorted.length === 1 ? "" : "s"}.`,
    ...(sorted.length > 0 ? { value: sorted.length, detail: sorted } : {})
  }
}

/** `updates`: pending upgrades from `apt-get -s`, as of the package lists' mtime (this tool never runs `apt update`). */
export const updates = (pending: number, asOf: string, s: HealthSettings): Finding => ({
  section: "updates",
  check: "updates",
  status: classify(pending, s.pendingUpdatesWarn, undefined),
  finding: `${pending} pending upgrade${pending === 1 ? "" : "s"} as of the node's last apt update (${asOf}); this tool never runs apt update.`,
  value: pending,
  warnAt: s.pendingUpdatesWarn,
  asOf
})

/** Counts `Inst ` lines of `apt-get -s … dist-upgrade`. */
export const countPendingUpgrades = (output: string): number => output.split("\n").filter((l) => l.startsWith("Inst ")).length

/** Hidden findings summary: how many hidden findings are not `ok`, and the worst hidden verdict. */
export const HiddenFindings = Schema.Struct({ count: Schema.Number, worst: Status })
export type HiddenFindings = typeof HiddenFindings.Type

/** The rollup: visible findings, `status` = worst visible, and the hidden summary when any finding was hidden. */
export const rollup = (
  rated: ReadonlyArray<Rated>,
  includePseudoFs: boolean
): { readonly status: Status; readonly findings: ReadonlyArray<Finding>; readonly hiddenFindings: HiddenFindings | null } => {
  const visible = rated.filter((r) => includePseudoFs || !r.pseudo).map((r) => r.finding)
  const hidden = includePseudoFs ? [] : rated.filter((r) => r.pseudo).map((r) => r.finding)
  return {
    status: worst(visible.map((f) => f.status)),
    findings: visible,
    hiddenFindings:
      hidden.length === 0 ? null : { count: hidden.filter((f) => f.status !== "ok").length, worst: worst(hidden.map((f) => f.status)) }
  }
}
