/**
 * Files inside guests (transport-trust.md §4.1 containers via `pct`, §4.3 VMs via the guest agent through
 * `pvesh`). Companion tier. Layers: `@homelab-mcp/transport/GuestFiles` (built on `NodeShell`).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type {
  CommandFailed,
  ContentTooLarge,
  FileNotFound,
  GuestAgentUnavailable,
  GuestNotRunning,
  InvalidInput,
  NotARegularFile,
  ParentDirectoryMissing,
  SshError,
  WriteVerificationFailed
} from "../Errors.js"

/** `stat -c '%F|%s|%a|%u|%g'` inside a container, parsed. */
export interface GuestFileStat {
  /** `file` for `regular file` and `regular empty file`. */
  readonly type: "file" | "directory" | "symlink" | "other"
  /** The raw `%F` text (`regular file`, `directory`, `character special file`, …). */
  readonly fileType: string
  readonly size: number
  /** Permission bits as octal digits (`644`, `4755`). */
  readonly mode: string
  readonly uid: number
  readonly gid: number
}

/** Mode and owner for a container write (validated as digits), and the upload made ahead, if any. */
export interface PctWriteOptions {
  readonly mode: string
  readonly uid: number
  readonly gid: number
  /** Used only when its `content` is the very array written; otherwise the write uploads itself. */
  readonly staged?: PctStaged
}

/** Content uploaded to a node temp file ahead of its `pctWrite` (`pctStage`); no guest was touched. */
export interface PctStaged {
  readonly nodePath: string
  readonly content: Uint8Array
  /** Removes the node temp file now (idempotent; the staging's scope removes it otherwise). */
  readonly release: Effect.Effect<void>
}

/** A window read through the agent. */
export interface QmReadResult {
  readonly content: Uint8Array
  /** True when the agent reported no `truncated` flag (the read reached the end of the file). */
  readonly eof: boolean
}

/**
 * A container file's state read in one round trip: the symlink-resolved path (`None` when the parent
 * directory is missing) and, when the file exists, its `stat` and (regular files up to the requested
 * size) its bytes.
 */
export interface PctFileState {
  readonly resolved: Option.Option<string>
  readonly file: Option.Option<{ readonly stat: GuestFileStat; readonly content: Uint8Array | null }>
}

/** Errors of container file operations. */
export type PctFilesError = SshError | InvalidInput | GuestNotRunning | CommandFailed

/** Errors of VM file operations. */
export type QmFilesError = SshError | InvalidInput | GuestNotRunning | GuestAgentUnavailable | CommandFailed

/** Reads, writes and inspects files inside guests through the node. */
export class GuestFiles extends Context.Tag("@homelab-mcp/core/GuestFiles")<GuestFiles, GuestFiles.Service>() {}

export declare namespace GuestFiles {
  /** The guest files service; existence is decided inside the guest, never from a copy's exit code. */
  export interface Service {
    /** `readlink -f -- <path>` in the container; `None` when the parent directory is missing. */
    readonly pctResolve: (vmid: number, path: string) => Effect.Effect<Option.Option<string>, PctFilesError>
    /** `stat` in the container; `None` when the path does not exist. */
    readonly pctStat: (vmid: number, path: string) => Effect.Effect<Option.Option<GuestFileStat>, PctFilesError>
    /**
     * `pct pull` to a node temp file (accepted only at exit 0 and size = `expectedSize`), then an SFTP read of
     * the window; the temp file is removed in every outcome.
     */
    readonly pctRead: (
      vmid: number,
      path: string,
      options: { readonly expectedSize: number; readonly offset?: number; readonly length?: number }
    ) => Effect.Effect<Uint8Array, PctFilesError | FileNotFound>
    /**
     * One `pct exec … sh -c` that resolves the path, stats it and, for a regular file of at most
     * `maxBytes`, streams its bytes (`content` is null for larger or non-regular files); the size read
     * must equal the stat size.
     */
    readonly pctReadState: (
      vmid: number,
      path: string,
      options: { readonly maxBytes: number }
    ) => Effect.Effect<PctFileState, PctFilesError>
    /**
     * The SFTP upload of a write, ahead of it (so it can overlap reading the current state and storing the
     * backup): a node temp file, removed with the scope or when the write that uses it is done.
     */
    readonly pctStage: (content: Uint8Array) => Effect.Effect<PctStaged, PctFilesError | FileNotFound, Scope.Scope>
    /**
     * SFTP upload (unless `options.staged` holds this content), `pct push` to a hidden sibling, then one
     * `pct exec` renaming it over the target (`mv -f`) and hashing it back (`sha256sum`); fails
     * `WriteVerificationFailed` on a hash mismatch or a hash that cannot be read after the rename.
     */
    readonly pctWrite: (
      vmid: number,
      path: string,
      content: Uint8Array,
      options: PctWriteOptions
    ) => Effect.Effect<{ readonly sha256: string }, PctFilesError | FileNotFound | ParentDirectoryMissing | WriteVerificationFailed>
    /** `rm -f -- <path>` in the container (a missing file is not an error). */
    readonly pctRemove: (vmid: number, path: string) => Effect.Effect<void, PctFilesError | NotARegularFile>
    /**
     * Agent file-read of `count` bytes at `offset` (`--decode 0`, at most 16 MiB per call), after an agent
     * ping; a missing file is `FileNotFound`, a directory `NotARegularFile`.
     */
    readonly qmRead: (
      vmid: number,
      path: string,
      options: { readonly offset: number; readonly count: number }
    ) => Effect.Effect<QmReadResult, QmFilesError | FileNotFound | NotARegularFile>
    /**
     * Agent file-write (at most 46080 raw bytes, else `ContentTooLarge` before any call), verified by reading
     * it back; a missing directory is `ParentDirectoryMissing`, a directory at the path `NotARegularFile`.
     */
    readonly qmWrite: (
      vmid: number,
      path: string,
      content: Uint8Array
    ) => Effect.Effect<
      { readonly sha256: string },
      QmFilesError | FileNotFound | ParentDirectoryMissing | NotARegularFile | ContentTooLarge | WriteVerificationFailed
    >
    /** `rm -f -- <path>` through `qm guest exec` (reverting a create). */
    readonly qmRemove: (vmid: number, path: string) => Effect.Effect<void, QmFilesError | FileNotFound>
  }
}
