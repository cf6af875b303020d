/**
 * @internal The single call site of text redaction for audit records (census-health.md §3 text mode).
 * Until `@homelab-mcp/core/redaction/Redact` lands this is a conservative subset of those rules; swap
 * the body of `redactAuditText` for `redactText` then.
 */
import type { TextRedactor } from "@homelab-mcp/core/audit/AuditRecord"

const R = "[REDACTED]"
const SECRET_NAME = String.raw`[A-Za-z0-9_.-]*(?:pass(?:wd|word)?|secret|token|api[_-]?key|access_key|private_key|auth|credential|cookie|session|psk|pbkdf2)[A-Za-z0-9_.-]*`

const rules: ReadonlyArray<readonly [RegExp, (substring: string, ...groups: Array<string>) => string]> = [
  [/-----BEGIN [A-Z0-9 ]*(?:KEY|CERTIFICATE)-----[\s\S]*?-----END [A-Z0-9 ]*(?:KEY|CERTIFICATE)-----/g, () => R],
  [/(PVEAPIToken=[^=\s]+=)[^\s"']+/g, (_m, p) => `${p}${R}`],
  [/\b((?:Proxy-)?Authorization|Cookie|Set-Cookie|X-Api-Key|X-Auth-Token)(\s*[:=]\s*)[^\r\n]+/gi, (_m, k, s) => `${k}${s}${R}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:/\s@]+:)[^@\s/]+@/gi, (_m, p) => `${p}${R}@`],
  [/(--(?:password|token)(?:=|\s+))("[^"]*"|'[^']*'|\S+)/gi, (_m, p) => `${p}${R}`],
  [/(\bsshpass\s+-p\s*)\S+/g, (_m, p) => `${p}${R}`],
  [/(\bcurl\b[^\n]*?\s-u\s*[^:\s]+:)\S+/g, (_m, p) => `${p}${R}`],
  [new RegExp(String.raw`("${SECRET_NAME}"\s*:\s*)"(?:[^"\\]|\\.)*"`, "gi"), (_m, p) => `${p}"${R}"`],
  [new RegExp(String.raw`\b(${SECRET_NAME})(=|:\s*)("[^"]*"|'[^']*'|[^\s"',;&|]+)`, "gi"), (_m, k, s) => `${k}${s}${R}`],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, () => R],
  [/\bAKIA[0-9A-Z]{16}\b/g, () => R],
  [/\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|tskey-[A-Za-z0-9-]{10,})/g, () => R]
]

/** Redacts secrets in free text; every replacement counts once. */
export const redactAuditText: TextRedactor = (text) => {
  let count = 0
  let out = text
  for (const [re, replace] of rules) {
    out = out.replace(re, (...args: Array<unknown>) => {
      const m = args[0] as string
      const groups = args.slice(1).filter((g): g is string => typeof g === "string")
      const replaced = replace(m, ...groups)
      if (replaced !== m) count++
      return replaced
    })
  }
  return { text: out, count }
}
