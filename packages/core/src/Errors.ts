/**
 * Every error that can reach a tool result, the audit log or setup output (tools.md §7). Each is a
 * `Schema.TaggedError` whose tag is the error code; `message` says what happened and `hint` the next
 * sensible step. Foreign exceptions are mapped to these where they enter.
 */
import * as Schema from "effect/Schema"

const Str = Schema.String
const Num = Schema.Number
const optStr = Schema.optional(Schema.String)

// ---------------------------------------------------------------------------------------------------
// Input, tier, guardrails
// ---------------------------------------------------------------------------------------------------

/** Schema violation or bad combination; names the key and lists the accepted ones. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  reason: Str,
  key: optStr,
  accepted: Schema.optional(Schema.Array(Str))
}) {
  override get message() {
    return this.reason
  }
  get hint() {
    return this.accepted && this.accepted.length > 0
      ? `Accepted parameters: ${this.accepted.join(", ")}.`
      : "Check the tool's input schema and re-issue the call."
  }
}

/** The target or mode needs a higher tier than the server runs at. */
export class TierRequired extends Schema.TaggedError<TierRequired>()("TierRequired", {
  required: Str,
  active: Str,
  what: Str
}) {
  override get message() {
    return `${this.what} needs the ${this.required} tier; this server runs at ${this.active}.`
  }
  get hint() {
    return this.required === "root"
      ? "The operator enables root by setting MCP_HOST_ROOT_ENABLED to the exact acknowledgment on a companion install and restarting the client."
      : `The operator re-runs setup with --tier ${this.required} and restarts the client.`
  }
}

/** A path failed validation (syntax, `..` segment, deny/allow list, resolved path). */
export class PathRejected extends Schema.TaggedError<PathRejected>()("PathRejected", {
  path: Str,
  reason: Str,
  canonical: optStr,
  resolved: optStr
}) {
  override get message() {
    const where = this.resolved !== undefined && this.resolved !== this.canonical ? ` (resolves to ${this.resolved})` : ""
    return `Path ${JSON.stringify(this.path)}${where} rejected: ${this.reason}.`
  }
  get hint() {
    return "Use an absolute path without '..' segments outside the denied trees (/proc, /sys, /dev by default)."
  }
}

/** A protected Proxmox file that the server never writes. */
export class ProtectedPath extends Schema.TaggedError<ProtectedPath>()("ProtectedPath", { path: Str }) {
  override get message() {
    return `${this.path} is a protected Proxmox file; this server never writes it.`
  }
  get hint() {
    return "Edit it by hand in the Proxmox UI or with pvesh."
  }
}

/** A deny-class command; nothing overrides it. */
export class CommandDenied extends Schema.TaggedError<CommandDenied>()("CommandDenied", {
  reasons: Schema.Array(Str)
}) {
  override get message() {
    return `Command denied: ${this.reasons.join("; ")}.`
  }
  get hint() {
    return "This class of command cannot be run through this server at any tier; the operator can run it by hand."
  }
}

/** The confirm gate refused: the user must agree first (or declined). */
export class ConfirmationRequired extends Schema.TaggedError<ConfirmationRequired>()("ConfirmationRequired", {
  prompt: Str,
  declined: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {
  override get message() {
    return this.declined ? `The user did not agree: ${this.prompt}` : this.prompt
  }
  get hint() {
    return this.declined
      ? "The user declined; do not retry this operation."
      : "Ask the user; re-issue with confirm:true only if the user agrees (confirm must reflect the user's agreement, not the model's)."
  }
}

/** Too many executed rollbacks of one target inside the window. */
export class CircuitBreakerOpen extends Schema.TaggedError<CircuitBreakerOpen>()("CircuitBreakerOpen", {
  key: Str,
  recentCount: Num,
  limit: Num,
  windowMs: Num,
  retryAfterMs: Num
}) {
  override get message() {
    return `${this.recentCount} rollbacks of ${this.key} ran in the last ${Math.round(this.windowMs / 1000)} s (limit ${this.limit}).`
  }
  get hint() {
    return `Stop and hand back to the human; wait ${Math.ceil(this.retryAfterMs / 1000)} s or pass overrideCircuitBreaker:true with the user's agreement.`
  }
}

// ---------------------------------------------------------------------------------------------------
// Local stores
// ---------------------------------------------------------------------------------------------------

/** The backup store is over its cap and the policy is `refuse`. */
export class BackupStoreFull extends Schema.TaggedError<BackupStoreFull>()("BackupStoreFull", {
  usedBytes: Num,
  capBytes: Num
}) {
  override get message() {
    return `The backup store holds ${this.usedBytes} bytes, over its cap of ${this.capBytes}; nothing was written.`
  }
  get hint() {
    return "The operator raises MCP_BACKUP_GLOBAL_CAP_BYTES or prunes old backups."
  }
}

/** The audit intent record could not be written; nothing changed. */
export class AuditUnavailable extends Schema.TaggedError<AuditUnavailable>()("AuditUnavailable", {
  reason: Str,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message() {
    return `The audit log is unavailable (${this.reason}); nothing was changed.`
  }
  get hint() {
    return "Check that the data directory (MCP_AUDIT_LOG_PATH) is writable, or run `homelab-mcp doctor`."
  }
}

/** No backup versions exist for the target. */
export class NoBackups extends Schema.TaggedError<NoBackups>()("NoBackups", { target: Str }) {
  override get message() {
    return `No backups exist for ${this.target}.`
  }
  get hint() {
    return "Only files written through this server have backups; list_backups shows what exists."
  }
}

/** The version id is not one of the target's versions. */
export class VersionNotFound extends Schema.TaggedError<VersionNotFound>()("VersionNotFound", {
  target: Str,
  versionId: Str
}) {
  override get message() {
    return `Version ${this.versionId} is not a backup of ${this.target}.`
  }
  get hint() {
    return "Call list_backups for this target to see its versions."
  }
}

/** No revertible version exists, with the reason for each. */
export class NotRevertible extends Schema.TaggedError<NotRevertible>()("NotRevertible", {
  target: Str,
  reasons: Schema.Array(Str)
}) {
  override get message() {
    return `No revertible version of ${this.target}: ${this.reasons.join("; ")}.`
  }
  get hint() {
    return "list_backups explains each version; restore by hand if needed."
  }
}

/** History is disabled or the repository is unusable. */
export class HistoryUnavailable extends Schema.TaggedError<HistoryUnavailable>()("HistoryUnavailable", {
  reason: Str
}) {
  override get message() {
    return `Config history is unavailable: ${this.reason}.`
  }
  get hint() {
    return "Set MCP_HISTORY_ENABLED=true and check MCP_HISTORY_DIR, or run `homelab-mcp doctor`."
  }
}

// ---------------------------------------------------------------------------------------------------
// Sizes and encodings
// ---------------------------------------------------------------------------------------------------

/** The content to write is over the limit. */
export class ContentTooLarge extends Schema.TaggedError<ContentTooLarge>()("ContentTooLarge", {
  bytes: Num,
  limit: Num,
  advice: optStr
}) {
  override get message() {
    return `The content is ${this.bytes} bytes, over the limit of ${this.limit}; nothing was written.`
  }
  get hint() {
    return this.advice ?? "Split the file or transfer it from inside the guest."
  }
}

/** The file is over the read limit. */
export class FileTooLarge extends Schema.TaggedError<FileTooLarge>()("FileTooLarge", {
  path: Str,
  bytes: Schema.NullOr(Num),
  limit: Num
}) {
  override get message() {
    return `${this.path} is ${this.bytes === null ? "larger than" : `${this.bytes} bytes, over`} the read limit of ${this.limit} bytes.`
  }
  get hint() {
    return "Read a window with offset and maxBytes, use tail_log, or run grep/head through an exec tool."
  }
}

/** A utf8 read of content with NUL bytes. */
export class BinaryContent extends Schema.TaggedError<BinaryContent>()("BinaryContent", { path: Str }) {
  override get message() {
    return `${this.path} holds binary content (NUL bytes).`
  }
  get hint() {
    return "Read it with encoding:\"base64\"."
  }
}

// ---------------------------------------------------------------------------------------------------
// Guests and files
// ---------------------------------------------------------------------------------------------------

/** The guest does not exist (one wording for every tool). */
export class GuestNotFound extends Schema.TaggedError<GuestNotFound>()("GuestNotFound", { vmid: Num, node: Str }) {
  override get message() {
    return `Guest ${this.vmid} not found on node ${this.node}.`
  }
  get hint() {
    return "Call pct_list or qm_list to see the guests on this node."
  }
}

/** A VM id given to a container tool, or the reverse. */
export class WrongGuestType extends Schema.TaggedError<WrongGuestType>()("WrongGuestType", {
  vmid: Num,
  actual: Schema.Literal("lxc", "qemu"),
  useTool: Str
}) {
  override get message() {
    return `Guest ${this.vmid} is ${this.actual === "lxc" ? "an LXC container" : "a QEMU VM"}.`
  }
  get hint() {
    return `Use ${this.useTool} for this guest.`
  }
}

/** The guest is not running. */
export class GuestNotRunning extends Schema.TaggedError<GuestNotRunning>()("GuestNotRunning", {
  vmid: Num,
  status: Str
}) {
  override get message() {
    return `Guest ${this.vmid} is ${this.status}, not running.`
  }
  get hint() {
    return "Start it with guest_start (operate tier) if that is intended, then retry."
  }
}

/** The guest is running where it must not be. */
export class GuestRunning extends Schema.TaggedError<GuestRunning>()("GuestRunning", { vmid: Num }) {
  override get message() {
    return `Guest ${this.vmid} is running.`
  }
  get hint() {
    return "Pass stopIfRunning:true to stop it first, with the user's agreement."
  }
}

/** The QEMU guest agent is missing, disabled or silent. */
export class GuestAgentUnavailable extends Schema.TaggedError<GuestAgentUnavailable>()("GuestAgentUnavailable", {
  vmid: Num,
  reason: Str
}) {
  override get message() {
    return `The QEMU guest agent of VM ${this.vmid} is unavailable: ${this.reason}.`
  }
  get hint() {
    return "Install and start qemu-guest-agent in the VM, set agent: 1 in its options, and restart the VM."
  }
}

/** The guest OS is not supported by this tool. */
export class UnsupportedGuestOs extends Schema.TaggedError<UnsupportedGuestOs>()("UnsupportedGuestOs", {
  vmid: Num,
  ostype: Str
}) {
  override get message() {
    return `VM ${this.vmid} runs ${this.ostype}, which this tool does not support.`
  }
  get hint() {
    return "Only Linux guests are supported for in-guest commands."
  }
}

/** The file does not exist (distinct from an empty file). */
export class FileNotFound extends Schema.TaggedError<FileNotFound>()("FileNotFound", { path: Str }) {
  override get message() {
    return `${this.path}: file does not exist.`
  }
  get hint() {
    return "Check the path; list the directory through an exec tool."
  }
}

/** The path is not a regular file. */
export class NotARegularFile extends Schema.TaggedError<NotARegularFile>()("NotARegularFile", {
  path: Str,
  fileType: Str
}) {
  override get message() {
    return `${this.path} is a ${this.fileType}, not a regular file.`
  }
  get hint() {
    return "Address a regular file."
  }
}

/** The path is not a directory. */
export class NotADirectory extends Schema.TaggedError<NotADirectory>()("NotADirectory", { path: Str }) {
  override get message() {
    return `${this.path} is not a directory.`
  }
  get hint() {
    return "Address a directory."
  }
}

/** The parent directory of a new file is missing. */
export class ParentDirectoryMissing extends Schema.TaggedError<ParentDirectoryMissing>()("ParentDirectoryMissing", {
  path: Str
}) {
  override get message() {
    return `The parent directory of ${this.path} does not exist.`
  }
  get hint() {
    return "Create the directory first (mkdir -p through an exec tool)."
  }
}

// ---------------------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------------------

/** A snapshot name that does not match `^mcp-[A-Za-z0-9_-]{1,36}$`. */
export class InvalidSnapshotName extends Schema.TaggedError<InvalidSnapshotName>()("InvalidSnapshotName", {
  name: Str
}) {
  override get message() {
    return `${JSON.stringify(this.name)} is not a snapshot name this server manages.`
  }
  get hint() {
    return "Names look like mcp-YYYYMMDD-HHMMSS; snapshot_list shows them."
  }
}

/** The snapshot does not exist. */
export class SnapshotNotFound extends Schema.TaggedError<SnapshotNotFound>()("SnapshotNotFound", {
  vmid: Num,
  name: Str
}) {
  override get message() {
    return `Guest ${this.vmid} has no snapshot ${this.name}.`
  }
  get hint() {
    return "snapshot_list shows the guest's snapshots."
  }
}

/** The snapshot belongs to the operator, not to this server. */
export class SnapshotNotOwned extends Schema.TaggedError<SnapshotNotOwned>()("SnapshotNotOwned", {
  vmid: Num,
  name: Str
}) {
  override get message() {
    return `Snapshot ${this.name} of guest ${this.vmid} was not made by this server.`
  }
  get hint() {
    return "Operator snapshots belong to the Proxmox UI."
  }
}

/** The guest cannot be snapshotted, with the cause from its config. */
export class SnapshotUnsupported extends Schema.TaggedError<SnapshotUnsupported>()("SnapshotUnsupported", {
  vmid: Num,
  reason: Str
}) {
  override get message() {
    return `Guest ${this.vmid} cannot be snapshotted: ${this.reason}.`
  }
  get hint() {
    return "Take a vzdump backup in the Proxmox UI instead."
  }
}

/** A snapshot command failed. */
export class SnapshotFailed extends Schema.TaggedError<SnapshotFailed>()("SnapshotFailed", {
  vmid: Num,
  detail: Str
}) {
  override get message() {
    return `Snapshot operation on guest ${this.vmid} failed: ${this.detail}`
  }
  get hint() {
    return "snapshot_list shows the current state."
  }
}

/** The guest did not come back after a rollback (the rollback itself succeeded). */
export class RestartFailed extends Schema.TaggedError<RestartFailed>()("RestartFailed", {
  vmid: Num,
  detail: Str
}) {
  override get message() {
    return `The rollback succeeded but guest ${this.vmid} did not come back: ${this.detail}`
  }
  get hint() {
    return "Start it with guest_start and check its logs."
  }
}

// ---------------------------------------------------------------------------------------------------
// Tasks and commands
// ---------------------------------------------------------------------------------------------------

/** A Proxmox task ended with an error exit status. */
export class TaskFailed extends Schema.TaggedError<TaskFailed>()("TaskFailed", {
  upid: Str,
  exitstatus: Str,
  logTail: Schema.Array(Str),
  advice: optStr
}) {
  override get message() {
    return `Proxmox task failed: ${this.exitstatus}`
  }
  get hint() {
    return this.advice ?? "Read the task log in the Proxmox UI; fix the cause before retrying."
  }
}

/** A Proxmox task did not finish in time (it may still complete). */
export class TaskTimeout extends Schema.TaggedError<TaskTimeout>()("TaskTimeout", {
  upid: Str,
  waitedMs: Num
}) {
  override get message() {
    return `Proxmox task ${this.upid} was still running after ${Math.round(this.waitedMs / 1000)} s; it may still complete.`
  }
  get hint() {
    return "Check pct_list / qm_list in a moment before retrying."
  }
}

/** A fixed node command failed; stderr redacted and capped. */
export class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  command: Str,
  exitCode: Schema.NullOr(Num),
  stderr: Str
}) {
  override get message() {
    return `${this.command} failed (exit ${this.exitCode ?? "none"}): ${this.stderr}`
  }
  get hint() {
    return "Run `homelab-mcp doctor` to check the node's tools."
  }
}

/** The file's hash after a write differs from the content sent; the backup exists. */
export class WriteVerificationFailed extends Schema.TaggedError<WriteVerificationFailed>()("WriteVerificationFailed", {
  path: Str,
  expected: Str,
  actual: Str
}) {
  override get message() {
    return `After writing ${this.path} its sha256 is ${this.actual}, expected ${this.expected}.`
  }
  get hint() {
    return "A backup of the previous content exists; inspect the file and use revert_file if needed."
  }
}

// ---------------------------------------------------------------------------------------------------
// PVE API (transport-trust.md §2.5)
// ---------------------------------------------------------------------------------------------------

/** 401: the token id or secret was rejected. */
export class ApiAuthFailed extends Schema.TaggedError<ApiAuthFailed>()("ApiAuthFailed", { reason: Str }) {
  override get message() {
    return `Proxmox rejected the API token (${this.reason}).`
  }
  get hint() {
    return "A tier change revokes the old tier's token; re-run `homelab-mcp setup` or check PVE_API_TOKEN_ID and its secret."
  }
}

/** 403: the token lacks a privilege (Proxmox enforcing the tier at observe/operate). */
export class ApiForbidden extends Schema.TaggedError<ApiForbidden>()("ApiForbidden", {
  path: Str,
  privileges: Schema.Array(Str),
  reason: Str
}) {
  override get message() {
    return this.privileges.length > 0
      ? `The API token lacks ${this.privileges.join(" or ")} on ${this.path}.`
      : `Proxmox refused the request: ${this.reason}.`
  }
  get hint() {
    return "At observe and operate this is Proxmox enforcing the tier; a higher tier needs `homelab-mcp setup --tier …`."
  }
}

/** 400: Proxmox rejected the parameters. */
export class ApiBadRequest extends Schema.TaggedError<ApiBadRequest>()("ApiBadRequest", {
  path: Str,
  errors: Schema.Record({ key: Str, value: Str })
}) {
  override get message() {
    const detail = Object.entries(this.errors).map(([k, v]) => `${k}: ${v}`).join("; ")
    return `Proxmox rejected the parameters of ${this.path}${detail ? `: ${detail}` : "."}`
  }
  get hint() {
    return "Correct the named parameters."
  }
}

/** 404/501: wrong base URL or unsupported release. */
export class ApiNotFound extends Schema.TaggedError<ApiNotFound>()("ApiNotFound", { path: Str, status: Num }) {
  override get message() {
    return `Proxmox has no endpoint ${this.path} (${this.status}).`
  }
  get hint() {
    return "Check PVE_API_BASE_URL (it ends in /api2/json) and the Proxmox VE version."
  }
}

/** Other 5xx, or a body that is not the expected JSON. */
export class ApiServerError extends Schema.TaggedError<ApiServerError>()("ApiServerError", {
  status: Num,
  reason: Str,
  path: Str
}) {
  override get message() {
    return `Proxmox answered ${this.status} on ${this.path}: ${this.reason}`
  }
  get hint() {
    return "Check the node's pveproxy/pvedaemon services; retry later."
  }
}

/** Connection refused, unreachable, DNS, reset, 595/596. */
export class ApiUnreachable extends Schema.TaggedError<ApiUnreachable>()("ApiUnreachable", {
  reason: Str,
  status: Schema.optional(Num)
}) {
  override get message() {
    return `The Proxmox API is unreachable: ${this.reason}.`
  }
  get hint() {
    return this.status === 596
      ? "Check that PVE_API_NODE matches the node name exactly (case-sensitive)."
      : "Check PVE_API_BASE_URL's host and port and that pveproxy runs."
  }
}

/** The request did not complete in time. */
export class ApiTimeout extends Schema.TaggedError<ApiTimeout>()("ApiTimeout", { path: Str, timeoutMs: Num }) {
  override get message() {
    return `The Proxmox API did not answer ${this.path} within ${this.timeoutMs} ms.`
  }
  get hint() {
    return "Retry later; raise PVE_API_TIMEOUT_MS if the node is slow."
  }
}

/** The served certificate is not the pinned one; no request byte was sent. */
export class TlsPinMismatch extends Schema.TaggedError<TlsPinMismatch>()("TlsPinMismatch", {
  expected: Str,
  presented: Str
}) {
  override get message() {
    return `The API certificate does not match the pin: expected ${this.expected}, presented ${this.presented}. Nothing was sent.`
  }
  get hint() {
    return "If the node's certificate was renewed, compare it on the node (Certificates in the GUI), then re-run setup or set PVE_API_TLS_FINGERPRINT to the value `homelab-mcp doctor` prints."
  }
}

/** No pin and trust-on-first-use is off. */
export class TlsTrustUnavailable extends Schema.TaggedError<TlsTrustUnavailable>()("TlsTrustUnavailable", {
  reason: Str
}) {
  override get message() {
    return `No trusted API certificate: ${this.reason}.`
  }
  get hint() {
    return "Set PVE_API_TLS_FINGERPRINT (setup records it), or explicitly enable PVE_API_TLS_TOFU=true."
  }
}

// ---------------------------------------------------------------------------------------------------
// SSH
// ---------------------------------------------------------------------------------------------------

/** The SSH server could not be reached. */
export class SshUnreachable extends Schema.TaggedError<SshUnreachable>()("SshUnreachable", { reason: Str }) {
  override get message() {
    return `The node's SSH server is unreachable: ${this.reason}.`
  }
  get hint() {
    return "Check SSH_HOST and SSH_PORT and that sshd runs on the node; an interrupted mutation has an unknown outcome."
  }
}

/** An SSH operation timed out. */
export class SshTimeout extends Schema.TaggedError<SshTimeout>()("SshTimeout", { what: Str, timeoutMs: Num }) {
  override get message() {
    return `${this.what} timed out after ${this.timeoutMs} ms.`
  }
  get hint() {
    return "Retry later; an interrupted mutation has an unknown outcome, so check the target first."
  }
}

/** The channel closed without an exit status. */
export class SshChannelClosed extends Schema.TaggedError<SshChannelClosed>()("SshChannelClosed", { what: Str }) {
  override get message() {
    return `The SSH channel closed before ${this.what} reported an exit status; the outcome is unknown.`
  }
  get hint() {
    return "Check the target's state before retrying."
  }
}

/** Key authentication failed. */
export class SshAuthFailed extends Schema.TaggedError<SshAuthFailed>()("SshAuthFailed", { reason: Str }) {
  override get message() {
    return `SSH authentication failed: ${this.reason}.`
  }
  get hint() {
    return "Check SSH_KEY_PATH and that its public key is in the node's /root/.ssh/authorized_keys (re-run setup)."
  }
}

/** The host key does not match the pin; never retried. */
export class SshHostKeyMismatch extends Schema.TaggedError<SshHostKeyMismatch>()("SshHostKeyMismatch", {
  expected: Str,
  presented: Str
}) {
  override get message() {
    return `The node's SSH host key does not match the pin: expected ${this.expected}, presented ${this.presented}.`
  }
  get hint() {
    return "Verify with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the node console, then re-run setup."
  }
}

/** No host-key pin and trust-on-first-use is off. */
export class SshTrustUnavailable extends Schema.TaggedError<SshTrustUnavailable>()("SshTrustUnavailable", {
  reason: Str
}) {
  override get message() {
    return `No trusted SSH host key: ${this.reason}.`
  }
  get hint() {
    return "Set SSH_HOST_KEY_FINGERPRINT (setup records it), or explicitly enable SSH_HOST_KEY_TOFU=true."
  }
}

/** Unexpected failure; carries the operation id. */
export class Internal extends Schema.TaggedError<Internal>()("Internal", { opId: Str, detail: Str }) {
  override get message() {
    return `Unexpected internal error (op ${this.opId}): ${this.detail}`
  }
  get hint() {
    return "Run `homelab-mcp doctor`; report the op id if it persists."
  }
}

// ---------------------------------------------------------------------------------------------------
// Unions and helpers
// ---------------------------------------------------------------------------------------------------

/** What the PVE API client can fail with. */
export type ApiError =
  | ApiAuthFailed
  | ApiForbidden
  | ApiBadRequest
  | ApiNotFound
  | ApiServerError
  | ApiUnreachable
  | ApiTimeout
  | TlsPinMismatch
  | TlsTrustUnavailable
  | GuestNotFound
  | GuestNotRunning
  | GuestAgentUnavailable

/** What the SSH transport can fail with. */
export type SshError =
  | SshUnreachable
  | SshTimeout
  | SshChannelClosed
  | SshAuthFailed
  | SshHostKeyMismatch
  | SshTrustUnavailable

/** Every user-facing error, as a schema (for encoding into results and audit records). */
export const ToolError = Schema.Union(
  InvalidInput, TierRequired, PathRejected, ProtectedPath, CommandDenied, ConfirmationRequired,
  CircuitBreakerOpen, BackupStoreFull, AuditUnavailable, NoBackups, VersionNotFound, NotRevertible,
  HistoryUnavailable, ContentTooLarge, FileTooLarge, BinaryContent, GuestNotFound, WrongGuestType,
  GuestNotRunning, GuestRunning, GuestAgentUnavailable, UnsupportedGuestOs, FileNotFound, NotARegularFile,
  NotADirectory, ParentDirectoryMissing, InvalidSnapshotName, SnapshotNotFound, SnapshotNotOwned,
  SnapshotUnsupported, SnapshotFailed, RestartFailed, TaskFailed, TaskTimeout, CommandFailed,
  WriteVerificationFailed, ApiAuthFailed, ApiForbidden, ApiBadRequest, ApiNotFound, ApiServerError,
  ApiUnreachable, ApiTimeout, TlsPinMismatch, TlsTrustUnavailable, SshUnreachable, SshTimeout,
  SshChannelClosed, SshAuthFailed, SshHostKeyMismatch, SshTrustUnavailable, Internal
)

/** Any user-facing error. */
export type ToolError = typeof ToolError.Type

/** The error codes marked retryable in tools.md §7. */
export const retryableCodes: ReadonlySet<string> = new Set([
  "TaskTimeout", "ApiUnreachable", "ApiTimeout", "SshUnreachable", "SshTimeout"
])

/** The `{code, message, hint, retryable, details?}` shape a failed tool call returns (tools.md §1). */
export interface ErrorPayload {
  readonly code: string
  readonly message: string
  readonly hint: string
  readonly retryable: boolean
  readonly details?: Record<string, unknown>
}

/** Renders a user-facing error as the tool-result payload; the structured fields become `details`. */
export const toPayload = (error: ToolError): ErrorPayload => {
  const { _tag, ...fields } = Schema.encodeSync(ToolError)(error) as { _tag: string } & Record<string, unknown>
  delete fields["cause"]
  return {
    code: _tag,
    message: error.message,
    hint: error.hint,
    retryable: retryableCodes.has(_tag),
    ...(Object.keys(fields).length > 0 ? { details: fields } : {})
  }
}
