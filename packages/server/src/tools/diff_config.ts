/**
 * `diff_config` (tools.md §5): the preview of `revert_file`: a unified diff from the current content to
 * what a version would restore. A non-revertible version is an answer (with the reason), not an error.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { NoBackups, VersionNotFound } from "@homelab-mcp/core/Errors"
import * as Tool from "@homelab-mcp/core/Tool"
import * as WritePlan from "@homelab-mcp/core/backup/WritePlan"
import { BackupStore } from "@homelab-mcp/core/capabilities/BackupStore"
import { Limits } from "../Limits.js"
import * as Backups from "../internal/Backups.js"
import * as WritePipeline from "../internal/WritePipeline.js"

/** Input of `diff_config`. */
export const Input = Schema.Struct({
  ...Backups.VersionTargetFields,
  contextLines: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 20)), { default: () => 3 }),
  maxLines: Schema.optional(Schema.Int.pipe(Schema.between(1, 2000))).annotations({ description: "Diff lines kept (default MCP_DIFF_MAX_LINES, 200)" })
})

/** Output of `diff_config`. */
export const Output = Schema.Struct({
  target: Schema.String,
  versionId: Schema.String,
  createdAt: Schema.String,
  tool: Schema.String,
  revertible: Schema.Boolean,
  revertReason: Schema.optional(Schema.String),
  currentExists: Schema.Boolean,
  currentSha256: Schema.NullOr(Schema.String),
  restoredSha256: Schema.NullOr(Schema.String),
  restoresAbsence: Schema.Boolean,
  ...WritePipeline.DiffOutputFields
})

/** Diffs the current content against a version's before-state. */
export const diff_config = Tool.make(
  {
    name: "diff_config",
    title: "Preview a revert",
    description:
      "Shows what revert_file would do: a unified diff from the file's current content to the content a backup version restores (labels current/restored). Without versionId the newest revertible version is used. A version that cannot be restored is reported with the reason (revertible:false), not as an error. Host files (no vmid) need the root tier. Changes nothing.",
    tier: "companion",
    input: Input,
    output: Output,
    annotations: Tool.annotations("T F T F")
  },
  (input) =>
    Effect.gen(function* () {
      const vmid = yield* Backups.requireGuest(input.vmid, "diff_config")
      const store = yield* BackupStore
      const limits = yield* Limits
      const located = yield* Backups.locate(vmid, input.path)
      // a preview of a revert needs the file as it is: a guest that cannot be read now is an error, not "absent"
      if (located.readError !== null) return yield* Effect.fail(located.readError)
      const descriptor = located.target.descriptor
      const views = yield* Backups.versions(located)
      if (views.length === 0) return yield* new NoBackups({ target: descriptor })
      const chosen = input.versionId !== undefined
        ? views.find((v) => v.record.versionId === input.versionId)
        : (views.find((v) => v.revertible) ?? views[0])
      if (chosen === undefined) return yield* new VersionNotFound({ target: descriptor, versionId: input.versionId ?? "" })
      const base = {
        target: descriptor,
        versionId: chosen.record.versionId,
        createdAt: chosen.record.createdAt,
        tool: chosen.record.tool,
        currentExists: located.live.status === "present",
        currentSha256: located.live.status === "present" ? located.live.sha256 : null
      }
      if (!chosen.revertible || located.current === null) {
        return {
          ...base,
          revertible: false,
          revertReason: chosen.revertReason ?? (located.live.status === "unknown" ? located.live.reason : "not revertible"),
          restoredSha256: chosen.record.beforeSha256,
          restoresAbsence: chosen.record.kind === "absent",
          binary: chosen.record.binary,
          diff: null,
          diffTruncated: false,
          addedLines: 0,
          removedLines: 0
        }
      }
      const restored = yield* store.restore(descriptor, chosen.record.versionId, located.live)
      const plan = WritePlan.planRevert(located.current, restored.state, {
        contextLines: input.contextLines,
        maxLines: input.maxLines ?? limits.diffMaxLines
      })
      return {
        ...base,
        revertible: true,
        restoredSha256: plan.restoredSha256,
        restoresAbsence: plan.restoresAbsence,
        ...WritePipeline.diffFields(plan.diff)
      }
    })
)
