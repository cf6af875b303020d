/**
 * `qm_read_file` (tools.md §5): reads a file (or a window) inside a running QEMU VM through the guest
 * agent's file-read with exact offset and count; a window never fetches the whole file.
 */
import * as Effect from "effect/Effect"
import { FileTooLarge } from "@homelab-mcp/core/Errors"
import * as Tool from "@homelab-mcp/core/Tool"
import { GuestFiles } from "@homelab-mcp/core/capabilities/GuestFiles"
import { Limits } from "../Limits.js"
import * as FileRead from "../internal/FileRead.js"
import * as Targets from "../internal/Targets.js"

/** Input of `qm_read_file`. */
export const Input = FileRead.Input

/** Output of `qm_read_file`. */
export const Output = FileRead.Output

/** Reads the file or window through the agent. */
export const qm_read_file = Tool.make(
  {
    name: "qm_read_file",
    title: "Read a file in a QEMU VM",
    description:
      "Reads a file inside a running QEMU VM through the QEMU guest agent (needs qemu-guest-agent and agent: 1). Without a window a file above MCP_READ_MAX_BYTES (2 MiB) is refused: read a window with offset and maxBytes, or use qm_exec with grep or head. totalBytes is known only when the read reaches the end of the file. encoding utf8 fails on binary content (use base64); redact:true masks secrets. VM paths are used as given (symlinks are not resolved).",
    tier: "companion",
    input: Input,
    output: Output,
    annotations: Tool.annotations("T F T F")
  },
  (input) =>
    Effect.gen(function* () {
      const limits = yield* Limits
      const files = yield* GuestFiles
      const window = yield* FileRead.windowOf(input, limits)
      const io = yield* Targets.openQm(input.vmid, input.path)
      const count = window.windowed ? window.length : limits.readMaxBytes + 1
      const read = yield* files.qmRead(input.vmid, io.resolvedPath, { offset: input.offset, count })
      if (!window.windowed && read.content.length > limits.readMaxBytes) {
        return yield* new FileTooLarge({ path: io.resolvedPath, bytes: null, limit: limits.readMaxBytes })
      }
      const total = read.eof ? input.offset + read.content.length : null
      return yield* FileRead.render(input, io, read.content, total, read.eof, limits.redactionExtraKeys)
    })
)
