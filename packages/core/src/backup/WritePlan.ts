/**
 * The pure write plan shared by dryRun and the real write pipeline (backups-audit.md §2 steps 3–5, and
 * the revert equivalent): given the state read once, the new bytes, the backup settings and the target's
 * newest version, it decides no-op, backup kind, revertibility, the confirm need, large-change reasons
 * and the diff. The real pipeline stores exactly what this plan describes (same `selectBackupKind`).
 */
import type { Restored } from "./Reconstruct.js"
import type { BackupSettings } from "./Policy.js"
import { selectBackupKind, type BackupDecision, type StoredPayload } from "./Policy.js"
import type { BackupKind, VersionRecord } from "./Record.js"
import { equalBytes, sha256 } from "./Hash.js"
import * as LineHashes from "../diff/LineHashes.js"
import * as UnifiedDiff from "../diff/UnifiedDiff.js"
import * as GuardrailsLargeChange from "../guardrails/LargeChange.js"

/** The target's state as read once (pipeline step 3); `exists:false` is a typed not-found, never "any error". */
export type Previous =
  | { readonly exists: false }
  | {
    readonly exists: true
    readonly bytes: Uint8Array
    /** Permission bits as a number (0o644), when known. */
    readonly mode?: number | null
    readonly uid?: number | null
    readonly gid?: number | null
  }

/** Large-change verdict (guardrails.md §4). */
export interface LargeChange {
  readonly isLargeChange: boolean
  readonly reasons: ReadonlyArray<string>
}

/** Computes the large-change verdict (default: guardrails.md §4 via `@homelab-mcp/core/guardrails/LargeChange`). */
export type LargeChangeDetector = (input: {
  readonly previous: Uint8Array | null
  readonly next: Uint8Array
  readonly largeFileBytes: number
  /** The two sides' line hashes, shared with the delta and diff checks. */
  readonly lineHashes?: LineHashes.Pair
}) => LargeChange

/** The guardrails.md §4 detector. */
export const defaultLargeChange: LargeChangeDetector = (input) =>
  GuardrailsLargeChange.largeChange({
    before: input.previous,
    after: input.next,
    largeFileBytes: input.largeFileBytes,
    ...(input.lineHashes !== undefined ? { lineHashes: input.lineHashes } : {})
  })

/** Inputs of one write plan. */
export interface WritePlanInput {
  readonly previous: Previous
  readonly next: Uint8Array
  readonly settings: Pick<BackupSettings, "largeFileBytes" | "largeFilePolicy" | "globalCapBytes">
  /** The target's newest version record, if any (a differing `afterSha256` means an out-of-band edit). */
  readonly newest: VersionRecord | null
  /** Overrides the guardrails.md §4 detector (tests). */
  readonly largeChange?: LargeChangeDetector
  /** Diff options (labels default to `before`/`after`). */
  readonly diff?: UnifiedDiff.Options
  /**
   * When the previous content is larger than this, it cannot be put back through the target's transport
   * (qm: 46080 bytes through the agent), so the write is not revertible whatever is stored.
   */
  readonly restoreLimitBytes?: number
}

/** The plan. `backupKind`/`decision` are null when the write is a no-op. */
export interface WritePlan {
  readonly unchanged: boolean
  readonly newFile: boolean
  readonly prevBytes: number
  readonly newBytes: number
  readonly prevSha256: string | null
  readonly newSha256: string
  readonly backupKind: BackupKind | null
  readonly decision: BackupDecision | null
  readonly wouldBeRevertible: boolean
  /** Why the write would not be revertible (the confirm prompt uses it). */
  readonly notRevertibleReason?: string
  /** True when the backup would not be revertible (confirm gate; `/etc/pve` is gated separately). */
  readonly needsConfirm: boolean
  /** The live content differs from the newest version's `afterSha256`. */
  readonly reanchored: boolean
  readonly isLargeChange: boolean
  readonly largeChangeReasons: ReadonlyArray<string>
  readonly diff: UnifiedDiff.DiffResult
}

/** True when the live state differs from what the newest version says the operation left behind. */
export const isDrift = (newest: VersionRecord | null, liveSha256: string | null): boolean =>
  newest !== null && newest.afterSha256 !== liveSha256

/**
 * A write plan before its backup decision: the hashes, the no-op test, the drift test, the large-change
 * verdict and the diff. Only the decision needs the previous content compressed, so a caller can compress
 * it elsewhere meanwhile (`Policy.fullPayloadOffThread`) and `decide` with it.
 */
export interface WritePlanDraft {
  readonly input: WritePlanInput
  readonly newFile: boolean
  readonly prevBytes: number
  readonly newBytes: number
  readonly prevSha256: string | null
  readonly newSha256: string
  readonly unchanged: boolean
  readonly reanchor: boolean
  readonly lineHashes: LineHashes.Pair | null
  readonly large: LargeChange
  readonly diff: UnifiedDiff.DiffResult
}

/** The parts of a plan that do not depend on the backup decision. */
export const draft = (input: WritePlanInput): WritePlanDraft => {
  const { previous, next } = input
  const prevBytesArr = previous.exists ? previous.bytes : null
  const prevSha256 = prevBytesArr === null ? null : sha256(prevBytesArr)
  const diffOptions = { oldLabel: "before", newLabel: "after", ...input.diff }
  const common = {
    input,
    newFile: !previous.exists,
    prevBytes: prevBytesArr?.length ?? 0,
    newBytes: next.length,
    prevSha256,
    newSha256: sha256(next),
    reanchor: isDrift(input.newest, prevSha256)
  }
  if (prevBytesArr !== null && equalBytes(prevBytesArr, next)) {
    return { ...common, unchanged: true, lineHashes: null, large: { isLargeChange: false, reasons: [] }, diff: UnifiedDiff.make(prevBytesArr, next, diffOptions) }
  }
  // the delta and diff limits both count lines: each side is hashed once, when first needed
  const lineHashes = LineHashes.pair(prevBytesArr ?? new Uint8Array(0), next)
  return {
    ...common,
    unchanged: false,
    lineHashes,
    large: (input.largeChange ?? defaultLargeChange)({ previous: prevBytesArr, next, largeFileBytes: input.settings.largeFileBytes, lineHashes }),
    diff: UnifiedDiff.make(prevBytesArr, next, { ...diffOptions, lineHashes })
  }
}

/**
 * Completes a draft with the backup decision. `full`, when given, must be `Policy.fullPayload` of the
 * draft's previous content (the decision is then the same, without compressing it here).
 */
export const decide = (d: WritePlanDraft, full?: StoredPayload): WritePlan => {
  const { input } = d
  const common = { newFile: d.newFile, prevBytes: d.prevBytes, newBytes: d.newBytes, prevSha256: d.prevSha256, newSha256: d.newSha256, diff: d.diff }
  const prevBytesArr = input.previous.exists ? input.previous.bytes : null
  if (d.unchanged || d.lineHashes === null) {
    return {
      ...common,
      unchanged: true,
      backupKind: null,
      decision: null,
      wouldBeRevertible: true,
      needsConfirm: false,
      reanchored: false,
      isLargeChange: false,
      largeChangeReasons: []
    }
  }
  const decision = selectBackupKind({
    previous: prevBytesArr,
    next: input.next,
    reanchor: d.reanchor,
    settings: input.settings,
    lineHashes: d.lineHashes,
    ...(full !== undefined ? { full } : {})
  })
  const notRevertibleReason = notRevertible(decision.kind, prevBytesArr, input.settings, input.restoreLimitBytes)
  return {
    ...common,
    unchanged: false,
    backupKind: decision.kind,
    decision,
    wouldBeRevertible: notRevertibleReason === undefined,
    ...(notRevertibleReason === undefined ? {} : { notRevertibleReason }),
    needsConfirm: notRevertibleReason !== undefined,
    reanchored: decision.reanchored,
    isLargeChange: d.large.isLargeChange,
    largeChangeReasons: d.large.reasons
  }
}

/**
 * Why a backup of `previous` of `kind` could not be restored afterwards (writes and reverts alike), or
 * undefined when it could: only its hash and size kept (metadata-only), or more bytes than the target's
 * transport can write back.
 */
export const notRevertible = (
  kind: BackupKind,
  previous: Uint8Array | null,
  settings: Pick<BackupSettings, "largeFileBytes" | "largeFilePolicy">,
  restoreLimitBytes?: number
): string | undefined => {
  if (kind === "metadata-only") {
    return previous !== null && previous.length > settings.largeFileBytes && settings.largeFilePolicy === "metadata-only"
      ? `the previous file is over ${settings.largeFileBytes} bytes and MCP_LARGE_FILE_POLICY is metadata-only, so only its hash and size are kept`
      : "the previous file does not fit in the backup store (MCP_BACKUP_GLOBAL_CAP_BYTES), so only its hash and size are kept"
  }
  if (restoreLimitBytes !== undefined && previous !== null && previous.length > restoreLimitBytes) {
    return `the previous file is ${previous.length} bytes, more than the ${restoreLimitBytes} bytes that can be written back through this transport`
  }
  return undefined
}

/** Plans one write (steps 3–5). Identical content is a no-op with no backup. */
export const plan = (input: WritePlanInput): WritePlan => decide(draft(input))

/** What a revert does to the live file. */
export type RevertAction = "restored" | "deleted" | "noop"

/** The revert equivalent of a write plan (diff_config, revert_file dryRun). */
export interface RevertPlan {
  readonly action: RevertAction
  readonly currentExists: boolean
  readonly currentSha256: string | null
  readonly restoredSha256: string | null
  readonly restoresAbsence: boolean
  /** The bytes to write (null when the revert deletes the file or is a no-op). */
  readonly restoredBytes: Uint8Array | null
  readonly diff: UnifiedDiff.DiffResult
}

/** Plans a revert from the current state to a rebuilt before-state; labels default to `current`/`restored`. */
export const planRevert = (current: Previous, restored: Restored, diff?: UnifiedDiff.Options): RevertPlan => {
  const cur = current.exists ? current.bytes : null
  const target = restored.kind === "bytes" ? restored.bytes : null
  const diffOptions = { oldLabel: "current", newLabel: "restored", ...diff }
  const same = cur === null ? target === null : target !== null && equalBytes(cur, target)
  return {
    action: same ? "noop" : target === null ? "deleted" : "restored",
    currentExists: cur !== null,
    currentSha256: cur === null ? null : sha256(cur),
    restoredSha256: target === null ? null : sha256(target),
    restoresAbsence: restored.kind === "absent",
    restoredBytes: same ? null : target,
    diff: UnifiedDiff.make(cur, target, diffOptions)
  }
}
