/**
 * Files on the node itself over SFTP on the shared SSH connection (transport-trust.md §4.2). Root tier.
 * Layers: `@homelab-mcp/transport/HostFiles`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type {
  CommandFailed,
  FileNotFound,
  InvalidInput,
  NotADirectory,
  NotARegularFile,
  ParentDirectoryMissing,
  SshError,
  WriteVerificationFailed
} from "../Errors.js"

/** An SFTP `stat`/`lstat`. */
export interface HostFileStat {
  readonly type: "file" | "directory" | "symlink" | "other"
  readonly size: number
  /** Permission bits (`0o644`), without the type bits. */
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Modification time in ms since the epoch. */
  readonly mtimeMs: number
}

/** One `readdir` entry with its `lstat` (and link target for symlinks). */
export interface HostDirEntry extends HostFileStat {
  readonly name: string
  readonly linkTarget?: string
}

/** The result of an atomic write. */
export interface HostWriteResult {
  /** sha256 of the file after the rename, from `sha256sum` on the node. */
  readonly sha256: string
  readonly newFile: boolean
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/** Errors of host file operations. */
export type HostFilesError = SshError | InvalidInput | CommandFailed

/** Reads, writes and lists node files over SFTP. */
export class HostFiles extends Context.Tag("@homelab-mcp/core/HostFiles")<HostFiles, HostFiles.Service>() {}

export declare namespace HostFiles {
  /** The host files service; every SFTP operation has a 30 s limit, a transfer 120 s. */
  export interface Service {
    /** SFTP `realpath` (links resolved; a missing last component is allowed, a missing parent is `FileNotFound`). */
    readonly realpath: (path: string) => Effect.Effect<string, HostFilesError | FileNotFound>
    /** SFTP `stat` (follows links); `None` when absent. */
    readonly stat: (path: string) => Effect.Effect<Option.Option<HostFileStat>, HostFilesError>
    /** SFTP `lstat`; `None` when absent. */
    readonly lstat: (path: string) => Effect.Effect<Option.Option<HostFileStat>, HostFilesError>
    /** A ranged read of exactly `[offset, offset + length)` (shorter at EOF). */
    readonly read: (
      path: string,
      window: { readonly offset: number; readonly length: number }
    ) => Effect.Effect<Uint8Array, HostFilesError | FileNotFound | NotARegularFile>
    /**
     * Hidden temp sibling, mode/owner of the existing file (else `mode`, default 0o644), fsync, posix-rename
     * (fallback `mv -f`), then `sha256sum` compared with the content.
     */
    readonly write: (
      path: string,
      content: Uint8Array,
      options?: { readonly mode?: number }
    ) => Effect.Effect<
      HostWriteResult,
      HostFilesError | FileNotFound | ParentDirectoryMissing | NotARegularFile | WriteVerificationFailed
    >
    /** `readdir` + `lstat` (+ `readlink`), sorted by name. */
    readonly readdir: (path: string) => Effect.Effect<ReadonlyArray<HostDirEntry>, HostFilesError | FileNotFound | NotADirectory>
    /** SFTP `readlink`. */
    readonly readlink: (path: string) => Effect.Effect<string, HostFilesError | FileNotFound>
    /** SFTP `remove`; a missing file is not an error. */
    readonly unlink: (path: string) => Effect.Effect<void, HostFilesError>
  }
}
