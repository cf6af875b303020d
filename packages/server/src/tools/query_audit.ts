/**
 * `query_audit` (tools.md §3, backups-audit.md §6): a thin wrapper over the local audit log.
 */
import * as Effect from "effect/Effect"
import * as Tool from "@homelab-mcp/core/Tool"
import { QueryInput, QueryResult } from "@homelab-mcp/core/audit/Query"
import { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"

/** Queries the audit log; fails with `AuditUnavailable` when the log cannot be read. */
export const query_audit = Tool.make(
  {
    name: "query_audit",
    title: "Query the audit log",
    description:
      "Searches this server's local audit log of mutations and refusals (newest first). Filters are ANDed: tool, vmid, pathContains, since/until (ISO 8601 with offset, inclusive), outcome, largeOnly, textSearch (literal, case-insensitive), opId. view 'operations' joins intent and outcome by opId; 'records' returns raw records. verifyChain:true also checks the hash chain. Read-only; never touches the node.",
    tier: "observe",
    input: QueryInput,
    output: QueryResult,
    annotations: Tool.annotations("T F T F")
  },
  (input) => Effect.flatMap(AuditLog, (log) => log.query(input))
)
