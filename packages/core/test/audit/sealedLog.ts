/**
 * Test fixture: audit records sealed and chained the way the writer does it, so chain and query tests
 * start from a valid log and break exactly the link they mean to.
 */
import * as AuditRecord from "@homelab-mcp/core/audit/AuditRecord"
import * as Canonical from "@homelab-mcp/core/audit/Canonical"

/** The server identity the fixtures stamp on every record. */
export const identity: AuditRecord.Identity = { tier: "companion", rootTier: false, serverVersion: "1.0.0", node: "pve", host: "h" }

/** An entry plus overrides: its own `seq` or `prevHash` (a broken link), `at` (its second after 12:00). */
export type Entry = AuditRecord.AuditEntry & { readonly seq?: number; readonly prevHash?: string; readonly at?: number }

/** Seals the entries in order, each linked to the previous one unless it names its own `seq` or `prevHash`. */
export const sealAll = (entries: ReadonlyArray<Entry>, stamp: AuditRecord.Identity = identity): Array<AuditRecord.AuditRecord> => {
  const records: Array<AuditRecord.AuditRecord> = []
  entries.forEach(({ seq, prevHash, at, ...entry }, i) => {
    const prev = records.at(-1)
    records.push(
      Canonical.seal({
        ...entry,
        ...stamp,
        v: 1,
        seq: seq ?? (prev?.seq ?? 0) + 1,
        ts: new Date(Date.UTC(2026, 0, 1, 12, 0, at ?? i)).toISOString(),
        prevHash: prevHash ?? prev?.hash ?? AuditRecord.GENESIS_HASH
      })
    )
  })
  return records
}

/** The log file's text: one canonical line per record. */
export const textOf = (records: ReadonlyArray<AuditRecord.AuditRecord>): string => records.map(Canonical.toLine).join("")
