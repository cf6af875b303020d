/**
 * Builders for the read-only answers over the store (tools.md §2): `list_backups` and `diff_config`.
 * Pure; the tool handlers resolve the target, read the live file once and call the store.
 */
import type { VersionRecord } from "./Record.js"
import type { LiveState, Restored } from "./Reconstruct.js"
import * as UnifiedDiff from "../diff/UnifiedDiff.js"

/** One `list_backups` version entry. */
export interface ListItem {
  readonly versionId: string
  readonly createdAt: string
  readonly tool: string
  readonly opId: string
  readonly kind: VersionRecord["kind"]
  readonly beforeBytes: number
  readonly storedBytes: number
  readonly beforeSha256: string | null
  readonly afterSha256: string | null
  readonly revertible: boolean
  readonly revertReason?: string
  readonly uncertain: boolean
}

/** The `list_backups` output. */
export interface ListBackups {
  readonly target: string
  readonly currentExists: boolean | null
  readonly currentSha256: string | null
  readonly currentVerified: boolean
  readonly total: number
  readonly versions: ReadonlyArray<ListItem>
}

/** A version classified against the live file (as `BackupStore.list` returns it). */
export interface Classified {
  readonly record: VersionRecord
  readonly revertible: boolean
  readonly revertReason?: string
}

/** One list entry from a classified version. */
export const toListItem = ({ record: r, revertible, revertReason }: Classified): ListItem => ({
  versionId: r.versionId,
  createdAt: r.createdAt,
  tool: r.tool,
  opId: r.opId,
  kind: r.kind,
  beforeBytes: r.beforeBytes,
  storedBytes: r.storedBytes,
  beforeSha256: r.beforeSha256,
  afterSha256: r.afterSha256,
  revertible,
  ...(revertible || revertReason === undefined ? {} : { revertReason }),
  uncertain: r.uncertain
})

/** The `list_backups` answer: newest first, at most `limit` entries; `total` counts all versions. */
export const listBackups = (
  target: string,
  live: LiveState,
  versions: ReadonlyArray<Classified>,
  limit: number
): ListBackups => ({
  target,
  currentExists: live.status === "unknown" ? null : live.status === "present",
  currentSha256: live.status === "present" ? live.sha256 : null,
  currentVerified: live.status !== "unknown",
  total: versions.length,
  versions: versions.slice(0, Math.max(0, limit)).map(toListItem)
})

/** The `diff_config` output. */
export interface DiffConfig {
  readonly target: string
  readonly versionId: string
  readonly createdAt: string
  readonly tool: string
  readonly revertible: boolean
  readonly revertReason?: string
  readonly currentExists: boolean
  readonly currentSha256: string | null
  readonly restoredSha256: string | null
  readonly restoresAbsence: boolean
  readonly binary: boolean
  readonly diff: string | null
  readonly diffTruncated: boolean
  readonly diffOmitted?: "too large to diff"
  readonly addedLines: number
  readonly removedLines: number
}

/**
 * The `diff_config` answer: current -> restored. `restored` is the rebuilt state, or `null` when the
 * version is not revertible (then the answer says why and carries no diff; it is not an error).
 */
export const diffConfig = (input: {
  readonly target: string
  readonly record: VersionRecord
  readonly current: { readonly bytes: Uint8Array; readonly sha256: string } | null
  readonly restored: Restored | null
  readonly revertReason?: string
  readonly contextLines?: number
  readonly maxLines?: number
}): DiffConfig => {
  const { record, current, restored } = input
  const head = {
    target: input.target,
    versionId: record.versionId,
    createdAt: record.createdAt,
    tool: record.tool,
    currentExists: current !== null,
    currentSha256: current?.sha256 ?? null,
    restoresAbsence: record.kind === "absent"
  }
  if (restored === null) {
    return {
      ...head,
      revertible: false,
      revertReason: input.revertReason ?? "not revertible",
      restoredSha256: record.beforeSha256,
      binary: record.binary,
      diff: null,
      diffTruncated: false,
      addedLines: 0,
      removedLines: 0
    }
  }
  const diff = UnifiedDiff.make(current?.bytes ?? null, restored.kind === "bytes" ? restored.bytes : null, {
    oldLabel: "current",
    newLabel: "restored",
    ...(input.contextLines === undefined ? {} : { contextLines: input.contextLines }),
    ...(input.maxLines === undefined ? {} : { maxLines: input.maxLines })
  })
  return {
    ...head,
    revertible: true,
    restoredSha256: restored.kind === "bytes" ? restored.sha256 : null,
    binary: diff.binary,
    diff: diff.diff,
    diffTruncated: diff.diffTruncated,
    ...(diff.diffOmitted === undefined ? {} : { diffOmitted: diff.diffOmitted }),
    addedLines: diff.addedLines,
    removedLines: diff.removedLines
  }
}
