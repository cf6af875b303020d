/**
 * The audit log capability (backups-audit.md §5–§6): hash-chained, fsynced records of every mutation,
 * refusal and lifecycle event. Layers live in `@homelab-mcp/transport/AuditLogJsonl`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { AuditEntry, AuditRecord } from "../audit/AuditRecord.js"
import type { ChainReport } from "../audit/Chain.js"
import type { QueryRequest, QueryResult } from "../audit/Query.js"
import type { AuditUnavailable } from "../Errors.js"

export type { AuditEntry, AuditRecord, ChainReport, QueryRequest, QueryResult }

/** The append-only, hash-chained audit log. */
export class AuditLog extends Context.Tag("@homelab-mcp/core/AuditLog")<AuditLog, AuditLog.Service>() {}

export declare namespace AuditLog {
  /** The log service. */
  export interface Service {
    /**
     * Redacts `cmd`/`note`/`error.message`/`refusal.reason`, chains, writes and fsyncs one record before it
     * returns; fails with `AuditUnavailable` when the record is not durably written.
     */
    readonly append: (entry: AuditEntry) => Effect.Effect<AuditRecord, AuditUnavailable>
    /** query_audit: filters, views, summary and (with `verifyChain`) the chain verdict; unparsable lines are counted. */
    readonly query: (input: QueryRequest) => Effect.Effect<QueryResult, AuditUnavailable>
    /** Walks the whole log and the head file. */
    readonly verify: Effect.Effect<ChainReport, AuditUnavailable>
  }
}
