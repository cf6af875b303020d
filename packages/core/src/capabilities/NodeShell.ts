/**
 * Commands and node temp files on the Proxmox node over the pinned SSH connection (transport-trust.md §3, §4).
 * Exists at companion and root. Layers: `@homelab-mcp/transport/NodeShell` (`layer`, `layerConfig`).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { CommandFailed, FileNotFound, InvalidInput, SshError } from "../Errors.js"

/** The outcome of one remote command (tools.md §1 ExecResult transport fields); `exitCode` is never defaulted to 0. */
export interface ExecResult {
  /** The exit status, or `null` when ended by a signal, left running by a timeout, or cut by the backstop. */
  readonly exitCode: number | null
  /** The signal name (`KILL`, `TERM`, …) from `exit-signal`, else `null`. */
  readonly signal: string | null
  /** True only when a timeout layer ended it (status 124/137 or a signal, and the requested time elapsed) or the backstop fired. */
  readonly timedOut: boolean
  /** Capped stdout (first and last halves around `…[truncated, N bytes omitted]…`), decoded as UTF-8 after assembly. */
  readonly stdout: string
  readonly stderr: string
  /** True byte totals, including omitted bytes. */
  readonly stdoutBytes: number
  readonly stderrBytes: number
  readonly stdoutTruncated: boolean
  readonly stderrTruncated: boolean
  readonly durationMs: number
}

/** Options of one command. */
export interface ExecOptions {
  /** The requested budget (default 30000, the fixed node command limit). */
  readonly timeoutMs?: number
  /**
   * True when an inner layer (in-guest `timeout`, `qm guest exec --timeout`) enforces `timeoutMs` itself: the
   * node wrapper then gets `timeoutMs + 5 s` so the inner one fires first. False (default): the node wrapper is
   * the requested budget.
   */
  readonly nested?: boolean
  /** What the client backstop (wrapper + `SSH_COMMAND_TIMEOUT_GRACE_MS`) does: fail with `SshTimeout` (default) or return the partial output with `timedOut:true, exitCode:null`. */
  readonly onBackstop?: "fail" | "partial"
  /** Bytes sent on stdin, then EOF (default: EOF at once). */
  readonly stdin?: Uint8Array | string
  /** Per-stream cap (default `MCP_EXEC_OUTPUT_MAX_BYTES`). */
  readonly maxOutputBytes?: number
}

/** Options of `execScript` (the root `execute` tool). */
export interface ScriptOptions {
  readonly timeoutMs?: number
  /** Absolute directory to `cd` into first (`cd <cwd> && timeout … bash -c <command>`). */
  readonly cwd?: string
  readonly stdin?: Uint8Array | string
  readonly maxOutputBytes?: number
}

/** What node commands can fail with. */
export type NodeShellError = SshError | InvalidInput

/** Runs argv on the node under `timeout --signal=TERM --kill-after=5 <secs>` with output caps. */
export class NodeShell extends Context.Tag("@homelab-mcp/core/NodeShell")<NodeShell, NodeShell.Service>() {}

export declare namespace NodeShell {
  /** The node shell. Every argv element is quoted by `core/shell/Quote`; a NUL byte is `InvalidInput`. */
  export interface Service {
    /** A fixed node command: a non-zero exit is a result; a firing backstop fails with `SshTimeout` (unless `onBackstop: "partial"`). */
    readonly exec: (argv: ReadonlyArray<string>, options?: ExecOptions) => Effect.Effect<ExecResult, NodeShellError>
    /** Root's `execute`: `timeout … bash -c <command>`; a firing backstop returns partial output with `timedOut:true, exitCode:null`. */
    readonly execScript: (command: string, options?: ScriptOptions) => Effect.Effect<ExecResult, NodeShellError>
    /** stdout of a command that must exit 0 (capped at 16 MiB for parsers); otherwise `CommandFailed` with capped stderr. */
    readonly output: (
      argv: ReadonlyArray<string>,
      options?: Omit<ExecOptions, "onBackstop" | "maxOutputBytes">
    ) => Effect.Effect<string, NodeShellError | CommandFailed>
    /** Raw stdout bytes of a command that must exit 0 (binary-safe); over `maxBytes` is `CommandFailed "output too large"`. */
    readonly outputBytes: (
      argv: ReadonlyArray<string>,
      options: Omit<ExecOptions, "onBackstop" | "maxOutputBytes"> & { readonly maxBytes: number }
    ) => Effect.Effect<Uint8Array, NodeShellError | CommandFailed>
    /** A fresh 0600 node temp file (`mktemp -p MCP_NODE_TEMP_DIR mcp.XXXXXXXX`), removed when the scope closes. */
    readonly tempFile: Effect.Effect<string, NodeShellError | CommandFailed, Scope.Scope>
    /**
     * A fresh node temp file holding `content` (binary-safe; 120 s limit): `MCP_NODE_TEMP_DIR/mcp.<random>`
     * created 0600 and exclusively over SFTP (no command runs), removed over SFTP when the scope closes.
     */
    readonly uploadTemp: (content: Uint8Array) => Effect.Effect<string, NodeShellError | FileNotFound | CommandFailed, Scope.Scope>
    /** Replaces a node file's content over SFTP (binary-safe; 120 s limit). */
    readonly writeFile: (path: string, content: Uint8Array) => Effect.Effect<void, NodeShellError | FileNotFound | CommandFailed>
    /** Reads a node file over SFTP, optionally only the window `[offset, offset + length)`. */
    readonly readFile: (
      path: string,
      window?: { readonly offset: number; readonly length: number }
    ) => Effect.Effect<Uint8Array, NodeShellError | FileNotFound | CommandFailed>
    /** A node file's size over SFTP. */
    readonly fileSize: (path: string) => Effect.Effect<number, NodeShellError | FileNotFound | CommandFailed>
  }
}
