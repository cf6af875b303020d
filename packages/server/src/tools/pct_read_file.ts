/**
 * `pct_read_file` (tools.md §5): reads a file (or a window of it) inside a running LXC container. A whole
 * file (no window) takes one `pct exec` that resolves, stats and streams it; a window is stat first, then
 * `pct pull` to a node temp file and an SFTP window read. A missing file is `FileNotFound`, an empty one
 * `content:""`.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { FileNotFound, NotARegularFile } from "@homelab-mcp/core/Errors"
import * as Tool from "@homelab-mcp/core/Tool"
import { GuestFiles } from "@homelab-mcp/core/capabilities/GuestFiles"
import { Limits } from "../Limits.js"
import * as FileRead from "../internal/FileRead.js"
import * as Targets from "../internal/Targets.js"

/** Input of `pct_read_file`. */
export const Input = FileRead.Input

/** Output of `pct_read_file`. */
export const Output = FileRead.Output

/** Reads the file or window. */
export const pct_read_file = Tool.make(
  {
    name: "pct_read_file",
    title: "Read a file in an LXC container",
    description:
      "Reads a file inside a running LXC container (symlinks resolved; resolvedPath says where). Without a window a file above MCP_READ_MAX_BYTES (2 MiB) is refused with its size: read a window with offset and maxBytes, or use tail_log / an exec with grep or head. encoding utf8 fails on binary content (use base64). redact:true masks secrets. A missing file is FileNotFound; an empty one is content \"\".",
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
      if (!window.windowed) {
        // the common case, the whole file: resolve, stat and bytes in one round trip
        const whole = yield* Targets.readPct(input.vmid, input.path, limits.readMaxBytes)
        return yield* FileRead.render(input, whole, whole.bytes, whole.bytes.length, true, limits.redactionExtraKeys)
      }
      const io = yield* Targets.openPct(input.vmid, input.path, { forWrite: false })
      const stat = yield* files.pctStat(input.vmid, io.resolvedPath)
      if (Option.isNone(stat)) return yield* new FileNotFound({ path: io.resolvedPath })
      if (stat.value.type !== "file") {
        return yield* new NotARegularFile({ path: io.resolvedPath, fileType: stat.value.fileType })
      }
      const size = stat.value.size
      const offset = Math.min(input.offset, size)
      const length = Math.min(window.length, size - offset)
      const bytes = length === 0
        ? new Uint8Array(0)
        : yield* files.pctRead(input.vmid, io.resolvedPath, { expectedSize: size, offset, length })
      return yield* FileRead.render(input, io, bytes, size, offset + bytes.length >= size, limits.redactionExtraKeys)
    })
)
