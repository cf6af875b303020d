/**
 * The audit record (backups-audit.md §5): one JSON object per line of the hash-chained audit log. Pure
 * schemas and types; the writer lives in `@homelab-mcp/transport/AuditLogJsonl`.
 */
import * as Schema from "effect/Schema"
import { Tier } from "../Tier.js"

/** Format version of every record. */
export const VERSION = 1 as const

/** `prevHash` of the first record. */
export const GENESIS_HASH = "0".repeat(64)

/** Longest `cmd` kept in a record; longer ones end with `…(+N chars)`. */
export const CMD_MAX_CHARS = 4096

/** The four record kinds. */
export const Phase = Schema.Literal("intent", "outcome", "refused", "event")
/** The four record kinds. */
export type Phase = typeof Phase.Type

/** How an operation ended (`unknown` = interrupted, node state not known). */
export const Outcome = Schema.Literal("ok", "failed", "noop", "unknown")
/** How an operation ended. */
export type Outcome = typeof Outcome.Type

const optional = Schema.optional
const Str = Schema.String
const Num = Schema.Number
const Bool = Schema.Boolean

/** The fields a caller supplies (everything but the chain and server identity). */
export const entryFields = {
  opId: Str,
  phase: Phase,
  tool: Str,
  target: optional(Str),
  vmid: optional(Num),
  guestType: optional(Schema.Literal("lxc", "qemu")),
  path: optional(Str),
  resolvedPath: optional(Str),
  cmd: optional(Str),
  shell: optional(Str),
  timeoutSecs: optional(Num),
  classification: optional(Schema.Struct({ class: Str, reasons: Schema.Array(Str) })),
  confirmGated: optional(Bool),
  confirmVia: optional(Schema.Literal("elicitation", "flag")),
  heavy: optional(Bool),
  heavyReason: optional(Str),
  isLargeChange: optional(Bool),
  largeChangeReasons: optional(Schema.Array(Str)),
  beforeSha256: optional(Schema.NullOr(Str)),
  afterSha256: optional(Str),
  bytes: optional(Num),
  versionId: optional(Str),
  revertedFrom: optional(Str),
  isRevertible: optional(Bool),
  upid: optional(Str),
  taskStatus: optional(Str),
  snapshot: optional(Str),
  evicted: optional(Schema.Array(Str)),
  exitCode: optional(Schema.NullOr(Num)),
  signal: optional(Str),
  timedOut: optional(Bool),
  stdoutBytes: optional(Num),
  stderrBytes: optional(Num),
  durationMs: optional(Num),
  outcome: optional(Outcome),
  error: optional(Schema.Struct({ code: Str, message: Str })),
  refusal: optional(Schema.Struct({ code: Str, reason: Str })),
  circuitBreaker: optional(Schema.Struct({ recentCount: Num, limit: Num, windowMs: Num, retryAfterMs: Num })),
  circuitBreakerOverridden: optional(Bool),
  historyCommitted: optional(Bool),
  historyCommit: optional(Str),
  warnings: optional(Schema.Array(Str)),
  note: optional(Str)
} as const

/** What a caller appends: the record without `v`, `seq`, `ts`, chain hashes and server identity. */
export const AuditEntry = Schema.Struct(entryFields)
/** What a caller appends. */
export type AuditEntry = typeof AuditEntry.Type

/** The server identity stamped on every record. */
export const identityFields = {
  tier: Tier,
  rootTier: Bool,
  serverVersion: Str,
  node: Str,
  host: Str
} as const

/** The server identity stamped on every record. */
export interface Identity {
  readonly tier: Tier
  readonly rootTier: boolean
  readonly serverVersion: string
  readonly node: string
  readonly host: string
}

/** A record as written, without its own `hash` (the hashed content). */
export const UnsealedRecord = Schema.Struct({
  v: Schema.Literal(VERSION),
  seq: Schema.Int.pipe(Schema.positive()),
  ts: Str,
  prevHash: Str,
  ...identityFields,
  ...entryFields
})
/** A record without its own `hash`. */
export type UnsealedRecord = typeof UnsealedRecord.Type

/** A complete audit record, one per line. */
export const AuditRecord = Schema.Struct({ ...UnsealedRecord.fields, hash: Str })
/** A complete audit record. */
export type AuditRecord = typeof AuditRecord.Type

/** Shortens a text to `max` characters, ending with `…(+N chars)` for what was cut. */
export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max)}…(+${text.length - max} chars)`

/** A redactor of free text (census-health.md §3 text mode): the redacted text and the replacements made. */
export type TextRedactor = (text: string) => { readonly text: string; readonly count: number }

/**
 * Prepares an entry for the log: `cmd`, `note`, `error.message` and `refusal.reason` redacted, `cmd`
 * capped at `CMD_MAX_CHARS`; never changes any other field.
 */
export const redactEntry = (entry: AuditEntry, redact: TextRedactor): AuditEntry => {
  const out: { -readonly [K in keyof AuditEntry]: AuditEntry[K] } = { ...entry }
  if (entry.cmd !== undefined) out.cmd = truncate(redact(entry.cmd).text, CMD_MAX_CHARS)
  if (entry.note !== undefined) out.note = redact(entry.note).text
  if (entry.error !== undefined) out.error = { code: entry.error.code, message: redact(entry.error.message).text }
  if (entry.refusal !== undefined) out.refusal = { code: entry.refusal.code, reason: redact(entry.refusal.reason).text }
  return out
}
