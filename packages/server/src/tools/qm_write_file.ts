/**
 * `qm_write_file` (tools.md §5): writes a whole file inside a running QEMU VM through the guest agent
 * (in place, verified by reading it back), backed up first. Content above 46080 bytes (the agent's
 * per-call limit) is refused before any backup or agent call. Audited.
 */
import * as Effect from "effect/Effect"
import * as Tool from "@homelab-mcp/core/Tool"
import { Limits } from "../Limits.js"
import * as Targets from "../internal/Targets.js"
import * as WritePipeline from "../internal/WritePipeline.js"

/** Input of `qm_write_file`. */
export const Input = WritePipeline.Input

/** Output of `qm_write_file`. */
export const Output = WritePipeline.Output

/** Writes the file through the agent after backing up what it replaces. */
export const qm_write_file = Tool.make(
  {
    name: "qm_write_file",
    title: "Write a file in a QEMU VM",
    description:
      "Replaces (or creates) a whole file inside a running QEMU VM through the QEMU guest agent, after backing up the previous content (revert_file restores it). Proxmox limits one agent write to 46080 bytes (MCP_QM_WRITE_MAX_BYTES), so larger content is refused before anything happens: fetch it inside the VM with qm_exec, or split the file. The write is in place (not atomic) and verified by reading it back; existing files keep inode, mode and owner, new files get the agent's defaults. A previous content above 46080 bytes could not be restored through the agent, so such a write needs confirm:true (the user's agreement). dryRun:true returns the diff and changes nothing. VM paths are used as given (symlinks are not resolved). Audited.",
    tier: "companion",
    input: Input,
    output: Output,
    annotations: Tool.annotations("F T T F")
  },
  (input) =>
    Effect.gen(function* () {
      const limits = yield* Limits
      const content = yield* WritePipeline.decodeContent(input.content, input.encoding)
      yield* WritePipeline.checkSize(
        content,
        Math.min(limits.qmWriteMaxBytes, Targets.QM_WRITE_LIMIT),
        "Fetch the file inside the VM with qm_exec (e.g. curl or a package), or split it into smaller files."
      )
      const io = yield* Targets.openQm(input.vmid, input.path)
      return yield* WritePipeline.run("qm_write_file", io, content, input)
    }).pipe(Targets.auditRefusals("qm_write_file", { vmid: input.vmid, kind: "qm", path: input.path, dryRun: input.dryRun }))
)
