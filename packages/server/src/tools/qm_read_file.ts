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
      "Reads a file inside a running QEMU VM through the QEMU guest agent (needs qemu-guest-agent and agent: 1). Without a window a file above MCP_READ_MAX_BYTES (2 MiB) is refused: read a window with offset and maxBytes, or use qm_exec with grep or head. totalBytes is known only when the read reaches the end of the file, and is null (with eof:true) when offset lies past the end. encoding utf8 fails on binary content (use base64); redact:true masks secrets. VM paths are used as given (symlinks are not resolved).",
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
      // The agent reports no file size, and an empty read at EOF only says the file ends at or before
      // `offset`. A window past the start therefore also asks, in the same agent call, for the byte
      // before it: if that byte came back the file reaches `offset` and its size is known; if not, the
      // window starts past the end and totalBytes is null.
      const lookBehind = window.windowed && input.offset > 0 ? 1 : 0
      const count = window.windowed ? window.length + lookBehind : limits.readMaxBytes + 1
      // the agent reads at most 16 MiB per call (MCP_READ_MAX_BYTES may be larger): a longer span takes several
      const read = yield* Effect.gen(function* () {
        const chunks: Array<Uint8Array> = []
        let got = 0
        while (got < count) {
          const part = yield* files.qmRead(input.vmid, io.resolvedPath, {
            offset: input.offset - lookBehind + got,
            count: Math.min(Targets.QM_READ_CHUNK, count - got)
          })
          chunks.push(part.content)
          got += part.content.length
          if (part.eof || part.content.length === 0) return { content: Buffer.concat(chunks), eof: true }
        }
        return { content: Buffer.concat(chunks), eof: false }
      })
      if (!window.windowed && read.content.length > limits.readMaxBytes) {
        // the size is not known (only that it is over the cap): the error says "larger than", no number
        return yield* new FileTooLarge({ path: io.resolvedPath, bytes: null, limit: limits.readMaxBytes })
      }
      const reachesOffset = input.offset === 0 || read.content.length > 0
      const content = read.content.subarray(Math.min(lookBehind, read.content.length))
      const total = read.eof && reachesOffset ? input.offset + content.length : null
      return yield* FileRead.render(input, io, content, total, read.eof, limits.redactionExtraKeys)
    })
)
