/**
 * Tolerant parsing of the audit log and verification of its hash chain (backups-audit.md §5–§6). Pure:
 * the caller reads the file and the head file.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { AuditRecord, GENESIS_HASH } from "./AuditRecord.js"
import { hashOf } from "./Canonical.js"

/** The head file (`audit.head.json`): the last appended record's `seq` and `hash`. */
export const Head = Schema.Struct({ seq: Schema.Int, hash: Schema.String })
/** The head file contents. */
export type Head = typeof Head.Type

/** One parsed record with its 1-based line number and the raw object it was decoded from (hashed as is). */
export interface ParsedRecord {
  readonly line: number
  readonly record: AuditRecord
  readonly raw: Readonly<Record<string, unknown>>
}

/** The result of parsing a log text. */
export interface ParsedLog {
  readonly records: ReadonlyArray<ParsedRecord>
  /** Line numbers of non-empty lines that are not records. */
  readonly unparsable: ReadonlyArray<number>
  /** The last line has no terminating newline and is not a record (a write torn by a crash). */
  readonly tornTail: boolean
  /** The text does not end with `\n` (the next append must start a new line). */
  readonly unterminated: boolean
}

const decodeRecord = Schema.decodeUnknownEither(AuditRecord)

/** Parses one line; `undefined` when it is not a record. */
export const parseLine = (text: string): { record: AuditRecord; raw: Record<string, unknown> } | undefined => {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return undefined
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return undefined
  const decoded = decodeRecord(raw)
  return Either.isRight(decoded) ? { record: decoded.right, raw: raw as Record<string, unknown> } : undefined
}

/** The lines of a log text, and whether it lacks its final newline (then the last line is unterminated). */
const logLines = (text: string): { readonly lines: Array<string>; readonly unterminated: boolean } => {
  const unterminated = text.length > 0 && !text.endsWith("\n")
  const lines = text.split("\n")
  if (!unterminated) lines.pop()
  return { lines, unterminated }
}

/** Parses a whole log: records in file order, unparsable lines counted, a torn last line detected. */
export const parseLog = (text: string): ParsedLog => {
  const { lines, unterminated } = logLines(text)
  const records: Array<ParsedRecord> = []
  const unparsable: Array<number> = []
  let tornTail = false
  lines.forEach((line, i) => {
    if (line.trim() === "") return
    const parsed = parseLine(line)
    if (parsed) records.push({ line: i + 1, ...parsed })
    else {
      unparsable.push(i + 1)
      if (unterminated && i === lines.length - 1) tornTail = true
    }
  })
  return { records, unparsable, tornTail, unterminated }
}

/**
 * Parses a log's end only: its last record and what follows it, read backwards from the last line, so an
 * append does not decode every record of the window it read. `records` holds that one record (or none);
 * `unparsable`, `tornTail` and `unterminated` are what `parseLog` reports for the lines after it.
 */
export const parseTail = (text: string): ParsedLog => {
  const { lines, unterminated } = logLines(text)
  const unparsable: Array<number> = []
  let tornTail = false
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!
    if (line.trim() === "") continue
    const parsed = parseLine(line)
    if (parsed) return { records: [{ line: i + 1, ...parsed }], unparsable: unparsable.reverse(), tornTail, unterminated }
    unparsable.push(i + 1)
    if (unterminated && i === lines.length - 1) tornTail = true
  }
  return { records: [], unparsable: unparsable.reverse(), tornTail, unterminated }
}

/** Where and why the chain first breaks. */
export interface ChainBreak {
  readonly seq: number
  readonly line: number
  readonly reason: string
}

/** The verdict of a chain walk (`chain` in query_audit's output). */
export interface ChainReport {
  /** No break and the head file matches the last record. */
  readonly ok: boolean
  /** Records examined. */
  readonly checked: number
  readonly firstBreak?: ChainBreak
  /** The head file names the last record (`true` also for an empty log without head). */
  readonly headMatches: boolean
}

/** Checks one record against its predecessor (or the genesis); `undefined` when it links correctly. */
export const checkLink = (
  previous: { readonly seq: number; readonly hash: string } | undefined,
  current: ParsedRecord
): string | undefined => {
  const { record, raw } = current
  if (hashOf(raw as AuditRecord) !== record.hash) return "hash does not match the record's content (record edited)"
  if (previous === undefined) {
    if (record.seq !== 1) return `log starts at seq ${record.seq}, not 1 (beginning removed)`
    if (record.prevHash !== GENESIS_HASH) return "first record does not link to the genesis hash"
    return undefined
  }
  if (record.seq !== previous.seq + 1) {
    return `seq ${record.seq} follows seq ${previous.seq} (record deleted, inserted or reordered)`
  }
  if (record.prevHash !== previous.hash) return `prevHash does not match the hash of seq ${previous.seq}`
  return undefined
}

/** Walks every record; the head file (or `null` when absent) must name the last one. */
export const verifyChain = (log: ParsedLog, head: Head | null): ChainReport => {
  let previous: { seq: number; hash: string } | undefined
  let firstBreak: ChainBreak | undefined
  for (const current of log.records) {
    const reason = checkLink(previous, current)
    if (reason !== undefined && firstBreak === undefined) {
      firstBreak = { seq: current.record.seq, line: current.line, reason }
    }
    previous = { seq: current.record.seq, hash: current.record.hash }
  }
  const last = log.records.at(-1)?.record
  const headMatches = head === null ? last === undefined : last !== undefined && head.seq === last.seq && head.hash === last.hash
  return {
    ok: firstBreak === undefined && headMatches,
    checked: log.records.length,
    ...(firstBreak ? { firstBreak } : {}),
    headMatches
  }
}

/** What the writer finds at startup about the tail of the log. */
export type TailCheck =
  | { readonly _tag: "Consistent" }
  | { readonly _tag: "HeadBehind" }
  | { readonly _tag: "Discontinuity"; readonly detail: string }

/**
 * Checks the last record against its own hash and the head file. `HeadBehind` is the benign crash
 * window (record fsynced, head not yet replaced): the head names the record before the last one.
 */
export const checkTail = (log: ParsedLog, head: Head | null): TailCheck => {
  const records = log.records
  const last = records.at(-1)
  if (last === undefined) {
    return head === null
      ? { _tag: "Consistent" }
      : { _tag: "Discontinuity", detail: `the head file names seq ${head.seq} but the log holds no record` }
  }
  if (hashOf(last.raw as AuditRecord) !== last.record.hash) {
    return { _tag: "Discontinuity", detail: `the last record (seq ${last.record.seq}) does not match its own hash` }
  }
  if (head === null) {
    return { _tag: "Discontinuity", detail: `the head file is missing while the log ends at seq ${last.record.seq}` }
  }
  if (head.seq === last.record.seq && head.hash === last.record.hash) return { _tag: "Consistent" }
  if (head.seq === last.record.seq - 1 && head.hash === last.record.prevHash) return { _tag: "HeadBehind" }
  return {
    _tag: "Discontinuity",
    detail: `the head file names seq ${head.seq} (${head.hash.slice(0, 12)}…) but the log ends at seq ${last.record.seq} (${last.record.hash.slice(0, 12)}…)`
  }
}
