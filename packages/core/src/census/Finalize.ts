/**
 * Bounding and finishing a census document (census-health.md §1.5, §3): item caps with explicit
 * truncation entries, redaction of the whole document, and a response-size cap that removes detail in a
 * fixed order until the serialized document fits. Pure.
 */
import type { CensusDocument, Guest, ServiceItem, Truncation } from "./Document.js"
import { isUnavailable } from "./Document.js"

/** A redactor over a whole JSON value; each replacement counts once. */
export type Redactor = (value: unknown) => { readonly value: unknown; readonly count: number }

/** The first `max` items and, when some were dropped, the truncation entry naming how many. */
export const capList = <A>(
  section: string,
  list: ReadonlyArray<A>,
  max: number
): { readonly kept: ReadonlyArray<A>; readonly truncation: Truncation | null } =>
  list.length <= max
    ? { kept: list, truncation: null }
    : {
        kept: list.slice(0, max),
        truncation: { section, reason: `more than ${max} items; kept the first ${max}`, omitted: list.length - max }
      }

/** Error texts are capped at 500 characters. */
export const capErrorText = (text: string, max = 500): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/**
 * Redacts the whole document (structured mode over every section, text mode on other strings) and
 * records the count; error texts are re-capped afterwards.
 */
export const redactDocument = (doc: CensusDocument, redact: Redactor): CensusDocument => {
  const { value, count } = redact(doc)
  const out = value as CensusDocument
  return { ...out, errors: out.errors.map((e) => ({ ...e, error: capErrorText(e.error) })), redactions: doc.redactions + count }
}

/** UTF-8 size of the serialized document (counted, not encoded: a 500-guest census is measured several times). */
export const byteSize = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? "", "utf8")

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const sectionLists = ["containers", "vms", "storage", "services", "bridges", "ifaces", "pools", "errors"] as const
const driftKinds = ["containers", "vms", "storage", "network"] as const
const driftParts = ["added", "removed", "changed"] as const
type DriftKind = (typeof driftKinds)[number]
type DriftPart = (typeof driftParts)[number]
type DriftListName = `drift.${DriftKind}.${DriftPart}`
type ListName = (typeof sectionLists)[number] | DriftListName | "drift.tailscale"

/** Every list the size cap may shorten: the sections' lists, errors, and drift's (drift is never saved). */
const listNames: ReadonlyArray<ListName> = [
  ...sectionLists,
  ...driftKinds.flatMap((k) => driftParts.map((p): DriftListName => `drift.${k}.${p}`)),
  "drift.tailscale"
]

type ComparedDrift = Extract<NonNullable<CensusDocument["drift"]>, { readonly mode: "compared" }>

const comparedDrift = (doc: CensusDocument): ComparedDrift | null => (doc.drift?.mode === "compared" ? doc.drift : null)

const getList = (doc: CensusDocument, name: ListName): ReadonlyArray<unknown> | null => {
  if (name.startsWith("drift.")) {
    const drift = comparedDrift(doc)
    if (drift === null) return null
    if (name === "drift.tailscale") return drift.tailscale ?? null
    const [, kind, part] = name.split(".") as [string, DriftKind, DriftPart]
    return drift[kind]?.[part] ?? null
  }
  const s = doc.sections
  switch (name) {
    case "containers":
    case "vms":
    case "storage":
      return s[name] ?? null
    case "services":
      return s.services !== undefined && !isUnavailable(s.services) ? (s.services as ReadonlyArray<ServiceItem>) : null
    case "bridges":
    case "ifaces":
      return s.network?.[name] ?? null
    case "pools":
      return s.node?.zpool?.pools ?? null
    default:
      return doc.errors
  }
}

const setList = (doc: CensusDocument, name: ListName, list: ReadonlyArray<unknown>): CensusDocument => {
  if (name.startsWith("drift.")) {
    const drift = comparedDrift(doc)!
    if (name === "drift.tailscale") return { ...doc, drift: { ...drift, tailscale: list as NonNullable<ComparedDrift["tailscale"]> } }
    const [, kind, part] = name.split(".") as [string, DriftKind, DriftPart]
    return { ...doc, drift: { ...drift, [kind]: { ...drift[kind]!, [part]: list } } }
  }
  const s = { ...doc.sections }
  switch (name) {
    case "containers":
    case "vms":
      s[name] = list as ReadonlyArray<Guest>
      break
    case "storage":
      s.storage = list as NonNullable<typeof s.storage>
      break
    case "services":
      s.services = list as ReadonlyArray<ServiceItem>
      break
    case "bridges":
    case "ifaces":
      s.network = { ...s.network!, [name]: list }
      break
    case "pools":
      s.node = { ...s.node!, zpool: { ...s.node!.zpool!, pools: list as NonNullable<NonNullable<typeof s.node>["zpool"]>["pools"] } }
      break
    default:
      return { ...doc, errors: list as CensusDocument["errors"] }
  }
  return { ...doc, sections: s }
}

/** The section a list belongs to (for drift's "truncated on either side"); drift's own lists name `drift.<section>`. */
const sectionOfList = (name: ListName): string =>
  name.startsWith("drift.") ? name.split(".").slice(0, 2).join(".") : name === "bridges" || name === "ifaces" ? "network" : name === "pools" ? "node" : name

/**
 * Makes the serialized document fit `maxBytes` (with `reserveBytes` kept free, e.g. for the snapshot id):
 * removes guest `config` maps, then Docker rosters (counts kept), then interface lists, then entries
 * from the end of the largest list (drift's lists included), re-measuring after each step; one `_response`
 * truncation per step, and per list in the last step.
 */
export const fitResponse = (input: CensusDocument, maxBytes: number, reserveBytes = 0): CensusDocument => {
  const budget = Math.max(0, maxBytes - reserveBytes)
  let doc: CensusDocument = input
  const cuts: Array<Truncation> = []
  const withCuts = (d: CensusDocument): CensusDocument => {
    const truncations = [...input.truncations, ...cuts]
    return { ...d, truncations, truncated: truncations.length > 0 }
  }
  const fits = () => byteSize(withCuts(doc)) <= budget
  const why = `response over ${maxBytes} bytes`
  if (fits()) return withCuts(doc)

  // 1. guest config maps
  let configs = 0
  const stripConfig = (list: ReadonlyArray<Guest> | undefined) =>
    list?.map((g) => {
      if (g.config === undefined) return g
      configs++
      const { config: _dropped, ...rest } = g
      return rest
    })
  const s1 = { ...doc.sections } as Mutable<CensusDocument["sections"]>
  const c = stripConfig(doc.sections.containers)
  const v = stripConfig(doc.sections.vms)
  if (c !== undefined) s1.containers = c
  if (v !== undefined) s1.vms = v
  if (configs > 0) {
    doc = { ...doc, sections: s1 }
    cuts.push({ section: "_response", reason: `${why}; removed guest config maps`, omitted: configs, target: "config" })
    if (fits()) return withCuts(doc)
  }

  // 2. Docker rosters (counts kept)
  const services = getList(doc, "services") as ReadonlyArray<ServiceItem> | null
  if (services !== null) {
    let entries = 0
    const stripped = services.map((svc) => {
      if (svc.docker.length === 0) return svc
      entries += svc.docker.length
      return { ...svc, docker: [], dockerCount: svc.docker.length }
    })
    if (entries > 0) {
      doc = setList(doc, "services", stripped)
      cuts.push({ section: "_response", reason: `${why}; removed Docker rosters (counts kept)`, omitted: entries, target: "services" })
      if (fits()) return withCuts(doc)
    }
  }

  // 3. interface lists
  const ifaces = getList(doc, "ifaces")
  if (ifaces !== null && ifaces.length > 0) {
    doc = setList(doc, "ifaces", [])
    cuts.push({ section: "_response", reason: `${why}; removed the interface list`, omitted: ifaces.length, target: "network" })
    if (fits()) return withCuts(doc)
  }

  // 4. entries from the end of the largest list, until it fits: one truncation entry per list, carrying
  // the running count, and sized before the entries are chosen, so every round frees more than it adds
  const slot = new Map<ListName, number>() // where each list's entry sits in `cuts`
  for (;;) {
    let largest: ListName | null = null
    let largestLen = 0
    for (const name of listNames) {
      const l = getList(doc, name)
      if (l !== null && l.length > largestLen) {
        largest = name
        largestLen = l.length
      }
    }
    if (largest === null) return withCuts(doc)
    const list = getList(doc, largest)!
    const known = slot.get(largest)
    const before = known === undefined ? 0 : cuts[known]!.omitted
    const cut = (n: number): Truncation => ({
      section: "_response",
      reason: `${why}; dropped the last ${n} entries of ${largest}`,
      omitted: n,
      target: sectionOfList(largest!)
    })
    const at = known ?? cuts.length
    slot.set(largest, at)
    // the entry as it will read after this round (its count can only grow by digits)
    cuts[at] = cut(before + list.length)
    const excess = byteSize(withCuts(doc)) - budget
    let drop = 0
    let freed = 0
    while (drop < list.length && freed < excess) {
      freed += byteSize(list[list.length - 1 - drop]) + 1
      drop++
    }
    drop = Math.max(1, drop)
    cuts[at] = cut(before + drop)
    doc = setList(doc, largest, list.slice(0, list.length - drop))
    if (fits()) return withCuts(doc)
  }
}

/** True when a section's list was cut by the item cap or the size cap (then drift reports no removals for it). */
export const isTruncated = (doc: Pick<CensusDocument, "truncations">, section: string): boolean =>
  doc.truncations.some((t) => t.section === section || (t.section === "_response" && t.target === section))
