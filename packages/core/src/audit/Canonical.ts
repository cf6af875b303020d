/**
 * Canonical JSON and record hashing (backups-audit.md §5): keys sorted at every level, no whitespace,
 * standard `JSON.stringify` escaping, `undefined` members omitted; `hash` = hex sha256 of the canonical
 * JSON of the record without `hash`.
 */
import { createHash } from "node:crypto"
import type { AuditRecord, UnsealedRecord } from "./AuditRecord.js"

const normalize = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : normalize(v)))
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key]
      if (v !== undefined) out[key] = normalize(v)
    }
    return out
  }
  return value
}

/** The canonical JSON text of a value; equal values give byte-identical texts. */
export const canonicalJson = (value: unknown): string => JSON.stringify(normalize(value))

/** Hex sha256 of a UTF-8 text. */
export const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

/** The hash a record must carry: sha256 of its canonical JSON without `hash`. */
export const hashOf = (record: UnsealedRecord | AuditRecord): string => {
  const { hash: _hash, ...rest } = record as AuditRecord
  return sha256Hex(canonicalJson(rest))
}

/** Adds the hash to a record. */
export const seal = (record: UnsealedRecord): AuditRecord => ({ ...record, hash: hashOf(record) })

/** The log line of a record (canonical JSON plus `\n`). */
export const toLine = (record: AuditRecord): string => `${canonicalJson(record)}\n`
