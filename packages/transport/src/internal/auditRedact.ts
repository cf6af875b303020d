/**
 * @internal The single call site of text redaction for audit records and task log tails
 * (census-health.md §3 text mode), over the shared `@homelab-mcp/core/redaction/Redact`.
 */
import type { TextRedactor } from "@homelab-mcp/core/audit/AuditRecord"
import * as Redact from "@homelab-mcp/core/redaction/Redact"

/** A redactor with `MCP_REDACTION_EXTRA_KEYS` added to the built-in secret names. */
export const auditRedactor = (extraKeys: ReadonlyArray<string> = []): TextRedactor => (text) => Redact.redactText(text, extraKeys)

/** Redacts secrets in free text with the built-in rules; every replacement counts once. */
export const redactAuditText: TextRedactor = auditRedactor()
