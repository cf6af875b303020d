/**
 * `pct_write_file` (tools.md §5): writes a whole file inside a running LXC container, backed up first and
 * revertible (backups-audit.md §2): temp file + `pct push` + `mv` + hash check, the upload to the node
 * started ahead. dryRun returns the diff and changes nothing. Audited.
 */
import * as Effect from "effect/Effect"
import type { ToolError } from "@homelab-mcp/core/Errors"
import { BackupStore } from "@homelab-mcp/core/capabilities/BackupStore"
import type { PctStaged } from "@homelab-mcp/core/capabilities/GuestFiles"
import * as Tool from "@homelab-mcp/core/Tool"
import { Limits } from "../Limits.js"
import * as FilePaths from "../internal/FilePaths.js"
import * as Targets from "../internal/Targets.js"
import * as WritePipeline from "../internal/WritePipeline.js"

/** Input of `pct_write_file`. */
export const Input = WritePipeline.Input

/** Output of `pct_write_file`. */
export const Output = WritePipeline.Output

/** Writes the file after backing up what it replaces. */
export const pct_write_file = Tool.make(
  {
    name: "pct_write_file",
    title: "Write a file in an LXC container",
    description:
      "Replaces (or creates) a whole file inside a running LXC container. The previous content is backed up first, so revert_file can restore it byte for byte (or delete a file this call created); the write is atomic (hidden temp sibling, then rename) and verified by its sha256. Existing files keep their mode and owner; new files get MCP_CONTAINER_NEW_FILE_MODE/UID/GID (0644 root:root); the parent directory must exist. dryRun:true returns the unified diff and what would happen without changing anything. confirm:true (reflecting the user's agreement) is needed only when the backup could not be reverted (e.g. a huge previous file under the metadata-only policy). Content is utf8 text or base64, at most MCP_WRITE_MAX_BYTES. Audited.",
    tier: "companion",
    input: Input,
    output: Output,
    annotations: Tool.annotations("F T T F")
  },
  (input) =>
    Effect.scoped(
      Effect.gen(function* () {
        const limits = yield* Limits
        const content = yield* WritePipeline.decodeContent(input.content, input.encoding)
        yield* WritePipeline.checkSize(content, limits.writeMaxBytes)
        // The upload to a node temp file overlaps reading the current state and storing the backup; no guest
        // is touched before the backup is stored, and the scope removes the temp file in every outcome.
        let staged: Effect.Effect<PctStaged, ToolError> | undefined
        if (!input.dryRun) {
          yield* FilePaths.check(input.path, "guest", limits)
          staged = yield* Targets.stagePct(content)
        }
        // taken before the state is read while opening: a write of this server that ends after it voids that read
        const prefetchedAfter = yield* Effect.flatMap(BackupStore, (store) => store.lockMark)
        const io = yield* Targets.openPct(input.vmid, input.path, { forWrite: true, prefetch: true, ...(staged ? { staged } : {}) })
        return yield* WritePipeline.run("pct_write_file", io, content, { ...input, prefetchedAfter })
      })
    ).pipe(Targets.auditRefusals("pct_write_file", { vmid: input.vmid, kind: "pct", path: input.path, dryRun: input.dryRun }))
)
