/**
 * Config history (backups-audit.md §7): a local git mirror of configuration files, committed after each
 * mutation and by `config_sweep`. Declared now so the companion tier's capability set is complete; the
 * Layer (isomorphic-git) comes in a later issue.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { HistoryUnavailable } from "../Errors.js"

/** One file put into the mirror with its metadata. */
export interface MirroredFile {
  /** Target descriptor: `host:<path>`, `pct:<vmid>:<path>`, `qm:<vmid>:<path>`. */
  readonly target: string
  /** New bytes, or `null` when a revert deleted the file. */
  readonly content: Uint8Array | null
  readonly mode?: string
  readonly uid?: number
  readonly gid?: number
}

/** The outcome of one commit; `commit` is `null` when nothing was staged (counts as success). */
export interface CommitResult {
  readonly committed: boolean
  readonly commit: string | null
}

/** The git mirror of configuration files; only companion and root build it. */
export class ConfigHistory extends Context.Tag("@homelab-mcp/core/ConfigHistory")<ConfigHistory, ConfigHistory.Service>() {}

export declare namespace ConfigHistory {
  /** The history service. */
  export interface Service {
    /** Mirrors the files and commits `<tool> <descriptor>` + `op: <opId>`; bounded by the commit timeout. */
    readonly commitMutation: (
      tool: string,
      opId: string,
      files: ReadonlyArray<MirroredFile>
    ) => Effect.Effect<CommitResult, HistoryUnavailable>
  }
}
