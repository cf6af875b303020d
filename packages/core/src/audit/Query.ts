/**
 * query_audit (backups-audit.md §6, tools.md §3): filters ANDed, the operations view joining intent and
 * outcome by `opId`, the records view, newest first, pagination, `cmdMaxChars`, and a summary over the
 * whole filtered set. Pure.
 */
import * as Schema from "effect/Schema"
import { AuditRecord, entryFields, identityFields, truncate } from "./AuditRecord.js"
import type { ChainReport, ParsedLog } from "./Chain.js"

/** Outcomes an operation (or a filter) can name. */
export const ItemOutcome = Schema.Literal("ok", "failed", "refused", "noop", "unknown", "pending")
/** Outcomes an operation (or a filter) can name. */
export type ItemOutcome = typeof ItemOutcome.Type

/** ISO 8601 date-time with an explicit offset (`Z` or `±hh:mm`). */
export const IsoInstant = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/),
  Schema.filter((s) => !Number.isNaN(Date.parse(s)) || "not a valid date-time", {
    description: "an ISO 8601 date-time with offset, e.g. 2026-01-31T12:00:00Z",
    jsonSchema: { format: "date-time" }
  })
)

/** The input of query_audit (tools.md §3), defaults applied on decode. */
export const QueryInput = Schema.Struct({
  tool: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))),
  vmid: Schema.optional(Schema.Int.pipe(Schema.between(100, 999_999_999))),
  pathContains: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1024))),
  since: Schema.optional(IsoInstant),
  until: Schema.optional(IsoInstant),
  outcome: Schema.optional(ItemOutcome),
  largeOnly: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  textSearch: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
  opId: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))),
  view: Schema.optionalWith(Schema.Literal("operations", "records"), { default: () => "operations" as const }),
  limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 200)), { default: () => 50 }),
  offset: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 }),
  cmdMaxChars: Schema.optional(Schema.Int.pipe(Schema.between(20, 10_000))),
  verifyChain: Schema.optionalWith(Schema.Boolean, { default: () => false })
})
/** A decoded query (defaults applied). */
export type QueryInput = typeof QueryInput.Type
/** A query as a caller writes it (defaults optional). */
export type QueryRequest = typeof QueryInput.Encoded

const { opId: _o, phase: _p, tool: _t, outcome: _oc, ...detailFields } = entryFields

/** One operation: intent and outcome joined by `opId`, or a single refusal / outcome-only record. */
export const OperationItem = Schema.Struct({
  opId: Schema.String,
  tool: Schema.String,
  outcome: ItemOutcome,
  ts: Schema.String,
  endTs: Schema.optional(Schema.String),
  seq: Schema.Number,
  outcomeSeq: Schema.optional(Schema.Number),
  ...identityFields,
  ...detailFields
})
/** One operation. */
export type OperationItem = typeof OperationItem.Type

/** An item of either view (raw records first: their `v`/`phase`/`hash` tell them apart when encoding). */
export const QueryItem = Schema.Union(AuditRecord, OperationItem)
/** An item of either view. */
export type QueryItem = typeof QueryItem.Type

const Counts = Schema.Record({ key: Schema.String, value: Schema.Number })

/** Totals over the whole filtered set (not just the page). */
export const Summary = Schema.Struct({
  total: Schema.Number,
  byTool: Counts,
  byOutcome: Counts,
  byVmid: Counts,
  firstTs: Schema.NullOr(Schema.String),
  lastTs: Schema.NullOr(Schema.String),
  refusals: Schema.Number,
  confirmGated: Schema.Number,
  largeChanges: Schema.Number,
  timeouts: Schema.Number,
  signalKills: Schema.Number,
  breakerTrips: Schema.Number,
  pending: Schema.Number
})
/** Totals over the whole filtered set. */
export type Summary = typeof Summary.Type

/** The chain verdict as reported by query_audit. */
export const Chain = Schema.Struct({
  ok: Schema.Boolean,
  checked: Schema.Number,
  firstBreak: Schema.optional(Schema.Struct({ seq: Schema.Number, line: Schema.Number, reason: Schema.String })),
  headMatches: Schema.Boolean
})

/** The output of query_audit. */
export const QueryResult = Schema.Struct({
  summary: Summary,
  items: Schema.Array(QueryItem),
  nextOffset: Schema.NullOr(Schema.Number),
  unparsableLines: Schema.Number,
  tornTail: Schema.optional(Schema.Boolean),
  chain: Schema.optional(Chain)
})
/** The output of query_audit. */
export type QueryResult = typeof QueryResult.Type

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Joins records into operations (events excluded), oldest first by their first record. */
export const toOperations = (records: ReadonlyArray<AuditRecord>): ReadonlyArray<OperationItem> => {
  const byOp = new Map<string, Mutable<OperationItem>>()
  const order: Array<Mutable<OperationItem>> = []
  for (const r of records) {
    if (r.phase === "event") continue
    const { v: _v, seq, ts, prevHash: _ph, hash: _h, phase, outcome, opId, tool, ...rest } = r
    const existing = byOp.get(opId)
    if (existing === undefined || phase === "refused") {
      const item: Mutable<OperationItem> = {
        ...rest,
        opId,
        tool,
        ts,
        seq,
        outcome: phase === "refused" ? "refused" : phase === "intent" ? "pending" : (outcome ?? "unknown")
      }
      if (phase === "outcome") {
        item.endTs = ts
        item.outcomeSeq = seq
      }
      if (existing === undefined) byOp.set(opId, item)
      order.push(item)
      continue
    }
    if (phase === "outcome") {
      Object.assign(existing, rest)
      existing.outcome = outcome ?? "unknown"
      existing.endTs = ts
      existing.outcomeSeq = seq
    } else {
      Object.assign(existing, rest)
    }
  }
  return order
}

const lower = (s: string | undefined) => (s === undefined ? "" : s.toLowerCase())

interface Filterable {
  readonly tool: string
  readonly opId: string
  readonly ts: string
  readonly vmid?: number | undefined
  readonly path?: string | undefined
  readonly resolvedPath?: string | undefined
  readonly cmd?: string | undefined
  readonly note?: string | undefined
  readonly error?: { readonly message: string } | undefined
  readonly isLargeChange?: boolean | undefined
}

const matches = (q: QueryInput, item: Filterable, outcome: ItemOutcome | undefined): boolean => {
  if (q.tool !== undefined && item.tool !== q.tool) return false
  if (q.opId !== undefined && item.opId !== q.opId) return false
  if (q.vmid !== undefined && item.vmid !== q.vmid) return false
  if (q.pathContains !== undefined) {
    const needle = q.pathContains
    if (!(item.path?.includes(needle) || item.resolvedPath?.includes(needle))) return false
  }
  const t = Date.parse(item.ts)
  if (q.since !== undefined && !(t >= Date.parse(q.since))) return false
  if (q.until !== undefined && !(t <= Date.parse(q.until))) return false
  if (q.outcome !== undefined && outcome !== q.outcome) return false
  if (q.largeOnly && item.isLargeChange !== true) return false
  if (q.textSearch !== undefined) {
    const needle = q.textSearch.toLowerCase()
    const hay = [item.cmd, item.path, item.note, item.error?.message]
    if (!hay.some((h) => lower(h).includes(needle))) return false
  }
  return true
}

interface Countable {
  readonly tool: string
  readonly ts: string
  readonly vmid?: number | undefined
  readonly confirmGated?: boolean | undefined
  readonly isLargeChange?: boolean | undefined
  readonly timedOut?: boolean | undefined
  readonly signal?: string | undefined
  readonly refusal?: { readonly code: string } | undefined
}

/** The summary of a filtered set. */
export const summarize = (
  items: ReadonlyArray<{ readonly item: Countable; readonly outcome: string }>
): Summary => {
  const byTool: Record<string, number> = {}
  const byOutcome: Record<string, number> = {}
  const byVmid: Record<string, number> = {}
  let firstTs: string | null = null
  let lastTs: string | null = null
  const s = { refusals: 0, confirmGated: 0, largeChanges: 0, timeouts: 0, signalKills: 0, breakerTrips: 0, pending: 0 }
  const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1)
  for (const { item, outcome } of items) {
    bump(byTool, item.tool)
    bump(byOutcome, outcome)
    if (item.vmid !== undefined) bump(byVmid, String(item.vmid))
    const t = Date.parse(item.ts)
    if (firstTs === null || t < Date.parse(firstTs)) firstTs = item.ts
    if (lastTs === null || t > Date.parse(lastTs)) lastTs = item.ts
    if (outcome === "refused") s.refusals++
    if (outcome === "pending") s.pending++
    if (item.confirmGated === true) s.confirmGated++
    if (item.isLargeChange === true) s.largeChanges++
    if (item.timedOut === true) s.timeouts++
    if (item.signal !== undefined && item.signal !== "") s.signalKills++
    if (item.refusal?.code === "CircuitBreakerOpen") s.breakerTrips++
  }
  return { total: items.length, byTool, byOutcome, byVmid, firstTs, lastTs, ...s }
}

const shorten = <T extends { readonly cmd?: string | undefined }>(item: T, max: number | undefined): T =>
  max !== undefined && item.cmd !== undefined && item.cmd.length > max ? { ...item, cmd: truncate(item.cmd, max) } : item

/** The outcome a single record counts under in the records view. */
const recordOutcome = (r: AuditRecord, pendingOps: ReadonlySet<string>): ItemOutcome | undefined =>
  r.phase === "refused"
    ? "refused"
    : r.phase === "outcome"
      ? (r.outcome ?? "unknown")
      : r.phase === "intent" && pendingOps.has(r.opId)
        ? "pending"
        : undefined

/** Runs a decoded query over a parsed log; `chain` is attached when the caller verified it. */
export const run = (q: QueryInput, log: ParsedLog, chain?: ChainReport): QueryResult => {
  const records = log.records.map((p) => p.record)
  let selected: Array<{ item: QueryItem; outcome: string; seq: number }>
  if (q.view === "records") {
    const ops = toOperations(records)
    const pendingOps = new Set(ops.filter((o) => o.outcome === "pending").map((o) => o.opId))
    selected = records
      .map((r) => ({ r, outcome: recordOutcome(r, pendingOps) }))
      .filter(({ r, outcome }) => matches(q, r, outcome))
      .map(({ r, outcome }) => ({ item: r, outcome: outcome ?? r.phase, seq: r.seq }))
  } else {
    selected = toOperations(records)
      .filter((o) => matches(q, o, o.outcome))
      .map((o) => ({ item: o, outcome: o.outcome, seq: o.seq }))
  }
  selected.sort((a, b) => b.seq - a.seq)
  const summary = summarize(selected)
  const page = selected.slice(q.offset, q.offset + q.limit).map((s) => shorten(s.item, q.cmdMaxChars))
  const next = q.offset + q.limit
  return {
    summary,
    items: page,
    nextOffset: next < selected.length ? next : null,
    unparsableLines: log.unparsable.length,
    ...(log.tornTail ? { tornTail: true } : {}),
    ...(chain ? { chain } : {})
  }
}
