/**
 * `list_backups` (tools.md §5): the backup versions of one target, newest first, each classified against
 * the live file read once (backups-audit.md §1.3, §4): a delta whose base changed out of band is honestly
 * not revertible (lessons B7). Changes nothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Tool from "@homelab-mcp/core/Tool"
import * as Backups from "../internal/Backups.js"
import * as FilePaths from "../internal/FilePaths.js"

/** Input of `list_backups`. */
export const Input = Schema.Struct({
  path: FilePaths.PathParam,
  vmid: Backups.OptionalVmid,
  limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 100)), { default: () => 20 })
})

/** One listed version. */
export const Version = Schema.Struct({
  versionId: Schema.String,
  createdAt: Schema.String,
  tool: Schema.String,
  opId: Schema.String,
  kind: Schema.String,
  beforeBytes: Schema.Int,
  storedBytes: Schema.Int,
  beforeSha256: Schema.NullOr(Schema.String),
  afterSha256: Schema.NullOr(Schema.String),
  revertible: Schema.Boolean,
  revertReason: Schema.optional(Schema.String),
  uncertain: Schema.Boolean
})

/** Output of `list_backups`. */
export const Output = Schema.Struct({
  target: Schema.String,
  currentExists: Schema.NullOr(Schema.Boolean),
  currentSha256: Schema.NullOr(Schema.String),
  currentVerified: Schema.Boolean,
  currentNote: Schema.optional(Schema.String),
  total: Schema.Int,
  versions: Schema.Array(Version)
})

/** Lists the target's versions. */
export const list_backups = Tool.make(
  {
    name: "list_backups",
    title: "List backups of a file",
    description:
      "Lists the backup versions this server kept of one file (newest first): each write and revert backs up what it replaced. Give vmid for a file in a guest; without vmid the path is a host file (listed from the store only below the root tier). Each version says whether revert_file can restore it and why not (e.g. the file changed outside this server since). Changes nothing.",
    tier: "companion",
    input: Input,
    output: Output,
    annotations: Tool.annotations("T F T F")
  },
  (input) =>
    Effect.gen(function* () {
      const located = yield* Backups.locate(input.vmid, input.path)
      const views = yield* Backups.versions(located)
      const live = located.live
      return {
        target: located.target.descriptor,
        currentExists: live.status === "unknown" ? null : live.status === "present",
        currentSha256: live.status === "present" ? live.sha256 : null,
        currentVerified: live.status !== "unknown",
        ...(live.status === "unknown" ? { currentNote: live.reason } : {}),
        total: views.length,
        versions: views.slice(0, input.limit).map((v) => ({
          versionId: v.record.versionId,
          createdAt: v.record.createdAt,
          tool: v.record.tool,
          opId: v.record.opId,
          kind: v.record.kind,
          beforeBytes: v.record.beforeBytes,
          storedBytes: v.record.storedBytes,
          beforeSha256: v.record.beforeSha256,
          afterSha256: v.record.afterSha256,
          revertible: v.revertible,
          ...(v.revertReason !== undefined ? { revertReason: v.revertReason } : {}),
          uncertain: v.record.uncertain
        }))
      }
    })
)
